//! The int8 row kernels for x86-64 CPUs with AVX-512 F, BW, VL and VNNI: sixteen neighbouring
//! output columns in the i32 lanes of one vector.
//!
//! Stages after the first and the hidden layer multiply four channels at once with
//! `vpdpbusd` (u8 x s8, four products added into an i32 lane, no saturation): a `T` row holds
//! channels `4q .. 4q + 3` of one column in the four bytes of a 32-bit lane, each activation
//! offset by +128 to be unsigned (see [`super::integer::QuadWeights`] for the exact
//! correction of the bias and why it holds). A call computes `M` output maps x 64 columns: per
//! tap four input loads and `M` weight broadcasts, each used by four `vpdpbusd`. Stage 0 (one
//! input channel, about 1.4% of the work) multiplies i16 inputs sign-extended to i32 with
//! `vpdpwssd`, the weight in the low half only, so each lane adds exactly `input * weight`.
//!
//! A convolution row is activated (requantised and looked up) right after it is computed,
//! before pooling, which the monotone activation allows bit for bit, and packed into bytes;
//! pooling is split into a maximum across the pool's columns, taken in place as soon as the row
//! is computed, and one down the pool's rows (`2 P` byte reads per output instead of `P^2` i32
//! ones). Requantisation runs on i64 halves of the lanes (`vpmuldq`, `vpsraq`), the `tanh`
//! table is read with `vpgatherdd`, and the output layer's two logits are vectorised across
//! columns the same way as stage 0. Sums are exact (i32, in any order), so every bit equals
//! the reference's.
//!
//! Not here: the f32 kernels ([`super::float_avx512`]).

use core::arch::x86_64::*;

use super::integer::{IntegerEngine, QUAD_CONV_BLOCK, QUAD_HIDDEN_BLOCK, QuadWeights};
use super::plan::{BLOCK, Plan, Taps};
use crate::architecture::{HIDDEN, MAPS, STAGES};
use crate::int8::{Requant, TANH_TABLE_HALF};

/// i32 lanes of one vector.
const LANES: usize = 16;

/// Vectors of output columns per full micro-kernel call (64 columns).
const VECTORS: usize = 4;

/// Columns of one full micro-kernel call.
const WIDE: usize = VECTORS * LANES;

const _: () = assert!(BLOCK == LANES && MAPS.is_multiple_of(4));

/// `M` output maps x `16 V` columns from channel-quad rows: `out[m * out_stride + x]` gets
/// `bias[m] + sum(weights * (inputs + 128))`.
///
/// # Safety
/// `packed` holds `groups * kernel^2 * M` i32 (`[C / 4][K][K][M]`), `bias` `M`, `out` at least
/// `(M - 1) * out_stride + 16 V`; the rows of `taps` hold `groups * pitch * 4` bytes and
/// `x0 + 16 V <= pitch - (kernel - 1) * d`.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn micro_kernel_quads<const M: usize, const V: usize>(
    packed: *const i32,
    bias: *const i32,
    taps: &Taps<u8>,
    x0: usize,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: every offset stays within the extents the caller guarantees; the largest read
    // ends at byte `((groups - 1) * pitch + x0 + 16 V - 1 + (kernel - 1) * d) * 4 + 3`.
    unsafe {
        let mut acc: [[__m512i; V]; M] =
            core::array::from_fn(|m| [_mm512_set1_epi32(*bias.add(m)); V]);
        let mut weight = packed;
        for group in 0..taps.groups {
            for ky in 0..taps.kernel {
                let line = taps.rows[ky].add((group * taps.pitch + x0) * 4);
                for kx in 0..taps.kernel {
                    let at = line.add(kx * taps.dilation * 4);
                    let input: [__m512i; V] =
                        core::array::from_fn(|v| _mm512_loadu_si512(at.add(4 * v * LANES).cast()));
                    for (m, lanes) in acc.iter_mut().enumerate() {
                        let w = _mm512_set1_epi32(*weight.add(m));
                        for (sum, value) in lanes.iter_mut().zip(input) {
                            *sum = _mm512_dpbusd_epi32(*sum, value, w);
                        }
                    }
                    weight = weight.add(M);
                }
            }
        }
        store_block(&acc, out, out_stride);
    }
}

