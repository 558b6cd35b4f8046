//! Dice coefficient of the bone pixels: `2 |T ∩ P| / (|T| + |P|)`.

use super::{SizeMismatch, check_same_size};
use crate::mask::Mask;

/// Dice coefficient in `[0, 1]`, 1 for a perfect match; defined as 1 when neither mask has
/// any bone (nothing to find, nothing found).
pub fn dice(truth: &Mask, pred: &Mask) -> Result<f64, SizeMismatch> {
    check_same_size(truth, pred)?;
    let (both, t, p) = super::iou::overlap_counts(truth, pred);
    if t + p == 0 {
        return Ok(1.0);
    }
    Ok(2.0 * both as f64 / (t + p) as f64)
}
