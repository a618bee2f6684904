// bf16 is the high half of an f32.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let bits = (WEIGHT[e >> 1u] >> ((e & 1u) * 16u)) & 0xffffu;
    return bitcast<f32>(bits << 16u);
}
