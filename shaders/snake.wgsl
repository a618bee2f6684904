// Snake activation: y = x + sin²(α·x) / α with α per channel; x, y: [C, t].

struct Params {
    n: u32,
    t: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let e = flat_index(wg, groups, lid.x);
    if (e < p.n) {
        let a = alpha[e / p.t];
        let s = sin_precise(a * x[e]);
        y[e] = x[e] + s * s / a;
    }
}
