//! The integer path: int8 weights and activations, int32 accumulators, requantisation by an
//! integer multiplier and shift, `tanh` by table. For hardware without a fast FPU; its own
//! bit-exact reference is [`forward_window_int8`].
//!
//! Number formats (all fixed by this module, identical on every machine):
//! - activations (the scaled input and every `tanh` output) are int8 in [-127, 127] with scale
//!   1/127: `q = round(127 * value)`;
//! - weights are int8 in [-127, 127], one scale per output channel `s_c = max|w_c| / 127`;
//! - a bias is int32 at scale `s_c / 127`, clamped to +-2^28 (see [`BIAS_LIMIT`]);
//! - a hidden activation is `TANH_TABLE[clamp(requantise(max_pool(acc)), -1024, 1023) + 1024]`:
//!   the requantised accumulator counts steps of 1/256 on the `tanh` input axis;
//! - logits are int32 fixed point with [`LOGIT_FRACTION_BITS`] fraction bits.
//!
//! Requantisation ([`Requant::apply`]) is `(acc * multiplier + 2^(shift-1)) >> shift` in 64-bit
//! arithmetic with an arithmetic (flooring) shift: round half up, monotone in `acc`, so max
//! pooling may run on the accumulators before it. No float arithmetic runs at inference;
//! quantising the float model ([`crate::quantize`]) is done once on the host.
//!
//! Memory: `Int8Weights<A, NW, NB>` holds `NW` bytes of weights and `12 * NB` bytes of biases
//! and multipliers: 126,956 + 2,520 = 129,476 bytes for configuration 4, whose 210 channels
//! are 3 x 36 maps, 100 hidden units and 2 logits.

use serde::{Deserialize, Serialize};

use crate::architecture::{Architecture, CLASSES, Config1, Config2, Config3, Config4};
use crate::architecture::{HIDDEN, MAPS, STAGES};
use crate::prediction::Prediction;
use crate::tanh::logistic;

/// Largest magnitude of an int8 activation or weight.
pub const INT8_LIMIT: i32 = 127;

/// Largest magnitude of a quantised bias; larger ones are clamped when quantising.
pub const BIAS_LIMIT: i32 = 1 << 28;

/// Steps of the `tanh` table per unit of its real input.
pub const TANH_STEPS_PER_UNIT: i32 = 256;

/// The table covers real inputs [-4, 4): `round(127 * tanh(x))` is already 127 from x = 3.12.
pub const TANH_TABLE_HALF: i32 = 4 * TANH_STEPS_PER_UNIT;

/// Fraction bits of the int32 fixed-point logits.
pub const LOGIT_FRACTION_BITS: u32 = 12;

/// `TANH_TABLE[i] = round(127 * tanh((i - 1024) / 256))`, computed at compile time in f64.
pub static TANH_TABLE: [i8; 2 * TANH_TABLE_HALF as usize] = tanh_table();

/// A real multiplier `multiplier * 2^-shift`, `multiplier` in [2^30, 2^31) (or 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    /// Q31 mantissa.
    pub multiplier: i32,
    /// Right shift, 1..=62.
    pub shift: u8,
}

impl Requant {
    /// Rescales an accumulator: `round_half_up(acc * multiplier / 2^shift)`, saturated to i32.
    #[inline]
    pub fn apply(self, acc: i32) -> i32 {
        let shift = self.shift.clamp(1, 62) as u32;
        let product = acc as i64 * self.multiplier as i64;
        let rounded = (product + (1i64 << (shift - 1))) >> shift;
        rounded.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }

    /// The closest representable multiplier to `real` (host side, when quantising). `real`
    /// must be finite and non-negative; values of 2^30 or more saturate.
    pub fn from_real(real: f64) -> Requant {
        if real.is_nan() || real <= 0.0 || !real.is_finite() {
            return Requant {
                multiplier: 0,
                shift: 62,
            };
        }
        let mut exponent = 0i32;
        let mut fraction = real;
        while fraction >= 1.0 {
            fraction *= 0.5;
            exponent += 1;
        }
        while fraction < 0.5 {
            fraction *= 2.0;
            exponent -= 1;
        }
        let mut mantissa = libm::round(fraction * (1u64 << 31) as f64) as i64;
        if mantissa == 1i64 << 31 {
            mantissa >>= 1;
            exponent += 1;
        }
        let shift = 31 - exponent;
        if shift > 62 {
            return Requant {
                multiplier: 0,
                shift: 62,
            };
        }
        if shift < 1 {
            return Requant {
                multiplier: i32::MAX,
                shift: 1,
            };
        }
        Requant {
            multiplier: mantissa as i32,
            shift: shift as u8,
        }
    }
}

