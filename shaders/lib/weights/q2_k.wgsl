// Q2_K: super-blocks of 256 = 16 sub-blocks of 16, each with a 4-bit scale (low nibble) and
// min (high nibble) in `extra` (16 bytes), f16 d and dmin (`scales`, one word), 2-bit quants:
// element 128h + 32p + i sits in bits 2p..2p+2 of byte 32h + i. value = d·sc·q − dmin·m.
fn WEIGHT_at(l: WeightLayout, e: u32) -> f32 {
    let b = e >> 8u;
    let j = e & 255u;
    let q = (WEIGHT_byte(0u, b * 64u + 32u * (j >> 7u) + (j & 31u)) >> (2u * ((j >> 5u) & 3u))) & 3u;
    let s = WEIGHT_byte(l.extra, b * 16u + (j >> 4u));
    let dm = unpack2x16float(WEIGHT[l.scales + b]);
    return dm.x * f32(s & 15u) * f32(q) - dm.y * f32(s >> 4u);
}
