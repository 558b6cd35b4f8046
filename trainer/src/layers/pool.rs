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

/// Forward pass; `argmax[i]` receives the index into `input` of the element that
/// `output[i]` copied.
pub fn forward<T: Real>(shape: &PoolShape, input: &[T], output: &mut [T], argmax: &mut [u32]) {
    let (channels, pool, dilation) = (shape.channels, shape.pool, shape.dilation);
    let out_w = shape.out_w();
    for y in 0..shape.out_h() {
        for x in 0..out_w {
            let at = (y * out_w + x) * channels;
            let best = &mut output[at..at + channels];
            let winner = &mut argmax[at..at + channels];
            for a in 0..pool {
                for b in 0..pool {
                    let row = shape.stride * y + dilation * a;
                    let column = shape.stride * x + dilation * b;
                    let from = (row * shape.in_w + column) * channels;
                    let candidates = &input[from..from + channels];
                    if a == 0 && b == 0 {
                        best.copy_from_slice(candidates);
                        for (c, index) in winner.iter_mut().enumerate() {
                            *index = (from + c) as u32;
                        }
                        continue;
                    }
                    for (c, candidate) in candidates.iter().enumerate() {
                        if *candidate > best[c] {
                            best[c] = *candidate;
                            winner[c] = (from + c) as u32;
                        }
                    }
                }
            }
        }
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
        forward(shape, input, &mut output, &mut argmax);
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
            forward(&shape, &input, &mut output, &mut argmax);
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
