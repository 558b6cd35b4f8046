//! The int8 engine: packed weights and the portable row kernels; the AVX2 ones are in
//! [`super::integer_avx2`], the AVX-512 VNNI ones in [`super::integer_avx512`].
//!
//! Row layouts: `T_0` is `[1][t_pitch[0]]` i16 (the int8 input, widened); a later `T_l` is
//! `[C / 2][t_pitch[l]][2]` i16, channels `2p` and `2p + 1` of one column side by side, so that
//! one 32-bit lane holds the pair `vpmaddwd` multiplies (portable and AVX2 kernels), or, for the
//! AVX-512 VNNI kernel, `[C / 4][t_pitch[l]][4]` u8 in the first half of the same slot, the
//! four channels `vpdpbusd` multiplies, each offset by +128; a `C_l` row is
//! `[MAPS][out_pitch[l]]` i32 accumulators (the AVX-512 VNNI kernel turns it into activations,
//! in place, in the `T` byte layout before pooling; see [`super::integer_avx512`]). Integer sums
//! are exact, so the order of the terms is free; requantisation, pooling and the table are
//! [`crate::int8`]'s.

use std::vec::Vec;

use super::Kernel;
use super::float::{FLOAT_MAP_BLOCK, MAP_BLOCK, pack};
use super::plan::Plan;
use super::stream::Engine;
use crate::architecture::{Architecture, CLASSES, HIDDEN, MAPS, STAGES};
use crate::int8::{InputQuant, Int8Weights, Requant, tanh_from_table};

