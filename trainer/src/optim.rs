//! Stochastic gradient descent with momentum, and the learning-rate schedule.
//!
//! Update per batch, for every parameter: `v = momentum * v + g; p = p - rate * v`, with `g`
//! the gradient of the batch's mean cross-entropy. The rate changes once per epoch.

/// How the learning rate changes over epochs (`e` counts from 0, `E` epochs in all).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// `rate * factor^(e / every)`: multiplied by `factor` every `every` epochs.
    Step {
        /// Epochs between two changes (at least 1).
        every: u32,
        /// Multiplier at each change.
        factor: f32,
    },
    /// Half a cosine from `rate` at the first epoch down to `rate * floor` after the last:
    /// `rate * (floor + (1 - floor) * (1 + cos(pi e / E)) / 2)`.
    Cosine {
        /// Fraction of the base rate reached at the end.
        floor: f32,
    },
}

impl Schedule {
    /// The learning rate of epoch `epoch` (0-based) of `epochs`.
    pub fn rate(&self, base: f32, epoch: u32, epochs: u32) -> f32 {
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, factor } => base * factor.powi((epoch / every.max(1)) as i32),
            Schedule::Cosine { floor } => {
                let progress = epoch as f64 / epochs.max(1) as f64;
                let cosine = 0.5 * (1.0 + (core::f64::consts::PI * progress).cos());
                (base as f64 * (floor as f64 + (1.0 - floor as f64) * cosine)) as f32
            }
        }
    }
}

/// One SGD-with-momentum step over the flat parameter array.
pub fn sgd_step(
    params: &mut [f32],
    velocity: &mut [f32],
    gradient: &[f32],
    rate: f32,
    momentum: f32,
) {
    for ((param, speed), grad) in params.iter_mut().zip(velocity.iter_mut()).zip(gradient) {
        *speed = momentum * *speed + *grad;
        *param -= rate * *speed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(Schedule::Constant.rate(0.1, 7, 10), 0.1);
        let step = Schedule::Step {
            every: 2,
            factor: 0.5,
        };
        assert_eq!(step.rate(1.0, 0, 10), 1.0);
        assert_eq!(step.rate(1.0, 3, 10), 0.5);
        assert_eq!(step.rate(1.0, 4, 10), 0.25);
        let cosine = Schedule::Cosine { floor: 0.1 };
        assert_eq!(cosine.rate(1.0, 0, 10), 1.0);
        assert!((cosine.rate(1.0, 5, 10) - 0.55).abs() < 1e-6);
    }

    #[test]
    fn momentum_accumulates() {
        let (mut params, mut velocity) = (vec![1.0f32], vec![0.0f32]);
        sgd_step(&mut params, &mut velocity, &[1.0], 0.1, 0.9);
        sgd_step(&mut params, &mut velocity, &[1.0], 0.1, 0.9);
        assert!((velocity[0] - 1.9).abs() < 1e-6);
        assert!((params[0] - (1.0 - 0.1 - 0.19)).abs() < 1e-6);
    }
}
