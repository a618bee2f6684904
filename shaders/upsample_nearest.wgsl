// Each time step repeated `factor` times: y[c, s] = x[c, s / factor].

struct Params {
    n: u32,
    t_in: u32,
    factor: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let e = flat_index(wg, groups, lid.x);
    let t_out = p.t_in * p.factor;
    if (e < p.n) {
        y[e] = x[(e / t_out) * p.t_in + (e % t_out) / p.factor];
    }
}
