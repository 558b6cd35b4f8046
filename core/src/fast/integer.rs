//! The int8 engine: packed weights and the portable row kernels; the AVX2 ones are in
//! [`super::integer_avx2`].
//!
//! Row layouts: `T_0` is `[1][t_pitch[0]]` i16 (the int8 input, widened); a later `T_l` is
//! `[C / 2][t_pitch[l]][2]` i16, channels `2p` and `2p + 1` of one column side by side, so that
//! one 32-bit lane holds the pair `vpmaddwd` multiplies; a `C_l` row is `[MAPS][out_pitch[l]]`
//! i32 accumulators. Integer sums are exact, so the order of the terms is free; requantisation,
//! pooling and the table are [`crate::int8`]'s.

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
    pub conv_packed: [Vec<i32>; STAGES],
    pub conv_bias: [&'w [i32]; STAGES],
    pub conv_requant: [&'w [Requant]; STAGES],
    /// Reference layout `[HIDDEN][MAPS][S][S]`.
    pub hidden: &'w [i8],
    pub hidden_packed: Vec<i32>,
    pub hidden_bias: &'w [i32],
    pub hidden_requant: &'w [Requant],
    /// `[CLASSES][HIDDEN]`.
    pub output: &'w [i8],
    pub output_bias: &'w [i32],
    pub output_requant: &'w [Requant],
    /// [`crate::int8::TANH_TABLE`] widened to i32, for vector gathers.
    pub table: Vec<i32>,
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
        IntegerEngine {
            kernel,
            quant,
            conv,
            conv_packed: core::array::from_fn(|l| {
                let side = g.kernels[l];
                if l == 0 {
                    let wide: Vec<i32> = conv[0].iter().map(|w| i32::from(*w)).collect();
                    pack(&wide, MAPS, MAP_BLOCK)
                } else {
                    pack_pairs(conv[l], MAPS, g.channels_in[l], side * side)
                }
            }),
            conv_bias: core::array::from_fn(|l| &weights.biases[channel(l)..][..MAPS]),
            conv_requant: core::array::from_fn(|l| &weights.requant[channel(l)..][..MAPS]),
            hidden,
            hidden_packed: pack_pairs(hidden, HIDDEN, MAPS, g.last_side() * g.last_side()),
            hidden_bias: &weights.biases[first_hidden..][..HIDDEN],
            hidden_requant: &weights.requant[first_hidden..][..HIDDEN],
            output: &weights.weights[layout.packed_output_weights..][..CLASSES * HIDDEN],
            output_bias: &weights.biases[first_output..][..CLASSES],
            output_requant: &weights.requant[first_output..][..CLASSES],
            table: crate::int8::TANH_TABLE
                .iter()
                .map(|v| i32::from(*v))
                .collect(),
        }
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
            Kernel::Avx2Fma | Kernel::Avx512Vnni => {
                // SAFETY: an `Avx2Fma` engine is only built after `Kernel::is_available`
                // confirmed AVX2 (and FMA) on this CPU.
                unsafe { super::integer_avx2::conv_row(self, plan, stage, rows, out) }
            }
            _ => conv_row_portable(self, plan, stage, rows, out),
        }
    }

    fn pool_row(&self, plan: &Plan, stage: usize, rows: &[&[i32]], out: &mut [i16]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma | Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX2.
                unsafe { super::integer_avx2::pool_row(self, plan, stage, rows, out) }
            }
            _ => pool_row_portable(self, plan, stage, rows, out),
        }
    }

    fn hidden_row(&self, plan: &Plan, rows: &[&[i16]], out: &mut [[i32; 2]]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma | Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX2.
                unsafe { super::integer_avx2::hidden_row(self, plan, rows, out) }
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
