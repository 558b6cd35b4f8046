//! The f32 engine: packed weights and the portable row kernels; the AVX2 + FMA ones are in
//! [`super::float_avx2`], the AVX-512 ones in [`super::float_avx512`].
//!
//! Row layouts: a `T_l` row slot is `[C][t_pitch[l]]`, a `C_l` row slot `[MAPS][out_pitch[l]]`.
//! Every output runs the reference's exact fma chain (bias, then input channel, filter row,
//! filter column), whichever kernel computes it; only which outputs run side by side differs.

use std::vec::Vec;

use super::Kernel;
use super::plan::Plan;
use super::stream::Engine;
use crate::architecture::{Architecture, CLASSES, HIDDEN, MAPS, STAGES};
use crate::arithmetic::{fma, pool_max};
use crate::scaling::InputAffine;
use crate::tanh::tanh;
use crate::weights::F32Weights;

/// Output maps computed together by one int8 micro-kernel call, and by the f32 one for the
/// last hidden units.
pub(crate) const MAP_BLOCK: usize = 4;

/// Output maps computed together by one f32 micro-kernel call: 36 maps are 6 blocks, 100 hidden
/// units 16 blocks and one of [`MAP_BLOCK`].
pub(crate) const FLOAT_MAP_BLOCK: usize = 6;

const _: () = assert!(MAPS.is_multiple_of(MAP_BLOCK) && HIDDEN.is_multiple_of(MAP_BLOCK));
const _: () = assert!(MAPS.is_multiple_of(FLOAT_MAP_BLOCK));
const _: () = assert!(HIDDEN % FLOAT_MAP_BLOCK == MAP_BLOCK);

/// The f32 weights of one configuration, in the reference's layout and packed for the
/// micro-kernel of `kernel` (see [`map_blocks`]): blocks of output maps, each
/// `[C][K][K][block]`, the block's weights for one tap side by side.
pub(crate) struct FloatEngine<'w> {
    pub kernel: Kernel,
    pub affine: InputAffine,
    /// Reference layout `[MAPS][C][K][K]` of each stage.
    pub conv: [&'w [f32]; STAGES],
    /// The SIMD kernels' layouts, read only by the x86-64 kernels: empty for
    /// [`Kernel::Portable`], the only kernel elsewhere.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub conv_packed: [Vec<f32>; STAGES],
    pub conv_bias: [&'w [f32]; STAGES],
    /// Reference layout `[HIDDEN][MAPS][S][S]`.
    pub hidden: &'w [f32],
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub hidden_packed: Vec<f32>,
    pub hidden_bias: &'w [f32],
    /// `[CLASSES][HIDDEN]`.
    pub output: &'w [f32],
    pub output_bias: &'w [f32],
}

impl<'w> FloatEngine<'w> {
    pub(crate) fn new<A: Architecture, const N: usize>(
        weights: &'w F32Weights<A, N>,
        affine: InputAffine,
        kernel: Kernel,
    ) -> Self {
        let conv = core::array::from_fn(|l| weights.conv_weights(l));
        let (conv_block, hidden_block) = map_blocks(kernel);
        let simd = kernel != Kernel::Portable;
        let packed = |filters: &[f32], outputs: usize, block: usize| {
            if simd {
                pack(filters, outputs, block)
            } else {
                Vec::new()
            }
        };
        FloatEngine {
            kernel,
            affine,
            conv,
            conv_packed: core::array::from_fn(|l| packed(conv[l], MAPS, conv_block)),
            conv_bias: core::array::from_fn(|l| weights.conv_biases(l)),
            hidden: weights.hidden_weights(),
            hidden_packed: packed(weights.hidden_weights(), HIDDEN, hidden_block),
            hidden_bias: weights.hidden_biases(),
            output: weights.output_weights(),
            output_bias: weights.output_biases(),
        }
    }
}

/// Output maps per micro-kernel call of `kernel`: (convolution stages, hidden layer). The
/// AVX2 kernel's last hidden block is [`MAP_BLOCK`] units; the portable one reads the
/// reference layout and ignores the packing.
fn map_blocks(kernel: Kernel) -> (usize, usize) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512Vnni => (
            super::float_avx512::CONV_MAP_BLOCK,
            super::float_avx512::HIDDEN_MAP_BLOCK,
        ),
        _ => (FLOAT_MAP_BLOCK, FLOAT_MAP_BLOCK),
    }
}

/// Reorders `[outputs][taps]` weights into blocks of `block` outputs (the last one possibly
/// smaller), each `[taps][block]`. The block of outputs `first ..` starts at `first * taps`.
pub(crate) fn pack<T: Copy + Default>(weights: &[T], outputs: usize, block: usize) -> Vec<T> {
    let taps = weights.len() / outputs;
    let mut packed = std::vec![T::default(); weights.len()];
    for first in (0..outputs).step_by(block) {
        let size = block.min(outputs - first);
        for tap in 0..taps {
            for lane in 0..size {
                packed[first * taps + tap * size + lane] = weights[(first + lane) * taps + tap];
            }
        }
    }
    packed
}

