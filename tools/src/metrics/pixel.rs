//! Pixel error: the mean squared difference of two binary label maps, i.e. the fraction of
//! pixels whose labels differ.

use super::{SizeMismatch, check_same_size};
use crate::mask::Mask;

/// Fraction of the `H x W` pixels whose labels differ, in `[0, 1]`; 0 for an empty image.
pub fn pixel_error(truth: &Mask, pred: &Mask) -> Result<f64, SizeMismatch> {
    check_same_size(truth, pred)?;
    if truth.is_empty() {
        return Ok(0.0);
    }
    let differ = truth
        .labels
        .iter()
        .zip(&pred.labels)
        .filter(|&(&t, &p)| (t != 0) != (p != 0))
        .count();
    Ok(differ as f64 / truth.len() as f64)
}
