// The LSTM's recurrent matrix w_hh ([4h, h], any packed format) decoded once per call into f32,
// transposed: wt[c · 4h + r] = w_hh[r, c]. Each step of the recurrence then reads, for one
// column, the rows of adjacent hidden units from adjacent addresses, with no decode on the
// sequence's critical path (lstm.wgsl).

struct Params {
    w: WeightLayout,
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read_write> wt: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let o = flat_index(wg, groups, lid.x);
    if (o < p.rows * p.cols) {
        let c = o / p.rows;
        let r = o % p.rows;
        wt[o] = w_at(p.w, r * p.w.row_stride + c);
    }
}
