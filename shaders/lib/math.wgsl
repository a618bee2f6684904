// tanh without the overflow of (e^2x − 1)/(e^2x + 1): some drivers give NaN for |x| ≳ 44.
fn tanh_finite(v: f32) -> f32 {
    let e = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - e) / (1.0 + e);
}

fn sigmoid(v: f32) -> f32 {
    return 1.0 / (1.0 + exp(-v));
}

// sin to about one f32 ulp where WGSL only promises 2⁻¹¹ absolute error on [−π, π]
// (SwiftShader and many GPUs are that coarse, and the vocoder's snake activations feel it):
// r = x − nπ with n = round(x/π) in three Cody–Waite steps, then sin(x) = (−1)ⁿ · sin(r) by
// its Taylor series to r¹¹ (error below 6e-8 on [−π/2, π/2]).
fn sin_precise(x: f32) -> f32 {
    let n = round(x * 0.3183098861837907);
    var r = fma(-n, 3.140625, x);
    r = fma(-n, 9.67502593994140625e-4, r);
    r = fma(-n, 1.509957990978376432e-7, r);
    let r2 = r * r;
    let poly = -1.6666666666666666e-1 + r2 * (8.333333333333333e-3 + r2 * (-1.984126984126984e-4 + r2 * (2.7557319223985893e-6 + r2 * -2.505210838544172e-8)));
    let s = fma(r * r2, poly, r);
    return select(s, -s, (i32(n) & 1) != 0);
}
