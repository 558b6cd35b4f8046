//! The int8 dense scanner: [`DenseScannerInt8`] for rows streamed in, [`scan_image_int8`] for
//! a whole image in memory. Logits equal [`crate::int8::forward_window_int8`] bit for bit.
//!
//! Memory: two caller-provided buffers, so that each keeps its natural alignment without any
//! reinterpretation: `activations: &mut [i8]` of [`activations_len_int8`] bytes (raw-row and
//! `T_1..T_3` rings, int8) and `sums: &mut [i32]` of [`sums_len_int8`] elements (`C_0..C_2`
//! rings of int32 accumulators, one hidden row, one logits row); see [`DensePlan`].

use crate::architecture::{Architecture, CLASSES};
use crate::int8::{InputQuant, Int8Weights, tanh_from_table};
use crate::window::RawImage;

use super::engine::{Engine, Precision};
use super::plan::DensePlan;
use super::{DenseError, OutputRow, shape_of};

/// Bytes of the `i8` activation buffer of a [`DenseScannerInt8`] for images `width` pixels
/// wide: the same element count as the activation region of [`super::workspace_len`].
pub const fn activations_len_int8<A: Architecture>(width: usize) -> usize {
    DensePlan::new::<A>(width).activations_len
}

/// `i32` elements of the accumulator buffer of a [`DenseScannerInt8`]: the same count as the
/// sum region of [`super::workspace_len`].
pub const fn sums_len_int8<A: Architecture>(width: usize) -> usize {
    DensePlan::new::<A>(width).sums_len
}

/// Total bytes of both int8 buffers: `activations_len_int8 + 4 * sums_len_int8`.
/// Configuration 4 at width 2492: 19,257,531 bytes (about 18.4 MiB).
pub const fn workspace_bytes_int8<A: Architecture>(width: usize) -> usize {
    let sums = sums_len_int8::<A>(width).saturating_mul(core::mem::size_of::<i32>());
    activations_len_int8::<A>(width).saturating_add(sums)
}

/// The integer arithmetic of the int8 reference.
struct Integer<'w, A: Architecture, const NW: usize, const NB: usize> {
    weights: &'w Int8Weights<A, NW, NB>,
    quant: InputQuant,
}

impl<A: Architecture, const NW: usize, const NB: usize> Integer<'_, A, NW, NB> {
    const LAYOUT: crate::architecture::Layout = A::GEOMETRY.layout;
}

impl<A: Architecture, const NW: usize, const NB: usize> Precision for Integer<'_, A, NW, NB> {
    type Weight = i8;
    type Act = i8;
    type Sum = i32;

    #[inline]
    fn input(&self, raw: u16) -> i8 {
        self.quant.apply(raw)
    }

    fn conv_filters(&self, stage: usize) -> &[i8] {
        let start = Self::LAYOUT.packed_conv_weights[stage];
        let end = if stage + 1 < Self::LAYOUT.packed_conv_weights.len() {
            Self::LAYOUT.packed_conv_weights[stage + 1]
        } else {
            Self::LAYOUT.packed_hidden_weights
        };
        &self.weights.weights[start..end]
    }

    fn conv_bias(&self, stage: usize, map: usize) -> i32 {
        self.weights.biases[Int8Weights::<A, NW, NB>::conv_channel(stage, map)]
    }

    fn hidden_weights(&self) -> &[i8] {
        let layout = Self::LAYOUT;
        &self.weights.weights[layout.packed_hidden_weights..layout.packed_output_weights]
    }

    fn hidden_bias(&self, unit: usize) -> i32 {
        self.weights.biases[Int8Weights::<A, NW, NB>::hidden_channel(unit)]
    }

    fn output_weights(&self) -> &[i8] {
        &self.weights.weights[Self::LAYOUT.packed_output_weights..]
    }

    fn output_bias(&self, class: usize) -> i32 {
        self.weights.biases[Int8Weights::<A, NW, NB>::output_channel(class)]
    }

    // Sums stay within `max_accumulator` (checked at compile time for valid weights); wrapping
    // only makes hand-made out-of-range biases harmless instead of a panic.
    #[inline]
    fn mac_row(sums: &mut [i32], weight: i8, inputs: &[i8]) {
        for (sum, input) in sums.iter_mut().zip(inputs) {
            *sum = sum.wrapping_add(weight as i32 * *input as i32);
        }
    }

    #[inline]
    fn mac(sum: i32, weight: i8, hidden: i8) -> i32 {
        sum.wrapping_add(weight as i32 * hidden as i32)
    }

    #[inline]
    fn pool(current: i32, candidate: i32) -> i32 {
        current.max(candidate)
    }

    #[inline]
    fn conv_activation(&self, stage: usize, map: usize, pooled: i32) -> i8 {
        let channel = Int8Weights::<A, NW, NB>::conv_channel(stage, map);
        tanh_from_table(self.weights.requant[channel].apply(pooled))
    }

    #[inline]
    fn hidden_activation(&self, unit: usize, sum: i32) -> i8 {
        let channel = Int8Weights::<A, NW, NB>::hidden_channel(unit);
        tanh_from_table(self.weights.requant[channel].apply(sum))
    }

    #[inline]
    fn logit(&self, class: usize, sum: i32) -> i32 {
        let channel = Int8Weights::<A, NW, NB>::output_channel(class);
        self.weights.requant[channel].apply(sum)
    }
}

