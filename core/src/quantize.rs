//! Turning float weights into the int8 form of [`crate::int8`]: symmetric per-output-channel
//! weight scales, biases at the accumulator's scale, and each channel's requantisation
//! multiplier. Runs once on the host; it uses f64 arithmetic and is not part of inference.

use crate::architecture::{Architecture, CLASSES, HIDDEN, MAPS, STAGES};
use crate::int8::TANH_STEPS_PER_UNIT;
use crate::int8::{BIAS_LIMIT, INT8_LIMIT, Int8Weights, LOGIT_FRACTION_BITS, Requant};
use crate::weights::F32Weights;

/// Quantises `float` into `int8` (every field overwritten).
///
/// A channel whose weights are all zero gets scale 1/127 so that its bias still counts.
pub fn quantize<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
    float: &F32Weights<A, N>,
    int8: &mut Int8Weights<A, NW, NB>,
) {
    let g = A::GEOMETRY;
    let activation_scale = 1.0 / INT8_LIMIT as f64;
    let to_table = TANH_STEPS_PER_UNIT as f64;
    let to_logits = (1u32 << LOGIT_FRACTION_BITS) as f64;

    for stage in 0..STAGES {
        let filter_len = g.channels_in[stage] * g.kernels[stage] * g.kernels[stage];
        let weights = float.conv_weights(stage);
        let biases = float.conv_biases(stage);
        for map in 0..MAPS {
            let channel = Int8Weights::<A, NW, NB>::conv_channel(stage, map);
            let source = &weights[map * filter_len..(map + 1) * filter_len];
            let start = g.layout.packed_conv_weights[stage] + map * filter_len;
            let target = &mut int8.weights[start..start + filter_len];
            let ratio = ChannelRatio {
                activation_scale,
                output_steps: to_table,
            };
            let (bias, requant) = quantize_channel(source, biases[map], target, ratio);
            int8.biases[channel] = bias;
            int8.requant[channel] = requant;
        }
    }

    let inputs = g.hidden_inputs();
    for unit in 0..HIDDEN {
        let channel = Int8Weights::<A, NW, NB>::hidden_channel(unit);
        let source = &float.hidden_weights()[unit * inputs..(unit + 1) * inputs];
        let start = g.layout.packed_hidden_weights + unit * inputs;
        let target = &mut int8.weights[start..start + inputs];
        let ratio = ChannelRatio {
            activation_scale,
            output_steps: to_table,
        };
        let (bias, requant) = quantize_channel(source, float.hidden_biases()[unit], target, ratio);
        int8.biases[channel] = bias;
        int8.requant[channel] = requant;
    }

    for class in 0..CLASSES {
        let channel = Int8Weights::<A, NW, NB>::output_channel(class);
        let source = &float.output_weights()[class * HIDDEN..(class + 1) * HIDDEN];
        let start = g.layout.packed_output_weights + class * HIDDEN;
        let target = &mut int8.weights[start..start + HIDDEN];
        let ratio = ChannelRatio {
            activation_scale,
            output_steps: to_logits,
        };
        let (bias, requant) = quantize_channel(source, float.output_biases()[class], target, ratio);
        int8.biases[channel] = bias;
        int8.requant[channel] = requant;
    }
}

/// Scales around one channel: its inputs' scale and the output's steps per real unit.
#[derive(Clone, Copy)]
struct ChannelRatio {
    activation_scale: f64,
    output_steps: f64,
}

/// Quantises one output channel's weights into `target`; returns its bias and multiplier.
fn quantize_channel(
    source: &[f32],
    bias: f32,
    target: &mut [i8],
    ratio: ChannelRatio,
) -> (i32, Requant) {
    let largest = source
        .iter()
        .fold(0.0f64, |m, w| m.max(libm::fabs(*w as f64)));
    let weight_scale = if largest > 0.0 {
        largest / INT8_LIMIT as f64
    } else {
        1.0 / 127.0
    };

    for (quantised, weight) in target.iter_mut().zip(source) {
        let steps = libm::round(*weight as f64 / weight_scale);
        *quantised = steps.clamp(-INT8_LIMIT as f64, INT8_LIMIT as f64) as i8;
    }

    let accumulator_scale = weight_scale * ratio.activation_scale;
    let bias_steps = libm::round(bias as f64 / accumulator_scale);
    let bias = bias_steps.clamp(-BIAS_LIMIT as f64, BIAS_LIMIT as f64) as i32;
    (
        bias,
        Requant::from_real(accumulator_scale * ratio.output_steps),
    )
}
