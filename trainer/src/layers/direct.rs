//! Direct dilated convolution, forward pass, for `f32` on x86-64 with AVX2 and FMA: the
//! 36-to-36 stages of the dense form without im2col and without the matrix product's
//! packing, which together took about as long as the multiply-adds themselves there.
//!
//! Shapes as in [`crate::layers::conv`]: input `[H][W][C_in]`, weights `[K][K][C_in][C_out]`,
//! output `[H'][W'][C_out]`. Only `33 <= C_out <= 40` and `C_in >= 8` are handled (the stages'
//! `MAPS` = 36); anything else, `f64`, or a CPU without AVX2 and FMA is left to im2col.
//!
//! Register block: two neighbouring output positions by 40 output channels (5 vectors of 8
//! lanes), 10 accumulators; per input channel two broadcasts and five weight loads feed ten
//! fused multiply-adds. The weights are padded to 40 channels once per call and visited
//! [`TAPS_PER_BLOCK`] taps at a time (23 KB, inside the 32 KB L1 cache) across a whole output
//! row, whose partial sums wait in a `[W'][40]` row buffer.

use crate::layers::conv::ConvShape;

/// Output channels of the register block: five 8-lane vectors.
pub const LANES_OUT: usize = 40;

/// Filter taps whose padded weights are reused across one output row before moving on.
pub const TAPS_PER_BLOCK: usize = 4;

/// Reusable buffers: padded weights `[K*K*C_in][40]` and one output row `[W'][40]`.
#[derive(Debug, Default)]
pub struct DirectScratch {
    weights: Vec<f32>,
    row: Vec<f32>,
}

/// Whether [`forward`] handles this shape (on a CPU with AVX2 and FMA).
pub fn supports(shape: &ConvShape) -> bool {
    shape.c_out > 32 && shape.c_out <= LANES_OUT && shape.c_in >= 8
}

/// Computes the convolution into `output` if this shape and CPU allow it and returns `true`;
/// returns `false`, leaving `output` alone, otherwise.
///
/// Panics if a slice is shorter than `shape` requires (a bug in this crate: the callers size
/// every buffer from the same shape).
pub fn forward(
    shape: &ConvShape,
    input: &[f32],
    weights: &[f32],
    bias: &[f32],
    output: &mut [f32],
    scratch: &mut DirectScratch,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if supports(shape)
        && std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("fma")
    {
        assert!(input.len() >= shape.input_len(), "direct: input too short");
        assert!(
            weights.len() >= shape.weights_len(),
            "direct: weights too short"
        );
        assert!(bias.len() >= shape.c_out, "direct: bias too short");
        assert!(
            output.len() >= shape.output_len(),
            "direct: output too short"
        );
        let c_out = shape.c_out;
        scratch.weights.clear();
        scratch.weights.resize(shape.taps() * LANES_OUT, 0.0);
        let rows = scratch.weights.chunks_exact_mut(LANES_OUT);
        for (row, source) in rows.zip(weights.chunks_exact(c_out)) {
            row[..c_out].copy_from_slice(source);
        }
        scratch.row.clear();
        scratch.row.resize(shape.out_w() * LANES_OUT, 0.0);
        let mut bias_padded = [0.0f32; LANES_OUT];
        bias_padded[..c_out].copy_from_slice(&bias[..c_out]);
        // SAFETY: AVX2 and FMA were detected just above; the asserts and the sizes of the
        // scratch buffers set here are what `forward_avx2` relies on for its reads and writes.
        unsafe {
            forward_avx2(
                shape,
                input,
                &scratch.weights,
                &bias_padded,
                &mut scratch.row,
                output,
            )
        };
        return true;
    }
    false
}

/// The kernel. Relies on `input.len() >= shape.input_len()`, `weights.len() == K*K*C_in*40`,
/// `row.len() == W' * 40` and `output.len() >= shape.output_len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward_avx2(
    shape: &ConvShape,
    input: &[f32],
    weights: &[f32],
    bias: &[f32; LANES_OUT],
    row: &mut [f32],
    output: &mut [f32],
) {
    use core::arch::x86_64::{
        __m256, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_storeu_ps,
    };
    // SAFETY: every pointer below stays inside its slice. Input: positions `(y + d ky,
    // x + d kx)` and, for a pair, one further right, all inside `[H][W]` because
    // `x + 1 < W'` there. Weights: tap `< K*K`, channel `< C_in`, lane `< 40`. Row: position
    // `x + 1 < W'` for a pair. The intrinsics need AVX2 and FMA, which this function is
    // compiled for and which the caller detected.
    unsafe {
        const VECTORS: usize = LANES_OUT / 8;
        let (in_w, c_in, c_out) = (shape.in_w, shape.c_in, shape.c_out);
        let (kernel, dilation, out_w) = (shape.kernel, shape.dilation, shape.out_w());
        let taps = kernel * kernel;
        let (input, weights) = (input.as_ptr(), weights.as_ptr());

        for y in 0..shape.out_h() {
            let sums = row.as_mut_ptr();
            let mut first_tap = 0;
            while first_tap < taps {
                let last_tap = taps.min(first_tap + TAPS_PER_BLOCK);
                let mut x = 0;
                while x < out_w {
                    // The second position repeats the first at the row's odd end (not stored).
                    let pair = x + 1 < out_w;
                    let at = sums.add(x * LANES_OUT);
                    let mut acc0: [__m256; VECTORS] = [_mm256_loadu_ps(bias.as_ptr()); VECTORS];
                    let mut acc1 = acc0;
                    for v in 0..VECTORS {
                        let start = if first_tap == 0 {
                            bias.as_ptr().add(8 * v)
                        } else {
                            at.add(8 * v)
                        };
                        acc0[v] = _mm256_loadu_ps(start);
                        acc1[v] = if first_tap == 0 || !pair {
                            acc0[v]
                        } else {
                            _mm256_loadu_ps(at.add(LANES_OUT + 8 * v))
                        };
                    }
                    for tap in first_tap..last_tap {
                        let (ky, kx) = (tap / kernel, tap % kernel);
                        let a0 = input.add(((y + dilation * ky) * in_w + x + dilation * kx) * c_in);
                        let a1 = if pair { a0.add(c_in) } else { a0 };
                        let w = weights.add(tap * c_in * LANES_OUT);
                        for ci in 0..c_in {
                            let b0 = _mm256_broadcast_ss(&*a0.add(ci));
                            let b1 = _mm256_broadcast_ss(&*a1.add(ci));
                            let w_ci = w.add(ci * LANES_OUT);
                            for v in 0..VECTORS {
                                let wv = _mm256_loadu_ps(w_ci.add(8 * v));
                                acc0[v] = _mm256_fmadd_ps(b0, wv, acc0[v]);
                                acc1[v] = _mm256_fmadd_ps(b1, wv, acc1[v]);
                            }
                        }
                    }
                    for v in 0..VECTORS {
                        _mm256_storeu_ps(at.add(8 * v), acc0[v]);
                        if pair {
                            _mm256_storeu_ps(at.add(LANES_OUT + 8 * v), acc1[v]);
                        }
                    }
                    x += 2;
                }
                first_tap = last_tap;
            }
            let target = &mut output[y * out_w * c_out..(y + 1) * out_w * c_out];
            for (position, sums) in target
                .chunks_exact_mut(c_out)
                .zip(row.chunks_exact(LANES_OUT))
            {
                position.copy_from_slice(&sums[..c_out]);
            }
        }
    }
}