/// `M` output maps x `16 V` columns from the single-channel i16 `T_0` rows.
///
/// # Safety
/// As [`micro_kernel_quads`] with one channel: `packed` holds `kernel^2 * M` i32 (each weight
/// in the low i16, 0 in the high one) and every row holds `pitch` i16.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn micro_kernel_single<const M: usize, const V: usize>(
    packed: *const i32,
    bias: *const i32,
    taps: &Taps<u8>,
    x0: usize,
    out: *mut i32,
    out_stride: usize,
) {
    // SAFETY: the largest read ends at i16 `x0 + 16 V - 1 + (kernel - 1) * d < pitch`.
    unsafe {
        let mut acc: [[__m512i; V]; M] =
            core::array::from_fn(|m| [_mm512_set1_epi32(*bias.add(m)); V]);
        let mut weight = packed;
        for ky in 0..taps.kernel {
            let line = taps.rows[ky].cast::<i16>().add(x0);
            for kx in 0..taps.kernel {
                let at = line.add(kx * taps.dilation);
                // Sign-extended: the high i16 of a lane is 0 or -1, times the weight's high
                // half, 0.
                let input: [__m512i; V] = core::array::from_fn(|v| {
                    _mm512_cvtepi16_epi32(_mm256_loadu_si256(at.add(v * LANES).cast()))
                });
                for (m, lanes) in acc.iter_mut().enumerate() {
                    let w = _mm512_set1_epi32(*weight.add(m));
                    for (sum, value) in lanes.iter_mut().zip(input) {
                        *sum = _mm512_dpwssd_epi32(*sum, value, w);
                    }
                }
                weight = weight.add(M);
            }
        }
        store_block(&acc, out, out_stride);
    }
}

/// Stores `M` x `V` accumulator vectors as `M` rows of `16 V` i32, `out_stride` apart.
///
/// # Safety
/// `out` is writable for `(M - 1) * out_stride + 16 V` i32.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store_block<const M: usize, const V: usize>(
    acc: &[[__m512i; V]; M],
    out: *mut i32,
    out_stride: usize,
) {
    for (m, lanes) in acc.iter().enumerate() {
        for (v, sum) in lanes.iter().enumerate() {
            // SAFETY: `m * out_stride + v * 16 + 15 < (M - 1) * out_stride + 16 V`, the
            // caller's extent.
            unsafe { _mm512_storeu_si512(out.add(m * out_stride + v * LANES).cast(), *sum) };
        }
    }
}

/// Which micro-kernel a block of columns runs.
#[derive(Clone, Copy)]
enum Input {
    /// The single-channel i16 `T_0`.
    Single,
    /// Channel quads of u8.
    Quads,
}

/// `M` maps over columns `x0 .. x0 + 64`, or 32 or 16 columns where the wider call would pass
/// `limit`; returns the columns done.
///
/// # Safety
/// As the micro-kernels, with `x0 + 16 <= limit` and `limit <= out_pitch` of the layer.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
#[inline]
unsafe fn columns<const M: usize>(
    input: Input,
    (packed, bias): (*const i32, *const i32),
    taps: &Taps<u8>,
    (x0, limit): (usize, usize),
    out: *mut i32,
    out_stride: usize,
) -> usize {
    // SAFETY: each call is made only when its columns end at or below `limit`.
    unsafe {
        let vectors = if x0 + WIDE <= limit {
            VECTORS
        } else if x0 + 2 * LANES <= limit {
            2
        } else {
            1
        };
        match (input, vectors) {
            (Input::Single, VECTORS) => {
                micro_kernel_single::<M, VECTORS>(packed, bias, taps, x0, out, out_stride)
            }
            (Input::Single, 2) => {
                micro_kernel_single::<M, 2>(packed, bias, taps, x0, out, out_stride)
            }
            (Input::Single, _) => {
                micro_kernel_single::<M, 1>(packed, bias, taps, x0, out, out_stride)
            }
            (Input::Quads, VECTORS) => {
                micro_kernel_quads::<M, VECTORS>(packed, bias, taps, x0, out, out_stride)
            }
            (Input::Quads, 2) => {
                micro_kernel_quads::<M, 2>(packed, bias, taps, x0, out, out_stride)
            }
            (Input::Quads, _) => {
                micro_kernel_quads::<M, 1>(packed, bias, taps, x0, out, out_stride)
            }
        }
        vectors * LANES
    }
}

