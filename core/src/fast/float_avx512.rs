//! The f32 row kernels for x86-64 CPUs with AVX-512 (F): sixteen neighbouring output columns in
//! the lanes of one vector, each lane running the reference's own fma chain for its output.
//!
//! The micro-kernel computes `M` output maps x 64 columns (`M` x 4 accumulators in the 32 zmm
//! registers): per tap it loads four input vectors, broadcasts `M` weights (each used by four
//! `vfmadd231ps`) and issues `4 M` `vfmadd231ps`. The convolutions run
//! [`CONV_MAP_BLOCK`] maps per call, the hidden layer [`HIDDEN_MAP_BLOCK`] units; a row whose
//! computed width is not a multiple of 64 columns ends with 32- and 16-column calls. `vfmadd`
//! rounds once, like the reference's `fma`, and `vmaxps(candidate, best)` keeps `best` unless
//! `candidate` is strictly greater, like `pool_max`, so every lane's bits equal the reference's.
//! `tanh` is the reference's own operation sequence, sixteen lanes at a time, both branches
//! computed and the right one selected per lane with mask registers.
//!
//! Not here: the int8 kernels ([`super::integer_avx512`]) and AVX-512 FP16/BF16 arithmetic
//! (rounds differently from the reference, so it could not be bit-exact).

use core::arch::x86_64::*;

use super::float::FloatEngine;
use super::plan::{BLOCK, Plan, Taps};
use crate::architecture::{HIDDEN, MAPS, STAGES};
use crate::tanh::SERIES_LIMIT;
use crate::tanh::{EXP_TAYLOR, LN2_HIGH, LN2_LOW, LOG2_E, ROUNDER, SATURATION, SERIES};

/// Lanes of one vector.
const LANES: usize = 16;

/// Vectors of output columns per full micro-kernel call (64 columns).
const VECTORS: usize = 4;

/// Output maps per convolution micro-kernel call: 36 maps are 6 blocks; 6 x 4 accumulators,
/// four inputs and a broadcast weight use 29 of the 32 zmm registers. Measured against 12 maps
/// x 32 columns and 18 maps x 16 columns (2492 x 496, 2 threads): 1-3% faster than either.
pub(crate) const CONV_MAP_BLOCK: usize = 6;

/// Hidden units per micro-kernel call: 100 units are 20 blocks.
pub(crate) const HIDDEN_MAP_BLOCK: usize = 5;

const _: () = assert!(MAPS.is_multiple_of(CONV_MAP_BLOCK));
const _: () = assert!(HIDDEN.is_multiple_of(HIDDEN_MAP_BLOCK));
const _: () = assert!(BLOCK == LANES);

/// `M` output maps x `16 V` columns starting at column `x0`: `out[m * out_stride + x]` gets
/// `bias[m] + sum(weights * inputs)` in the reference's order.
///
/// # Safety
/// `packed` holds `channels * kernel^2 * M` floats (`[C][K][K][M]`), `bias` `M`, `out` at least
/// `(M - 1) * out_stride + 16 V`; every row of `taps` is readable up to column
/// `x0 + 16 V - 1 + (kernel - 1) * dilation` of its last channel (what [`Taps::new`] checks for
/// `x0 + 16 V <= out_pitch`).
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn micro_kernel<const M: usize, const V: usize>(
    packed: *const f32,
    bias: *const f32,
    taps: &Taps<f32>,
    x0: usize,
    out: *mut f32,
    out_stride: usize,
) {
    // SAFETY: every pointer offset below stays within the extents the caller guarantees.
    unsafe {
        let mut acc: [[__m512; V]; M] = core::array::from_fn(|m| [_mm512_set1_ps(*bias.add(m)); V]);
        let mut weight = packed;
        for channel in 0..taps.groups {
            for ky in 0..taps.kernel {
                let line = taps.rows[ky].add(channel * taps.pitch + x0);
                for kx in 0..taps.kernel {
                    let at = line.add(kx * taps.dilation);
                    let input: [__m512; V] =
                        core::array::from_fn(|v| _mm512_loadu_ps(at.add(v * LANES)));
                    for (m, lanes) in acc.iter_mut().enumerate() {
                        let w = _mm512_set1_ps(*weight.add(m));
                        for (sum, value) in lanes.iter_mut().zip(input) {
                            *sum = _mm512_fmadd_ps(w, value, *sum);
                        }
                    }
                    weight = weight.add(M);
                }
            }
        }
        for (m, lanes) in acc.iter().enumerate() {
            for (v, sum) in lanes.iter().enumerate() {
                _mm512_storeu_ps(out.add(m * out_stride + v * LANES), *sum);
            }
        }
    }
}

