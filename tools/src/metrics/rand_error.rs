//! Rand error, `1 - Rand index`, over the connected segments of the two label maps.
//!
//! The Rand index is the fraction of unordered pixel pairs on which two segmentations agree
//! (same segment in both, or different segments in both). With `n_ij` the contingency table of
//! truth segment `i` against predicted segment `j`, `a_i` and `b_j` its row and column sums and
//! `N` the pixel count, the number of disagreeing pairs is
//! `sum C(a_i, 2) + sum C(b_j, 2) - 2 sum C(n_ij, 2)`, so no pair is ever enumerated. Counts are
//! exact `u128` integers; only the final division is floating point.

use std::collections::HashMap;

use super::components::label;
use super::{SizeMismatch, check_same_size};
use crate::mask::Mask;

/// `n choose 2` as an exact integer.
fn pairs(n: u64) -> u128 {
    let n = u128::from(n);
    n * n.saturating_sub(1) / 2
}

/// Rand error in `[0, 1]` between the segments (bone 4-connected, other 8-connected) of the
/// two masks; 0 for images of fewer than two pixels.
pub fn rand_error(truth: &Mask, pred: &Mask) -> Result<f64, SizeMismatch> {
    check_same_size(truth, pred)?;
    let n = truth.len() as u64;
    if n < 2 {
        return Ok(0.0);
    }
    let st = label(truth);
    let sp = label(pred);

    // Contingency table, row sums and column sums.
    let mut table: HashMap<(u32, u32), u64> = HashMap::new();
    let mut rows = vec![0u64; st.count as usize];
    let mut cols = vec![0u64; sp.count as usize];
    for (&i, &j) in st.ids.iter().zip(&sp.ids) {
        *table.entry((i, j)).or_insert(0) += 1;
        rows[i as usize] += 1;
        cols[j as usize] += 1;
    }

    let same_truth: u128 = rows.iter().map(|&a| pairs(a)).sum();
    let same_pred: u128 = cols.iter().map(|&b| pairs(b)).sum();
    let same_both: u128 = table.values().map(|&c| pairs(c)).sum();
    let disagree = same_truth + same_pred - 2 * same_both;
    Ok(disagree as f64 / pairs(n) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_is_exact_for_a_full_size_image() {
        let n = 2492u64 * 1984;
        assert_eq!(pairs(n), 12_222_198_368_128);
    }

    #[test]
    fn relabelling_segments_is_no_error() {
        // Inverting a mask with one bone blob and connected background changes labels but not
        // the partition into segments.
        let a = Mask::from_art(&["....", ".##.", "...."]);
        let b = Mask {
            labels: a.labels.iter().map(|&v| 1 - v).collect(),
            ..a.clone()
        };
        // In `b` the two former-bone pixels are background (8-connected, one segment) and the
        // ring is bone (4-connected, one segment): the same partition.
        assert_eq!(rand_error(&a, &b).unwrap(), 0.0);
    }
}
