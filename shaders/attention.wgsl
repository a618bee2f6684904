// Multi-head self-attention core, one workgroup per (query step, head): scores of the query
// against every key in workgroup memory, softmax by a max and a sum reduced across the
// workgroup, then each output channel as the weighted sum of the values.
// q, k, v, y: [heads · d, t].

struct Params {
    t: u32,
    heads: u32,
    d: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Longest sequence (src/backend/gpu/attention.rs checks it).
const MAX_T: u32 = 1024u;
var<workgroup> weights: array<f32, 1024>;
var<workgroup> partial: array<f32, 64>;

fn reduce_max(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half >>= 1u) {
        if (lid < half) {
            partial[lid] = max(partial[lid], partial[lid + half]);
        }
        workgroupBarrier();
    }
    let out = partial[0];
    workgroupBarrier();
    return out;
}

fn reduce_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var half = 32u; half > 0u; half >>= 1u) {
        if (lid < half) {
            partial[lid] += partial[lid + half];
        }
        workgroupBarrier();
    }
    let out = partial[0];
    workgroupBarrier();
    return out;
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let i = wg.x;
    let base = wg.y * p.d;
    var top = -3.4e38;
    for (var j = lid.x; j < p.t; j += 64u) {
        var s = 0.0;
        for (var c = 0u; c < p.d; c++) {
            s += q[(base + c) * p.t + i] * k[(base + c) * p.t + j];
        }
        s *= p.scale;
        weights[j] = s;
        top = max(top, s);
    }
    top = reduce_max(lid.x, top);
    var z = 0.0;
    for (var j = lid.x; j < p.t; j += 64u) {
        let e = exp(weights[j] - top);
        weights[j] = e;
        z += e;
    }
    z = reduce_sum(lid.x, z);
    for (var c = lid.x; c < p.d; c += 64u) {
        var acc = 0.0;
        for (var j = 0u; j < p.t; j++) {
            acc += weights[j] * v[(base + c) * p.t + j];
        }
        y[(base + c) * p.t + i] = acc / z;
    }
}