/// `M` maps over columns `x0 .. x0 + 64`, or 32 or 16 columns where the wider call would pass
/// `limit`; returns the columns done.
///
/// # Safety
/// As [`micro_kernel`], with `x0 + 16 <= limit` and `limit <= out_pitch` of the layer.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn columns<const M: usize>(
    packed: *const f32,
    bias: *const f32,
    taps: &Taps<f32>,
    (x0, limit): (usize, usize),
    out: *mut f32,
    out_stride: usize,
) -> usize {
    // SAFETY: each call is made only when its columns end at or below `limit`.
    unsafe {
        if x0 + VECTORS * LANES <= limit {
            micro_kernel::<M, VECTORS>(packed, bias, taps, x0, out, out_stride);
            VECTORS * LANES
        } else if x0 + 2 * LANES <= limit {
            micro_kernel::<M, 2>(packed, bias, taps, x0, out, out_stride);
            2 * LANES
        } else {
            micro_kernel::<M, 1>(packed, bias, taps, x0, out, out_stride);
            LANES
        }
    }
}

/// `C_stage` row (`[MAPS][out_pitch]`) from its `K` input rows.
#[target_feature(enable = "avx512f")]
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
    let mut x0 = 0;
    while x0 < out_pitch {
        let mut done = 0;
        for first in (0..MAPS).step_by(CONV_MAP_BLOCK) {
            // SAFETY: `packed` and `bias` hold MAPS filters (asserted) in blocks of
            // CONV_MAP_BLOCK, `out` holds MAPS rows of `out_pitch`, `x0 + 16 <= out_pitch`
            // (both multiples of 16), and `Taps::new` checked the rows.
            unsafe {
                done = columns::<CONV_MAP_BLOCK>(
                    packed.as_ptr().add(first * filter_len),
                    bias.as_ptr().add(first),
                    &taps,
                    (x0, out_pitch),
                    out.as_mut_ptr().add(first * out_pitch + x0),
                    out_pitch,
                );
            }
        }
        x0 += done;
    }
}

/// `T_{stage+1}` row (`[MAPS][t_pitch]`): max pool over `rows[dy]` then `tanh`, on the valid
/// columns only (the last vector of each map masked).
#[target_feature(enable = "avx512f")]
pub(crate) fn pool_row(plan: &Plan, stage: usize, rows: &[&[f32]], out: &mut [f32]) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let (pool, d) = (plan.pools[stage], plan.dilations[stage]);
    let width = plan.t_width[stage + 1];
    assert!(rows.len() == pool && rows.iter().all(|row| row.len() >= MAPS * in_pitch));
    assert!(width + (pool - 1) * d <= in_pitch && width <= out_pitch);
    assert!(out.len() >= MAPS * out_pitch);
    for map in 0..MAPS {
        for x in (0..width).step_by(LANES) {
            // Lanes past `width` are neither read nor written.
            let mask: __mmask16 = if x + LANES <= width {
                !0
            } else {
                (1u16 << (width - x)) - 1
            };
            let at = map * in_pitch + x;
            // SAFETY: every unmasked lane reads below `at + (width - x) + (pool - 1) * d`,
            // which is within `map * in_pitch + in_pitch`, and writes below
            // `map * out_pitch + width`, both asserted above; masked lanes touch no memory.
            unsafe {
                let mut best = _mm512_maskz_loadu_ps(mask, rows[0].as_ptr().add(at));
                for (dy, row) in rows.iter().enumerate() {
                    for dx in 0..pool {
                        if dy != 0 || dx != 0 {
                            let from = row.as_ptr().add(at + dx * d);
                            let candidate = _mm512_maskz_loadu_ps(mask, from);
                            best = _mm512_max_ps(candidate, best);
                        }
                    }
                }
                let to = out.as_mut_ptr().add(map * out_pitch + x);
                _mm512_mask_storeu_ps(to, mask, tanh16(best));
            }
        }
    }
}

