// The recurrence of one LSTM direction (PyTorch's gate order i, f, g, o) as one persistent
// workgroup that walks `count` steps of the sequence from step `first`; the input projection
// `gates = w_ih·x + b_ih` ([4h, t]) is a matrix product recorded before it. Each step every
// invocation updates its hidden units from the previous step's h, which the workgroup shares.
// h and c carry over between dispatches in `state` (zero at the first step): a long sequence
// is walked by several dispatches, as no driver lets one invocation run unbounded (Mesa's
// llvmpipe stops any invocation's loops after 65,535 iterations in all; browsers reset GPUs
// whose work runs for seconds).

struct Params {
    w: WeightLayout,
    hidden: u32,
    steps: u32,
    reverse: u32,
    first: u32,
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> b_hh: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// Largest hidden size (src/backend/gpu/recurrent.rs checks it).
const MAX_HIDDEN: u32 = 512u;
var<workgroup> h_prev: array<f32, 512>;
var<workgroup> h_next: array<f32, 512>;
var<workgroup> cell: array<f32, 512>;

// Four products per iteration: fewer loop iterations per step (see above).
fn gate(row: u32, t: u32) -> f32 {
    let base = row * p.w.row_stride;
    var acc4 = vec4<f32>(0.0);
    var c = 0u;
    for (; c + 4u <= p.hidden; c += 4u) {
        let wv = vec4<f32>(w_at(p.w, base + c), w_at(p.w, base + c + 1u), w_at(p.w, base + c + 2u), w_at(p.w, base + c + 3u));
        acc4 += wv * vec4<f32>(h_prev[c], h_prev[c + 1u], h_prev[c + 2u], h_prev[c + 3u]);
    }
    var acc = gates[row * p.steps + t] + b_hh[row] + acc4.x + acc4.y + acc4.z + acc4.w;
    for (; c < p.hidden; c++) {
        acc += w_at(p.w, base + c) * h_prev[c];
    }
    return acc;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    let h = p.hidden;
    let fresh = p.first == 0u;
    for (var u = lid.x; u < h; u += 256u) {
        h_prev[u] = select(state[u], 0.0, fresh);
        cell[u] = select(state[h + u], 0.0, fresh);
    }
    workgroupBarrier();
    for (var step = p.first; step < p.first + p.count; step++) {
        let t = select(step, p.steps - 1u - step, p.reverse != 0u);
        for (var u = lid.x; u < h; u += 256u) {
            let i = sigmoid(gate(u, t));
            let f = sigmoid(gate(h + u, t));
            let g = tanh_finite(gate(2u * h + u, t));
            let o = sigmoid(gate(3u * h + u, t));
            let c = f * cell[u] + i * g;
            cell[u] = c;
            let hu = o * tanh_finite(c);
            h_next[u] = hu;
            y[u * p.steps + t] = hu;
        }
        workgroupBarrier();
        for (var u = lid.x; u < h; u += 256u) {
            h_prev[u] = h_next[u];
        }
        workgroupBarrier();
    }
    for (var u = lid.x; u < h; u += 256u) {
        state[u] = h_prev[u];
        state[h + u] = cell[u];
    }
}
