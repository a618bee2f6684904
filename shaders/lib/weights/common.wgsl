// Byte `b` of the byte string that starts at word `base` of WEIGHT.
fn WEIGHT_byte(base: u32, b: u32) -> u32 {
    return (WEIGHT[base + (b >> 2u)] >> ((b & 3u) * 8u)) & 0xffu;
}

// f16 number `h` of the f16 string that starts at word `base` of WEIGHT (no shader-f16 needed).
fn WEIGHT_half(base: u32, h: u32) -> f32 {
    let pair = unpack2x16float(WEIGHT[base + (h >> 1u)]);
    return select(pair.x, pair.y, (h & 1u) == 1u);
}
