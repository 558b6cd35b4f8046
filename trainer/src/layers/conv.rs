//! Dilated convolution over channel-last maps, forward and backward, as blocked im2col plus a
//! matrix product.
//!
//! Shapes: input `[H][W][C_in]`, weights packed as `[K][K][C_in][C_out]` (the im2col row
//! order, so the matrix product reads them row-major), bias `[C_out]`, output
//! `[H - d(K-1)][W - d(K-1)][C_out]` for dilation `d`.
//!
//! Why im2col in blocks: output positions are taken `BLOCK_POSITIONS` at a time; their input
//! taps are copied into a `[positions][K*K*C_in]` matrix (each tap is `C_in` contiguous
//! floats in the channel-last layout, and with `d = 1` a whole filter row is contiguous), and
//! one product `[positions][K*K*C_in] x [K*K*C_in][C_out]` gives the block. The copy costs one
//! read per `C_out` multiply-adds and the block (at most 663 KB for configuration 4's third
//! stage) stays in the 1 MB L2 cache, so the product runs near the micro-kernel's speed. The
//! backward pass rebuilds the same blocks instead of keeping them (90 MB per patch otherwise).
//!
//! For `f32` on a CPU with AVX2 and FMA, the forward pass of the 36-to-36 stages skips both
//! im2col and the product's packing ([`crate::layers::direct`]); on configuration 4's dense
//! 40x40 patches that took the second and third stages' forward passes from about 24 and 40
//! ms to 18 and 29 ms per patch (one thread, benches/train_speed.rs).
//!
//! After a max pooling most of the output gradient is zero (only each window's argmax gets
//! one); below [`SPARSE_BELOW`] density the backward pass skips the matrix products and adds
//! one AXPY per non-zero element instead. On configuration 4's third stage this cut a dense
//! 40x40 training step by about a third (benches/train_speed.rs).

use crate::layers::direct::DirectScratch;
use crate::real::{MatRef, Real, gemm};

/// Output positions per im2col block.
pub const BLOCK_POSITIONS: usize = 128;

/// Sizes of one convolution. All sides in map positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvShape {
    /// Input rows `H`.
    pub in_h: usize,
    /// Input columns `W`.
    pub in_w: usize,
    /// Input channels `C_in`.
    pub c_in: usize,
    /// Filter side `K`.
    pub kernel: usize,
    /// Distance between filter taps `d` (1: ordinary convolution).
    pub dilation: usize,
    /// Output channels `C_out`.
    pub c_out: usize,
}

impl ConvShape {
    /// Input positions the filter spans minus one: `d * (K - 1)`.
    pub fn reach(&self) -> usize {
        self.dilation * (self.kernel - 1)
    }

    /// Output rows.
    pub fn out_h(&self) -> usize {
        self.in_h - self.reach()
    }

    /// Output columns.
    pub fn out_w(&self) -> usize {
        self.in_w - self.reach()
    }

    /// Elements of one im2col row: `K * K * C_in`.
    pub fn taps(&self) -> usize {
        self.kernel * self.kernel * self.c_in
    }

    /// Elements of the input map.
    pub fn input_len(&self) -> usize {
        self.in_h * self.in_w * self.c_in
    }

    /// Elements of the output map.
    pub fn output_len(&self) -> usize {
        self.out_h() * self.out_w() * self.c_out
    }

    /// Elements of the packed weights.
    pub fn weights_len(&self) -> usize {
        self.taps() * self.c_out
    }

    /// Multiply-adds of one forward pass.
    pub fn macs(&self) -> usize {
        self.out_h() * self.out_w() * self.weights_len()
    }
}

/// Output-gradient density (fraction of non-zero elements) below which the backward pass
/// works element by element instead of by matrix products. After a max pooling only the
/// argmax of each window receives a gradient: configuration 4's third stage, dense on 40x40
/// patches, has 6.7% non-zero (its second 43%). Each non-zero element then costs two
/// `K*K*C_in` AXPYs, about a third as fast per multiply-add as the matrix product, hence 0.2.
pub const SPARSE_BELOW: f64 = 0.2;