/// The int8 weights of one configuration, in the reference's layout and packed for the
/// micro-kernels: stage 0 in blocks of 4 maps `[K][K][4]` i32, later stages and the hidden
/// layer in blocks of 6 outputs (the last hidden block of 4) `[C / 2][K][K][block]` i32, each
/// i32 holding the two i16 weights of a channel pair.
pub(crate) struct IntegerEngine<'w> {
    pub kernel: Kernel,
    pub quant: InputQuant,
    /// Reference layout `[MAPS][C][K][K]` of each stage.
    pub conv: [&'w [i8]; STAGES],
    /// The SIMD kernels' layouts, read only by the x86-64 kernels: empty for
    /// [`Kernel::Portable`], the only kernel elsewhere (so are `hidden_packed` and `table`).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub conv_packed: [Vec<i32>; STAGES],
    pub conv_bias: [&'w [i32]; STAGES],
    pub conv_requant: [&'w [Requant]; STAGES],
    /// Reference layout `[HIDDEN][MAPS][S][S]`.
    pub hidden: &'w [i8],
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub hidden_packed: Vec<i32>,
    pub hidden_bias: &'w [i32],
    pub hidden_requant: &'w [Requant],
    /// `[CLASSES][HIDDEN]`.
    pub output: &'w [i8],
    pub output_bias: &'w [i32],
    pub output_requant: &'w [Requant],
    /// [`crate::int8::TANH_TABLE`] widened to i32, for vector gathers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub table: Vec<i32>,
    /// The weights packed for the AVX-512 VNNI kernel: present exactly when `kernel` is
    /// [`Kernel::Avx512Vnni`].
    pub quads: Option<QuadWeights>,
}

/// Output maps per call of the AVX-512 VNNI convolution micro-kernel (x 64 columns): 36 maps
/// are 6 blocks.
pub(crate) const QUAD_CONV_BLOCK: usize = 6;

/// Hidden units per call of the AVX-512 VNNI micro-kernel: 100 units are 20 blocks.
pub(crate) const QUAD_HIDDEN_BLOCK: usize = 5;

const _: () = assert!(MAPS.is_multiple_of(QUAD_CONV_BLOCK) && MAPS.is_multiple_of(4));
const _: () = assert!(HIDDEN.is_multiple_of(QUAD_HIDDEN_BLOCK));

/// The int8 weights packed for `vpdpbusd`, which multiplies unsigned activation bytes by
/// signed weight bytes: stage 0 in blocks of [`QUAD_CONV_BLOCK`] maps `[K][K][block]` i32 (the
/// weight in the low i16, 0 in the high one, for `vpdpwssd`); later stages and the hidden layer
/// in blocks of [`QUAD_CONV_BLOCK`] / [`QUAD_HIDDEN_BLOCK`] outputs `[C / 4][K][K][block]` i32,
/// byte `j` holding channel `4q + j`.
///
/// The activations of those layers are stored as `a + 128` (in 1 ..= 255, as every activation
/// is a table value in -127 ..= 127), so a sum comes out as `sum(w * a) + 128 * sum(w)`; the
/// biases here are the reference's minus `128 * sum(w)` over the output's filter, which makes
/// every sum the reference's exactly. This needs every tap of a valid output to read a stored
/// activation, never a padding byte: it holds because a valid output at column `x < out_width`
/// reads columns below `t_width`, all written by the pooling of real (mirrored) image rows, and
/// every ring row is computed before it is read. i32 arithmetic wraps, so the correction is
/// exact modulo 2^32 like the sums themselves.
// Read only by the x86-64 kernel; on other targets `prepare` refuses `Avx512Vnni` before any
// engine is built, so the fields are never read there.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) struct QuadWeights {
    pub conv: [Vec<i32>; STAGES],
    /// Stage 0's biases as the reference's, later stages' corrected for the offset.
    pub conv_bias: [Vec<i32>; STAGES],
    pub hidden: Vec<i32>,
    /// Corrected for the offset.
    pub hidden_bias: Vec<i32>,
}

impl QuadWeights {
    fn new(engine: &IntegerEngine<'_>, kernels: [usize; STAGES], side: usize) -> QuadWeights {
        let conv = core::array::from_fn(|l| {
            let taps = kernels[l] * kernels[l];
            if l == 0 {
                let low: Vec<i32> = engine.conv[0]
                    .iter()
                    .map(|w| i32::from(*w as i16 as u16))
                    .collect();
                pack(&low, MAPS, QUAD_CONV_BLOCK)
            } else {
                pack_quads(engine.conv[l], MAPS, MAPS, taps, QUAD_CONV_BLOCK)
            }
        });
        let conv_bias = core::array::from_fn(|l| {
            if l == 0 {
                engine.conv_bias[0].to_vec()
            } else {
                offset_biases(engine.conv[l], engine.conv_bias[l])
            }
        });
        QuadWeights {
            conv,
            conv_bias,
            hidden: pack_quads(engine.hidden, HIDDEN, MAPS, side * side, QUAD_HIDDEN_BLOCK),
            hidden_bias: offset_biases(engine.hidden, engine.hidden_bias),
        }
    }
}

/// `bias[o] - 128 * sum(weights of output o)` (wrapping), for `[outputs][inputs]` weights.
fn offset_biases(weights: &[i8], biases: &[i32]) -> Vec<i32> {
    let inputs = weights.len() / biases.len();
    biases
        .iter()
        .zip(weights.chunks_exact(inputs))
        .map(|(bias, filter)| {
            let sum: i32 = filter.iter().map(|w| i32::from(*w)).sum();
            bias.wrapping_sub(sum.wrapping_mul(128))
        })
        .collect()
}

/// Reorders `[outputs][C][taps]` int8 weights into blocks of `block` outputs
/// `[C / 4][taps][block]` i32, byte `j` of each holding channel `4q + j`.
fn pack_quads(
    weights: &[i8],
    outputs: usize,
    channels: usize,
    taps: usize,
    block: usize,
) -> Vec<i32> {
    let quads = channels / 4;
    let mut packed = std::vec![0i32; outputs * quads * taps];
    for output in 0..outputs {
        for quad in 0..quads {
            for tap in 0..taps {
                let bytes = core::array::from_fn(|j| {
                    weights[(output * channels + 4 * quad + j) * taps + tap] as u8
                });
                packed[(output * quads + quad) * taps + tap] = i32::from_le_bytes(bytes);
            }
        }
    }
    pack(&packed, outputs, block)
}

/// The kernel that computes these weights bit for bit as the reference does: `asked`, except
/// that the AVX-512 VNNI kernel activates before pooling, which gives the reference's bits only
/// while every convolution multiplier is non-negative (requantisation is then monotone). Weights
/// files never hold a negative one, but `Int8Weights` built in code may; those run the AVX2
/// kernel, which pools first and which every CPU with the VNNI kernel also has.
fn exact_kernel(asked: Kernel, conv_requant: &[&[Requant]; STAGES]) -> Kernel {
    let monotone = conv_requant
        .iter()
        .flat_map(|stage| stage.iter())
        .all(|r| r.multiplier >= 0);
    if asked == Kernel::Avx512Vnni && !monotone {
        Kernel::Avx2Fma
    } else {
        asked
    }
}

impl<'w> IntegerEngine<'w> {
    pub(crate) fn new<A: Architecture, const NW: usize, const NB: usize>(
        weights: &'w Int8Weights<A, NW, NB>,
        quant: InputQuant,
        kernel: Kernel,
    ) -> Self {
        let g = A::GEOMETRY;
        let layout = g.layout;
        let conv: [&[i8]; STAGES] = core::array::from_fn(|l| {
            let len = MAPS * g.channels_in[l] * g.kernels[l] * g.kernels[l];
            &weights.weights[layout.packed_conv_weights[l]..][..len]
        });
        let hidden_len = HIDDEN * g.hidden_inputs();
        let hidden = &weights.weights[layout.packed_hidden_weights..][..hidden_len];
        let channel = |l: usize| Int8Weights::<A, NW, NB>::conv_channel(l, 0);
        let first_hidden = Int8Weights::<A, NW, NB>::hidden_channel(0);
        let first_output = Int8Weights::<A, NW, NB>::output_channel(0);
        let conv_requant = core::array::from_fn(|l| &weights.requant[channel(l)..][..MAPS]);
        let kernel = exact_kernel(kernel, &conv_requant);
        let simd = kernel != Kernel::Portable;
        let mut engine = IntegerEngine {
            kernel,
            quant,
            conv,
            conv_packed: core::array::from_fn(|l| {
                let side = g.kernels[l];
                if !simd {
                    Vec::new()
                } else if l == 0 {
                    let wide: Vec<i32> = conv[0].iter().map(|w| i32::from(*w)).collect();
                    pack(&wide, MAPS, MAP_BLOCK)
                } else {
                    pack_pairs(conv[l], MAPS, g.channels_in[l], side * side)
                }
            }),
            conv_bias: core::array::from_fn(|l| &weights.biases[channel(l)..][..MAPS]),
            conv_requant,
            hidden,
            hidden_packed: if simd {
                pack_pairs(hidden, HIDDEN, MAPS, g.last_side() * g.last_side())
            } else {
                Vec::new()
            },
            hidden_bias: &weights.biases[first_hidden..][..HIDDEN],
            hidden_requant: &weights.requant[first_hidden..][..HIDDEN],
            output: &weights.weights[layout.packed_output_weights..][..CLASSES * HIDDEN],
            output_bias: &weights.biases[first_output..][..CLASSES],
            output_requant: &weights.requant[first_output..][..CLASSES],
            table: crate::int8::TANH_TABLE
                .iter()
                .map(|v| i32::from(*v))
                .collect(),
            quads: None,
        };
        if engine.kernel == Kernel::Avx512Vnni {
            let kernels = [g.kernels[0], g.kernels[1], g.kernels[2]];
            engine.quads = Some(QuadWeights::new(&engine, kernels, g.last_side()));
        }
        engine
    }
}

/// Reorders `[outputs][C][taps]` int8 weights into blocks of 6 outputs `[C / 2][taps][6]` i32, each
/// holding channel `2p` in its low and `2p + 1` in its high i16.
fn pack_pairs(weights: &[i8], outputs: usize, channels: usize, taps: usize) -> Vec<i32> {
    let pairs = channels / 2;
    let mut paired = std::vec![0i32; outputs * pairs * taps];
    for output in 0..outputs {
        for pair in 0..pairs {
            for tap in 0..taps {
                let low = weights[(output * channels + 2 * pair) * taps + tap];
                let high = weights[(output * channels + 2 * pair + 1) * taps + tap];
                let both = (low as i16 as u16 as u32) | ((high as i16 as u16 as u32) << 16);
                paired[(output * pairs + pair) * taps + tap] = both as i32;
            }
        }
    }
    pack(&paired, outputs, FLOAT_MAP_BLOCK)
}

/// Index of channel `channel`, column `x` in a `T` row slot of `channels` channels.
#[inline]
fn act_index(channels: usize, pitch: usize, channel: usize, x: usize) -> usize {
    if channels == 1 {
        x
    } else {
        (channel / 2) * pitch * 2 + 2 * x + (channel & 1)
    }
}

impl Engine for IntegerEngine<'_> {
    type Act = i16;
    type Acc = i32;
    type Logit = i32;

    fn input_row(&self, raw: &[u16], columns: &[usize], out: &mut [i16]) {
        for (value, column) in out.iter_mut().zip(columns) {
            *value = i16::from(self.quant.apply(raw[*column]));
        }
    }

    fn conv_row(&self, plan: &Plan, stage: usize, rows: &[&[i16]], out: &mut [i32]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: an `Avx2Fma` engine is only built after `Kernel::is_available`
                // confirmed AVX2 (and FMA) on this CPU.
                unsafe { super::integer_avx2::conv_row(self, plan, stage, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: an `Avx512Vnni` engine is only built after `Kernel::is_available`
                // confirmed AVX-512 F, BW, VL and VNNI on this CPU.
                unsafe { super::integer_avx512::conv_row(self, plan, stage, rows, out) }
            }
            _ => conv_row_portable(self, plan, stage, rows, out),
        }
    }

    fn pool_row(&self, plan: &Plan, stage: usize, rows: &[&[i32]], out: &mut [i16]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: as in `conv_row`, the CPU has AVX2.
                unsafe { super::integer_avx2::pool_row(self, plan, stage, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX-512 F, BW and VNNI.
                unsafe { super::integer_avx512::pool_row(plan, stage, rows, out) }
            }
            _ => pool_row_portable(self, plan, stage, rows, out),
        }
    }

    fn hidden_row(&self, plan: &Plan, rows: &[&[i16]], out: &mut [[i32; 2]]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: as in `conv_row`, the CPU has AVX2.
                unsafe { super::integer_avx2::hidden_row(self, plan, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX-512 F, BW and VNNI.
                unsafe { super::integer_avx512::hidden_row(self, plan, rows, out) }
            }
            _ => hidden_row_portable(self, plan, rows, out),
        }
    }
}