/// The int8 form of configuration `A`: `NW = A::WEIGHTS` weights, `NB = A::BIASES` channels.
///
/// Channel order: stage 0's 36 maps, stage 1's, stage 2's, the 100 hidden units, the 2 logits.
/// Weight order: [`crate::architecture::Layout`]'s `packed_*` offsets.
#[derive(Clone, PartialEq)]
pub struct Int8Weights<A: Architecture, const NW: usize, const NB: usize> {
    /// Quantised weights.
    pub weights: [i8; NW],
    /// Quantised biases, one per channel.
    pub biases: [i32; NB],
    /// Accumulator-to-output multiplier, one per channel.
    pub requant: [Requant; NB],
    architecture: core::marker::PhantomData<A>,
}

/// Int8 weights of configuration 1.
pub type Int8Weights1 = Int8Weights<Config1, { Config1::WEIGHTS }, { Config1::BIASES }>;
/// Int8 weights of configuration 2.
pub type Int8Weights2 = Int8Weights<Config2, { Config2::WEIGHTS }, { Config2::BIASES }>;
/// Int8 weights of configuration 3.
pub type Int8Weights3 = Int8Weights<Config3, { Config3::WEIGHTS }, { Config3::BIASES }>;
/// Int8 weights of configuration 4.
pub type Int8Weights4 = Int8Weights<Config4, { Config4::WEIGHTS }, { Config4::BIASES }>;

impl<A: Architecture, const NW: usize, const NB: usize> Int8Weights<A, NW, NB> {
    const SIZES_MATCH: () = assert!(NW == A::WEIGHTS && NB == A::BIASES);
    const NO_OVERFLOW: () = assert!(max_accumulator::<A>() <= i32::MAX as i64);

    /// All zero; a `const fn` for `static` placement.
    pub const fn zeroed() -> Self {
        let () = Self::SIZES_MATCH;
        let () = Self::NO_OVERFLOW;
        Int8Weights {
            weights: [0; NW],
            biases: [0; NB],
            requant: [Requant {
                multiplier: 0,
                shift: 62,
            }; NB],
            architecture: core::marker::PhantomData,
        }
    }

    /// Channel index of map `map` of convolution stage `stage`.
    pub const fn conv_channel(stage: usize, map: usize) -> usize {
        stage * MAPS + map
    }

    /// Channel index of hidden unit `unit`.
    pub const fn hidden_channel(unit: usize) -> usize {
        STAGES * MAPS + unit
    }

    /// Channel index of logit `class`.
    pub const fn output_channel(class: usize) -> usize {
        STAGES * MAPS + HIDDEN + class
    }
}

/// The largest magnitude an int32 accumulator of configuration `A` can reach: the bias limit
/// plus the longest dot product of 127 * 127 terms. 2^28 + 1296 * 16129 = 289,338,640 for
/// configurations 1, 2 and 4 (36 x 36 x 6 x 6 taps), well inside i32 (2,147,483,647).
pub const fn max_accumulator<A: Architecture>() -> i64 {
    let g = A::GEOMETRY;
    let mut longest = g.hidden_inputs();
    if HIDDEN > longest {
        longest = HIDDEN;
    }
    let mut stage = 0;
    while stage < STAGES {
        let taps = g.channels_in[stage] * g.kernels[stage] * g.kernels[stage];
        if taps > longest {
            longest = taps;
        }
        stage += 1;
    }
    BIAS_LIMIT as i64 + longest as i64 * (INT8_LIMIT * INT8_LIMIT) as i64
}

const _: () = assert!(max_accumulator::<Config1>() <= i32::MAX as i64);
const _: () = assert!(max_accumulator::<Config2>() <= i32::MAX as i64);
const _: () = assert!(max_accumulator::<Config3>() <= i32::MAX as i64);
const _: () = assert!(max_accumulator::<Config4>() <= i32::MAX as i64);

/// The integer conversion of raw detector values to int8 network inputs:
/// `clamp((raw * multiplier + offset) >> shift, -127, 127)` in 64-bit arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputQuant {
    /// Scale in units of 2^-shift.
    pub multiplier: i64,
    /// Offset in units of 2^-shift, rounding included.
    pub offset: i64,
    /// Right shift.
    pub shift: u32,
}

impl InputQuant {
    /// Fraction bits of the conversion.
    pub const SHIFT: u32 = 32;

    /// The integer form of `round(127 * (raw - affine.offset) * affine.scale)` (host side, once
    /// per image or per model).
    pub fn from_affine(affine: &crate::scaling::InputAffine) -> InputQuant {
        let unit = (1u64 << Self::SHIFT) as f64;
        let scale = INT8_LIMIT as f64 * affine.scale as f64;
        let multiplier = libm::round(scale * unit);
        let offset = libm::round(-(affine.offset as f64) * scale * unit) + unit / 2.0;
        let limit = (1i64 << 46) as f64;
        InputQuant {
            multiplier: multiplier.clamp(-limit, limit) as i64,
            offset: offset.clamp(-limit * 65536.0, limit * 65536.0) as i64,
            shift: Self::SHIFT,
        }
    }

