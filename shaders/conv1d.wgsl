// 1-D convolution, groups = 1, zero padding: y[o, t] = bias[o] + Σ_i Σ_j w[o, i, j] · x[i, t·stride + j·dilation − padding]
// x: [c_in, t_in] f32, w: [c_out, c_in, k] either F16 packed two per u32 (low half first) or F32
// (weight_f32 = 1), bias: [c_out] f32.
// One invocation per output element; workgroups tile time (x) and output channels (y).
// F16 is decoded with unpack2x16float so no `shader-f16` feature is needed.

struct Params {
    c_in: u32,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    dilation: u32,
    has_bias: u32,
    weight_f32: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

fn weight_at(index: u32) -> f32 {
    if (p.weight_f32 != 0u) {
        return bitcast<f32>(w[index]);
    }
    let pair = unpack2x16float(w[index >> 1u]);
    return select(pair.x, pair.y, (index & 1u) == 1u);
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    let o = gid.y;
    if (t >= p.t_out || o >= p.c_out) {
        return;
    }
    var acc = 0.0;
    if (p.has_bias != 0u) {
        acc = bias[o];
    }
    let start = i32(t * p.stride) - i32(p.padding);
    for (var i = 0u; i < p.c_in; i++) {
        let x_row = i * p.t_in;
        let w_row = (o * p.c_in + i) * p.k;
        for (var j = 0u; j < p.k; j++) {
            let pos = start + i32(j * p.dilation);
            if (pos >= 0 && pos < i32(p.t_in)) {
                acc += weight_at(w_row + j) * x[x_row + u32(pos)];
            }
        }
    }
    y[o * p.t_out + t] = acc;
}
