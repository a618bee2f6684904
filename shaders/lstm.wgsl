// The recurrence of one LSTM direction (PyTorch's gate order i, f, g, o) as one persistent
// workgroup that walks `count` steps of the sequence from step `first`; the input projection
// `gates = w_ih·x + b_ih` ([4h, t]) is a matrix product recorded before it, and w_hh is read
// decoded and transposed (lstm_weights.wgsl), so that for each column the invocations of
// adjacent units read adjacent words. Each step every invocation updates its hidden units from
// the previous step's h, which the workgroup shares.
// h and c carry over between dispatches in `state` (zero at the first step): a long sequence
// is walked by several dispatches, as no driver lets one invocation run unbounded (Mesa's
// llvmpipe stops any invocation's loops after 65,535 iterations in all; browsers reset GPUs
// whose work runs for seconds).

struct Params {
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
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> b_hh: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// Largest hidden size (src/backend/gpu/matmul.rs checks it).
const MAX_HIDDEN: u32 = 512u;
var<workgroup> h_prev: array<f32, 512>;
var<workgroup> h_next: array<f32, 512>;
var<workgroup> cell: array<f32, 512>;

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
            var ai = gates[u * p.steps + t] + b_hh[u];
            var af = gates[(h + u) * p.steps + t] + b_hh[h + u];
            var ag = gates[(2u * h + u) * p.steps + t] + b_hh[2u * h + u];
            var ao = gates[(3u * h + u) * p.steps + t] + b_hh[3u * h + u];
            for (var c = 0u; c < h; c++) {
                let hc = h_prev[c];
                let col = c * 4u * h + u;
                ai += wt[col] * hc;
                af += wt[col + h] * hc;
                ag += wt[col + 2u * h] * hc;
                ao += wt[col + 3u * h] * hc;
            }
            let c = sigmoid(af) * cell[u] + sigmoid(ai) * tanh_finite(ag);
            cell[u] = c;
            let hu = sigmoid(ao) * tanh_finite(c);
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
