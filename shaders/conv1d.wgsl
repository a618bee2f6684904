// 1-D convolution (groups = 1, zero padding) as a tiled matrix product, also `linear` (k = 1):
// y[o, t] = bias[o] + Σ_r w[o, r] · col[r, t], r = i·k + j, col[r, t] = x[i, t·stride + j·dilation − padding].
// A 16 × 16 workgroup computes a 64 × 64 output tile, each invocation 4 × 4 outputs (rows lid.y +
// 16a, columns lid.x + 16b), from 16-deep slices of decoded weights and gathered inputs staged in
// workgroup memory. Weights are read through `w_at` (the weight's format, composed in).

struct Params {
    w: WeightLayout,
    c_in: u32,
    c_out: u32,
    t_in: u32,
    t_out: u32,
    k: u32,
    stride: u32,
    padding: u32,
    dilation: u32,
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

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
var<workgroup> ws: array<f32, 1024>; // [DEPTH][TILE] weights
var<workgroup> xs: array<f32, 1024>; // [DEPTH][TILE] gathered inputs

fn column(r: u32, t: u32) -> f32 {
    let i = r / p.k;
    let pos = i32(t * p.stride + (r % p.k) * p.dilation) - i32(p.padding);
    if (pos < 0 || pos >= i32(p.t_in)) {
        return 0.0;
    }
    return x[i * p.t_in + u32(pos)];
}

fn store(o: u32, t: u32, acc: vec4<f32>) {
    if (o >= p.c_out) {
        return;
    }
    var b = 0.0;
    if (p.has_bias != 0u) {
        b = bias[o];
    }
    let row = o * p.t_out;
    if (t < p.t_out) { y[row + t] = acc.x + b; }
    if (t + 16u < p.t_out) { y[row + t + 16u] = acc.y + b; }
    if (t + 32u < p.t_out) { y[row + t + 32u] = acc.z + b; }
    if (t + 48u < p.t_out) { y[row + t + 48u] = acc.w + b; }
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let t0 = wg.x * TILE;
    let o0 = wg.y * TILE;
    let depth = p.c_in * p.k;
    let flat = lid.y * 16u + lid.x;
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var r0 = 0u; r0 < depth; r0 += DEPTH) {
        for (var s = 0u; s < 4u; s++) {
            let idx = flat + s * 256u;
            // weights: neighbours read neighbouring r of one row (contiguous in the file)
            let m = idx / DEPTH;
            let dw = idx % DEPTH;
            var wv = 0.0;
            if (o0 + m < p.c_out && r0 + dw < depth) {
                wv = w_at(p.w, (o0 + m) * p.w.row_stride + r0 + dw);
            }
            ws[dw * TILE + m] = wv;
            // inputs: neighbours read neighbouring time steps
            let n = idx % TILE;
            let dx = idx / TILE;
            var xv = 0.0;
            if (t0 + n < p.t_out && r0 + dx < depth) {
                xv = column(r0 + dx, t0 + n);
            }
            xs[dx * TILE + n] = xv;
        }
        workgroupBarrier();
        for (var d = 0u; d < DEPTH; d++) {
            let row = d * TILE;
            let xv = vec4<f32>(xs[row + lid.x], xs[row + lid.x + 16u], xs[row + lid.x + 32u], xs[row + lid.x + 48u]);
            acc0 += ws[row + lid.y] * xv;
            acc1 += ws[row + lid.y + 16u] * xv;
            acc2 += ws[row + lid.y + 32u] * xv;
            acc3 += ws[row + lid.y + 48u] * xv;
        }
        workgroupBarrier();
    }
    store(o0 + lid.y, t0 + lid.x, acc0);
    store(o0 + lid.y + 16u, t0 + lid.x, acc1);
    store(o0 + lid.y + 32u, t0 + lid.x, acc2);
    store(o0 + lid.y + 48u, t0 + lid.x, acc3);
}
