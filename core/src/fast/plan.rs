//! The geometry of one dense scan: how many rows and columns each stage's maps cover, how wide
//! their row buffers are, and how many rows each ring buffer keeps.
//!
//! Legend (shared by every file of [`crate::fast`]): `T_l` is the input of stage `l` (`T_0` the
//! mirrored, scaled image, `T_3` the input of the hidden layer), `C_l` the convolution output of
//! stage `l` before pooling, `d_l` the dilation of stage `l`. The hidden layer is treated as a
//! fourth convolution with `S x S` taps at dilation `d_3` and no pool. A dense row index `i` of
//! any map is the image row of its top-left tap; output pixel `(y, x)` is dense position
//! `(y, x)` of the hidden layer.

use crate::architecture::{Architecture, MAPS, STAGES};

/// Output columns of one micro-kernel call: two vectors of eight lanes. Every computed row is
/// a whole number of these; the columns past the valid width are computed and ignored.
pub(crate) const BLOCK: usize = 16;

/// Extra columns past the last block, so that a pooling vector that starts at the last valid
/// column never reads or writes past its row.
const SLACK: usize = 8;

/// The largest filter side (and hidden `S`) the fast path accepts; the method's are at most 7.
pub(crate) const MAX_TAPS: usize = 16;

/// Layers that read a `T` map: the three convolutions and the hidden layer.
pub(crate) const LAYERS: usize = STAGES + 1;

/// Sizes of every map of one scan, in elements (not bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// Image rows `H`.
    pub height: usize,
    /// Image columns `Wd`.
    pub width: usize,
    /// Window side `W`.
    pub window: usize,
    /// Filter side of each layer (`S` for the hidden layer).
    pub kernels: [usize; LAYERS],
    /// Pool side of each convolution stage.
    pub pools: [usize; STAGES],
    /// Tap spacing of each layer (`d_0 .. d_3`).
    pub dilations: [usize; LAYERS],
    /// Channels of each `T_l` (1, then `MAPS`).
    pub channels: [usize; LAYERS],
    /// Rows (and columns) that `T_l` extends past the image: the receptive field of layers
    /// `l..` minus one. `margins[0] == W - 1`.
    pub margins: [usize; LAYERS],
    /// Valid columns of `C_l` (`Wd` for the hidden layer).
    pub out_width: [usize; LAYERS],
    /// Computed columns of `C_l`: a multiple of [`BLOCK`] with slack for pooling vectors.
    pub out_pitch: [usize; LAYERS],
    /// Valid columns of `T_l`: `Wd + margins[l]`.
    pub t_width: [usize; LAYERS],
    /// Stored columns of one channel of `T_l`: every column a computed output reads.
    pub t_pitch: [usize; LAYERS],
    /// Rows of `T_l` kept at once: `(K - 1) * d + 1`.
    pub t_ring: [usize; LAYERS],
    /// Rows of `C_l` kept at once: `(P - 1) * d + 1`.
    pub c_ring: [usize; STAGES],
}

impl Plan {
    /// The plan of configuration `A` on an `H x Wd` image, or `None` for filters wider than
    /// [`MAX_TAPS`] or a receptive field that is not the window.
    pub(crate) fn new<A: Architecture>(height: usize, width: usize) -> Option<Plan> {
        let g = A::GEOMETRY;
        let side = g.last_side();
        let kernels = [g.kernels[0], g.kernels[1], g.kernels[2], side];
        if kernels.iter().any(|&k| k > MAX_TAPS) || g.channels_in[1..].iter().any(|&c| c != MAPS) {
            return None;
        }
        let dilations = g.dilations;
        let mut margins = [0; LAYERS];
        margins[STAGES] = (side - 1) * dilations[STAGES];
        for l in (0..STAGES).rev() {
            margins[l] = margins[l + 1] + (kernels[l] - 1 + g.pools[l] - 1) * dilations[l];
        }
        if margins[0] + 1 != g.window {
            return None;
        }

        let mut plan = Plan {
            height,
            width,
            window: g.window,
            kernels,
            pools: g.pools,
            dilations,
            channels: [1, MAPS, MAPS, MAPS],
            margins,
            out_width: [0; LAYERS],
            out_pitch: [0; LAYERS],
            t_width: [0; LAYERS],
            t_pitch: [0; LAYERS],
            t_ring: [0; LAYERS],
            c_ring: [0; STAGES],
        };
        for l in 0..LAYERS {
            let reach = (kernels[l] - 1) * dilations[l];
            plan.t_width[l] = width + margins[l];
            plan.out_width[l] = plan.t_width[l] - reach;
            plan.out_pitch[l] = (plan.out_width[l] + SLACK).div_ceil(BLOCK) * BLOCK;
            plan.t_pitch[l] = plan.out_pitch[l] + reach;
            plan.t_ring[l] = reach + 1;
        }
        plan.c_ring = core::array::from_fn(|l| (g.pools[l] - 1) * dilations[l] + 1);
        Some(plan)
    }