/// The quad-packed weights of an engine built for this kernel.
fn quad_weights<'e>(engine: &'e IntegerEngine<'_>) -> &'e QuadWeights {
    match &engine.quads {
        Some(quads) => quads,
        None => panic!("an avx512-vnni int8 engine is built with its quad-packed weights"),
    }
}

/// `C_stage` row from its `K` input rows, activated: the sums of each block of up to 64 columns
/// (`[MAPS][out_pitch]` i32) are requantised, looked up in the `tanh` table and packed in place
/// into the `T` layout `[MAPS / 4][out_pitch][4]` u8 (activation + 128, the first quarter of
/// the slot's bytes), then maximised across the pool's columns ([`pool_across`]).
///
/// Activating before pooling gives the same bits as the reference's pooling first: the
/// requantisation (round half up of `acc * multiplier / 2^shift`, `multiplier >= 0`), the clamp
/// and the table are all monotone non-decreasing, so they commute with the maximum. Pooling
/// then reads bytes, a quarter of the i32 rows it would otherwise read from rings that do not
/// fit in L2, and each `C` element is requantised once, as many times as there are `T`
/// elements (the dense maps of a stage have one `T` element per `C` element).
///
/// This needs every stage multiplier to be non-negative; weights files never hold a negative
/// one, and `IntegerEngine::new` gives weights built in code with one to the `avx2+fma` kernel
/// instead, which pools before activating.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) fn conv_row(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[i16]],
    out: &mut [i32],
) {
    let taps = Taps::<u8>::new(plan, stage, rows, 4);
    let out_pitch = plan.out_pitch[stage];
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let quads = quad_weights(engine);
    let (packed, bias) = (&quads.conv[stage], &quads.conv_bias[stage]);
    assert!(packed.len() == MAPS * filter_len && bias.len() == MAPS);
    assert!(out.len() >= MAPS * out_pitch && out_pitch.is_multiple_of(BLOCK));
    assert!(engine.table.len() == 2 * TANH_TABLE_HALF as usize);
    let input = if stage == 0 {
        Input::Single
    } else {
        Input::Quads
    };
    let mut x0 = 0;
    while x0 < out_pitch {
        let mut done = 0;
        for first in (0..MAPS).step_by(QUAD_CONV_BLOCK) {
            // SAFETY: `packed` and `bias` hold MAPS filters (asserted) in blocks of
            // QUAD_CONV_BLOCK, `out` holds MAPS rows of `out_pitch` with `x0 + 16 <=
            // out_pitch` (both multiples of 16), and `Taps::new` checked the rows.
            unsafe {
                let weights = packed.as_ptr().add(first * filter_len);
                let at = out.as_mut_ptr().add(first * out_pitch + x0);
                let bias = bias.as_ptr().add(first);
                done = columns::<QUAD_CONV_BLOCK>(
                    input,
                    (weights, bias),
                    &taps,
                    (x0, out_pitch),
                    at,
                    out_pitch,
                );
            }
        }
        activate_block(engine, plan, stage, out, (x0, done));
        x0 += done;
    }
    pool_across(plan, stage, out);
}

