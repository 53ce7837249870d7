//! The segment colours every chart and report shares (the app's charts, the HTML persona summary), so
//! a persona has one colour everywhere.

/// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
pub const PALETTE: [[u8; 3]; 8] = [
    [0, 114, 178],
    [230, 159, 0],
    [0, 158, 115],
    [204, 121, 167],
    [86, 180, 233],
    [213, 94, 0],
    [240, 228, 66],
    [110, 110, 110],
];

/// Segment `c`'s colour.
pub fn cluster_rgb(c: usize) -> [u8; 3] {
    PALETTE[c % PALETTE.len()]
}
