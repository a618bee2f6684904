// Q4_K: super-blocks of 256 = 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes
// (`extra`), f16 d and dmin (`scales`, one word), 4-bit quants (sub-block 2i in the low nibbles
// of bytes 32i..32i+32, sub-block 2i + 1 in their high nibbles). value = d·sc·q − dmin·m.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 8u;
    let j = e & 255u;
    let sub = j >> 5u;
    let s = l.extra * 4u + b * 12u;
    var sc: u32;
    var m: u32;
    if (sub < 4u) {
        sc = WEIGHT_byte(0u, s + sub) & 63u;
        m = WEIGHT_byte(0u, s + sub + 4u) & 63u;
    } else {
        let packed = WEIGHT_byte(0u, s + sub + 4u);
        sc = (packed & 15u) | ((WEIGHT_byte(0u, s + sub - 4u) >> 6u) << 4u);
        m = (packed >> 4u) | ((WEIGHT_byte(0u, s + sub) >> 6u) << 4u);
    }
    let q = (WEIGHT_byte(0u, b * 128u + 32u * (sub >> 1u) + (j & 31u)) >> (4u * (sub & 1u))) & 15u;
    let dm = unpack2x16float(WEIGHT[l.scales + b]);
    return dm.x * f32(sc) * f32(q) - dm.y * f32(m);
}
