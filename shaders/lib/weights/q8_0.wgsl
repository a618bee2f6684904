// Q8_0: blocks of 32 signed bytes (8 words each), one f16 scale per block.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 5u;
    let q = i32(WEIGHT_byte(0u, e) << 24u) >> 24u;
    return WEIGHT_half(l.scales, b) * f32(q);
}