/// Where one portable convolution reads.
struct Taps<'a> {
    rows: &'a [&'a [i16]],
    channels: usize,
    pitch: usize,
    dilation: usize,
}

/// `bias + sum(filter * inputs)` for the output at column `x` (`filter` is `[C][K][K]`).
fn convolve(bias: i32, filter: &[i8], taps: &Taps<'_>, x: usize) -> i32 {
    let kernel = taps.rows.len();
    let mut sum = bias;
    for (channel, channel_filter) in filter.chunks_exact(kernel * kernel).enumerate() {
        for (ky, line) in channel_filter.chunks_exact(kernel).enumerate() {
            for (kx, weight) in line.iter().enumerate() {
                let at = act_index(taps.channels, taps.pitch, channel, x + kx * taps.dilation);
                sum += i32::from(*weight) * i32::from(taps.rows[ky][at]);
            }
        }
    }
    sum
}

fn conv_row_portable(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[i16]],
    out: &mut [i32],
) {
    let taps = Taps {
        rows,
        channels: plan.channels[stage],
        pitch: plan.t_pitch[stage],
        dilation: plan.dilations[stage],
    };
    let filter_len = engine.conv[stage].len() / MAPS;
    for (map, line) in out.chunks_exact_mut(plan.out_pitch[stage]).enumerate() {
        let filter = &engine.conv[stage][map * filter_len..][..filter_len];
        let bias = engine.conv_bias[stage][map];
        for (x, value) in line[..plan.out_width[stage]].iter_mut().enumerate() {
            *value = convolve(bias, filter, &taps, x);
        }
    }
}

