//! `tanh`, applied in place after pooling (and after the hidden layer), and its backward pass.

use crate::real::Real;

/// `values[i] = tanh(values[i])` (for `f32`, the vectorised approximation of
/// [`crate::fast_tanh`]).
pub fn tanh_forward<T: Real>(values: &mut [T]) {
    T::tanh_in_place(values);
}

/// `grad[i] *= 1 - output[i]^2`, where `output` is the `tanh` output the forward pass kept.
pub fn tanh_backward<T: Real>(output: &[T], grad: &mut [T]) {
    for (gradient, value) in grad.iter_mut().zip(output) {
        *gradient *= T::ONE - *value * *value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Lcg, check_close, numeric_gradient};

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = Lcg::new(5);
        let input: Vec<f64> = rng.vector(40).iter().map(|v| 3.0 * v).collect();
        let probe = rng.vector(40);
        let mut output = input.clone();
        tanh_forward(&mut output);
        let mut grad = probe.clone();
        tanh_backward(&output, &mut grad);
        let numeric = numeric_gradient(&input, |x| {
            x.iter().zip(&probe).map(|(v, p)| v.tanh() * p).sum()
        });
        check_close(&grad, &numeric, 1e-8);
    }
}