    /// Elements of one row slot of `T_l`: `channels[l] * t_pitch[l]`.
    pub(crate) fn t_row_len(&self, layer: usize) -> usize {
        self.channels[layer] * self.t_pitch[layer]
    }

    /// Elements of one row slot of `C_l`: `MAPS * out_pitch[l]`.
    pub(crate) fn c_row_len(&self, stage: usize) -> usize {
        MAPS * self.out_pitch[stage]
    }

    /// Elements of every ring buffer of one band: the `T` rings, then the `C` rings.
    pub(crate) fn ring_elements(&self) -> ([usize; LAYERS], [usize; STAGES]) {
        let t = core::array::from_fn(|l| self.t_ring[l] * self.t_row_len(l));
        let c = core::array::from_fn(|l| self.c_ring[l] * self.c_row_len(l));
        (t, c)
    }
}

/// Where one call of an x86-64 micro-kernel reads: `rows[ky]` points, as elements of type `P`,
/// at the start of the `T` row slot that filter row `ky` reads. A slot is `groups` runs of
/// `pitch` lanes; a lane holds one column's `group` channels side by side (1 f32; 2 i16 for
/// the AVX2 int8 kernels; 4 bytes for the VNNI one; always 1 for the single-channel `T_0`).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Taps<P> {
    pub rows: [*const P; MAX_TAPS],
    /// Channel groups: the layer's input channels over `group`.
    pub groups: usize,
    /// Filter side `K`.
    pub kernel: usize,
    /// Lanes per channel group of a slot, `t_pitch[layer]`.
    pub pitch: usize,
    /// Distance between neighbouring taps, in columns.
    pub dilation: usize,
}

#[cfg(target_arch = "x86_64")]
impl<P> Taps<P> {
    /// The tap geometry of layer `layer` over `rows` with `group` channels a lane, after
    /// checking that each row holds a whole slot (`channels * t_pitch` elements of `T`), which
    /// every read of a micro-kernel call at a column below `out_pitch[layer]` stays in.
    pub fn new<T>(plan: &Plan, layer: usize, rows: &[&[T]], group: usize) -> Taps<P> {
        let (channels, pitch) = (plan.channels[layer], plan.t_pitch[layer]);
        assert!(rows.len() == plan.kernels[layer] && rows.len() <= MAX_TAPS);
        assert!(rows.iter().all(|row| row.len() >= channels * pitch));
        let group = if channels == 1 { 1 } else { group };
        assert!(group > 0 && channels.is_multiple_of(group));
        let mut pointers = [core::ptr::null(); MAX_TAPS];
        for (pointer, row) in pointers.iter_mut().zip(rows) {
            *pointer = row.as_ptr().cast();
        }
        Taps {
            rows: pointers,
            groups: channels / group,
            kernel: plan.kernels[layer],
            pitch,
            dilation: plan.dilations[layer],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::architecture::{Config1, Config4};

    #[test]
    fn margins_add_up_to_the_window() {
        let plan = Plan::new::<Config4>(10, 10).unwrap();
        assert_eq!(plan.margins, [127, 120, 112, 72]);
        let plan = Plan::new::<Config1>(10, 10).unwrap();
        assert_eq!(plan.margins, [63, 58, 52, 24]);
        assert_eq!(plan.out_width[3], 10);
        assert_eq!(plan.t_ring, [5, 5, 21, 25]);
    }
}
