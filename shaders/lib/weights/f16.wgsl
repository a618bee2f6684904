fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    return WEIGHT_half(0u, e);
}
