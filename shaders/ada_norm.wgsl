// Normalization of rows of x, one workgroup per row, reducing along the row with strided
// loads: a row is a channel over time (instance norm, AdaIN1d) or a time step over the channels
// (layer norm). Then the affine part per channel ch: y = x̂ · s + shift, with s = 1 + scale[ch]
// (the style's γ in AdaIN/AdaLayerNorm) or s = scale[ch] (LayerNorm's own γ, plus_one = 0).
// Also the kernel of `layer_norm`.

struct Params {
    rows: u32,
    n: u32,
    row_step: u32,
    elem_step: u32,
    eps: f32,
    plus_one: u32,
    channel_is_row: u32,
    shift_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> scale: array<f32>;
@group(0) @binding(3) var<storage, read> shift: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> partial: array<f32, 256>;

fn reduce_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var half = 128u; half > 0u; half >>= 1u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    let out = partial[0];
    workgroupBarrier();
    return out;
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let r = wg.y * groups.x + wg.x;
    // Whole workgroups leave together, so the barriers below stay in uniform control flow.
    if (r >= p.rows) {
        return;
    }
    let start = r * p.row_step;
    var sum = 0.0;
    for (var e = lid.x; e < p.n; e += 256u) {
        sum += x[start + e * p.elem_step];
    }
    let mean = reduce_sum(lid.x, sum) / f32(p.n);
    var sq = 0.0;
    for (var e = lid.x; e < p.n; e += 256u) {
        let dev = x[start + e * p.elem_step] - mean;
        sq += dev * dev;
    }
    let inv = inverseSqrt(reduce_sum(lid.x, sq) / f32(p.n) + p.eps);
    for (var e = lid.x; e < p.n; e += 256u) {
        let ch = select(e, r, p.channel_is_row != 0u);
        let s = select(scale[ch], 1.0 + scale[ch], p.plus_one != 0u);
        let at = start + e * p.elem_step;
        y[at] = (x[at] - mean) * inv * s + shift[p.shift_offset + ch];
    }
}
