//! Max pooling over channel-last maps with dilation and stride, forward and backward.
//!
//! Output position `(y, x)` of channel `c` is the maximum of the `P x P` inputs
//! `[s y + d a][s x + d b][c]`, visited row by row (`a` outer, `b` inner) from `(0, 0)`; a
//! candidate replaces the running maximum only when strictly greater, so ties go to the first
//! in row-major order exactly as `bonemask_core::arithmetic::pool_max`. The dense form uses
//! stride 1 and the stage's dilation; the per-window form stride `P` and dilation 1. The
//! backward pass sends each output gradient to the input that won (its argmax).

use crate::real::Real;

/// Sizes of one pooling. All sides in map positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolShape {
    /// Input rows.
    pub in_h: usize,
    /// Input columns.
    pub in_w: usize,
    /// Channels (input and output).
    pub channels: usize,
    /// Pool side `P`.
    pub pool: usize,
    /// Distance between pooled inputs `d`.
    pub dilation: usize,
    /// Distance between consecutive outputs' first inputs `s`.
    pub stride: usize,
}

impl PoolShape {
    /// Output rows.
    pub fn out_h(&self) -> usize {
        (self.in_h - self.dilation * (self.pool - 1) - 1) / self.stride + 1
    }

    /// Output columns.
    pub fn out_w(&self) -> usize {
        (self.in_w - self.dilation * (self.pool - 1) - 1) / self.stride + 1
    }

    /// Elements of the output map (and of its argmax map).
    pub fn output_len(&self) -> usize {
        self.out_h() * self.out_w() * self.channels
    }
}

/// Reusable buffers of the forward pass: the row-pooled map and its argmax.
#[derive(Debug, Default)]
pub struct PoolScratch<T> {
    rows: Vec<T>,
    rows_argmax: Vec<u32>,
}

/// Forward pass; `argmax[i]` receives the index into `input` of the element that
/// `output[i]` copied.
///
/// Separable: a maximum along each row first (`P` taps), then along columns of those
/// (`P` taps), `2P` comparisons per output instead of `P^2`. The winner is the same element
/// as in the row-major scan: the column pass keeps the first (topmost) row whose maximum is
/// the largest, and that row's pass kept its first (leftmost) column.
pub fn forward<T: Real>(
    shape: &PoolShape,
    input: &[T],
    output: &mut [T],
    argmax: &mut [u32],
    scratch: &mut PoolScratch<T>,
) {
    let (channels, out_w) = (shape.channels, shape.out_w());
    let row_len = out_w * channels;
    scratch.rows.clear();
    scratch.rows.resize(shape.in_h * row_len, T::ZERO);
    scratch.rows_argmax.clear();
    scratch.rows_argmax.resize(shape.in_h * row_len, 0);

    // Along rows: rows[y][x][c] = max over b of input[y][s x + d b][c].
    for y in 0..shape.in_h {
        for x in 0..out_w {
            let at = (y * out_w + x) * channels;
            let best = &mut scratch.rows[at..at + channels];
            let winner = &mut scratch.rows_argmax[at..at + channels];
            for b in 0..shape.pool {
                let from = (y * shape.in_w + shape.stride * x + shape.dilation * b) * channels;
                let candidates = &input[from..from + channels];
                if b == 0 {
                    best.copy_from_slice(candidates);
                    for (c, slot) in winner.iter_mut().enumerate() {
                        *slot = (from + c) as u32;
                    }
                } else {
                    let first = (from..from + channels).map(|at| at as u32);
                    keep_larger(best, winner, candidates, first);
                }
            }
        }
    }

    // Along columns: output[y][x][c] = max over a of rows[s y + d a][x][c].
    for y in 0..shape.out_h() {
        let best = &mut output[y * row_len..(y + 1) * row_len];
        let winner = &mut argmax[y * row_len..(y + 1) * row_len];
        for a in 0..shape.pool {
            let from = (shape.stride * y + shape.dilation * a) * row_len;
            let candidates = &scratch.rows[from..from + row_len];
            let indices = &scratch.rows_argmax[from..from + row_len];
            if a == 0 {
                best.copy_from_slice(candidates);
                winner.copy_from_slice(indices);
            } else {
                keep_larger(best, winner, candidates, indices.iter().copied());
            }
        }
    }
}