/// Requantises, looks up and packs columns `x0 .. x0 + count` of every map of a `C_stage` row
/// in place: quad `q`'s packed lanes (one u32 per column, byte `j` = map `4q + j`) overwrite
/// the i32 sums of map `q` at the same columns.
///
/// In place is safe because quads are done in increasing order: quad `q` reads maps
/// `4q .. 4q + 3` and overwrites map `q`, which is one of them only for `q = 0` (read before
/// the write), and otherwise belongs to quad `q / 4 < q`, already done for these columns.
/// Other columns are not touched.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn activate_block(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    out: &mut [i32],
    (x0, count): (usize, usize),
) {
    let pitch = plan.out_pitch[stage];
    let requant = engine.conv_requant[stage];
    assert!(x0 + count <= pitch && out.len() >= MAPS * pitch);
    assert!(engine.table.len() == 2 * TANH_TABLE_HALF as usize);
    for quad in 0..MAPS / 4 {
        for x in (x0..x0 + count).step_by(LANES) {
            // SAFETY: `(4 * quad + 3) * pitch + x + 15 < MAPS * pitch <= out.len()`, as
            // `x + 16 <= pitch`.
            let [b0, b1, b2, b3] = unsafe {
                let at = out.as_ptr().add(4 * quad * pitch + x);
                let map = |j: usize| (at.add(j * pitch), requant[4 * quad + j]);
                [
                    activate_lanes(&engine.table, map(0)),
                    activate_lanes(&engine.table, map(1)),
                    activate_lanes(&engine.table, map(2)),
                    activate_lanes(&engine.table, map(3)),
                ]
            };
            // Bytes 0..3 of each lane: maps 4q .. 4q + 3, each in 1 ..= 255.
            let low = _mm512_or_si512(b0, _mm512_slli_epi32::<8>(b1));
            let high = _mm512_or_si512(_mm512_slli_epi32::<16>(b2), _mm512_slli_epi32::<24>(b3));
            // SAFETY: as the loads, at map `quad`.
            unsafe {
                let at = out.as_mut_ptr().add(quad * pitch + x);
                _mm512_storeu_si512(at.cast(), _mm512_or_si512(low, high));
            }
        }
    }
}

/// The activations + 128 of the sixteen sums at `from`, requantised by `requant`.
///
/// # Safety
/// `from` is readable for sixteen i32; `table` holds `2 * TANH_TABLE_HALF` entries.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn activate_lanes(table: &[i32], (from, requant): (*const i32, Requant)) -> __m512i {
    // SAFETY: the caller's bound.
    let acc = unsafe { _mm512_loadu_si512(from.cast()) };
    let index = requant_lanes(acc, requant, TABLE_RANGE);
    _mm512_add_epi32(table_lookup(table, index), _mm512_set1_epi32(128))
}

/// Replaces each quad of an activated `C_stage` row, in place, by its bytewise maximum across
/// the pool's columns: `row[x] = max(row[x + dx * d] for dx < P)` for the columns
/// `x < t_width[stage + 1]` that pooling reads. Each `C` row is read by `P` pooled rows, so
/// taking the across-columns maximum once here, while the row is still in cache, leaves
/// [`pool_row`] `P` reads per output instead of `P^2`. Maxima are exact in any grouping. In
/// place is safe: the vector at `x` reads columns `>= x` only and is stored after its reads,
/// and every later vector reads columns `>= x + 16`.
#[target_feature(enable = "avx512f,avx512bw")]
fn pool_across(plan: &Plan, stage: usize, out: &mut [i32]) {
    let (pitch, pool, d) = (
        plan.out_pitch[stage],
        plan.pools[stage],
        plan.dilations[stage],
    );
    let width = plan.t_width[stage + 1];
    assert!(width + (pool - 1) * d <= pitch && out.len() >= MAPS * pitch);
    for quad in 0..MAPS / 4 {
        for x in (0..width).step_by(LANES) {
            let mask = tail_mask(x, width);
            let at = quad * pitch + x;
            // SAFETY: unmasked lanes read below `at + (width - x) + (pool - 1) * d <=
            // quad * pitch + pitch` and write below `quad * pitch + width`, asserted above.
            unsafe {
                let row = out.as_mut_ptr().add(at);
                let mut best = _mm512_maskz_loadu_epi32(mask, row);
                for dx in 1..pool {
                    let value = _mm512_maskz_loadu_epi32(mask, row.add(dx * d));
                    best = _mm512_max_epu8(best, value);
                }
                _mm512_mask_storeu_epi32(row, mask, best);
            }
        }
    }
}