impl Engine for FloatEngine<'_> {
    type Act = f32;
    type Acc = f32;
    type Logit = f32;

    fn input_row(&self, raw: &[u16], columns: &[usize], out: &mut [f32]) {
        for (value, column) in out.iter_mut().zip(columns) {
            *value = self.affine.apply(raw[*column]);
        }
    }

    fn conv_row(&self, plan: &Plan, stage: usize, rows: &[&[f32]], out: &mut [f32]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: an `Avx2Fma` engine is only built after `Kernel::is_available`
                // confirmed AVX2 and FMA on this CPU.
                unsafe { super::float_avx2::conv_row(self, plan, stage, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: an `Avx512Vnni` engine is only built after `Kernel::is_available`
                // confirmed AVX-512 F, BW, VL and VNNI on this CPU.
                unsafe { super::float_avx512::conv_row(self, plan, stage, rows, out) }
            }
            _ => conv_row_portable(self, plan, stage, rows, out),
        }
    }

    fn pool_row(&self, plan: &Plan, stage: usize, rows: &[&[f32]], out: &mut [f32]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: as in `conv_row`, the CPU has AVX2 and FMA.
                unsafe { super::float_avx2::pool_row(plan, stage, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX-512 F.
                unsafe { super::float_avx512::pool_row(plan, stage, rows, out) }
            }
            _ => pool_row_portable(plan, stage, rows, out),
        }
    }

    fn hidden_row(&self, plan: &Plan, rows: &[&[f32]], out: &mut [[f32; 2]]) {
        match self.kernel {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => {
                // SAFETY: as in `conv_row`, the CPU has AVX2 and FMA.
                unsafe { super::float_avx2::hidden_row(self, plan, rows, out) }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512Vnni => {
                // SAFETY: as in `conv_row`, the CPU has AVX-512 F.
                unsafe { super::float_avx512::hidden_row(self, plan, rows, out) }
            }
            _ => hidden_row_portable(self, plan, rows, out),
        }
    }
}

/// One output of a (possibly dilated) convolution: the reference's fma chain from `bias` over
/// channel, filter row, filter column. `rows[ky]` is a `[C][pitch]` row slot.
#[inline]
fn convolve(bias: f32, filter: &[f32], rows: &[&[f32]], pitch: usize, x: usize, d: usize) -> f32 {
    let kernel = rows.len();
    let mut sum = bias;
    for (channel, channel_filter) in filter.chunks_exact(kernel * kernel).enumerate() {
        for (ky, taps) in channel_filter.chunks_exact(kernel).enumerate() {
            let line = &rows[ky][channel * pitch + x..];
            for (kx, weight) in taps.iter().enumerate() {
                sum = fma(*weight, line[kx * d], sum);
            }
        }
    }
    sum
}

fn conv_row_portable(
    engine: &FloatEngine<'_>,
    plan: &Plan,
    stage: usize,
    rows: &[&[f32]],
    out: &mut [f32],
) {
    let (pitch, d) = (plan.t_pitch[stage], plan.dilations[stage]);
    let out_pitch = plan.out_pitch[stage];
    let filter_len = engine.conv[stage].len() / MAPS;
    for (map, line) in out.chunks_exact_mut(out_pitch).enumerate() {
        let filter = &engine.conv[stage][map * filter_len..][..filter_len];
        let bias = engine.conv_bias[stage][map];
        for (x, value) in line[..plan.out_width[stage]].iter_mut().enumerate() {
            *value = convolve(bias, filter, rows, pitch, x, d);
        }
    }
}

pub(super) fn pool_row_portable(plan: &Plan, stage: usize, rows: &[&[f32]], out: &mut [f32]) {
    let (in_pitch, out_pitch) = (plan.out_pitch[stage], plan.t_pitch[stage + 1]);
    let (pool, d) = (plan.pools[stage], plan.dilations[stage]);
    for map in 0..MAPS {
        for x in 0..plan.t_width[stage + 1] {
            let at = map * in_pitch + x;
            let mut best = rows[0][at];
            for (dy, row) in rows.iter().enumerate() {
                for dx in 0..pool {
                    if dy != 0 || dx != 0 {
                        best = pool_max(best, row[at + dx * d]);
                    }
                }
            }
            out[map * out_pitch + x] = tanh(best);
        }
    }
}

fn hidden_row_portable(
    engine: &FloatEngine<'_>,
    plan: &Plan,
    rows: &[&[f32]],
    out: &mut [[f32; 2]],
) {
    let (pitch, d) = (plan.t_pitch[STAGES], plan.dilations[STAGES]);
    let inputs = engine.hidden.len() / HIDDEN;
    let mut hidden = [0.0f32; HIDDEN];
    for (x, logits) in out.iter_mut().enumerate() {
        for (unit, activation) in hidden.iter_mut().enumerate() {
            let filter = &engine.hidden[unit * inputs..][..inputs];
            let sum = convolve(engine.hidden_bias[unit], filter, rows, pitch, x, d);
            *activation = tanh(sum);
        }
        *logits = output_logits(engine, &hidden);
    }
}

/// The output layer for one pixel, as the reference computes it.
fn output_logits(engine: &FloatEngine<'_>, hidden: &[f32; HIDDEN]) -> [f32; CLASSES] {
    core::array::from_fn(|class| {
        let row = &engine.output[class * HIDDEN..][..HIDDEN];
        let mut sum = engine.output_bias[class];
        for (weight, input) in row.iter().zip(hidden) {
            sum = fma(*weight, *input, sum);
        }
        sum
    })
}
