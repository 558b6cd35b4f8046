//! The f32 row kernels for x86-64 CPUs with AVX2 and FMA: eight neighbouring output columns in
//! the lanes of one vector, each lane running the reference's own fma chain for its output.
//!
//! The micro-kernel computes 6 output maps x 16 columns (12 accumulators): per tap it loads two
//! input vectors, broadcasts six weights and issues twelve `vfmadd`s. `vfmadd` rounds once,
//! like the reference's `fma`, and `vmaxps(candidate, best)` keeps `best` unless `candidate` is
//! strictly greater, like `pool_max`, so every lane's bits equal the reference's. `tanh` is the
//! reference's own operation sequence, eight lanes at a time, both branches computed and the
//! right one selected per lane.
//!
//! Not here: AVX-512, in [`super::float_avx512`] (this file was written and measured on an AMD
//! EPYC of the Zen 3 generation, which has none).

use core::arch::x86_64::*;

use super::float::{FLOAT_MAP_BLOCK, FloatEngine, MAP_BLOCK};
use super::plan::{BLOCK, Plan, Taps};
use crate::architecture::{HIDDEN, MAPS, STAGES};
use crate::tanh::SERIES_LIMIT;
use crate::tanh::{EXP_TAYLOR, LN2_HIGH, LN2_LOW, LOG2_E, ROUNDER, SATURATION, SERIES};

/// Lanes of one vector.
const LANES: usize = 8;

/// `M` output maps x 16 columns starting at column `x0`: `out[m * out_stride + x]` gets
/// `bias[m] + sum(weights * inputs)` in the reference's order.
///
/// # Safety
/// `packed` holds `channels * kernel^2 * M` floats, `bias` `M`, `out` at least
/// `(M - 1) * out_stride + 16`; every row of `taps` is readable up to column
/// `x0 + 15 + (kernel - 1) * dilation` of its last channel (what [`Taps::new`] checks for
/// `x0 + 16 <= out_pitch`).
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn micro_kernel<const M: usize>(
    packed: *const f32,
    bias: *const f32,
    taps: &Taps<f32>,
    x0: usize,
    out: *mut f32,
    out_stride: usize,
) {
    // SAFETY: every pointer offset below stays within the extents the caller guarantees.
    unsafe {
        // M x 2 accumulators, two inputs and one weight: 15 of the 16 ymm registers for M = 6.
        // Four maps by three vectors (16 exactly) made the register allocator spill an
        // accumulator on every tap.
        let mut acc: [[__m256; 2]; M] = core::array::from_fn(|m| [_mm256_set1_ps(*bias.add(m)); 2]);
        let mut weight = packed;
        for channel in 0..taps.groups {
            for ky in 0..taps.kernel {
                let line = taps.rows[ky].add(channel * taps.pitch + x0);
                for kx in 0..taps.kernel {
                    let at = line.add(kx * taps.dilation);
                    let i0 = _mm256_loadu_ps(at);
                    let i1 = _mm256_loadu_ps(at.add(LANES));
                    for (m, lanes) in acc.iter_mut().enumerate() {
                        let w = _mm256_broadcast_ss(&*weight.add(m));
                        lanes[0] = _mm256_fmadd_ps(w, i0, lanes[0]);
                        lanes[1] = _mm256_fmadd_ps(w, i1, lanes[1]);
                    }
                    weight = weight.add(M);
                }
            }
        }
        for (m, lanes) in acc.iter().enumerate() {
            for (v, sum) in lanes.iter().enumerate() {
                _mm256_storeu_ps(out.add(m * out_stride + v * LANES), *sum);
            }
        }
    }
}

/// `C_stage` row (`[MAPS][out_pitch]`) from its `K` input rows.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn conv_row(
    engine: &FloatEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[f32]],
    out: &mut [f32],
) {
    let taps = Taps::<f32>::new(plan, stage, rows, 1);
    let out_pitch = plan.out_pitch[stage];
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let packed = &engine.conv_packed[stage];
    let bias = engine.conv_bias[stage];
    assert!(packed.len() == MAPS * filter_len && bias.len() == MAPS);
    assert!(out.len() >= MAPS * out_pitch && out_pitch.is_multiple_of(BLOCK));
    for x0 in (0..out_pitch).step_by(BLOCK) {
        for first in (0..MAPS).step_by(FLOAT_MAP_BLOCK) {
            // SAFETY: `packed` and `bias` hold MAPS filters (asserted), `out` holds MAPS rows
            // of `out_pitch` with `x0 + 16 <= out_pitch`, and `Taps::new` checked the rows.
            unsafe {
                micro_kernel::<FLOAT_MAP_BLOCK>(
                    packed.as_ptr().add(first * filter_len),
                    bias.as_ptr().add(first),
                    &taps,
                    x0,
                    out.as_mut_ptr().add(first * out_pitch + x0),
                    out_pitch,
                );
            }
        }
    }
}

