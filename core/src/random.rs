//! Seeded, machine-independent random numbers, weights and images for tests, benchmarks and
//! weight initialisation. Not for anything that needs unpredictability.

use crate::architecture::{Architecture, MAPS, STAGES};
use crate::weights::F32Weights;

/// SplitMix64: 64 bits of state, the same sequence on every machine for a given seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub const fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), on a grid of 2^-24.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [-1, 1), on a grid of 2^-23.
    pub fn signed_unit(&mut self) -> f32 {
        self.unit() * 2.0 - 1.0
    }

    /// Uniform in `0..bound` (`bound > 0`; slightly biased for huge bounds, fine for sampling).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

/// Fills `weights` uniformly in `+-sqrt(3 / fan_in)` per layer (unit-variance activations, as a
/// freshly initialised network has them), biases included.
pub fn fill_random_weights<A: Architecture, const N: usize>(
    weights: &mut F32Weights<A, N>,
    seed: u64,
) {
    let g = A::GEOMETRY;
    let layout = g.layout;
    let mut rng = SplitMix64::new(seed);
    let params = weights.params_mut();
    let mut fill = |block: &mut [f32], fan_in: usize| {
        let bound = libm::sqrtf(3.0 / fan_in as f32);
        block
            .iter_mut()
            .for_each(|p| *p = rng.signed_unit() * bound);
    };
    for stage in 0..STAGES {
        let fan_in = g.channels_in[stage] * g.kernels[stage] * g.kernels[stage];
        let block = layout.conv_weights[stage]..layout.conv_biases[stage] + MAPS;
        fill(&mut params[block], fan_in);
    }
    fill(
        &mut params[layout.hidden_weights..layout.output_weights],
        g.hidden_inputs(),
    );
    fill(
        &mut params[layout.output_weights..layout.params],
        crate::architecture::HIDDEN,
    );
}

/// [`fill_random_weights`] on freshly heap-allocated weights.
#[cfg(feature = "std")]
pub fn boxed_random_weights<A: Architecture, const N: usize>(
    seed: u64,
) -> std::boxed::Box<F32Weights<A, N>> {
    let mut weights = F32Weights::<A, N>::boxed();
    fill_random_weights(&mut weights, seed);
    weights
}

/// Fills `pixels` (`height x width`, row-major) with a smooth 12-bit image: four random cosine
/// waves around 2048 (amplitude 1600 in all) plus +-20 of noise.
pub fn fill_smooth_image(pixels: &mut [u16], width: usize, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    let mut waves = [[0.0f32; 3]; 4];
    for wave in waves.iter_mut() {
        *wave = [
            rng.signed_unit() * 0.2,
            rng.signed_unit() * 0.2,
            rng.signed_unit() * 3.0,
        ];
    }
    for (index, pixel) in pixels.iter_mut().enumerate() {
        let (y, x) = ((index / width.max(1)) as f32, (index % width.max(1)) as f32);
        let mut value = 2048.0 + 20.0 * rng.signed_unit();
        for wave in &waves {
            value += 400.0 * libm::cosf(wave[0] * x + wave[1] * y + wave[2]);
        }
        *pixel = value as u16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_fixed_by_the_seed() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        let first: [u64; 4] = core::array::from_fn(|_| a.next_u64());
        assert_eq!(first, core::array::from_fn(|_| b.next_u64()));
        // The published first output of SplitMix64 seeded with 0.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xe220_a839_7b1d_cdaf);
        let value = SplitMix64::new(7).signed_unit();
        assert!((-1.0..1.0).contains(&value));
    }
}
