// TQ2_0: super-blocks of 256 ternary values as 2-bit codes (element 128h + 32i + m in bits
// 2i..2i+2 of byte 32h + m), one f16 scale; value = (code − 1) · d.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 8u;
    let j = e & 255u;
    let q = (WEIGHT_byte(0u, b * 64u + 32u * (j >> 7u) + (j & 31u)) >> (2u * ((j >> 5u) & 3u))) & 3u;
    return (f32(q) - 1.0) * WEIGHT_half(l.scales, b);
}
