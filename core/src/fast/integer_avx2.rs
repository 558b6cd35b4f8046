//! The int8 row kernels for x86-64 CPUs with AVX2: eight neighbouring output columns in the
//! i32 lanes of one vector.
//!
//! Stages after the first and the hidden layer multiply channel pairs with `vpmaddwd`: one
//! 32-bit lane holds channels `2p` and `2p + 1` of one column as i16, the broadcast weight the
//! two matching i16 weights, and the instruction adds both products into an i32 (at most
//! 2 * 127 * 127 = 32,258 in magnitude, far from any saturation). Like the f32 kernel, a call
//! computes 6 output maps x 16 columns. Stage 0 (one input channel, about 1.4% of the work)
//! multiplies i32 lanes with `vpmulld`. Requantisation runs on i64 halves of the lanes
//! (`vpmuldq`; AVX2 has no 64-bit arithmetic shift, so it is built from a logical one), and the
//! `tanh` table is read with `vpgatherdd`. Sums are exact, so every bit equals the reference's.
//!
//! Not here: `vpmaddubsw` (u8 x i8 with i16 saturation: two products can overflow i16, so it
//! is not exact) and AVX-512 VNNI, in [`super::integer_avx512`] (this file was written on a Zen 3
//! machine, which has none).

use core::arch::x86_64::*;

use super::float::{FLOAT_MAP_BLOCK, MAP_BLOCK};
use super::integer::{IntegerEngine, output_logits};
use super::plan::{BLOCK, Plan, Taps};
use crate::architecture::{HIDDEN, MAPS, STAGES};
use crate::int8::{Requant, TANH_TABLE_HALF};

/// i32 lanes of one vector.
const LANES: usize = 8;

/// Vectors of output columns per micro-kernel call (eight accumulators in all).
const VECTORS: usize = BLOCK / LANES;

/// `M` output maps x 16 columns from channel-paired rows: `out[m * out_stride + x]` gets
/// `bias[m] + sum(weights * inputs)`.
///
/// # Safety
/// `packed` holds `groups * kernel^2 * M` i32, `bias` `M`, `out` at least
/// `(M - 1) * out_stride + 16`;
/// the rows of `taps` hold `groups * pitch * 2` i16 and `x0 + 16 <= pitch - (kernel - 1) * d`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn micro_kernel_pairs<const M: usize>(
    packed: *const i32,
    bias: *const i32,
    taps: &Taps<i16>,
    x0: usize,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: every offset stays within the extents the caller guarantees; the largest read
    // ends at i16 `((groups - 1) * pitch + x0 + 15 + (kernel - 1) * d) * 2 + 1`, inside a row.
    unsafe {
        let mut acc: [[__m256i; VECTORS]; M] =
            core::array::from_fn(|m| [_mm256_set1_epi32(*bias.add(m)); VECTORS]);
        let mut weight = packed;
        for group in 0..taps.groups {
            for ky in 0..taps.kernel {
                let line = taps.rows[ky].add((group * taps.pitch + x0) * 2);
                for kx in 0..taps.kernel {
                    let at = line.add(kx * taps.dilation * 2);
                    let input: [__m256i; VECTORS] =
                        core::array::from_fn(|v| _mm256_loadu_si256(at.add(2 * v * LANES).cast()));
                    for (m, lanes) in acc.iter_mut().enumerate() {
                        let w = _mm256_set1_epi32(*weight.add(m));
                        for (sum, value) in lanes.iter_mut().zip(input) {
                            *sum = _mm256_add_epi32(*sum, _mm256_madd_epi16(value, w));
                        }
                    }
                    weight = weight.add(M);
                }
            }
        }
        store_block(&acc, out, out_stride);
    }
}

/// 4 output maps x 16 columns from the single-channel `T_0` rows (`vpmulld` on i32 lanes).
///
/// # Safety
/// As [`micro_kernel_pairs`] with one channel: `packed` holds `kernel^2 * 4` i32 and every row
/// holds `pitch` i16.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn micro_kernel_single(
    packed: *const i32,
    bias: *const i32,
    taps: &Taps<i16>,
    x0: usize,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: the largest read ends at i16 `x0 + 15 + (kernel - 1) * d < pitch`.
    unsafe {
        let mut acc = [[_mm256_setzero_si256(); VECTORS]; MAP_BLOCK];
        for (m, lanes) in acc.iter_mut().enumerate() {
            *lanes = [_mm256_set1_epi32(*bias.add(m)); VECTORS];
        }
        let mut weight = packed;
        for ky in 0..taps.kernel {
            let line = taps.rows[ky].add(x0);
            for kx in 0..taps.kernel {
                let at = line.add(kx * taps.dilation);
                let input: [__m256i; VECTORS] = core::array::from_fn(|v| {
                    _mm256_cvtepi16_epi32(_mm_loadu_si128(at.add(v * LANES).cast()))
                });
                for (m, lanes) in acc.iter_mut().enumerate() {
                    let w = _mm256_set1_epi32(*weight.add(m));
                    for (sum, value) in lanes.iter_mut().zip(input) {
                        *sum = _mm256_add_epi32(*sum, _mm256_mullo_epi32(value, w));
                    }
                }
                weight = weight.add(MAP_BLOCK);
            }
        }
        store_block(&acc, out, out_stride);
    }
}

