// Transposed 1-D convolution (nn.ConvTranspose1d, grouped), gathered: output (co, pos) sums, for
// each tap j ≡ pos + padding (mod stride) with input step i = (pos + padding − j) / stride in range,
// x[ci, i] · w[ci, co mod per_out, j] over the input channels ci of co's group.
// w: [c_in, per_out, k] through `w_at`. One invocation per output; x in workgroups of 64 steps.

struct Params {
    w: WeightLayout,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    per_in: u32,
    per_out: u32,
    has_bias: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let pos = gid.x;
    let co = gid.y;
    if (pos >= p.t_out || co >= p.c_out) {
        return;
    }
    var acc = 0.0;
    if (p.has_bias != 0u) {
        acc = bias[co];
    }
    let first = (co / p.per_out) * p.per_in;
    let col = (co % p.per_out) * p.k;
    let base = pos + p.padding;
    for (var j = base % p.stride; j < p.k && j <= base; j += p.stride) {
        let i = (base - j) / p.stride;
        if (i < p.t_in) {
            for (var ci = first; ci < first + p.per_in; ci++) {
                acc += x[ci * p.t_in + i] * w_at(p.w, ci * p.w.row_stride + col + j);
            }
        }
    }
    y[co * p.t_out + pos] = acc;
}
