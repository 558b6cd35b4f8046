//! The ring-buffer plan of dense scanning: how many rows of each dense feature map are kept,
//! how wide they are, and where each ring sits in the caller's workspace.
//!
//! Owns sizes only (element counts, computed by `const fn`); the arithmetic lives in
//! `engine.rs`. Nothing here depends on the image height: every ring holds a fixed number of
//! rows, addressed by row index modulo that number.
//!
//! Map naming (see the crate's dimension legend), for stage `l` with dilation `d_l`:
//! - `T_l`: the stage's input maps (`T_0` is the scaled, mirror-padded image, `C_in` = 1);
//! - `C_l`: its `MAPS` convolution outputs, kept before pooling;
//! - `T_{l+1}`: pooled and activated, the next stage's input; `T_3` feeds the hidden layer.
//!
//! `E_l` is the receptive field still ahead of `T_l` (rows of `T_l` one output reads):
//! `E_3 = d_3 (S - 1) + 1`, `E_l = E_{l+1} + d_l (K_l - 1) + d_l (P_l - 1)`, and `E_0 = W`.
//! `T_l` rows are `Wd + E_l - 1` wide; `C_l` rows are `d_l (K_l - 1)` narrower than `T_l`.

use crate::architecture::{Architecture, CLASSES, MAPS, STAGES};

/// Ring sizes and workspace offsets of dense scanning for one configuration and image width.
///
/// Two regions: *activations* (`A` elements: `f32` on the float path, `i8` on the int8 path)
/// hold the raw-row ring (`T_0`) and the `T_1..T_3` rings; *sums* (`f32` or `i32`) hold the
/// `C_0..C_2` rings, one hidden-unit row and one row of logits. Every ring is laid out
/// `[ring row][map][column]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DensePlan {
    /// Image width `Wd` (pixels).
    pub width: usize,
    /// Rows above and columns left of a pixel that its window reaches: `W / 2`.
    pub half: usize,
    /// Receptive field ahead of each `T_l`, `E_l` (rows); `E_0` is the window side `W`.
    pub extents: [usize; STAGES + 1],
    /// Columns of each `T_l` row: `Wd + E_l - 1`.
    pub map_widths: [usize; STAGES + 1],
    /// Columns of each `C_l` row: `Wd + E_l - 1 - d_l (K_l - 1)`.
    pub conv_widths: [usize; STAGES],
    /// Rows held by each `T_l` ring: `max(W/2 + 1, K_0)` raw rows for `T_0` (the top border
    /// mirrors rows `1..=W/2`), `d_l (K_l - 1) + 1` for `T_1`, `T_2`, `d_3 (S - 1) + 1` for `T_3`.
    pub map_rows: [usize; STAGES + 1],
    /// Rows held by each `C_l` ring: `d_l (P_l - 1) + 1`.
    pub conv_rows: [usize; STAGES],
    /// Start of each `T_l` ring in the activation region (elements).
    pub map_offsets: [usize; STAGES + 1],
    /// Start of each `C_l` ring in the sum region (elements).
    pub conv_offsets: [usize; STAGES],
    /// Start of the hidden-unit row (`Wd` sums) in the sum region.
    pub hidden_offset: usize,
    /// Start of the logits row (`Wd * CLASSES` sums, pixel-major) in the sum region.
    pub logits_offset: usize,
    /// Length of the activation region (elements).
    pub activations_len: usize,
    /// Length of the sum region (elements).
    pub sums_len: usize,
}

impl DensePlan {
    /// The plan of configuration `A` for images `width` pixels wide. Sizes saturate instead of
    /// overflowing, so an absurd width yields a workspace no caller can provide.
    pub const fn new<A: Architecture>(width: usize) -> DensePlan {
        let g = A::GEOMETRY;
        let d = g.dilations;

        let mut extents = [0; STAGES + 1];
        extents[STAGES] = d[STAGES] * (g.last_side() - 1) + 1;
        let mut stage = STAGES;
        while stage > 0 {
            stage -= 1;
            let (kernel, pool) = (g.kernels[stage], g.pools[stage]);
            extents[stage] = extents[stage + 1] + d[stage] * (kernel - 1) + d[stage] * (pool - 1);
        }

        let half = g.window / 2;
        let mut map_widths = [0; STAGES + 1];
        let mut map_rows = [0; STAGES + 1];
        let mut conv_widths = [0; STAGES];
        let mut conv_rows = [0; STAGES];
        let mut stage = 0;
        while stage <= STAGES {
            map_widths[stage] = width.saturating_add(extents[stage] - 1);
            if stage < STAGES {
                let reach = d[stage] * (g.kernels[stage] - 1);
                conv_widths[stage] = map_widths[stage].saturating_sub(reach);
                conv_rows[stage] = d[stage] * (g.pools[stage] - 1) + 1;
                map_rows[stage] = reach + 1;
            } else {
                map_rows[stage] = extents[STAGES];
            }
            stage += 1;
        }
        if map_rows[0] < half + 1 {
            map_rows[0] = half + 1;
        }

        let mut map_offsets = [0; STAGES + 1];
        let mut conv_offsets = [0; STAGES];
        let (mut activations_len, mut at): (usize, usize) = (0, 0);
        let mut stage = 0;
        while stage <= STAGES {
            map_offsets[stage] = activations_len;
            let channels = if stage == 0 { 1 } else { MAPS };
            let ring = ring_len(map_rows[stage], channels, map_widths[stage]);
            activations_len = activations_len.saturating_add(ring);
            if stage < STAGES {
                conv_offsets[stage] = at;
                at = at.saturating_add(ring_len(conv_rows[stage], MAPS, conv_widths[stage]));
            }
            stage += 1;
        }
        let hidden_offset = at;
        let logits_offset = at.saturating_add(width);
        let sums_len = logits_offset.saturating_add(width.saturating_mul(CLASSES));

        DensePlan {
            width,
            half,
            extents,
            map_widths,
            conv_widths,
            map_rows,
            conv_rows,
            map_offsets,
            conv_offsets,
            hidden_offset,
            logits_offset,
            activations_len,
            sums_len,
        }
    }
}

/// Elements of a ring of `rows` rows of `channels` maps `width` columns wide, saturating.
const fn ring_len(rows: usize, channels: usize, width: usize) -> usize {
    rows.saturating_mul(channels).saturating_mul(width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture::{Config1, Config2, Config3, Config4};

    #[test]
    fn receptive_field_is_the_window() {
        assert_eq!(DensePlan::new::<Config1>(1).extents[0], 64);
        assert_eq!(DensePlan::new::<Config2>(1).extents[0], 96);
        assert_eq!(DensePlan::new::<Config3>(1).extents[0], 102);
        assert_eq!(DensePlan::new::<Config4>(1).extents[0], 128);
    }

    #[test]
    fn config4_rings() {
        let plan = DensePlan::new::<Config4>(2492);
        assert_eq!(plan.extents, [128, 121, 113, 73]);
        assert_eq!(plan.map_rows, [65, 7, 21, 73]);
        assert_eq!(plan.conv_rows, [2, 3, 21]);
        assert_eq!(plan.map_widths, [2619, 2612, 2604, 2564]);
        // The last maps are exactly as wide as the image once the hidden layer has read them.
        assert_eq!(plan.map_widths[3] - (plan.extents[3] - 1), 2492);
    }

    #[test]
    fn absurd_widths_saturate() {
        let plan = DensePlan::new::<Config4>(usize::MAX);
        assert_eq!(plan.activations_len, usize::MAX);
        assert_eq!(plan.sums_len, usize::MAX);
    }
}