/// Stores `M` x 2 accumulator vectors as `M` rows of 16 i32, `out_stride` apart.
///
/// # Safety
/// `out` is writable for `(M - 1) * out_stride + 16` i32.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn store_block<const M: usize>(
    acc: &[[__m256i; VECTORS]; M],
    out: *mut i32,
    out_stride: usize,
) {
    for (m, lanes) in acc.iter().enumerate() {
        for (v, sum) in lanes.iter().enumerate() {
            // SAFETY: `m * out_stride + v * 8 + 7 < (M - 1) * out_stride + 16`, the caller's
            // extent.
            unsafe { _mm256_storeu_si256(out.add(m * out_stride + v * LANES).cast(), *sum) };
        }
    }
}

/// `C_stage` row (`[MAPS][out_pitch]` i32) from its `K` input rows.
#[target_feature(enable = "avx2")]
pub(crate) fn conv_row(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[i16]],
    out: &mut [i32],
) {
    let taps = Taps::<i16>::new(plan, stage, rows, 2);
    let out_pitch = plan.out_pitch[stage];
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let packed = &engine.conv_packed[stage];
    let bias = engine.conv_bias[stage];
    assert!(packed.len() == MAPS * filter_len && bias.len() == MAPS);
    assert!(out.len() >= MAPS * out_pitch && out_pitch.is_multiple_of(BLOCK));
    for x0 in (0..out_pitch).step_by(BLOCK) {
        let block = if stage == 0 {
            MAP_BLOCK
        } else {
            FLOAT_MAP_BLOCK
        };
        for first in (0..MAPS).step_by(block) {
            // SAFETY: `packed` and `bias` hold MAPS filters (asserted) in blocks of `block`,
            // `out` holds MAPS rows of `out_pitch` with `x0 + 16 <= out_pitch`, and
            // `Taps::new` checked the rows.
            unsafe {
                let weights = packed.as_ptr().add(first * filter_len);
                let at = out.as_mut_ptr().add(first * out_pitch + x0);
                let bias = bias.as_ptr().add(first);
                if stage == 0 {
                    micro_kernel_single(weights, bias, &taps, x0, at, out_pitch);
                } else {
                    micro_kernel_pairs::<FLOAT_MAP_BLOCK>(weights, bias, &taps, x0, at, out_pitch);
                }
            }
        }
    }
}

/// `T_{stage+1}` row (`[MAPS / 2][t_pitch][2]` i16): max pool over `rows[dy]`, requantise,
/// look up `tanh`; two maps at a time, interleaved into their channel pair.
#[target_feature(enable = "avx2")]
pub(crate) fn pool_row(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[i32]],
    out: &mut [i16],
) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let (pool, d) = (plan.pools[stage], plan.dilations[stage]);
    let vectors = plan.t_width[stage + 1].div_ceil(LANES);
    assert!(rows.len() == pool && rows.iter().all(|row| row.len() >= MAPS * in_pitch));
    assert!(vectors * LANES + (pool - 1) * d <= in_pitch && vectors * LANES <= out_pitch);
    assert!(out.len() >= MAPS * out_pitch && engine.table.len() == 2 * TANH_TABLE_HALF as usize);
    let requant = engine.conv_requant[stage];
    for pair in 0..MAPS / 2 {
        for x in (0..vectors * LANES).step_by(LANES) {
            let [low, high] = [2 * pair, 2 * pair + 1].map(|map| {
                let at = map * in_pitch + x;
                // SAFETY: `at + (pool - 1) * d + 7 < (map + 1) * in_pitch`, asserted above.
                let best = unsafe { pool_max(rows, at, pool, d) };
                table_lookup(&engine.table, requant_index(best, requant[map]))
            });
            let both = _mm256_or_si256(
                _mm256_and_si256(low, _mm256_set1_epi32(0xffff)),
                _mm256_slli_epi32::<16>(high),
            );
            // SAFETY: 16 i16 from `(pair * out_pitch + x) * 2` end below
            // `(pair + 1) * out_pitch * 2 <= out.len()`, as `x + 8 <= out_pitch`.
            unsafe {
                let at = out.as_mut_ptr().add((pair * out_pitch + x) * 2);
                _mm256_storeu_si256(at.cast(), both);
            }
        }
    }
}

/// The maximum of `rows[dy][at + dx * d]` over the pool, eight lanes.
///
/// # Safety
/// Every row is readable at `at + (pool - 1) * d + 7`.
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn pool_max(rows: &[&[i32]], at: usize, pool: usize, d: usize) -> __m256i {
    let mut best = _mm256_set1_epi32(i32::MIN);
    for row in rows {
        for dx in 0..pool {
            // SAFETY: the caller's bound.
            let value = unsafe { _mm256_loadu_si256(row.as_ptr().add(at + dx * d).cast()) };
            best = _mm256_max_epi32(best, value);
        }
    }
    best
}

