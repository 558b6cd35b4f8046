//! How raw detector values become the network's input: part of the model, stored in its
//! weights file.
//!
//! Detectors give 10-16 bit values; the network was trained on `(raw - offset) * scale`, with
//! bone bright (MONOCHROME2 convention). A model may fix `offset` and `scale` (embedded use,
//! streaming) or ask for them per image from two percentiles of the image's histogram (offline
//! use, where the whole image is known first); [`InputScaling::resolve`] turns either into the
//! [`InputAffine`] that the forward passes apply.

use serde::{Deserialize, Serialize};

/// The affine map applied to every raw pixel: `input = (raw as f32 - offset) * scale`, two
/// correctly rounded f32 operations in that order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputAffine {
    /// Raw value that maps to input 0 (detector units).
    pub offset: f32,
    /// Input units per raw unit.
    pub scale: f32,
}

impl InputAffine {
    /// The network input for one raw detector value.
    #[inline]
    pub fn apply(&self, raw: u16) -> f32 {
        (raw as f32 - self.offset) * self.scale
    }

    /// The affine map that sends raw `low` to -1 and raw `high` to +1 (`high > low`).
    pub fn from_range(low: f32, high: f32) -> InputAffine {
        let span = if high > low { high - low } else { 1.0 };
        InputAffine {
            offset: 0.5 * (low + high),
            scale: 2.0 / span,
        }
    }
}

/// How a model wants raw values scaled, as stored in its weights file.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum InputScaling {
    /// The same affine map for every image.
    Fixed(InputAffine),
    /// Per image: the `low` and `high` percentiles (0..=100) of its raw values map to -1 and +1.
    Percentiles {
        /// Percentile that maps to -1.
        low: f32,
        /// Percentile that maps to +1.
        high: f32,
    },
}

impl InputScaling {
    /// The affine map for one image. `percentile` answers a percentile (0..=100) of the image's
    /// raw values; it is only called for [`InputScaling::Percentiles`].
    pub fn resolve(&self, mut percentile: impl FnMut(f32) -> f32) -> InputAffine {
        match *self {
            InputScaling::Fixed(affine) => affine,
            InputScaling::Percentiles { low, high } => {
                InputAffine::from_range(percentile(low), percentile(high))
            }
        }
    }
}

/// Raw-value histogram for percentiles: one counter per 16-bit value (256 KiB; put it in a
/// `static` or on the heap, not on a small stack).
pub type Histogram = [u32; 65536];

/// The `percent` (0..=100) percentile of `pixels`: the smallest raw value `v` such that at least
/// `percent`% of the pixels are `<= v`. `histogram` is overwritten. 0 for an empty slice.
pub fn percentile(pixels: &[u16], percent: f32, histogram: &mut Histogram) -> u16 {
    histogram.fill(0);
    for raw in pixels {
        histogram[*raw as usize] += 1;
    }
    let wanted = libm::ceil(percent.clamp(0.0, 100.0) as f64 / 100.0 * pixels.len() as f64) as u64;
    let wanted = wanted.max(1);
    let mut seen = 0u64;
    for (value, count) in histogram.iter().enumerate() {
        seen += *count as u64;
        if seen >= wanted {
            return value as u16;
        }
    }
    0
}

/// Resolves `scaling` for one image, computing percentiles with [`percentile`] when needed.
pub fn resolve_for_image(
    scaling: &InputScaling,
    pixels: &[u16],
    histogram: &mut Histogram,
) -> InputAffine {
    scaling.resolve(|percent| percentile(pixels, percent, histogram) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_ramp() {
        extern crate std;
        let pixels: std::vec::Vec<u16> = (1..=100).collect();
        let mut histogram = std::vec![0u32; 65536];
        let histogram: &mut Histogram = histogram.as_mut_slice().try_into().unwrap();
        assert_eq!(percentile(&pixels, 0.0, histogram), 1);
        assert_eq!(percentile(&pixels, 50.0, histogram), 50);
        assert_eq!(percentile(&pixels, 99.5, histogram), 100);
        assert_eq!(percentile(&pixels, 100.0, histogram), 100);
        assert_eq!(percentile(&[], 50.0, histogram), 0);
    }

    #[test]
    fn range_maps_to_unit_interval() {
        let affine = InputAffine::from_range(1000.0, 3000.0);
        assert_eq!(affine.apply(1000), -1.0);
        assert_eq!(affine.apply(3000), 1.0);
        assert_eq!(affine.apply(2000), 0.0);
    }

    #[test]
    fn percentiles_are_resolved_per_image() {
        let scaling = InputScaling::Percentiles {
            low: 1.0,
            high: 99.0,
        };
        let affine = scaling.resolve(|p| if p < 50.0 { 10.0 } else { 20.0 });
        assert_eq!(affine.apply(10), -1.0);
        assert_eq!(affine.apply(20), 1.0);
    }
}