    /// The int8 network input for one raw value.
    #[inline]
    pub fn apply(&self, raw: u16) -> i8 {
        let scaled = (raw as i64 * self.multiplier + self.offset) >> self.shift;
        scaled.clamp(-INT8_LIMIT as i64, INT8_LIMIT as i64) as i8
    }
}

/// Activation of a requantised accumulator: the table entry at `index` (clamped to the table).
#[inline]
pub fn tanh_from_table(index: i32) -> i8 {
    let clamped = index.clamp(-TANH_TABLE_HALF, TANH_TABLE_HALF - 1);
    TANH_TABLE[(clamped + TANH_TABLE_HALF) as usize]
}

impl Prediction<i32> {
    /// Probability of bone from the fixed-point logits (a float convenience for display; the
    /// label needs no float).
    pub fn bone_probability(&self) -> f32 {
        let difference = self.logits[1] as i64 - self.logits[0] as i64;
        let real = difference as f32 / (1u32 << LOGIT_FRACTION_BITS) as f32;
        logistic(real)
    }
}

/// Bytes of scratch [`forward_window_int8`] needs: the int8 maps of stage 0, then those of
/// stage 1 or the hidden units (164,232 bytes for configuration 4).
pub const fn scratch_len_int8<A: Architecture>() -> usize {
    crate::reference::scratch_len::<A>()
}

/// Evaluates the int8 network on one window of int8 inputs (`W * W`, row-major). The int8
/// counterpart of [`crate::reference::forward_window`], with the same loop orders.
pub fn forward_window_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    window: &[i8],
    scratch: &mut [i8],
) -> Result<Prediction<i32>, crate::reference::ForwardError> {
    use crate::reference::ForwardError;
    let g = A::GEOMETRY;
    if window.len() != g.window * g.window {
        return Err(ForwardError::WindowSize {
            expected: g.window * g.window,
            found: window.len(),
        });
    }
    let needed = scratch_len_int8::<A>();
    if scratch.len() < needed {
        return Err(ForwardError::ScratchTooSmall {
            needed,
            found: scratch.len(),
        });
    }

    let first_len = MAPS * g.pooled[0] * g.pooled[0];
    let (buffer_a, buffer_b) = scratch.split_at_mut(first_len);
    conv_pool_tanh_int8(weights, 0, window, buffer_a);
    conv_pool_tanh_int8(weights, 1, buffer_a, buffer_b);
    let last_len = MAPS * g.pooled[2] * g.pooled[2];
    conv_pool_tanh_int8(weights, 2, buffer_b, &mut buffer_a[..last_len]);

    let hidden = &mut buffer_b[..HIDDEN];
    hidden_int8(weights, &buffer_a[..last_len], hidden);
    Ok(Prediction::from_logits(output_int8(weights, hidden)))
}

fn conv_pool_tanh_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    stage: usize,
    input: &[i8],
    output: &mut [i8],
) {
    let g = A::GEOMETRY;
    let (side_in, kernel, pool) = (g.inputs[stage], g.kernels[stage], g.pools[stage]);
    let (channels_in, side_out) = (g.channels_in[stage], g.pooled[stage]);
    let filter_len = channels_in * kernel * kernel;
    let start = g.layout.packed_conv_weights[stage];

    for map in 0..MAPS {
        let filter = &weights.weights[start + map * filter_len..start + (map + 1) * filter_len];
        let channel = Int8Weights::<A, NW, NB>::conv_channel(stage, map);
        for pooled_row in 0..side_out {
            for pooled_column in 0..side_out {
                let mut best = i32::MIN;
                for dy in 0..pool {
                    for dx in 0..pool {
                        let (row, column) = (pooled_row * pool + dy, pooled_column * pool + dx);
                        let mut sum = weights.biases[channel];
                        for c in 0..channels_in {
                            for ky in 0..kernel {
                                let at = (c * side_in + row + ky) * side_in + column;
                                let taps = &filter[(c * kernel + ky) * kernel..][..kernel];
                                for (kx, weight) in taps.iter().enumerate() {
                                    sum += *weight as i32 * input[at + kx] as i32;
                                }
                            }
                        }
                        best = best.max(sum);
                    }
                }
                let index = weights.requant[channel].apply(best);
                output[(map * side_out + pooled_row) * side_out + pooled_column] =
                    tanh_from_table(index);
            }
        }
    }
}