/// `best[i] = candidates[i]` and `winner[i] = indices[i]` where the candidate is strictly
/// greater; written as masks without branches so that it vectorises.
#[inline(always)]
fn keep_larger<T: Real>(
    best: &mut [T],
    winner: &mut [u32],
    candidates: &[T],
    indices: impl Iterator<Item = u32>,
) {
    let lanes = best
        .iter_mut()
        .zip(winner.iter_mut())
        .zip(candidates)
        .zip(indices);
    for (((value, slot), candidate), index) in lanes {
        let mask = u32::from(*candidate > *value).wrapping_neg();
        *value = if *candidate > *value {
            *candidate
        } else {
            *value
        };
        *slot = (index & mask) | (*slot & !mask);
    }
}

/// Backward pass: adds `d_output[i]` to `d_input[argmax[i]]` for every output element.
pub fn backward<T: Real>(d_output: &[T], argmax: &[u32], d_input: &mut [T]) {
    for (gradient, index) in d_output.iter().zip(argmax) {
        d_input[*index as usize] += *gradient;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Lcg, check_close, numeric_gradient};

    fn pooled(shape: &PoolShape, input: &[f64]) -> Vec<f64> {
        let mut output = vec![0.0; shape.output_len()];
        let mut argmax = vec![0; shape.output_len()];
        forward(
            shape,
            input,
            &mut output,
            &mut argmax,
            &mut PoolScratch::default(),
        );
        output
    }

    #[test]
    fn forward_picks_the_dilated_strided_maximum_and_first_of_ties() {
        let shape = PoolShape {
            in_h: 5,
            in_w: 5,
            channels: 1,
            pool: 2,
            dilation: 2,
            stride: 1,
        };
        let mut input: Vec<f64> = (0..25).map(|i| ((i * 7) % 11) as f64).collect();
        assert_eq!(shape.out_h(), 3);
        let output = pooled(&shape, &input);
        for y in 0..3 {
            for x in 0..3 {
                let taps = [(0, 0), (0, 2), (2, 0), (2, 2)];
                let want = taps
                    .iter()
                    .map(|(a, b)| input[(y + a) * 5 + x + b])
                    .fold(f64::MIN, f64::max);
                assert_eq!(output[y * 3 + x], want, "output ({y}, {x})");
            }
        }
        // -0.0 then +0.0: the first visited wins, as in core's pool_max.
        input.fill(-1.0);
        input[0] = -0.0;
        input[2] = 0.0;
        let output = pooled(&shape, &input);
        assert_eq!(output[0].to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn separable_winner_is_the_row_major_first_among_ties() {
        // Values from {0, 1, 2}: most windows hold several equal maxima.
        let shape = PoolShape {
            in_h: 11,
            in_w: 10,
            channels: 2,
            pool: 3,
            dilation: 2,
            stride: 1,
        };
        let input: Vec<f64> = (0..220).map(|i| ((i * 37 + i / 7) % 3) as f64).collect();
        let mut output = vec![0.0; shape.output_len()];
        let mut argmax = vec![0; shape.output_len()];
        forward(
            &shape,
            &input,
            &mut output,
            &mut argmax,
            &mut PoolScratch::default(),
        );
        for y in 0..shape.out_h() {
            for x in 0..shape.out_w() {
                for c in 0..2 {
                    let mut best = (f64::MIN, 0);
                    for a in 0..3 {
                        for b in 0..3 {
                            let at = ((y + 2 * a) * 10 + x + 2 * b) * 2 + c;
                            if input[at] > best.0 {
                                best = (input[at], at);
                            }
                        }
                    }
                    let i = (y * shape.out_w() + x) * 2 + c;
                    assert_eq!(
                        (output[i], argmax[i] as usize),
                        best,
                        "output ({y}, {x}, {c})"
                    );
                }
            }
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        for (dilation, stride) in [(1, 2), (2, 1), (3, 1)] {
            let shape = PoolShape {
                in_h: 10,
                in_w: 9,
                channels: 3,
                pool: 3,
                dilation,
                stride,
            };
            // Distinct values keep the argmax away from ties under the finite difference.
            let mut rng = Lcg::new(11);
            let input = rng.vector(shape.in_h * shape.in_w * shape.channels);
            let probe = rng.vector(shape.output_len());
            let mut output = vec![0.0; shape.output_len()];
            let mut argmax = vec![0; shape.output_len()];
            forward(
                &shape,
                &input,
                &mut output,
                &mut argmax,
                &mut PoolScratch::default(),
            );
            let mut d_input = vec![0.0; input.len()];
            backward(&probe, &argmax, &mut d_input);
            let numeric = numeric_gradient(&input, |x| {
                pooled(&shape, x)
                    .iter()
                    .zip(&probe)
                    .map(|(o, p)| o * p)
                    .sum()
            });
            check_close(&d_input, &numeric, 1e-7);
        }
    }
}