fn pool_row_portable(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[i32]],
    out: &mut [i16],
) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let (pool, d) = (plan.pools[stage], plan.dilations[stage]);
    for map in 0..MAPS {
        for x in 0..plan.t_width[stage + 1] {
            let at = map * in_pitch + x;
            let mut best = i32::MIN;
            for row in rows {
                for dx in 0..pool {
                    best = best.max(row[at + dx * d]);
                }
            }
            let index = engine.conv_requant[stage][map].apply(best);
            out[act_index(MAPS, out_pitch, map, x)] = i16::from(tanh_from_table(index));
        }
    }
}

fn hidden_row_portable(
    engine: &IntegerEngine<'_>,
    plan: &Plan,
    rows: &[&[i16]],
    out: &mut [[i32; 2]],
) {
    let taps = Taps {
        rows,
        channels: MAPS,
        pitch: plan.t_pitch[STAGES],
        dilation: plan.dilations[STAGES],
    };
    let inputs = engine.hidden.len() / HIDDEN;
    let mut hidden = [0i32; HIDDEN];
    for (x, logits) in out.iter_mut().enumerate() {
        for (unit, activation) in hidden.iter_mut().enumerate() {
            let filter = &engine.hidden[unit * inputs..][..inputs];
            let sum = convolve(engine.hidden_bias[unit], filter, &taps, x);
            *activation = i32::from(tanh_from_table(engine.hidden_requant[unit].apply(sum)));
        }
        *logits = output_logits(engine, &hidden);
    }
}

/// The output layer for one pixel from its hidden activations (int8 values held in i32).
pub(crate) fn output_logits(engine: &IntegerEngine<'_>, hidden: &[i32; HIDDEN]) -> [i32; 2] {
    core::array::from_fn(|class| {
        let row = &engine.output[class * HIDDEN..][..HIDDEN];
        let mut sum = engine.output_bias[class];
        for (weight, input) in row.iter().zip(hidden) {
            sum += i32::from(*weight) * *input;
        }
        engine.output_requant[class].apply(sum)
    })
}

const _: () = assert!(MAPS.is_multiple_of(2) && MAPS.is_multiple_of(MAP_BLOCK));
