// Flat element index of a 1-D launch of 256-wide workgroups spread over a 2-D grid (one
// dimension holds at most 65,535 workgroups).
fn flat_index(wg: vec3<u32>, groups: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * groups.x + wg.x) * 256u + lid;
}
