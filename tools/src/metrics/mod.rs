//! Segmentation metrics of the paper (section III) plus Dice and IoU, one module per metric.
//!
//! All metrics compare a ground-truth [`Mask`] with a predicted one of the same size. Binary
//! topology follows one convention throughout: bone (foreground) is 4-connected and other
//! (background) is 8-connected, the pairing under which "simple point" is well defined and
//! which the warping error uses.

pub mod components;
pub mod dice;
pub mod iou;
pub mod pixel;
pub mod rand_error;
pub mod warping;

use serde::Serialize;

use crate::mask::Mask;

/// The masks being compared do not have the same size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("size mismatch: truth is {truth_w}x{truth_h}, prediction is {pred_w}x{pred_h}")]
pub struct SizeMismatch {
    /// Ground-truth width in pixels.
    pub truth_w: usize,
    /// Ground-truth height in pixels.
    pub truth_h: usize,
    /// Prediction width in pixels.
    pub pred_w: usize,
    /// Prediction height in pixels.
    pub pred_h: usize,
}

/// Checks that two masks have the same `W x H`.
pub fn check_same_size(truth: &Mask, pred: &Mask) -> Result<(), SizeMismatch> {
    if truth.width == pred.width && truth.height == pred.height {
        Ok(())
    } else {
        Err(SizeMismatch {
            truth_w: truth.width,
            truth_h: truth.height,
            pred_w: pred.width,
            pred_h: pred.height,
        })
    }
}

/// All metrics of one (truth, prediction) pair. Errors are fractions in `[0, 1]`, lower is
/// better; Dice and IoU are in `[0, 1]`, higher is better.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Scores {
    /// Fraction of pixels whose labels differ.
    pub pixel_error: f64,
    /// `1 - Rand index` over connected segments.
    pub rand_error: f64,
    /// Fraction of pixels still differing after warping the truth by simple points.
    pub warping_error: f64,
    /// `2 |T ∩ P| / (|T| + |P|)` over bone pixels; 1 when both are empty.
    pub dice: f64,
    /// `|T ∩ P| / |T ∪ P|` over bone pixels; 1 when both are empty.
    pub iou: f64,
}

/// Computes every metric for one pair of masks.
pub fn score(truth: &Mask, pred: &Mask) -> Result<Scores, SizeMismatch> {
    check_same_size(truth, pred)?;
    Ok(Scores {
        pixel_error: pixel::pixel_error(truth, pred)?,
        rand_error: rand_error::rand_error(truth, pred)?,
        warping_error: warping::warping_error(truth, pred)?,
        dice: dice::dice(truth, pred)?,
        iou: iou::iou(truth, pred)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_mismatch_is_reported() {
        let a = Mask::empty(3, 2);
        let b = Mask::empty(2, 3);
        let err = score(&a, &b).unwrap_err();
        assert_eq!(
            err.to_string(),
            "size mismatch: truth is 3x2, prediction is 2x3"
        );
    }

    #[test]
    fn identical_masks_score_perfectly() {
        let m = Mask::from_art(&[".....", ".##..", ".###.", "....."]);
        let s = score(&m, &m).unwrap();
        assert_eq!(s.pixel_error, 0.0);
        assert_eq!(s.rand_error, 0.0);
        assert_eq!(s.warping_error, 0.0);
        assert_eq!(s.dice, 1.0);
        assert_eq!(s.iou, 1.0);
    }
}