/// Reusable im2col buffers of one worker.
#[derive(Debug, Default)]
pub struct ConvScratch<T> {
    columns: Vec<T>,
    column_grads: Vec<T>,
    /// `[C_out][K*K*C_in]`: transposed weights and weight gradients of the sparse path.
    weights_t: Vec<T>,
    d_weights_t: Vec<T>,
    /// Buffers of the direct `f32` forward pass ([`crate::layers::direct`]).
    direct: DirectScratch,
}

/// How [`backward`] multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackwardPath {
    /// Choose by the density of the output gradient ([`SPARSE_BELOW`]).
    Auto,
    /// Blocked matrix products.
    Dense,
    /// One AXPY per non-zero output-gradient element.
    Sparse,
}

impl<T: Real> ConvScratch<T> {
    fn reserve(&mut self, shape: &ConvShape) {
        let len = BLOCK_POSITIONS * shape.taps();
        if self.columns.len() < len {
            self.columns.resize(len, T::ZERO);
            self.column_grads.resize(len, T::ZERO);
        }
    }
}

/// Copies the taps of output positions `start .. start + count` into `columns`
/// (`[count][K*K*C_in]`).
fn im2col<T: Real>(shape: &ConvShape, input: &[T], start: usize, count: usize, columns: &mut [T]) {
    let (out_w, taps, c_in) = (shape.out_w(), shape.taps(), shape.c_in);
    let (kernel, dilation) = (shape.kernel, shape.dilation);
    for (index, row) in columns[..count * taps].chunks_exact_mut(taps).enumerate() {
        let position = start + index;
        let (y, x) = (position / out_w, position % out_w);
        for ky in 0..kernel {
            let source = ((y + dilation * ky) * shape.in_w + x) * c_in;
            let target = &mut row[ky * kernel * c_in..(ky + 1) * kernel * c_in];
            if dilation == 1 {
                target.copy_from_slice(&input[source..source + kernel * c_in]);
                continue;
            }
            for (kx, tap) in target.chunks_exact_mut(c_in).enumerate() {
                let at = source + dilation * kx * c_in;
                tap.copy_from_slice(&input[at..at + c_in]);
            }
        }
    }
}

/// Adds the rows of `columns` (`[count][K*K*C_in]`) back onto the input positions they were
/// copied from: the transpose of [`im2col`].
fn col2im_add<T: Real>(
    shape: &ConvShape,
    columns: &[T],
    start: usize,
    count: usize,
    grad: &mut [T],
) {
    let (out_w, taps, c_in) = (shape.out_w(), shape.taps(), shape.c_in);
    let (kernel, dilation) = (shape.kernel, shape.dilation);
    for (index, row) in columns[..count * taps].chunks_exact(taps).enumerate() {
        let position = start + index;
        let (y, x) = (position / out_w, position % out_w);
        for ky in 0..kernel {
            let target = ((y + dilation * ky) * shape.in_w + x) * c_in;
            let source = &row[ky * kernel * c_in..(ky + 1) * kernel * c_in];
            for (kx, tap) in source.chunks_exact(c_in).enumerate() {
                let at = target + dilation * kx * c_in;
                for (sum, value) in grad[at..at + c_in].iter_mut().zip(tap) {
                    *sum += *value;
                }
            }
        }
    }
}

/// Forward pass: `output[y][x][co] = bias[co] + sum over (ky, kx, ci) of
/// weights[ky][kx][ci][co] * input[y + d ky][x + d kx][ci]`.
pub fn forward<T: Real>(
    shape: &ConvShape,
    input: &[T],
    weights: &[T],
    bias: &[T],
    output: &mut [T],
    scratch: &mut ConvScratch<T>,
) {
    if T::direct_forward(shape, input, weights, bias, output, &mut scratch.direct) {
        return;
    }
    scratch.reserve(shape);
    let (positions, taps, c_out) = (shape.out_h() * shape.out_w(), shape.taps(), shape.c_out);
    let mut start = 0;
    while start < positions {
        let count = BLOCK_POSITIONS.min(positions - start);
        im2col(shape, input, start, count, &mut scratch.columns);
        let block = &mut output[start * c_out..(start + count) * c_out];
        for row in block.chunks_exact_mut(c_out) {
            row.copy_from_slice(bias);
        }
        gemm(
            (count, taps, c_out),
            MatRef::row_major(&scratch.columns, taps),
            MatRef::row_major(weights, c_out),
            T::ONE,
            block,
        );
        start += count;
    }
}