/// `T_{stage+1}` row (`[MAPS][t_pitch]`): max pool over `rows[dy]` then `tanh`.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn pool_row(plan: &Plan, stage: usize, rows: &[&[f32]], out: &mut [f32]) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let (pool, d) = (plan.pools[stage], plan.dilations[stage]);
    let width = plan.t_width[stage + 1];
    // The last vector starts below `width` and ends at most 7 past it; the plan leaves 8
    // columns of slack in both rows for this.
    let vectors = width.div_ceil(LANES);
    assert!(rows.len() == pool && rows.iter().all(|row| row.len() >= MAPS * in_pitch));
    assert!(vectors * LANES + (pool - 1) * d <= in_pitch && vectors * LANES <= out_pitch);
    assert!(out.len() >= MAPS * out_pitch);
    for map in 0..MAPS {
        for x in (0..vectors * LANES).step_by(LANES) {
            let at = map * in_pitch + x;
            // SAFETY: `at + (pool - 1) * d + 7 < map * in_pitch + in_pitch` and the write
            // ends below `map * out_pitch + out_pitch`, both asserted above.
            unsafe {
                let mut best = _mm256_loadu_ps(rows[0].as_ptr().add(at));
                for (dy, row) in rows.iter().enumerate() {
                    for dx in 0..pool {
                        if dy != 0 || dx != 0 {
                            let candidate = _mm256_loadu_ps(row.as_ptr().add(at + dx * d));
                            best = _mm256_max_ps(candidate, best);
                        }
                    }
                }
                _mm256_storeu_ps(out.as_mut_ptr().add(map * out_pitch + x), tanh8(best));
            }
        }
    }
}

/// One output row: the hidden layer over 16 columns at a time (`[HIDDEN][16]` on the stack),
/// `tanh`, then the two logits of each column.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn hidden_row(
    engine: &FloatEngine<'_>,
    plan: &Plan,
    rows: &[&[f32]],
    out: &mut [[f32; 2]],
) {
    let taps = Taps::<f32>::new(plan, STAGES, rows, 1);
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let packed = &engine.hidden_packed;
    assert!(packed.len() == HIDDEN * filter_len && engine.hidden_bias.len() == HIDDEN);
    assert!(engine.output.len() == 2 * HIDDEN && engine.output_bias.len() == 2);
    assert!(out.len().div_ceil(BLOCK) * BLOCK <= plan.out_pitch[STAGES]);
    let mut hidden = [0.0f32; HIDDEN * BLOCK];
    for x0 in (0..out.len()).step_by(BLOCK) {
        for first in (0..HIDDEN).step_by(FLOAT_MAP_BLOCK) {
            let weights = packed.as_ptr().wrapping_add(first * filter_len);
            let bias = engine.hidden_bias.as_ptr().wrapping_add(first);
            let at = hidden.as_mut_ptr().wrapping_add(first * BLOCK);
            // SAFETY: `packed` holds HIDDEN filters and the bias HIDDEN values (asserted), the
            // block of outputs `first ..` is FLOAT_MAP_BLOCK long or the last MAP_BLOCK,
            // `hidden` holds HIDDEN rows of 16, and the columns `x0 .. x0 + 16` lie below
            // `out_pitch`, which `Taps::new` checked the rows for.
            unsafe {
                if first + FLOAT_MAP_BLOCK <= HIDDEN {
                    micro_kernel::<FLOAT_MAP_BLOCK>(weights, bias, &taps, x0, at, BLOCK);
                } else {
                    micro_kernel::<MAP_BLOCK>(weights, bias, &taps, x0, at, BLOCK);
                }
            }
        }
        for chunk in hidden.chunks_exact_mut(LANES) {
            // SAFETY: `chunk` is exactly eight floats.
            unsafe {
                let value = _mm256_loadu_ps(chunk.as_ptr());
                _mm256_storeu_ps(chunk.as_mut_ptr(), tanh8(value));
            }
        }
        let valid = (out.len() - x0).min(BLOCK);
        logits_block(engine, &hidden, &mut out[x0..x0 + valid]);
    }
}

