// TQ1_0: super-blocks of 256 ternary values, five per byte in base 3 (48 bytes of quants, then 4
// bytes in `extra` for the last 16), one f16 scale. Trit n of byte q: ((q · 3ⁿ mod 256) · 3) >> 8.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 8u;
    let j = e & 255u;
    var byte: u32;
    var n: u32;
    if (j < 160u) {
        byte = WEIGHT_byte(0u, b * 48u + (j & 31u));
        n = j >> 5u;
    } else if (j < 240u) {
        byte = WEIGHT_byte(0u, b * 48u + 32u + (j - 160u) % 16u);
        n = (j - 160u) >> 4u;
    } else {
        byte = WEIGHT_byte(l.extra, b * 4u + ((j - 240u) & 3u));
        n = (j - 240u) >> 2u;
    }
    // 3ⁿ: the bytes 1, 3, 9, 27 of one word, or 81
    let pow3 = select((0x1b090301u >> (8u * n)) & 0xffu, 81u, n == 4u);
    let q = (byte * pow3) & 0xffu;
    return (f32((q * 3u) >> 8u) - 1.0) * WEIGHT_half(l.scales, b);
}