/// Streaming int8 dense evaluation of configuration `A`; the same protocol and latency as
/// [`super::DenseScanner`], with int32 fixed-point logits
/// ([`crate::int8::LOGIT_FRACTION_BITS`] fraction bits).
pub struct DenseScannerInt8<'a, A: Architecture, const NW: usize, const NB: usize> {
    engine: Engine<'a, Integer<'a, A, NW, NB>>,
}

impl<'a, A: Architecture, const NW: usize, const NB: usize> DenseScannerInt8<'a, A, NW, NB> {
    /// A scanner for images `width` pixels wide, converting raw values with `quant`.
    ///
    /// `activations`: at least [`activations_len_int8::<A>(width)`](activations_len_int8)
    /// bytes; `sums`: at least [`sums_len_int8::<A>(width)`](sums_len_int8) elements. Errors:
    /// [`DenseError::Empty`] for width 0, [`DenseError::WorkspaceTooSmall`] or
    /// [`DenseError::SumsTooSmall`] for a short buffer.
    pub fn new(
        weights: &'a Int8Weights<A, NW, NB>,
        quant: InputQuant,
        width: usize,
        activations: &'a mut [i8],
        sums: &'a mut [i32],
    ) -> Result<Self, DenseError> {
        let plan = DensePlan::new::<A>(width);
        let precision = Integer { weights, quant };
        let engine = Engine::new(precision, plan, shape_of::<A>(), activations, sums)?;
        Ok(DenseScannerInt8 { engine })
    }

    /// Takes the next row of raw values (`Wd` of them) and calls `emit` for every output row it
    /// completes, in row order. Errors as [`super::DenseScanner::push_row`].
    pub fn push_row(
        &mut self,
        raw: &[u16],
        mut emit: impl FnMut(OutputRow<'_, i32>),
    ) -> Result<(), DenseError> {
        self.engine.push_row(raw, &mut emit)
    }

    /// Ends the image and emits the remaining rows; returns `H`. Errors as
    /// [`super::DenseScanner::finish`].
    pub fn finish(
        &mut self,
        mut emit: impl FnMut(OutputRow<'_, i32>),
    ) -> Result<usize, DenseError> {
        self.engine.finish(&mut emit)
    }

    /// Raw rows pushed so far.
    pub fn rows_in(&self) -> usize {
        self.engine.rows_in()
    }

    /// Output rows emitted so far.
    pub fn rows_out(&self) -> usize {
        self.engine.rows_out()
    }
}

/// Labels a whole image densely with the int8 network: `out_logits[y * Wd + x]` gets the
/// fixed-point logits of pixel (y, x), bit-equal to [`crate::int8::forward_window_int8`] on the
/// window of `quant.apply` of the mirrored raw values.
///
/// Buffers as [`DenseScannerInt8::new`]; `out_logits`: exactly `H * Wd` pairs.
pub fn scan_image_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    image: &RawImage<'_>,
    quant: InputQuant,
    activations: &mut [i8],
    sums: &mut [i32],
    out_logits: &mut [[i32; CLASSES]],
) -> Result<(), DenseError> {
    let mut scanner = DenseScannerInt8::new(weights, quant, image.width, activations, sums)?;
    scanner.engine.scan_whole(image, out_logits)
}