fn hidden_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    maps: &[i8],
    hidden: &mut [i8],
) {
    let start = A::GEOMETRY.layout.packed_hidden_weights;
    for (unit, activation) in hidden.iter_mut().enumerate() {
        let row = &weights.weights[start + unit * maps.len()..][..maps.len()];
        let channel = Int8Weights::<A, NW, NB>::hidden_channel(unit);
        let mut sum = weights.biases[channel];
        for (weight, input) in row.iter().zip(maps) {
            sum += *weight as i32 * *input as i32;
        }
        *activation = tanh_from_table(weights.requant[channel].apply(sum));
    }
}

fn output_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    hidden: &[i8],
) -> [i32; CLASSES] {
    let start = A::GEOMETRY.layout.packed_output_weights;
    core::array::from_fn(|class| {
        let row = &weights.weights[start + class * HIDDEN..][..HIDDEN];
        let channel = Int8Weights::<A, NW, NB>::output_channel(class);
        let mut sum = weights.biases[channel];
        for (weight, input) in row.iter().zip(hidden) {
            sum += *weight as i32 * *input as i32;
        }
        weights.requant[channel].apply(sum)
    })
}

const fn tanh_table() -> [i8; 2 * TANH_TABLE_HALF as usize] {
    let mut table = [0i8; 2 * TANH_TABLE_HALF as usize];
    let mut index = 0;
    while index < table.len() {
        let x = (index as i32 - TANH_TABLE_HALF) as f64 / TANH_STEPS_PER_UNIT as f64;
        let value = INT8_LIMIT as f64 * const_tanh(x);
        // Round half away from zero.
        let rounded = if value >= 0.0 {
            (value + 0.5) as i32
        } else {
            -((-value + 0.5) as i32)
        };
        table[index] = rounded as i8;
        index += 1;
    }
    table
}

/// `tanh` in f64 for the table: `(e - 1) / (e + 1)` with `e = exp(2x)` from its Taylor series
/// after halving the argument until it is small and squaring back. Accurate to ~1e-15 on
/// [-4, 4], far below the table's rounding step.
const fn const_tanh(x: f64) -> f64 {
    let mut argument = 2.0 * x;
    let mut halvings = 0;
    while argument > 0.125 || argument < -0.125 {
        argument *= 0.5;
        halvings += 1;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 1;
    while n < 20 {
        term = term * argument / n as f64;
        sum += term;
        n += 1;
    }
    while halvings > 0 {
        sum *= sum;
        halvings -= 1;
    }
    (sum - 1.0) / (sum + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requant_rounds_half_up_and_is_monotone() {
        let half = Requant {
            multiplier: 1 << 30,
            shift: 31,
        };
        assert_eq!(half.apply(3), 2); // 1.5 -> 2
        assert_eq!(half.apply(-3), -1); // -1.5 -> -1
        assert_eq!(half.apply(4), 2);
        let mut previous = i32::MIN;
        for acc in -10_000..10_000 {
            let value = Requant::from_real(0.0137).apply(acc);
            assert!(value >= previous);
            previous = value;
        }
    }

    #[test]
    fn requant_from_real_is_close() {
        for real in [1e-6, 0.0137, 0.5, 0.99999, 1.0, 3.7, 1000.0] {
            let requant = Requant::from_real(real);
            let back = requant.multiplier as f64 / (1u64 << requant.shift) as f64;
            assert!((back - real).abs() <= real * 1e-9, "{real} -> {back}");
            assert!(requant.multiplier >= 1 << 30);
        }
        assert_eq!(Requant::from_real(0.0).apply(1_000_000), 0);
    }

    #[test]
    fn tanh_table_matches_f64_tanh() {
        for (index, entry) in TANH_TABLE.iter().enumerate() {
            let x = (index as i32 - TANH_TABLE_HALF) as f64 / TANH_STEPS_PER_UNIT as f64;
            let want = (127.0 * x.tanh()).round() as i8;
            assert_eq!(*entry, want, "table[{index}] for x = {x}");
        }
        assert_eq!(TANH_TABLE[0], -127);
        assert_eq!(TANH_TABLE[TANH_TABLE.len() - 1], 127);
        assert_eq!(tanh_from_table(0), 0);
        assert!(TANH_TABLE.windows(2).all(|pair| pair[0] <= pair[1]));
    }

    #[test]
    fn input_quant_matches_float_rounding() {
        let affine = crate::scaling::InputAffine::from_range(1000.0, 3000.0);
        let quant = InputQuant::from_affine(&affine);
        assert_eq!(quant.apply(1000), -127);
        assert_eq!(quant.apply(3000), 127);
        assert_eq!(quant.apply(2000), 0);
        assert_eq!(quant.apply(0), -127);
        assert_eq!(quant.apply(u16::MAX), 127);
        for raw in (1000..3000).step_by(7) {
            let want = (127.0 * affine.apply(raw) as f64).round() as i64;
            assert!((quant.apply(raw) as i64 - want).abs() <= 1, "raw {raw}");
        }
    }
}
