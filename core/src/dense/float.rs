//! The f32 dense scanner: [`DenseScanner`] for rows streamed in, [`scan_image`] for a whole
//! image in memory. Logits equal [`crate::reference::forward_window`] bit for bit.
//!
//! Memory: one caller-provided `&mut [f32]` of [`workspace_len`] floats, split into the
//! activation region (raw-row and `T_1..T_3` rings) followed by the sum region (`C_0..C_2`
//! rings, one hidden row, one logits row); see [`DensePlan`].

use crate::architecture::{Architecture, CLASSES};
use crate::arithmetic::{fma, pool_max};
use crate::scaling::InputAffine;
use crate::tanh::tanh;
use crate::weights::F32Weights;
use crate::window::RawImage;

use super::engine::{Engine, Precision, Shape};
use super::plan::DensePlan;
use super::{DenseError, OutputRow, shape_of};

/// Floats of workspace a [`DenseScanner`] of configuration `A` needs for images `width`
/// pixels wide: `activations_len + sums_len` of [`DensePlan::new`], that is
///
/// `(max(W/2+1, K_0)) (Wd + W - 1)` for the raw rows
/// `+ 36 sum_{l=1..3} rows(T_l) (Wd + E_l - 1)` for the pooled maps
/// `+ 36 sum_{l=0..2} (d_l (P_l - 1) + 1) (Wd + E_l - 1 - d_l (K_l - 1))` for the convolutions
/// `+ 3 Wd` for the hidden and logits rows,
///
/// with `rows(T_l) = d_l (K_l - 1) + 1` for `l = 1, 2` and `d_3 (S - 1) + 1` for `l = 3`.
/// Configuration 4 at width 2492: 11,965,839 floats, 47,863,356 bytes (about 45.6 MiB);
/// independent of the image height.
pub const fn workspace_len<A: Architecture>(width: usize) -> usize {
    let plan = DensePlan::new::<A>(width);
    plan.activations_len.saturating_add(plan.sums_len)
}

/// Bytes of workspace for [`workspace_len`]: `4 * workspace_len::<A>(width)`.
pub const fn workspace_bytes<A: Architecture>(width: usize) -> usize {
    workspace_len::<A>(width).saturating_mul(core::mem::size_of::<f32>())
}

/// The float arithmetic of the reference.
struct Float<'w, A: Architecture, const N: usize> {
    weights: &'w F32Weights<A, N>,
    affine: InputAffine,
}

impl<A: Architecture, const N: usize> Precision for Float<'_, A, N> {
    type Weight = f32;
    type Act = f32;
    type Sum = f32;

    #[inline]
    fn input(&self, raw: u16) -> f32 {
        self.affine.apply(raw)
    }

    fn conv_filters(&self, stage: usize) -> &[f32] {
        self.weights.conv_weights(stage)
    }

    fn conv_bias(&self, stage: usize, map: usize) -> f32 {
        self.weights.conv_biases(stage)[map]
    }

    fn hidden_weights(&self) -> &[f32] {
        self.weights.hidden_weights()
    }

    fn hidden_bias(&self, unit: usize) -> f32 {
        self.weights.hidden_biases()[unit]
    }

    fn output_weights(&self) -> &[f32] {
        self.weights.output_weights()
    }

    fn output_bias(&self, class: usize) -> f32 {
        self.weights.output_biases()[class]
    }

    #[inline]
    fn mac_row(sums: &mut [f32], weight: f32, inputs: &[f32]) {
        for (sum, input) in sums.iter_mut().zip(inputs) {
            *sum = fma(weight, *input, *sum);
        }
    }

    #[inline]
    fn mac(sum: f32, weight: f32, hidden: f32) -> f32 {
        fma(weight, hidden, sum)
    }

    #[inline]
    fn pool(current: f32, candidate: f32) -> f32 {
        pool_max(current, candidate)
    }

    #[inline]
    fn conv_activation(&self, _stage: usize, _map: usize, pooled: f32) -> f32 {
        tanh(pooled)
    }

    #[inline]
    fn hidden_activation(&self, _unit: usize, sum: f32) -> f32 {
        tanh(sum)
    }

    #[inline]
    fn logit(&self, _class: usize, sum: f32) -> f32 {
        sum
    }
}

