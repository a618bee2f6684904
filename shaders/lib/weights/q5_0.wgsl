// Q5_0: Q4_0's nibbles plus one high bit per element (one word per block in `extra`),
// value = d · (q − 16).
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 5u;
    let j = e & 31u;
    let low = (WEIGHT_byte(0u, b * 16u + (j & 15u)) >> ((j >> 4u) * 4u)) & 15u;
    let high = (WEIGHT[l.extra + b] >> j) & 1u;
    return WEIGHT_half(l.scales, b) * (f32(low | (high << 4u)) - 16.0);
}
