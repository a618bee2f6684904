// Where a packed weight's pieces sit in its u32 buffer (mirrored by `WeightLayout` in
// src/backend/gpu/weights.rs). Blocks are transcoded at load into up to three segments, each
// 4-byte aligned: the quants of every block, then their high bits or sub-scales (`extra`), then
// the f16 block scales (`scales`). Element e of a weight is e = row · row_stride + column.
struct WeightLayout {
    row_stride: u32,
    extra: u32,
    scales: u32,
    _pad: u32,
}