/// Gradients of one convolution, accumulated into the caller's buffers.
pub struct ConvGrads<'a, T> {
    /// `[K][K][C_in][C_out]`, added to.
    pub weights: &'a mut [T],
    /// `[C_out]`, added to.
    pub bias: &'a mut [T],
    /// `[H][W][C_in]`, added to; `None` when the input needs no gradient (the first stage).
    pub input: Option<&'a mut [T]>,
}

/// Backward pass: from `d_output` (`[H'][W'][C_out]`) adds the weight, bias and (optionally)
/// input gradients into `grads`.
pub fn backward<T: Real>(
    shape: &ConvShape,
    input: &[T],
    weights: &[T],
    d_output: &[T],
    grads: ConvGrads<'_, T>,
    scratch: &mut ConvScratch<T>,
) {
    backward_by(
        shape,
        input,
        weights,
        d_output,
        grads,
        scratch,
        BackwardPath::Auto,
    );
}

/// [`backward`] with the path chosen by the caller (tests compare both).
pub fn backward_by<T: Real>(
    shape: &ConvShape,
    input: &[T],
    weights: &[T],
    d_output: &[T],
    grads: ConvGrads<'_, T>,
    scratch: &mut ConvScratch<T>,
    path: BackwardPath,
) {
    scratch.reserve(shape);
    let sparse = match path {
        BackwardPath::Dense => false,
        BackwardPath::Sparse => true,
        BackwardPath::Auto => {
            let non_zero = d_output.iter().filter(|value| **value != T::ZERO).count();
            (non_zero as f64) < SPARSE_BELOW * d_output.len() as f64
        }
    };
    if sparse {
        backward_sparse(shape, input, weights, d_output, grads, scratch);
        return;
    }
    let (positions, taps, c_out) = (shape.out_h() * shape.out_w(), shape.taps(), shape.c_out);
    let ConvGrads {
        weights: d_weights,
        bias: d_bias,
        input: mut d_input,
    } = grads;
    let mut start = 0;
    while start < positions {
        let count = BLOCK_POSITIONS.min(positions - start);
        let d_block = &d_output[start * c_out..(start + count) * c_out];
        start += count;
        if d_block.iter().all(|value| *value == T::ZERO) {
            continue;
        }
        let block_start = start - count;

        for row in d_block.chunks_exact(c_out) {
            for (sum, value) in d_bias.iter_mut().zip(row) {
                *sum += *value;
            }
        }
        im2col(shape, input, block_start, count, &mut scratch.columns);
        gemm(
            (taps, count, c_out),
            MatRef::transposed(&scratch.columns, taps),
            MatRef::row_major(d_block, c_out),
            T::ONE,
            d_weights,
        );

        if let Some(d_input) = d_input.as_deref_mut() {
            gemm(
                (count, c_out, taps),
                MatRef::row_major(d_block, c_out),
                MatRef::transposed(weights, c_out),
                T::ZERO,
                &mut scratch.column_grads,
            );
            col2im_add(shape, &scratch.column_grads, block_start, count, d_input);
        }
    }
}