/// One output row: the hidden layer over 64 columns at a time (`[HIDDEN][64]` on the stack),
/// `tanh`, then the two logits of each column.
#[target_feature(enable = "avx512f")]
pub(crate) fn hidden_row(
    engine: &FloatEngine<'_>,
    plan: &Plan,
    rows: &[&[f32]],
    out: &mut [[f32; 2]],
) {
    let taps = Taps::<f32>::new(plan, STAGES, rows, 1);
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let packed = &engine.hidden_packed;
    let out_pitch = plan.out_pitch[STAGES];
    assert!(packed.len() == HIDDEN * filter_len && engine.hidden_bias.len() == HIDDEN);
    assert!(engine.output.len() == 2 * HIDDEN && engine.output_bias.len() == 2);
    assert!(out.len().div_ceil(BLOCK) * BLOCK <= out_pitch && out_pitch.is_multiple_of(BLOCK));
    const WIDE: usize = VECTORS * LANES;
    let mut hidden = [0.0f32; HIDDEN * WIDE];
    let mut x0 = 0;
    while x0 < out.len() {
        let mut done = 0;
        for first in (0..HIDDEN).step_by(HIDDEN_MAP_BLOCK) {
            let weights = packed.as_ptr().wrapping_add(first * filter_len);
            let bias = engine.hidden_bias.as_ptr().wrapping_add(first);
            let at = hidden.as_mut_ptr().wrapping_add(first * WIDE);
            // SAFETY: `packed` holds HIDDEN filters and the bias HIDDEN values (asserted) in
            // blocks of HIDDEN_MAP_BLOCK, `hidden` holds HIDDEN rows of 64, and
            // `x0 + 16 <= out_pitch` (both multiples of 16, `x0 < out.len()`), for which
            // `Taps::new` checked the rows.
            unsafe {
                done = columns::<HIDDEN_MAP_BLOCK>(weights, bias, &taps, (x0, out_pitch), at, WIDE);
            }
        }
        for line in hidden.chunks_exact_mut(WIDE) {
            for chunk in line[..done].chunks_exact_mut(LANES) {
                // SAFETY: `chunk` is exactly sixteen floats.
                unsafe {
                    let value = _mm512_loadu_ps(chunk.as_ptr());
                    _mm512_storeu_ps(chunk.as_mut_ptr(), tanh16(value));
                }
            }
        }
        let valid = (out.len() - x0).min(done);
        logits_block(engine, &hidden, &mut out[x0..x0 + valid]);
        x0 += done;
    }
}