/// Streaming f32 dense evaluation of configuration `A`: push the image's rows top to bottom
/// (`Wd` raw values each), then [`finish`](DenseScanner::finish); each output row (`Wd` logit
/// pairs, pixel-major) is handed to the caller's closure as soon as the rows it reads are known:
/// output row `y` during the push of raw row `max(W/2, y + W/2 - 1)`, the last `W/2 - 1` rows
/// (all rows of images shorter than `W/2 + 1`) during `finish`.
///
/// All working memory is the borrowed workspace ([`workspace_len`] floats); the scanner itself
/// is a few hundred bytes, so both can live in `static`s.
pub struct DenseScanner<'a, A: Architecture, const N: usize> {
    engine: Engine<'a, Float<'a, A, N>>,
}

impl<'a, A: Architecture, const N: usize> DenseScanner<'a, A, N> {
    /// A scanner for images `width` pixels wide, scaling raw values with `affine`.
    ///
    /// Errors: [`DenseError::Empty`] for width 0, [`DenseError::WorkspaceTooSmall`] when
    /// `workspace` has fewer than [`workspace_len::<A>(width)`](workspace_len) floats (its
    /// contents are ignored; extra floats are left untouched).
    pub fn new(
        weights: &'a F32Weights<A, N>,
        affine: InputAffine,
        width: usize,
        workspace: &'a mut [f32],
    ) -> Result<Self, DenseError> {
        let plan = DensePlan::new::<A>(width);
        let needed = workspace_len::<A>(width);
        if width > 0 && workspace.len() < needed {
            return Err(DenseError::WorkspaceTooSmall {
                needed,
                found: workspace.len(),
            });
        }
        let split = plan.activations_len.min(workspace.len());
        let (activations, sums) = workspace.split_at_mut(split);
        let precision = Float { weights, affine };
        let shape: Shape = shape_of::<A>();
        let engine = Engine::new(precision, plan, shape, activations, sums)?;
        Ok(DenseScanner { engine })
    }

    /// Takes the next row of raw values (`Wd` of them) and calls `emit` for every output row it
    /// completes, in row order.
    ///
    /// Errors: [`DenseError::RowLength`] for a row that is not `Wd` long (nothing is consumed),
    /// [`DenseError::Finished`] after [`finish`](DenseScanner::finish).
    pub fn push_row(
        &mut self,
        raw: &[u16],
        mut emit: impl FnMut(OutputRow<'_, f32>),
    ) -> Result<(), DenseError> {
        self.engine.push_row(raw, &mut emit)
    }

    /// Ends the image at the last row pushed and calls `emit` for every remaining output row.
    /// Returns the image height `H`.
    ///
    /// Errors: [`DenseError::Empty`] if no row was pushed, [`DenseError::Finished`] if called
    /// twice.
    pub fn finish(
        &mut self,
        mut emit: impl FnMut(OutputRow<'_, f32>),
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

/// Labels a whole image densely: `out_logits[y * Wd + x]` gets the logits of pixel (y, x),
/// bit-equal to [`crate::reference::forward_window`] on [`crate::window::cut_window`]'s window.
///
/// `workspace`: at least [`workspace_len::<A>(image.width)`](workspace_len) floats.
/// `out_logits`: exactly `H * Wd` pairs.
pub fn scan_image<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    image: &RawImage<'_>,
    affine: InputAffine,
    workspace: &mut [f32],
    out_logits: &mut [[f32; CLASSES]],
) -> Result<(), DenseError> {
    let mut scanner = DenseScanner::new(weights, affine, image.width, workspace)?;
    scanner.engine.scan_whole(image, out_logits)
}
