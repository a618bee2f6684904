// y = f(x) elementwise; `op` picks f: 0 GELU (tanh approximation), 1 leaky ReLU (`slope`),
// 2 sigmoid, 3 tanh, 4 exp, 5 sin.

struct Params {
    n: u32,
    op: u32,
    slope: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn apply(v: f32) -> f32 {
    switch p.op {
        case 0u: {
            return 0.5 * v * (1.0 + tanh_finite(0.7978845608 * (v + 0.044715 * v * v * v)));
        }
        case 1u: {
            return select(v * p.slope, v, v >= 0.0);
        }
        case 2u: {
            return sigmoid(v);
        }
        case 3u: {
            return tanh_finite(v);
        }
        case 4u: {
            return exp(v);
        }
        default: {
            return sin_precise(v);
        }
    }
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let e = flat_index(wg, groups, lid.x);
    if (e < p.n) {
        y[e] = apply(x[e]);
    }
}
