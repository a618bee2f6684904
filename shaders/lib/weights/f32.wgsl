fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    return bitcast<f32>(WEIGHT[e]);
}
