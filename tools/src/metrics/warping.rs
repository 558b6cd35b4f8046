//! Warping error (Jain et al. 2010) computed the way Fiji's trainableSegmentation does.
//!
//! The ground truth is warped toward the prediction by flipping *simple points*, pixels whose
//! flip changes no topology, and the error is the fraction of pixels that still disagree. Steps:
//! pad both images by one background pixel; binarise the prediction at the threshold; then, in
//! passes, list the pixels where warped truth and prediction disagree, sort them by how far the
//! prediction is from the threshold (largest first, ties in raster order), and flip each one
//! that is simple at the moment it is visited. Passes repeat until nothing disagrees or a pass
//! flips nothing (the mismatch count stops changing). A boundary that is merely shifted warps
//! away completely; a split, a merge or a hole leaves at least one pixel.
//!
//! Simple means, with bone 4-connected and other 8-connected: exactly one 4-connected bone
//! component among the 8 neighbours touches the pixel through an edge, and the other
//! neighbours form exactly one 8-connected component.

use super::{SizeMismatch, check_same_size};
use crate::mask::Mask;

/// The 8 neighbours as (dx, dy), clockwise from the upper left; bit `k` of a configuration is
/// neighbour `k`.
const RING: [(i32, i32); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (1, 0),
    (1, 1),
    (0, 1),
    (-1, 1),
    (-1, 0),
];

/// Counts the components of the neighbours selected by `set` (a bit per [`RING`] entry), with
/// 4-adjacency (`four`) or 8-adjacency between neighbours; when `touching_edge` is set, only
/// components holding an edge neighbour of the centre (N, E, S, W) are counted.
fn count_components(set: u8, four: bool, touching_edge: bool) -> u32 {
    let mut seen = 0u8;
    let mut count = 0;
    for start in 0..8 {
        if set & (1 << start) == 0 || seen & (1 << start) != 0 {
            continue;
        }
        let mut comp = 1u8 << start;
        let mut stack = vec![start];
        while let Some(k) = stack.pop() {
            for (m, &(mx, my)) in RING.iter().enumerate() {
                if set & (1 << m) == 0 || comp & (1 << m) != 0 {
                    continue;
                }
                let (dx, dy) = (RING[k].0 - mx, RING[k].1 - my);
                let adjacent = if four {
                    dx.abs() + dy.abs() == 1
                } else {
                    dx.abs() <= 1 && dy.abs() <= 1
                };
                if adjacent {
                    comp |= 1 << m;
                    stack.push(m);
                }
            }
        }
        seen |= comp;
        // Edge neighbours are the odd entries of RING.
        if !touching_edge || comp & 0b1010_1010 != 0 {
            count += 1;
        }
    }
    count
}

/// For each of the 256 neighbour configurations (bit set = bone), whether the centre pixel is
/// simple: flipping it, either way, changes no topology.
pub fn simple_point_table() -> [bool; 256] {
    let mut table = [false; 256];
    for (config, entry) in table.iter_mut().enumerate() {
        let bone = config as u8;
        let t_bone = count_components(bone, true, true);
        let t_other = count_components(!bone, false, false);
        *entry = t_bone == 1 && t_other == 1;
    }
    table
}

/// Result of warping a ground truth toward a prediction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warp {
    /// The warped ground truth, `H x W`.
    pub warped: Mask,
    /// Pixels where the warped truth and the binarised prediction still disagree.
    pub mismatches: usize,
    /// Number of passes run.
    pub passes: usize,
}

