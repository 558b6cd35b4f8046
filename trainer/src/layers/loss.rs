//! Softmax cross-entropy over the 2 logits of each labelled position, with its gradient.
//!
//! Shapes: logits `[positions][2]` ({other, bone}), labels `[positions]` (0 other, 1 bone,
//! [`UNLABELLED`] ignored). A position counts as correct when the label that
//! `bonemask_core::Label::from_logits` would give (bone only if its logit is strictly greater)
//! equals its label.

use crate::real::Real;

/// Label value of a position that takes no part in the loss.
pub const UNLABELLED: u8 = u8::MAX;

/// Loss and accuracy counts of one evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossSum {
    /// Sum over labelled positions of `-ln softmax(logits)[label]` (nats).
    pub loss: f64,
    /// Labelled positions whose predicted label is right.
    pub correct: u64,
    /// Labelled positions.
    pub labelled: u64,
}

impl LossSum {
    /// Adds another sum into this one.
    pub fn add(&mut self, other: &LossSum) {
        self.loss += other.loss;
        self.correct += other.correct;
        self.labelled += other.labelled;
    }
}

/// Evaluates the loss and writes `d_logits = scale * (softmax(logits) - onehot(label))`
/// (zero for unlabelled positions). `scale` is usually `1 / labelled positions in the batch`.
pub fn softmax_cross_entropy<T: Real>(
    logits: &[T],
    labels: &[u8],
    scale: T,
    d_logits: &mut [T],
) -> LossSum {
    let mut sum = LossSum::default();
    for ((pair, label), grad) in logits
        .chunks_exact(2)
        .zip(labels)
        .zip(d_logits.chunks_exact_mut(2))
    {
        if *label == UNLABELLED {
            grad.fill(T::ZERO);
            continue;
        }
        let bone = usize::from(*label != 0);
        let top = if pair[1] > pair[0] { pair[1] } else { pair[0] };
        let e0 = (pair[0] - top).exp();
        let e1 = (pair[1] - top).exp();
        let total = e0 + e1;
        let probabilities = [e0 / total, e1 / total];
        sum.loss += (top + total.ln() - pair[bone]).to_f64();
        sum.labelled += 1;
        let predicted = usize::from(pair[1] > pair[0]);
        sum.correct += u64::from(predicted == bone);
        for (class, g) in grad.iter_mut().enumerate() {
            let target = if class == bone { T::ONE } else { T::ZERO };
            *g = scale * (probabilities[class] - target);
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Lcg, check_close, numeric_gradient};

    #[test]
    fn gradient_matches_finite_differences_and_skips_unlabelled() {
        let mut rng = Lcg::new(9);
        let logits: Vec<f64> = rng.vector(10).iter().map(|v| 4.0 * v).collect();
        let labels = [0, 1, UNLABELLED, 1, 0];
        let mut grad = vec![0.0; 10];
        let sum = softmax_cross_entropy(&logits, &labels, 1.0, &mut grad);
        assert_eq!(sum.labelled, 4);
        let numeric = numeric_gradient(&logits, |z| {
            let mut scratch = vec![0.0; 10];
            softmax_cross_entropy(z, &labels, 1.0, &mut scratch).loss
        });
        check_close(&grad, &numeric, 1e-8);
        assert_eq!(&grad[4..6], &[0.0, 0.0]);
    }

    #[test]
    fn ties_count_as_other() {
        let mut grad = [0.0f32; 4];
        let sum = softmax_cross_entropy(&[1.0f32, 1.0, 0.0, 2.0], &[0, 1], 1.0, &mut grad);
        assert_eq!(sum.correct, 2);
        assert!((sum.loss - (2.0f64.ln() + (1.0 + (-2.0f64).exp()).ln())).abs() < 1e-6);
    }
}