/// The sparse backward pass: for every non-zero `g = d_output[n][co]`,
/// `d_weights[.][co] += g * columns[n]` and `d_columns[n] += g * weights[.][co]`, both as
/// contiguous AXPYs over `K*K*C_in` in transposed buffers.
fn backward_sparse<T: Real>(
    shape: &ConvShape,
    input: &[T],
    weights: &[T],
    d_output: &[T],
    grads: ConvGrads<'_, T>,
    scratch: &mut ConvScratch<T>,
) {
    let (positions, taps, c_out) = (shape.out_h() * shape.out_w(), shape.taps(), shape.c_out);
    let ConvGrads {
        weights: d_weights,
        bias: d_bias,
        input: mut d_input,
    } = grads;
    scratch.weights_t.clear();
    scratch.weights_t.resize(taps * c_out, T::ZERO);
    scratch.d_weights_t.clear();
    scratch.d_weights_t.resize(taps * c_out, T::ZERO);
    for (r, row) in weights.chunks_exact(c_out).enumerate() {
        for (co, value) in row.iter().enumerate() {
            scratch.weights_t[co * taps + r] = *value;
        }
    }

    let mut start = 0;
    while start < positions {
        let count = BLOCK_POSITIONS.min(positions - start);
        let d_block = &d_output[start * c_out..(start + count) * c_out];
        let block_start = start;
        start += count;
        if d_block.iter().all(|value| *value == T::ZERO) {
            continue;
        }
        im2col(shape, input, block_start, count, &mut scratch.columns);
        let d_columns = &mut scratch.column_grads[..count * taps];
        d_columns.fill(T::ZERO);
        for (index, row) in d_block.chunks_exact(c_out).enumerate() {
            let column = &scratch.columns[index * taps..(index + 1) * taps];
            let d_column = &mut d_columns[index * taps..(index + 1) * taps];
            for (co, g) in row.iter().enumerate() {
                if *g == T::ZERO {
                    continue;
                }
                d_bias[co] += *g;
                T::axpy(
                    &mut scratch.d_weights_t[co * taps..(co + 1) * taps],
                    *g,
                    column,
                );
                if d_input.is_some() {
                    T::axpy(d_column, *g, &scratch.weights_t[co * taps..(co + 1) * taps]);
                }
            }
        }
        if let Some(d_input) = d_input.as_deref_mut() {
            col2im_add(shape, &scratch.column_grads, block_start, count, d_input);
        }
    }

    for (r, row) in d_weights.chunks_exact_mut(c_out).enumerate() {
        for (co, sum) in row.iter_mut().enumerate() {
            *sum += scratch.d_weights_t[co * taps + r];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Lcg, check_close, numeric_gradient};

    fn naive(shape: &ConvShape, input: &[f64], weights: &[f64], bias: &[f64]) -> Vec<f64> {
        let mut output = vec![0.0; shape.output_len()];
        let (d, k) = (shape.dilation, shape.kernel);
        for y in 0..shape.out_h() {
            for x in 0..shape.out_w() {
                for co in 0..shape.c_out {
                    let mut sum = bias[co];
                    for ky in 0..k {
                        for kx in 0..k {
                            for ci in 0..shape.c_in {
                                let at = ((y + d * ky) * shape.in_w + x + d * kx) * shape.c_in;
                                let w = ((ky * k + kx) * shape.c_in + ci) * shape.c_out + co;
                                sum += weights[w] * input[at + ci];
                            }
                        }
                    }
                    output[(y * shape.out_w() + x) * shape.c_out + co] = sum;
                }
            }
        }
        output
    }

    const SHAPE: ConvShape = ConvShape {
        in_h: 9,
        in_w: 8,
        c_in: 2,
        kernel: 3,
        dilation: 2,
        c_out: 3,
    };

    #[test]
    fn forward_matches_naive_convolution() {
        // More positions than one block, dilation 1 and 2.
        for (dilation, side) in [(1, 14), (2, 17)] {
            let shape = ConvShape {
                in_h: side,
                in_w: side - 1,
                dilation,
                ..SHAPE
            };
            let mut rng = Lcg::new(3);
            let input = rng.vector(shape.input_len());
            let weights = rng.vector(shape.weights_len());
            let bias = rng.vector(shape.c_out);
            let mut output = vec![0.0; shape.output_len()];
            forward(
                &shape,
                &input,
                &weights,
                &bias,
                &mut output,
                &mut ConvScratch::default(),
            );
            check_close(&output, &naive(&shape, &input, &weights, &bias), 1e-12);
        }
    }

    #[test]
    fn f32_forward_matches_naive_convolution_on_the_direct_path() {
        // Odd and even output widths, dilation 1 and 3, tap counts off the block size, and
        // output channels at both ends of the direct kernel's range.
        let cases = [(1, 3, 9, 36, 36), (3, 4, 12, 8, 33), (2, 5, 14, 12, 40)];
        for (dilation, kernel, side, c_in, c_out) in cases {
            let shape = ConvShape {
                in_h: side + dilation * (kernel - 1),
                in_w: side + 1 + dilation * (kernel - 1),
                c_in,
                kernel,
                dilation,
                c_out,
            };
            assert!(crate::layers::direct::supports(&shape));
            let mut rng = Lcg::new(9);
            let input = rng.vector(shape.input_len());
            let weights = rng.vector(shape.weights_len());
            let bias = rng.vector(shape.c_out);
            let narrow = |values: &[f64]| values.iter().map(|v| *v as f32).collect::<Vec<_>>();
            let mut output = vec![0.0f32; shape.output_len()];
            forward(
                &shape,
                &narrow(&input),
                &narrow(&weights),
                &narrow(&bias),
                &mut output,
                &mut ConvScratch::default(),
            );
            // The f64 reference sees the same (rounded) inputs.
            let widen = |values: &[f64]| {
                narrow(values)
                    .iter()
                    .map(|v| *v as f64)
                    .collect::<Vec<f64>>()
            };
            let want = naive(&shape, &widen(&input), &widen(&weights), &widen(&bias));
            let got: Vec<f64> = output.iter().map(|v| *v as f64).collect();
            check_close(&got, &want, 1e-4);
        }
    }

    #[test]
    fn sparse_and_dense_backward_agree() {
        let shape = ConvShape {
            in_h: 20,
            in_w: 19,
            ..SHAPE
        };
        let mut rng = Lcg::new(13);
        let input = rng.vector(shape.input_len());
        let weights = rng.vector(shape.weights_len());
        // About 10% non-zero, as after a max pooling.
        let d_output: Vec<f64> = rng
            .vector(shape.output_len())
            .iter()
            .map(|v| if *v > 0.8 { *v } else { 0.0 })
            .collect();
        let mut results = Vec::new();
        for path in [
            BackwardPath::Dense,
            BackwardPath::Sparse,
            BackwardPath::Auto,
        ] {
            let mut d_weights = vec![0.0; shape.weights_len()];
            let mut d_bias = vec![0.0; shape.c_out];
            let mut d_input = vec![0.0; shape.input_len()];
            let grads = ConvGrads {
                weights: &mut d_weights,
                bias: &mut d_bias,
                input: Some(&mut d_input),
            };
            let mut scratch = ConvScratch::default();
            backward_by(
                &shape,
                &input,
                &weights,
                &d_output,
                grads,
                &mut scratch,
                path,
            );
            results.push((d_weights, d_bias, d_input));
        }
        for other in &results[1..] {
            check_close(&other.0, &results[0].0, 1e-12);
            check_close(&other.1, &results[0].1, 1e-12);
            check_close(&other.2, &results[0].2, 1e-12);
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let shape = SHAPE;
        let mut rng = Lcg::new(7);
        let input = rng.vector(shape.input_len());
        let weights = rng.vector(shape.weights_len());
        let bias = rng.vector(shape.c_out);
        let probe = rng.vector(shape.output_len());
        // Loss: sum(output * probe); its output gradient is `probe`.
        let loss = |input: &[f64], weights: &[f64], bias: &[f64]| -> f64 {
            let output = naive(&shape, input, weights, bias);
            output.iter().zip(&probe).map(|(o, p)| o * p).sum()
        };

        let mut d_weights = vec![0.0; shape.weights_len()];
        let mut d_bias = vec![0.0; shape.c_out];
        let mut d_input = vec![0.0; shape.input_len()];
        let grads = ConvGrads {
            weights: &mut d_weights,
            bias: &mut d_bias,
            input: Some(&mut d_input),
        };
        backward(
            &shape,
            &input,
            &weights,
            &probe,
            grads,
            &mut ConvScratch::default(),
        );

        let numeric = numeric_gradient(&input, |x| loss(x, &weights, &bias));
        check_close(&d_input, &numeric, 1e-7);
        let numeric = numeric_gradient(&weights, |w| loss(&input, w, &bias));
        check_close(&d_weights, &numeric, 1e-7);
        let numeric = numeric_gradient(&bias, |b| loss(&input, &weights, b));
        check_close(&d_bias, &numeric, 1e-7);
    }
}
