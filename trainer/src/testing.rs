//! Test helpers shared by the unit tests: a tiny seeded generator, central finite differences
//! in f64, and a closeness check that names the first element out of tolerance.

/// A 64-bit linear congruential generator: reproducible test data without dependencies.
pub struct Lcg(u64);

impl Lcg {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }

    /// Uniform in [-1, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// `len` values uniform in [-1, 1).
    pub fn vector(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// Central differences `(f(x + h e_i) - f(x - h e_i)) / 2h` for every `i`, `h = 1e-6`.
pub fn numeric_gradient(x: &[f64], mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let step = 1e-6;
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            probe[i] = x[i] + step;
            let up = f(&probe);
            probe[i] = x[i] - step;
            let down = f(&probe);
            probe[i] = x[i];
            (up - down) / (2.0 * step)
        })
        .collect()
}

/// Panics, naming the first differing element and both values, unless
/// `|got - want| <= tolerance * max(1, |want|)` everywhere.
pub fn check_close(got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (index, (g, w)) in got.iter().zip(want).enumerate() {
        let bound = tolerance * w.abs().max(1.0);
        assert!(
            (g - w).abs() <= bound,
            "element {index}: got {g:e}, want {w:e} (tolerance {bound:e})"
        );
    }
}