/// The output layer for up to 16 columns of `hidden` (`[HIDDEN][16]`).
#[target_feature(enable = "avx2,fma")]
fn logits_block(engine: &FloatEngine<'_>, hidden: &[f32; HIDDEN * BLOCK], out: &mut [[f32; 2]]) {
    for v in 0..BLOCK / LANES {
        let mut sums = [
            _mm256_set1_ps(engine.output_bias[0]),
            _mm256_set1_ps(engine.output_bias[1]),
        ];
        for unit in 0..HIDDEN {
            // SAFETY: `unit * BLOCK + v * LANES + 7 < HIDDEN * BLOCK`.
            let activation = unsafe { _mm256_loadu_ps(hidden.as_ptr().add(unit * BLOCK + v * 8)) };
            for (class, sum) in sums.iter_mut().enumerate() {
                let weight = _mm256_set1_ps(engine.output[class * HIDDEN + unit]);
                *sum = _mm256_fmadd_ps(weight, activation, *sum);
            }
        }
        let mut lanes = [[0.0f32; LANES]; 2];
        for (class, sum) in sums.iter().enumerate() {
            // SAFETY: `lanes[class]` is eight floats.
            unsafe { _mm256_storeu_ps(lanes[class].as_mut_ptr(), *sum) };
        }
        for (lane, logits) in out.iter_mut().skip(v * LANES).take(LANES).enumerate() {
            *logits = [lanes[0][lane], lanes[1][lane]];
        }
    }
}

/// [`crate::tanh::tanh`] on eight lanes: the same operations in the same order per lane.
#[target_feature(enable = "avx2,fma")]
pub(crate) fn tanh8(x: __m256) -> __m256 {
    let sign_bit = _mm256_set1_ps(-0.0);
    let magnitude = _mm256_andnot_ps(sign_bit, x);
    let one = _mm256_set1_ps(1.0);

    // Series branch: a + a^3 * P(a^2).
    let square = _mm256_mul_ps(magnitude, magnitude);
    let mut tail = _mm256_set1_ps(SERIES[SERIES.len() - 1]);
    for coefficient in SERIES[..SERIES.len() - 1].iter().rev() {
        tail = _mm256_fmadd_ps(tail, square, _mm256_set1_ps(*coefficient));
    }
    let series = _mm256_fmadd_ps(_mm256_mul_ps(magnitude, square), tail, magnitude);

    // Exponential branch: 1 - 2 / (exp(2a) + 1).
    let y = _mm256_add_ps(magnitude, magnitude);
    let rounder = _mm256_set1_ps(ROUNDER);
    let k = _mm256_sub_ps(_mm256_fmadd_ps(y, _mm256_set1_ps(LOG2_E), rounder), rounder);
    let minus_k = _mm256_xor_ps(k, sign_bit);
    let reduced = _mm256_fmadd_ps(minus_k, _mm256_set1_ps(LN2_HIGH), y);
    let reduced = _mm256_fmadd_ps(minus_k, _mm256_set1_ps(LN2_LOW), reduced);
    let mut poly = _mm256_set1_ps(EXP_TAYLOR[0]);
    for coefficient in &EXP_TAYLOR[1..] {
        poly = _mm256_fmadd_ps(poly, reduced, _mm256_set1_ps(*coefficient));
    }
    // Lanes outside the branch's range build meaningless powers here; they are not selected.
    let exponent = _mm256_add_epi32(_mm256_cvttps_epi32(k), _mm256_set1_epi32(127));
    let power = _mm256_castsi256_ps(_mm256_slli_epi32::<23>(exponent));
    let exponential = _mm256_mul_ps(poly, power);
    let two = _mm256_set1_ps(2.0);
    let rational = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exponential, one)));

    // Select per lane: series below the limit, 1 from saturation on, NaN passed through.
    let small = _mm256_cmp_ps::<_CMP_LT_OQ>(magnitude, _mm256_set1_ps(SERIES_LIMIT));
    let saturated = _mm256_cmp_ps::<_CMP_GE_OQ>(magnitude, _mm256_set1_ps(SATURATION));
    let nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(magnitude, magnitude);
    let mut result = _mm256_blendv_ps(rational, series, small);
    result = _mm256_blendv_ps(result, one, saturated);
    result = _mm256_blendv_ps(result, magnitude, nan);
    _mm256_or_ps(result, _mm256_and_ps(sign_bit, x))
}