/// Warps `truth` toward a prediction given as `H x W` bone probabilities (`pred_prob`),
/// binarised as bone where `p > threshold`. A `pred_prob` of the wrong length is reported as a
/// [`SizeMismatch`] with `pred_w` = its length and `pred_h` = 1.
pub fn warp(truth: &Mask, pred_prob: &[f32], threshold: f32) -> Result<Warp, SizeMismatch> {
    let (w, h) = (truth.width, truth.height);
    if pred_prob.len() != truth.len() {
        return Err(SizeMismatch {
            truth_w: w,
            truth_h: h,
            pred_w: pred_prob.len(),
            pred_h: 1,
        });
    }
    let simple = simple_point_table();

    // Pad by one background pixel on every side.
    let (pw, ph) = (w + 2, h + 2);
    let mut t = vec![0u8; pw * ph];
    let mut p = vec![0u8; pw * ph];
    let mut dist = vec![0f32; pw * ph];
    for y in 0..h {
        for x in 0..w {
            let (i, j) = (y * w + x, (y + 1) * pw + x + 1);
            t[j] = u8::from(truth.labels[i] != 0);
            p[j] = u8::from(pred_prob[i] > threshold);
            dist[j] = (pred_prob[i] - threshold).abs();
        }
    }

    let mut passes = 0;
    let mut mismatches: Vec<usize> = Vec::new();
    loop {
        mismatches.clear();
        mismatches.extend((0..pw * ph).filter(|&j| t[j] != p[j]));
        if mismatches.is_empty() {
            break;
        }
        // Stable sort: ties keep raster order. NaN distances sort last.
        mismatches.sort_by(|&a, &b| {
            dist[b]
                .partial_cmp(&dist[a])
                .unwrap_or(std::cmp::Ordering::Less)
        });
        passes += 1;
        let mut flipped = 0usize;
        for &j in &mismatches {
            let mut config = 0u8;
            for (k, &(dx, dy)) in RING.iter().enumerate() {
                let n = (j as isize + dy as isize * pw as isize + dx as isize) as usize;
                config |= t[n] << k;
            }
            if simple[usize::from(config)] {
                t[j] ^= 1;
                flipped += 1;
            }
        }
        if flipped == 0 {
            break;
        }
    }
    let left = (0..pw * ph).filter(|&j| t[j] != p[j]).count();

    let mut warped = Mask::empty(w, h);
    for y in 0..h {
        warped.labels[y * w..(y + 1) * w]
            .copy_from_slice(&t[(y + 1) * pw + 1..(y + 1) * pw + 1 + w]);
    }
    Ok(Warp {
        warped,
        mismatches: left,
        passes,
    })
}

/// Warping error in `[0, 1]` of a binary prediction: the fraction of pixels that still
/// disagree after [`warp`]; 0 for an empty image.
pub fn warping_error(truth: &Mask, pred: &Mask) -> Result<f64, SizeMismatch> {
    check_same_size(truth, pred)?;
    if truth.is_empty() {
        return Ok(0.0);
    }
    let prob: Vec<f32> = pred
        .labels
        .iter()
        .map(|&v| f32::from(u8::from(v != 0)))
        .collect();
    let result = warp(truth, &prob, 0.5)?;
    Ok(result.mismatches as f64 / truth.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_point_table_classic_cases() {
        let table = simple_point_table();
        // Isolated pixel: removing it deletes a component; not simple.
        assert!(!table[0]);
        // Fully surrounded pixel: removing it makes a hole; not simple.
        assert!(!table[0xff]);
        // One edge neighbour (E): the end of a line; simple.
        assert!(table[1 << 3]);
        // Bone at N and S only: removing the centre splits them; not simple.
        assert!(!table[(1 << 1) | (1 << 5)]);
        // Bone at NW only: a diagonal neighbour is not 4-connected to the centre, so adding
        // the centre would leave two bone components; not simple.
        assert!(!table[1]);
        // Bone in the whole upper row plus E: one component touching through N and E; the
        // rest of the ring is one background component; simple.
        assert!(table[0b0000_1111]);
    }

    #[test]
    fn warped_truth_is_returned() {
        let truth = Mask::from_art(&["......", ".##...", "......"]);
        let pred = Mask::from_art(&["......", "..##..", "......"]);
        let prob: Vec<f32> = pred.labels.iter().map(|&v| f32::from(v)).collect();
        let r = warp(&truth, &prob, 0.5).unwrap();
        assert_eq!(r.warped, pred);
        assert_eq!(r.mismatches, 0);
    }

    #[test]
    fn confident_mismatches_are_flipped_first() {
        // Truth: a 1x2 bar. The prediction marks both bar pixels as background. Only one of
        // the two can be removed (the last would delete the component); the prediction is
        // surer about the left one (0.0 vs 0.4), so the left is flipped and the right stays.
        let truth = Mask::from_art(&["....", ".##.", "...."]);
        let mut prob = vec![0.0f32; 12];
        prob[6] = 0.4;
        let r = warp(&truth, &prob, 0.5).unwrap();
        assert_eq!(r.mismatches, 1);
        assert_eq!(r.warped.labels[5], 0);
        assert_eq!(r.warped.labels[6], 1);

        // The same with the confidences swapped keeps the left pixel instead.
        let mut prob = vec![0.0f32; 12];
        prob[5] = 0.4;
        let r = warp(&truth, &prob, 0.5).unwrap();
        assert_eq!(r.warped.labels[5], 1);
        assert_eq!(r.warped.labels[6], 0);
    }
}
