//! The f32 reference forward pass for one window: the definition every faster path (dense,
//! SIMD, GPU, firmware) must match bit for bit.
//!
//! Arithmetic, fixed to the last bit:
//! - a convolution output starts from its bias and accumulates `weight * input` with
//!   [`fma`], input channel outermost, then filter row, then filter column;
//! - max pooling visits its `P x P` block row by row from the top-left with [`pool_max`];
//! - pooling runs before [`tanh`]: since `tanh` is monotone non-decreasing, this is bit-equal to
//!   `tanh` then pooling, and it is the order every path uses;
//! - the hidden layer accumulates over channel, then row, then column of the last maps; the
//!   output layer over hidden units in order; both start from their bias.
//!
//! Only the conv outputs that a pool reads are computed; with pool sides that divide their maps
//! (checked at compile time) that is all of them. Slow and plain on purpose.

use crate::architecture::{Architecture, CLASSES, HIDDEN, MAPS, STAGES};
use crate::arithmetic::{fma, pool_max};
use crate::prediction::Prediction;
use crate::tanh::tanh;
use crate::weights::F32Weights;

/// Floats of scratch memory [`forward_window`] needs for configuration `A`: the pooled maps of
/// stage 0, then room for those of stage 1 or the hidden layer (164,232 floats, 656,928 bytes,
/// for configuration 4).
pub const fn scratch_len<A: Architecture>() -> usize {
    let g = A::GEOMETRY;
    let first = MAPS * g.pooled[0] * g.pooled[0];
    let second = MAPS * g.pooled[1] * g.pooled[1];
    let rest = if second > HIDDEN { second } else { HIDDEN };
    first + rest
}

/// Why a forward pass could not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardError {
    /// The window slice is not `W * W` long.
    WindowSize {
        /// `W * W`.
        expected: usize,
        /// The slice's length.
        found: usize,
    },
    /// The scratch slice is shorter than [`scratch_len`].
    ScratchTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements given.
        found: usize,
    },
}

impl core::fmt::Display for ForwardError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ForwardError::WindowSize { expected, found } => {
                write!(
                    f,
                    "window holds {found} values, the network needs {expected}"
                )
            }
            ForwardError::ScratchTooSmall { needed, found } => {
                write!(
                    f,
                    "scratch holds {found} values, the forward pass needs {needed}"
                )
            }
        }
    }
}

impl core::error::Error for ForwardError {}

/// Evaluates the network on one window.
///
/// `window`: `W * W` network inputs (already scaled, see [`crate::scaling`]), row-major.
/// `scratch`: at least [`scratch_len::<A>()`](scratch_len) floats, contents ignored.
pub fn forward_window<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    window: &[f32],
    scratch: &mut [f32],
) -> Result<Prediction<f32>, ForwardError> {
    let g = A::GEOMETRY;
    if window.len() != g.window * g.window {
        return Err(ForwardError::WindowSize {
            expected: g.window * g.window,
            found: window.len(),
        });
    }
    let needed = scratch_len::<A>();
    if scratch.len() < needed {
        return Err(ForwardError::ScratchTooSmall {
            needed,
            found: scratch.len(),
        });
    }

    // Stage 0 reads the window and writes buffer A; stage 1 writes B; stage 2 writes A again.
    let first_len = MAPS * g.pooled[0] * g.pooled[0];
    let (buffer_a, buffer_b) = scratch.split_at_mut(first_len);
    conv_pool_tanh(weights, 0, window, buffer_a);
    conv_pool_tanh(weights, 1, buffer_a, buffer_b);
    let last_len = MAPS * g.pooled[2] * g.pooled[2];
    conv_pool_tanh(weights, 2, buffer_b, &mut buffer_a[..last_len]);

    let hidden = &mut buffer_b[..HIDDEN];
    fully_connected_tanh(weights, &buffer_a[..last_len], hidden);
    Ok(Prediction::from_logits(output_logits(weights, hidden)))
}

/// One stage: convolution of `input` (`[C_in][n][n]`) into `MAPS` maps, max pooling, `tanh`,
/// written to `output` (`[MAPS][m][m]`, `m = (n - K + 1) / P`).
fn conv_pool_tanh<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    stage: usize,
    input: &[f32],
    output: &mut [f32],
) {
    let g = A::GEOMETRY;
    let (side_in, kernel, pool) = (g.inputs[stage], g.kernels[stage], g.pools[stage]);
    let (channels_in, side_out) = (g.channels_in[stage], g.pooled[stage]);
    let filters = weights.conv_weights(stage);
    let biases = weights.conv_biases(stage);
    let filter_len = channels_in * kernel * kernel;

    for map in 0..MAPS {
        let filter = &filters[map * filter_len..(map + 1) * filter_len];
        for pooled_row in 0..side_out {
            for pooled_column in 0..side_out {
                let mut best = 0.0;
                for dy in 0..pool {
                    for dx in 0..pool {
                        let row = pooled_row * pool + dy;
                        let column = pooled_column * pool + dx;
                        let at = Tap {
                            row,
                            column,
                            side_in,
                            kernel,
                        };
                        let sum = convolve_at(biases[map], filter, input, channels_in, at);
                        best = if dy == 0 && dx == 0 {
                            sum
                        } else {
                            pool_max(best, sum)
                        };
                    }
                }
                output[(map * side_out + pooled_row) * side_out + pooled_column] = tanh(best);
            }
        }
    }
}

/// Where one convolution output reads: its top-left input pixel, the input side, the filter side.
#[derive(Clone, Copy)]
struct Tap {
    row: usize,
    column: usize,
    side_in: usize,
    kernel: usize,
}

/// `bias + sum(filter * input)` over `[C_in][K][K]`, accumulated in that order with fma.
fn convolve_at(bias: f32, filter: &[f32], input: &[f32], channels_in: usize, at: Tap) -> f32 {
    let mut sum = bias;
    for channel in 0..channels_in {
        for ky in 0..at.kernel {
            let input_row = (channel * at.side_in + at.row + ky) * at.side_in + at.column;
            let filter_row = (channel * at.kernel + ky) * at.kernel;
            for kx in 0..at.kernel {
                sum = fma(filter[filter_row + kx], input[input_row + kx], sum);
            }
        }
    }
    sum
}

/// The hidden layer: `HIDDEN` units over the last pooled maps (`[MAPS][S][S]`, read whole), then
/// `tanh`.
fn fully_connected_tanh<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    maps: &[f32],
    hidden: &mut [f32],
) {
    let unit_weights = weights.hidden_weights();
    let biases = weights.hidden_biases();
    for (unit, activation) in hidden.iter_mut().enumerate() {
        let row = &unit_weights[unit * maps.len()..(unit + 1) * maps.len()];
        let mut sum = biases[unit];
        for (weight, input) in row.iter().zip(maps) {
            sum = fma(*weight, *input, sum);
        }
        *activation = tanh(sum);
    }
}

/// The output layer: `CLASSES` logits over the hidden units.
fn output_logits<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    hidden: &[f32],
) -> [f32; CLASSES] {
    let class_weights = weights.output_weights();
    let biases = weights.output_biases();
    core::array::from_fn(|class| {
        let row = &class_weights[class * HIDDEN..(class + 1) * HIDDEN];
        let mut sum = biases[class];
        for (weight, input) in row.iter().zip(hidden) {
            sum = fma(*weight, *input, sum);
        }
        sum
    })
}

const _: () = assert!(STAGES == 3, "forward_window chains exactly three stages");
