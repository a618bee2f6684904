// Rows of the table picked by ids, as columns: y[c, s] = table[ids[s], c], decoded by `table_at`.

struct Params {
    table: WeightLayout,
    n: u32,
    t: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let e = flat_index(wg, groups, lid.x);
    if (e < p.n) {
        y[e] = table_at(p.table, ids[e % p.t] * p.table.row_stride + e / p.t);
    }
}