/// [`Requant::apply`] then the table's clamp, on eight lanes: the table index
/// `clamp(round_half_up(acc * multiplier / 2^shift), -1024, 1023) + 1024`. Clamping the i64
/// result to the table is the same as clamping to i32 first, as the scalar path does.
#[target_feature(enable = "avx2")]
fn requant_index(acc: __m256i, requant: Requant) -> __m256i {
    let shift = requant.shift.clamp(1, 62) as i64;
    let multiplier = _mm256_set1_epi32(requant.multiplier);
    let round = _mm256_set1_epi64x(1i64 << (shift - 1));
    let count = _mm_cvtsi64_si128(shift);
    let low = _mm256_set1_epi64x(-(TANH_TABLE_HALF as i64));
    let high = _mm256_set1_epi64x(TANH_TABLE_HALF as i64 - 1);
    let zero = _mm256_setzero_si256();
    let scale = |lanes: __m256i| {
        let product = _mm256_add_epi64(_mm256_mul_epi32(lanes, multiplier), round);
        // Arithmetic shift from a logical one: !((!x) >> s) for negative x.
        let sign = _mm256_cmpgt_epi64(zero, product);
        let shifted = _mm256_xor_si256(
            _mm256_srl_epi64(_mm256_xor_si256(product, sign), count),
            sign,
        );
        let shifted = _mm256_blendv_epi8(shifted, low, _mm256_cmpgt_epi64(low, shifted));
        let shifted = _mm256_blendv_epi8(shifted, high, _mm256_cmpgt_epi64(shifted, high));
        _mm256_add_epi64(shifted, _mm256_set1_epi64x(TANH_TABLE_HALF as i64))
    };
    let even = scale(acc);
    let odd = scale(_mm256_srli_epi64::<32>(acc));
    _mm256_blend_epi32::<0b1010_1010>(even, _mm256_slli_epi64::<32>(odd))
}

/// `table[index]` on eight lanes; every index is in `0 .. table.len()`.
#[target_feature(enable = "avx2")]
fn table_lookup(table: &[i32], index: __m256i) -> __m256i {
    // SAFETY: `requant_index` clamps every index to 0 ..= 2 * TANH_TABLE_HALF - 1, and the
    // callers assert that `table` holds 2 * TANH_TABLE_HALF entries.
    unsafe { _mm256_i32gather_epi32::<4>(table.as_ptr(), index) }
}

/// One output row: the hidden layer over 16 columns at a time (`[HIDDEN][16]` on the stack),
/// requantised through the table, then the two logits of each column.
#[target_feature(enable = "avx2")]
pub(crate) fn hidden_row(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    rows: &[&[i16]],
    out: &mut [[i32; 2]],
) {
    let taps = Taps::<i16>::new(plan, STAGES, rows, 2);
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let packed = &engine.hidden_packed;
    assert!(packed.len() == HIDDEN * filter_len && engine.hidden_bias.len() == HIDDEN);
    assert!(out.len().div_ceil(BLOCK) * BLOCK <= plan.out_pitch[STAGES]);
    assert!(engine.table.len() == 2 * TANH_TABLE_HALF as usize);
    let mut sums = [0i32; HIDDEN * BLOCK];
    for x0 in (0..out.len()).step_by(BLOCK) {
        for first in (0..HIDDEN).step_by(FLOAT_MAP_BLOCK) {
            let weights = packed.as_ptr().wrapping_add(first * filter_len);
            let bias = engine.hidden_bias.as_ptr().wrapping_add(first);
            let at = sums.as_mut_ptr().wrapping_add(first * BLOCK);
            // SAFETY: `packed` holds HIDDEN filters and the bias HIDDEN values (asserted) in
            // blocks of 6 and a last one of 4, `sums` holds HIDDEN rows of 16, and
            // `x0 + 16 <= out_pitch`, for which `Taps::new` checked the rows.
            unsafe {
                if first + FLOAT_MAP_BLOCK <= HIDDEN {
                    micro_kernel_pairs::<FLOAT_MAP_BLOCK>(weights, bias, &taps, x0, at, BLOCK);
                } else {
                    micro_kernel_pairs::<MAP_BLOCK>(weights, bias, &taps, x0, at, BLOCK);
                }
            }
        }
        for (unit, line) in sums.chunks_exact_mut(BLOCK).enumerate() {
            for lanes in line.chunks_exact_mut(LANES) {
                // SAFETY: `lanes` is exactly eight i32.
                unsafe {
                    let acc = _mm256_loadu_si256(lanes.as_ptr().cast());
                    let index = requant_index(acc, engine.hidden_requant[unit]);
                    let activation = table_lookup(&engine.table, index);
                    _mm256_storeu_si256(lanes.as_mut_ptr().cast(), activation);
                }
            }
        }
        let valid = (out.len() - x0).min(BLOCK);
        for (x, logits) in out[x0..x0 + valid].iter_mut().enumerate() {
            let hidden: [i32; HIDDEN] = core::array::from_fn(|unit| sums[unit * BLOCK + x]);
            *logits = output_logits(engine, &hidden);
        }
    }
}