/// The output layer for up to 64 columns of `hidden` (`[HIDDEN][64]`).
#[target_feature(enable = "avx512f")]
fn logits_block(
    engine: &FloatEngine<'_>,
    hidden: &[f32; HIDDEN * VECTORS * LANES],
    out: &mut [[f32; 2]],
) {
    for v in 0..out.len().div_ceil(LANES) {
        let mut sums = [
            _mm512_set1_ps(engine.output_bias[0]),
            _mm512_set1_ps(engine.output_bias[1]),
        ];
        for unit in 0..HIDDEN {
            let at = unit * VECTORS * LANES + v * LANES;
            // SAFETY: `v < 4`, so `at + 15 < HIDDEN * 64`.
            let activation = unsafe { _mm512_loadu_ps(hidden.as_ptr().add(at)) };
            for (class, sum) in sums.iter_mut().enumerate() {
                let weight = _mm512_set1_ps(engine.output[class * HIDDEN + unit]);
                *sum = _mm512_fmadd_ps(weight, activation, *sum);
            }
        }
        let mut lanes = [[0.0f32; LANES]; 2];
        for (class, sum) in sums.iter().enumerate() {
            // SAFETY: `lanes[class]` is sixteen floats.
            unsafe { _mm512_storeu_ps(lanes[class].as_mut_ptr(), *sum) };
        }
        for (lane, logits) in out.iter_mut().skip(v * LANES).take(LANES).enumerate() {
            *logits = [lanes[0][lane], lanes[1][lane]];
        }
    }
}