/// The lanes of the 16 columns from `x` that lie below `width` (`x < width`).
#[inline]
fn tail_mask(x: usize, width: usize) -> __mmask16 {
    if x + LANES <= width {
        !0
    } else {
        (1u16 << (width - x)) - 1
    }
}

/// `T_{stage+1}` row (`[MAPS / 4][t_pitch][4]` u8, activation + 128): the bytewise maximum
/// down the pool's rows `rows[dy]`, which [`conv_row`] activated and maximised across columns.
/// Only the valid columns are written (the last vector masked).
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) fn pool_row(plan: &Plan, stage: usize, rows: &[&[i32]], out: &mut [i16]) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let width = plan.t_width[stage + 1];
    assert!(rows.len() == plan.pools[stage]);
    assert!(rows.iter().all(|row| row.len() >= MAPS * in_pitch));
    assert!(width <= in_pitch && width <= out_pitch && out.len() * 2 >= MAPS * out_pitch);
    for quad in 0..MAPS / 4 {
        for x in (0..width).step_by(LANES) {
            // Lanes past `width` are neither read nor written.
            let mask = tail_mask(x, width);
            let at = quad * in_pitch + x;
            let mut best = _mm512_setzero_si512();
            for row in rows {
                // SAFETY: unmasked lanes read below `quad * in_pitch + width <= MAPS *
                // in_pitch`, asserted above; masked lanes touch no memory.
                let value = unsafe { _mm512_maskz_loadu_epi32(mask, row.as_ptr().add(at)) };
                best = _mm512_max_epu8(best, value);
            }
            // SAFETY: the unmasked lanes write bytes `(quad * out_pitch + x) * 4 ..
            // (quad * out_pitch + width) * 4`, below `MAPS * out_pitch <= 2 * out.len()`.
            unsafe {
                let to = out
                    .as_mut_ptr()
                    .cast::<u8>()
                    .add((quad * out_pitch + x) * 4);
                _mm512_mask_storeu_epi32(to.cast(), mask, best);
            }
        }
    }
}

/// The clamp and offset of a requantised value: `(low, high, offset)`.
type Range = (i64, i64, i64);

/// The table's range: `clamp(v, -1024, 1023) + 1024`.
const TABLE_RANGE: Range = (
    -(TANH_TABLE_HALF as i64),
    TANH_TABLE_HALF as i64 - 1,
    TANH_TABLE_HALF as i64,
);

/// The logits' range: [`Requant::apply`]'s saturation to i32.
const LOGIT_RANGE: Range = (i32::MIN as i64, i32::MAX as i64, 0);

/// [`Requant::apply`] on sixteen lanes with the result clamped to `low ..= high` and `offset`
/// added: `clamp(round_half_up(acc * multiplier / 2^shift), low, high) + offset`. With
/// [`TABLE_RANGE`] this is the table index (clamping the i64 result to the table is the same as
/// clamping to i32 first, as the scalar path does); with [`LOGIT_RANGE`] it is `apply` itself.
#[target_feature(enable = "avx512f")]
#[inline]
fn requant_lanes(acc: __m512i, requant: Requant, (low, high, offset): Range) -> __m512i {
    let shift = requant.shift.clamp(1, 62) as i64;
    let multiplier = _mm512_set1_epi32(requant.multiplier);
    let round = _mm512_set1_epi64(1i64 << (shift - 1));
    let count = _mm_cvtsi64_si128(shift);
    let (low, high) = (_mm512_set1_epi64(low), _mm512_set1_epi64(high));
    let offset = _mm512_set1_epi64(offset);
    let scale = |lanes: __m512i| {
        let product = _mm512_add_epi64(_mm512_mul_epi32(lanes, multiplier), round);
        let shifted = _mm512_sra_epi64(product, count);
        let clamped = _mm512_min_epi64(_mm512_max_epi64(shifted, low), high);
        _mm512_add_epi64(clamped, offset)
    };
    let even = scale(acc);
    let odd = scale(_mm512_srli_epi64::<32>(acc));
    _mm512_mask_blend_epi32(0b1010_1010_1010_1010, even, _mm512_slli_epi64::<32>(odd))
}

