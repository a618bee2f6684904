// tanh without the overflow of (e^2x − 1)/(e^2x + 1): some drivers give NaN for |x| ≳ 44.
fn tanh_finite(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}