/// [`crate::tanh::tanh`] on sixteen lanes: the same operations in the same order per lane, as
/// `tanh8` of the AVX2 kernel, with mask registers for the per-lane choice.
#[target_feature(enable = "avx512f")]
pub(crate) fn tanh16(x: __m512) -> __m512 {
    let sign_bit = _mm512_set1_epi32(i32::MIN);
    let bits = _mm512_castps_si512(x);
    let magnitude = _mm512_castsi512_ps(_mm512_andnot_si512(sign_bit, bits));
    let one = _mm512_set1_ps(1.0);

    // Series branch: a + a^3 * P(a^2).
    let square = _mm512_mul_ps(magnitude, magnitude);
    let mut tail = _mm512_set1_ps(SERIES[SERIES.len() - 1]);
    for coefficient in SERIES[..SERIES.len() - 1].iter().rev() {
        tail = _mm512_fmadd_ps(tail, square, _mm512_set1_ps(*coefficient));
    }
    let series = _mm512_fmadd_ps(_mm512_mul_ps(magnitude, square), tail, magnitude);

    // Exponential branch: 1 - 2 / (exp(2a) + 1).
    let y = _mm512_add_ps(magnitude, magnitude);
    let rounder = _mm512_set1_ps(ROUNDER);
    let k = _mm512_sub_ps(_mm512_fmadd_ps(y, _mm512_set1_ps(LOG2_E), rounder), rounder);
    let minus_k = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(k), sign_bit));
    let reduced = _mm512_fmadd_ps(minus_k, _mm512_set1_ps(LN2_HIGH), y);
    let reduced = _mm512_fmadd_ps(minus_k, _mm512_set1_ps(LN2_LOW), reduced);
    let mut poly = _mm512_set1_ps(EXP_TAYLOR[0]);
    for coefficient in &EXP_TAYLOR[1..] {
        poly = _mm512_fmadd_ps(poly, reduced, _mm512_set1_ps(*coefficient));
    }
    // Lanes outside the branch's range build meaningless powers here; they are not selected.
    let exponent = _mm512_add_epi32(_mm512_cvttps_epi32(k), _mm512_set1_epi32(127));
    let power = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(exponent));
    let exponential = _mm512_mul_ps(poly, power);
    let two = _mm512_set1_ps(2.0);
    let rational = _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(exponential, one)));

    // Select per lane: series below the limit, 1 from saturation on, NaN passed through.
    let small = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(magnitude, _mm512_set1_ps(SERIES_LIMIT));
    let saturated = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(magnitude, _mm512_set1_ps(SATURATION));
    let nan = _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(magnitude, magnitude);
    let mut result = _mm512_mask_blend_ps(small, rational, series);
    result = _mm512_mask_blend_ps(saturated, result, one);
    result = _mm512_mask_blend_ps(nan, result, magnitude);
    let sign = _mm512_and_si512(sign_bit, bits);
    _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(result), sign))
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::*;
    use crate::architecture::{Config1, Config4};
    use crate::random::SplitMix64;

    /// Inputs where `tanh`'s branches, signs and special values meet.
    const SPECIAL: [f32; 16] = [
        0.0,
        -0.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        0.75,
        0.749_999_94,
        -0.75,
        9.0,
        8.999_999,
        -9.0,
        f32::MAX,
        1.0,
    ];

    /// `tanh16` against the scalar `tanh`, bit for bit, on the special values and on every
    /// 61st f32 bit pattern (70 million, both signs, NaNs included).
    #[test]
    fn tanh16_matches_tanh_bit_for_bit() {
        if !crate::fast::avx512_for_tests() {
            return;
        }
        let check = |inputs: &[f32; 16]| {
            let mut got = [0.0f32; 16];
            // SAFETY: AVX-512 F was detected; both arrays are sixteen floats.
            unsafe {
                let lanes = tanh16(_mm512_loadu_ps(inputs.as_ptr()));
                _mm512_storeu_ps(got.as_mut_ptr(), lanes);
            }
            for (x, y) in inputs.iter().zip(got) {
                let want = crate::tanh::tanh(*x);
                assert!(
                    want.to_bits() == y.to_bits(),
                    "tanh16({x:e}, bits {:08x}) = {y:e} (bits {:08x}), tanh gives {want:e} \
                     (bits {:08x})",
                    x.to_bits(),
                    y.to_bits(),
                    want.to_bits()
                );
            }
        };
        check(&SPECIAL);
        let mut bits = 0u64;
        while bits <= u64::from(u32::MAX) {
            let inputs = core::array::from_fn(|i| f32::from_bits((bits + 61 * i as u64) as u32));
            check(&inputs);
            bits += 61 * 16;
        }
    }

    /// `pool_row` against the portable one on rows of signed zeros, NaNs, infinities and ties,
    /// so that the order of the maxima (which of equal or unordered values wins) is tested.
    #[test]
    fn pool_row_keeps_ties_and_nans_like_the_reference() {
        if !crate::fast::avx512_for_tests() {
            return;
        }
        let values = [
            0.0,
            -0.0,
            f32::NAN,
            -f32::NAN,
            1.0,
            -1.0,
            f32::INFINITY,
            0.5,
        ];
        let mut random = SplitMix64::new(5);
        for (stage, width) in [(0usize, 1usize), (0, 7), (1, 19), (2, 33)] {
            let plans = [
                super::super::plan::Plan::new::<Config1>(3, width),
                super::super::plan::Plan::new::<Config4>(3, width),
            ];
            for plan in plans.into_iter().flatten() {
                let in_len = plan.c_row_len(stage);
                let rows: Vec<Vec<f32>> = (0..plan.pools[stage])
                    .map(|_| (0..in_len).map(|_| values[random.below(8)]).collect())
                    .collect();
                let rows: Vec<&[f32]> = rows.iter().map(|row| row.as_slice()).collect();
                let out_len = plan.t_row_len(stage + 1);
                let mut want = std::vec![0.0f32; out_len];
                let mut got = std::vec![0.0f32; out_len];
                super::super::float::pool_row_portable(&plan, stage, &rows, &mut want);
                // SAFETY: AVX-512 F was detected above.
                unsafe { pool_row(&plan, stage, &rows, &mut got) };
                let pitch = plan.t_pitch[stage + 1];
                for map in 0..MAPS {
                    for x in 0..plan.t_width[stage + 1] {
                        let (w, g) = (want[map * pitch + x], got[map * pitch + x]);
                        assert!(
                            w.to_bits() == g.to_bits(),
                            "stage {stage} width {width} map {map} column {x}: avx512 {g:?} \
                             (bits {:08x}), portable {w:?} (bits {:08x})",
                            g.to_bits(),
                            w.to_bits()
                        );
                    }
                }
            }
        }
    }
}