/// `table[index]` on sixteen lanes; every index is in `0 .. table.len()`.
#[target_feature(enable = "avx512f")]
#[inline]
fn table_lookup(table: &[i32], index: __m512i) -> __m512i {
    // SAFETY: `requant_lanes` with `TABLE_RANGE` clamps every index to
    // 0 ..= 2 * TANH_TABLE_HALF - 1, and the callers assert that `table` holds
    // 2 * TANH_TABLE_HALF entries.
    unsafe { _mm512_i32gather_epi32::<4>(index, table.as_ptr().cast()) }
}

/// One output row: the hidden layer over 64 columns at a time (`[HIDDEN][64]` on the stack),
/// requantised through the table, then the two logits of each column.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
pub(crate) fn hidden_row(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    rows: &[&[i16]],
    out: &mut [[i32; 2]],
) {
    let taps = Taps::<u8>::new(plan, STAGES, rows, 4);
    let filter_len = taps.groups * taps.kernel * taps.kernel;
    let quads = quad_weights(engine);
    let (packed, bias) = (&quads.hidden, &quads.hidden_bias);
    let out_pitch = plan.out_pitch[STAGES];
    assert!(packed.len() == HIDDEN * filter_len && bias.len() == HIDDEN);
    assert!(out.len().div_ceil(BLOCK) * BLOCK <= out_pitch && out_pitch.is_multiple_of(BLOCK));
    assert!(engine.table.len() == 2 * TANH_TABLE_HALF as usize);
    assert!(engine.output.len() == 2 * HIDDEN && engine.output_bias.len() == 2);
    let mut sums = [0i32; HIDDEN * WIDE];
    let mut x0 = 0;
    while x0 < out.len() {
        let mut done = 0;
        for first in (0..HIDDEN).step_by(QUAD_HIDDEN_BLOCK) {
            let weights = packed.as_ptr().wrapping_add(first * filter_len);
            let bias = bias.as_ptr().wrapping_add(first);
            let at = sums.as_mut_ptr().wrapping_add(first * WIDE);
            // SAFETY: `packed` holds HIDDEN filters and the bias HIDDEN values (asserted) in
            // blocks of QUAD_HIDDEN_BLOCK, `sums` holds HIDDEN rows of 64, and
            // `x0 + 16 <= out_pitch` (both multiples of 16, `x0 < out.len()`), for which
            // `Taps::new` checked the rows.
            unsafe {
                done = columns::<QUAD_HIDDEN_BLOCK>(
                    Input::Quads,
                    (weights, bias),
                    &taps,
                    (x0, out_pitch),
                    at,
                    WIDE,
                );
            }
        }
        for (unit, line) in sums.chunks_exact_mut(WIDE).enumerate() {
            for lanes in line[..done].chunks_exact_mut(LANES) {
                // SAFETY: `lanes` is exactly sixteen i32.
                unsafe {
                    let acc = _mm512_loadu_si512(lanes.as_ptr().cast());
                    let index = requant_lanes(acc, engine.hidden_requant[unit], TABLE_RANGE);
                    let activation = table_lookup(&engine.table, index);
                    _mm512_storeu_si512(lanes.as_mut_ptr().cast(), activation);
                }
            }
        }
        let valid = (out.len() - x0).min(done);
        logits_block(engine, &sums, &mut out[x0..x0 + valid]);
        x0 += done;
    }
}

