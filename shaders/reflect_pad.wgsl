// Reflection padding in time: y[c, s] = x[c, r(s)] with r(s) = |s − left| mirrored at the last step.

struct Params {
    n: u32,
    t_in: u32,
    t_out: u32,
    left: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let e = flat_index(wg, groups, lid.x);
    if (e < p.n) {
        let s = e % p.t_out;
        let mirrored = u32(abs(i32(s) - i32(p.left)));
        let source = select(2u * (p.t_in - 1u) - mirrored, mirrored, mirrored < p.t_in);
        y[e] = x[(e / p.t_out) * p.t_in + source];
    }
}
