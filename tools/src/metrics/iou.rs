//! Intersection over union (Jaccard index) of the bone pixels: `|T ∩ P| / |T ∪ P|`.

use super::{SizeMismatch, check_same_size};
use crate::mask::Mask;

/// Counts `(|T ∩ P|, |T|, |P|)` of bone pixels.
pub(crate) fn overlap_counts(truth: &Mask, pred: &Mask) -> (u64, u64, u64) {
    let (mut both, mut t, mut p) = (0u64, 0u64, 0u64);
    for (&a, &b) in truth.labels.iter().zip(&pred.labels) {
        let (a, b) = (a != 0, b != 0);
        both += u64::from(a && b);
        t += u64::from(a);
        p += u64::from(b);
    }
    (both, t, p)
}

/// IoU in `[0, 1]`, 1 for a perfect match; defined as 1 when neither mask has any bone.
pub fn iou(truth: &Mask, pred: &Mask) -> Result<f64, SizeMismatch> {
    check_same_size(truth, pred)?;
    let (both, t, p) = overlap_counts(truth, pred);
    let union = t + p - both;
    if union == 0 {
        return Ok(1.0);
    }
    Ok(both as f64 / union as f64)
}
