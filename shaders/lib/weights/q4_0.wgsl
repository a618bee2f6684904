// Q4_0: blocks of 32 as 16 bytes (element j < 16 in the low nibble of byte j, j ≥ 16 in the
// high nibble of byte j − 16), value = d · (q − 8).
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 5u;
    let j = e & 31u;
    let q = (WEIGHT_byte(0u, b * 16u + (j & 15u)) >> ((j >> 4u) * 4u)) & 15u;
    return WEIGHT_half(l.scales, b) * (f32(q) - 8.0);
}
