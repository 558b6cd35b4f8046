//! What the network answers for one pixel: two logits, the label and the bone probability.

use crate::architecture::CLASSES;
use crate::tanh::logistic;

/// The label of one pixel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Label {
    /// Not bone (class 0).
    Other = 0,
    /// Bone (class 1).
    Bone = 1,
}

impl Label {
    /// The label of a logit pair: bone when the bone logit is strictly greater (ties are
    /// "other").
    #[inline]
    pub fn from_logits<T: PartialOrd>(logits: &[T; CLASSES]) -> Label {
        if logits[1] > logits[0] {
            Label::Bone
        } else {
            Label::Other
        }
    }
}

/// The network's answer for one window. `T` is `f32` for the float path and `i32` (fixed
/// point, see [`crate::int8`]) for the integer path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction<T> {
    /// Logits of {other, bone}.
    pub logits: [T; CLASSES],
    /// Bone when `logits[1] > logits[0]`.
    pub label: Label,
}

impl<T: PartialOrd + Copy> Prediction<T> {
    /// Wraps a logit pair with its label.
    pub fn from_logits(logits: [T; CLASSES]) -> Self {
        Prediction {
            logits,
            label: Label::from_logits(&logits),
        }
    }
}

impl Prediction<f32> {
    /// Softmax probability of bone, `logistic(bone - other)`, bit-exact like the logits.
    pub fn bone_probability(&self) -> f32 {
        logistic(self.logits[1] - self.logits[0])
    }
}
