//! Hand-computed answers for every metric on the textbook cases: identical masks, a shifted
//! boundary, a split, a merge, a hole and an empty prediction.
//!
//! Rand errors are written as `disagreeing pairs / all pairs`, with the pair counts worked out
//! by hand from the segments listed in each test (`C(n) = n (n - 1) / 2`).

use bonemask_tools::mask::Mask;
use bonemask_tools::metrics::{score, warping};

fn close(name: &str, got: f64, expected: f64) {
    assert!(
        (got - expected).abs() < 1e-12,
        "{name}: expected {expected}, got {got}"
    );
}

#[test]
fn identical_masks() {
    let m = Mask::from_art(&["..........", ".###..##..", ".###......", ".........."]);
    let s = score(&m, &m).unwrap();
    close("pixel", s.pixel_error, 0.0);
    close("rand", s.rand_error, 0.0);
    close("warping", s.warping_error, 0.0);
    close("dice", s.dice, 1.0);
    close("iou", s.iou, 1.0);
}

#[test]
fn shifted_boundary_costs_pixels_but_no_warping() {
    // A 4x3 box moved one column right in a 10x6 image: columns 2 and 5 differ in 4 rows.
    let truth = Mask::from_art(&[
        "..........",
        "..###.....",
        "..###.....",
        "..###.....",
        "..###.....",
        "..........",
    ]);
    let pred = Mask::from_art(&[
        "..........",
        "...###....",
        "...###....",
        "...###....",
        "...###....",
        "..........",
    ]);
    let s = score(&truth, &pred).unwrap();
    close("pixel", s.pixel_error, 8.0 / 60.0);
    close("warping", s.warping_error, 0.0);
    // Truth segments: box 12, outside 48; same for the prediction. Table: 8, 4, 4, 44.
    // (66 + 1128) * 2 - 2 * (28 + 6 + 6 + 946) = 416 of C(60) = 1770.
    close("rand", s.rand_error, 416.0 / 1770.0);
    close("dice", s.dice, 2.0 * 8.0 / 24.0);
    close("iou", s.iou, 8.0 / 16.0);
}

#[test]
fn split_leaves_one_warping_pixel() {
    // A 3x8 bar cut in two by clearing column 5. Warping removes the top two cut pixels (each
    // is an end of the remaining bridge); the last one joins the halves and stays.
    let truth = Mask::from_art(&[
        "..........",
        ".########.",
        ".########.",
        ".########.",
        "..........",
    ]);
    let pred = Mask::from_art(&[
        "..........",
        ".####.###.",
        ".####.###.",
        ".####.###.",
        "..........",
    ]);
    let s = score(&truth, &pred).unwrap();
    close("pixel", s.pixel_error, 3.0 / 50.0);
    close("warping", s.warping_error, 1.0 / 50.0);
    // Truth: bar 24, outside 26. Prediction: left 12, right 9, outside 29.
    // Table: (bar,left) 12, (bar,right) 9, (bar,outside) 3, (outside,outside) 26.
    // (276 + 325) + (66 + 36 + 406) - 2 * (66 + 36 + 3 + 325) = 249 of C(50) = 1225.
    close("rand", s.rand_error, 249.0 / 1225.0);
    close("dice", s.dice, 2.0 * 21.0 / 45.0);
    close("iou", s.iou, 21.0 / 24.0);
}

#[test]
fn merge_cannot_be_warped_away() {
    // The reverse: two bars in the truth, one in the prediction. Filling any gap pixel would
    // join two components, so no gap pixel is simple and all three stay.
    let truth = Mask::from_art(&[
        "..........",
        ".####.###.",
        ".####.###.",
        ".####.###.",
        "..........",
    ]);
    let pred = Mask::from_art(&[
        "..........",
        ".########.",
        ".########.",
        ".########.",
        "..........",
    ]);
    let s = score(&truth, &pred).unwrap();
    close("pixel", s.pixel_error, 3.0 / 50.0);
    close("warping", s.warping_error, 3.0 / 50.0);
    // Same table as the split, transposed: the Rand error is symmetric.
    close("rand", s.rand_error, 249.0 / 1225.0);
}

#[test]
fn hole_cannot_be_warped_away() {
    // A filled 5x5 square; the prediction has a one-pixel hole in its centre. Removing the
    // centre from the truth would create a hole, so it is not simple.
    let truth = Mask::from_art(&[
        ".......", ".#####.", ".#####.", ".#####.", ".#####.", ".#####.", ".......",
    ]);
    let pred = Mask::from_art(&[
        ".......", ".#####.", ".#####.", ".##.##.", ".#####.", ".#####.", ".......",
    ]);
    let s = score(&truth, &pred).unwrap();
    close("pixel", s.pixel_error, 1.0 / 49.0);
    close("warping", s.warping_error, 1.0 / 49.0);
    // Truth: square 25, outside 24. Prediction: ring 24, hole 1, outside 24.
    // Table: (square,ring) 24, (square,hole) 1, (outside,outside) 24.
    // (300 + 276) + (276 + 0 + 276) - 2 * (276 + 0 + 276) = 24 of C(49) = 1176.
    close("rand", s.rand_error, 24.0 / 1176.0);
    close("dice", s.dice, 2.0 * 24.0 / 49.0);
    close("iou", s.iou, 24.0 / 25.0);
}

#[test]
fn empty_prediction() {
    // A 3x3 square in a 5x5 image, nothing predicted. Warping erodes the square in raster
    // order down to its last pixel, which cannot go (it would delete the component).
    let truth = Mask::from_art(&[".....", ".###.", ".###.", ".###.", "....."]);
    let pred = Mask::empty(5, 5);
    let s = score(&truth, &pred).unwrap();
    close("pixel", s.pixel_error, 9.0 / 25.0);
    close("warping", s.warping_error, 1.0 / 25.0);
    // Truth: square 9, outside 16. Prediction: one segment of 25.
    // (36 + 120) + 300 - 2 * (36 + 120) = 144 of C(25) = 300.
    close("rand", s.rand_error, 144.0 / 300.0);
    close("dice", s.dice, 0.0);
    close("iou", s.iou, 0.0);

    let r = warping::warp(&truth, &[0.0; 25], 0.5).unwrap();
    assert_eq!(r.warped.count_bone(), 1, "the square erodes to one pixel");
    assert_eq!(
        r.warped.labels[3 * 5 + 3],
        1,
        "the last pixel in raster order survives"
    );
}

#[test]
fn both_empty() {
    let m = Mask::empty(4, 3);
    let s = score(&m, &m).unwrap();
    close("dice", s.dice, 1.0);
    close("iou", s.iou, 1.0);
    close("rand", s.rand_error, 0.0);
}