/// The output layer for up to 32 columns of hidden activations (`[HIDDEN][32]` i32, each in
/// -127 ..= 127), as [`super::integer::output_logits`] computes it per column.
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn logits_block(engine: &IntegerEngine<'_>, hidden: &[i32; HIDDEN * WIDE], out: &mut [[i32; 2]]) {
    for v in 0..out.len().div_ceil(LANES) {
        let mut sums = [
            _mm512_set1_epi32(engine.output_bias[0]),
            _mm512_set1_epi32(engine.output_bias[1]),
        ];
        for unit in 0..HIDDEN {
            // SAFETY: `v < 4`, so `unit * 64 + v * 16 + 15 < HIDDEN * 64`.
            let activation =
                unsafe { _mm512_loadu_si512(hidden.as_ptr().add(unit * WIDE + v * LANES).cast()) };
            for (class, sum) in sums.iter_mut().enumerate() {
                // The weight in the low i16 only: each lane adds `activation * weight`, the
                // activation's sign-extension half meeting a 0.
                let weight = i32::from(engine.output[class * HIDDEN + unit] as i16 as u16);
                *sum = _mm512_dpwssd_epi32(*sum, activation, _mm512_set1_epi32(weight));
            }
        }
        let mut lanes = [[0i32; LANES]; 2];
        for (class, sum) in sums.iter().enumerate() {
            let logit = requant_lanes(*sum, engine.output_requant[class], LOGIT_RANGE);
            // SAFETY: `lanes[class]` is sixteen i32.
            unsafe { _mm512_storeu_si512(lanes[class].as_mut_ptr().cast(), logit) };
        }
        for (lane, logits) in out.iter_mut().skip(v * LANES).take(LANES).enumerate() {
            *logits = [lanes[0][lane], lanes[1][lane]];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::int8::{TANH_TABLE, tanh_from_table};
    use crate::random::SplitMix64;

    /// `requant_lanes` against `Requant::apply` (and the table's clamp) on extreme and random
    /// accumulators, every shift 1..=62 (and the clamped 0 and 63) and extreme multipliers.
    #[test]
    fn requant_lanes_match_requant_apply() {
        if !crate::fast::avx512_for_tests() {
            return;
        }
        let mut random = SplitMix64::new(9);
        let extremes = [
            i32::MIN,
            i32::MIN + 1,
            -1,
            0,
            1,
            i32::MAX,
            1 << 20,
            -(1 << 20),
        ];
        let multipliers = [0, 1 << 30, i32::MAX, 1_500_000_000];
        let table: std::vec::Vec<i32> = TANH_TABLE.iter().map(|v| i32::from(*v)).collect();
        for shift in 0..=63u8 {
            for &multiplier in &multipliers {
                let requant = Requant { multiplier, shift };
                for round in 0..4 {
                    let acc: [i32; 16] = core::array::from_fn(|i| {
                        if round == 0 && i < extremes.len() {
                            extremes[i]
                        } else {
                            (random.next_u64() as i32) >> (random.below(32) as u32)
                        }
                    });
                    let mut index = [0i32; 16];
                    let mut logit = [0i32; 16];
                    let mut value = [0i32; 16];
                    // SAFETY: AVX-512 F was detected; every array is sixteen i32, and
                    // `TABLE_RANGE` keeps the indices inside the 2048-entry table.
                    unsafe {
                        let lanes = _mm512_loadu_si512(acc.as_ptr().cast());
                        let at = requant_lanes(lanes, requant, TABLE_RANGE);
                        _mm512_storeu_si512(index.as_mut_ptr().cast(), at);
                        let looked = table_lookup(&table, at);
                        _mm512_storeu_si512(value.as_mut_ptr().cast(), looked);
                        let out = requant_lanes(lanes, requant, LOGIT_RANGE);
                        _mm512_storeu_si512(logit.as_mut_ptr().cast(), out);
                    }
                    for lane in 0..16 {
                        let want = requant.apply(acc[lane]);
                        let want_index = want.clamp(-TANH_TABLE_HALF, TANH_TABLE_HALF - 1);
                        let what = std::format!("acc {} with {requant:?}", acc[lane]);
                        assert_eq!(logit[lane], want, "logit of {what}");
                        assert_eq!(index[lane], want_index + TANH_TABLE_HALF, "index of {what}");
                        let activation = i32::from(tanh_from_table(want));
                        assert_eq!(value[lane], activation, "activation of {what}");
                    }
                }
            }
        }
    }
}
