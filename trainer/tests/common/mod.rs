//! Shared fixtures of the integration tests: tiny configuration tables, synthetic images with
//! exact masks, and a seeded generator.
#![allow(dead_code)]

use bonemask_core::architecture::Config;
use bonemask_trainer::TrainingImage;

/// 12x12 window; filters 3, 2, 3; pools 2, 1, 1 (maps 10 -> 5, 4 -> 4, 2 -> 2).
pub type Small = Config<12, 3, 2, 2, 1, 3, 1>;

/// 30x30 window; filters 3, 3, 3; pools 2, 2, 2 (dilations 1, 2, 4, 8 in dense form).
pub type Pools = Config<30, 3, 2, 3, 2, 3, 2>;

/// A 64-bit linear congruential generator.
pub struct Lcg(pub u64);

impl Lcg {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A `side x side` image of a bright disc (bone) on a darker background, with noise.
pub fn disc_image(side: usize, seed: u64) -> TrainingImage {
    let mut rng = Lcg(seed);
    let centre_y = side as f64 * (0.35 + 0.3 * rng.unit());
    let centre_x = side as f64 * (0.35 + 0.3 * rng.unit());
    let radius = side as f64 * (0.18 + 0.1 * rng.unit());
    let mut pixels = Vec::with_capacity(side * side);
    let mut mask = Vec::with_capacity(side * side);
    for row in 0..side {
        for column in 0..side {
            let (dy, dx) = (row as f64 - centre_y, column as f64 - centre_x);
            let bone = dy * dy + dx * dx < radius * radius;
            let level = if bone { 3000.0 } else { 1200.0 };
            pixels.push((level + 400.0 * rng.unit()) as u16);
            mask.push(u8::from(bone));
        }
    }
    TrainingImage {
        width: side,
        height: side,
        pixels,
        mask,
        interest_areas: None,
    }
}
