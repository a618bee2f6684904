// The recurrence of one LSTM direction (PyTorch's gate order i, f, g, o) as one persistent
// workgroup that walks the sequence; the input projection `gates = w_ih·x + b_ih` ([4h, t]) is a
// matrix product recorded before it. Each step every invocation updates its hidden units from
// the previous step's h, which the workgroup shares.

struct Params {
    w: WeightLayout,
    hidden: u32,
    steps: u32,
    reverse: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gates: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> b_hh: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Largest hidden size (src/backend/gpu/recurrent.rs checks it).
const MAX_HIDDEN: u32 = 512u;
var<workgroup> h_prev: array<f32, 512>;
var<workgroup> h_next: array<f32, 512>;
var<workgroup> cell: array<f32, 512>;

fn gate(row: u32, t: u32) -> f32 {
    var acc = gates[row * p.steps + t] + b_hh[row];
    let base = row * p.w.row_stride;
    for (var c = 0u; c < p.hidden; c++) {
        acc += w_at(p.w, base + c) * h_prev[c];
    }
    return acc;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
    let h = p.hidden;
    for (var u = lid.x; u < h; u += 256u) {
        h_prev[u] = 0.0;
        cell[u] = 0.0;
    }
    workgroupBarrier();
    for (var step = 0u; step < p.steps; step++) {
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
}
