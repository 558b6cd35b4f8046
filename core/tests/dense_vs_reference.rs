//! Dense scanning against the per-window references, bit for bit: every configuration, f32 and
//! int8, images of awkward sizes (smaller than a window, odd, one pixel wide or tall, 1 x 1),
//! border pixels included, and a property test over random shapes.
//!
//! The per-window reference costs 16 to 123 million multiply-adds a pixel, so f32 compares every
//! pixel of the images smaller than a window in configuration 1 and of 1 x 1 images everywhere,
//! and otherwise a sample: every edge pixel, or the corners, edge midpoints and centre, plus
//! random pixels. int8 (cheaper) compares every pixel of most of its images.

use bonemask_core::architecture::{Architecture, CLASSES, Config1, Config2, Config3, Config4};
use bonemask_core::dense::{self, DenseScanner, DenseScannerInt8, OutputRow};
use bonemask_core::int8::{self, InputQuant, Int8Weights};
use bonemask_core::quantize::quantize;
use bonemask_core::random::{SplitMix64, boxed_random_weights};
use bonemask_core::reference;
use bonemask_core::scaling::InputAffine;
use bonemask_core::weights::F32Weights;
use bonemask_core::window::{RawImage, cut_window};

/// The detector range the images use and the affine map that sends it to [-1, 1].
const LOW: f32 = 1000.0;
const HIGH: f32 = 3000.0;

fn affine() -> InputAffine {
    InputAffine::from_range(LOW, HIGH)
}

/// A smooth gradient and ripple plus pixel noise, within [LOW, HIGH] with a few values outside
/// (clipped detector values exercise the int8 clamp).
fn random_image(width: usize, height: usize, seed: u64) -> Vec<u16> {
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    let (fx, fy, phase) = (rng.unit() * 0.7, rng.unit() * 0.7, rng.unit() * 6.0);
    let mut pixels = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let ripple = (fx * x as f32 + fy * y as f32 + phase).sin();
            let value = 2000.0 + 700.0 * ripple + 6.0 * y as f32 + rng.signed_unit() * 250.0;
            pixels.push(value.clamp(0.0, 65535.0) as u16);
        }
    }
    pixels
}

/// Which pixels to check against the per-window reference.
enum Pixels {
    /// Every pixel.
    All,
    /// Every pixel of the outermost ring (the rows and columns the mirror shapes most), and
    /// `extra` random pixels.
    Edges { extra: usize },
    /// Corners, edge midpoints, the centre, and `extra` random pixels.
    Sample { extra: usize },
}

fn chosen_pixels(
    width: usize,
    height: usize,
    pixels: &Pixels,
    rng: &mut SplitMix64,
) -> Vec<(usize, usize)> {
    match pixels {
        Pixels::All => (0..height)
            .flat_map(|y| (0..width).map(move |x| (y, x)))
            .collect(),
        Pixels::Edges { extra } => {
            let on_edge =
                |(y, x): &(usize, usize)| *y == 0 || *x == 0 || *y + 1 == height || *x + 1 == width;
            let mut chosen: Vec<_> = chosen_pixels(width, height, &Pixels::All, rng);
            chosen.retain(on_edge);
            chosen.extend((0..*extra).map(|_| (rng.below(height), rng.below(width))));
            chosen.sort_unstable();
            chosen.dedup();
            chosen
        }
        Pixels::Sample { extra } => {
            let (ys, xs) = ([0, height / 2, height - 1], [0, width / 2, width - 1]);
            let mut chosen: Vec<_> = ys
                .iter()
                .flat_map(|y| xs.iter().map(|x| (*y, *x)))
                .collect();
            chosen.extend((0..*extra).map(|_| (rng.below(height), rng.below(width))));
            chosen.sort_unstable();
            chosen.dedup();
            chosen
        }
    }
}

/// Dense f32 logits of a whole image, pushed row by row through a [`DenseScanner`] whose
/// workspace is exactly [`dense::workspace_len`] long; checks that rows leave in order.
fn dense_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    image: &RawImage<'_>,
) -> Vec<[f32; CLASSES]> {
    let mut workspace = vec![f32::NAN; dense::workspace_len::<A>(image.width)];
    let mut scanner = DenseScanner::new(weights, affine(), image.width, &mut workspace).unwrap();
    let mut logits = Vec::with_capacity(image.width * image.height);
    let mut sink = |row: OutputRow<'_, f32>| {
        assert_eq!(row.row * image.width, logits.len(), "rows leave in order");
        assert_eq!(row.logits.len(), image.width);
        logits.extend_from_slice(row.logits);
    };
    for raw in image.pixels.chunks_exact(image.width) {
        scanner.push_row(raw, &mut sink).unwrap();
    }
    assert_eq!(scanner.finish(&mut sink), Ok(image.height));
    assert_eq!(logits.len(), image.width * image.height);
    logits
}

/// Compares dense f32 logits with `forward_window` on `cut_window`, by their bits.
fn check_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    (width, height): (usize, usize),
    pixels: Pixels,
    seed: u64,
) {
    let raw = random_image(width, height, seed);
    let image = RawImage::new(&raw, width, height).unwrap();
    let dense = dense_f32(weights, &image);

    let side = A::WINDOW;
    let mut window = vec![0.0f32; side * side];
    let mut scratch = vec![0.0f32; reference::scratch_len::<A>()];
    let mut rng = SplitMix64::new(seed);
    for (y, x) in chosen_pixels(width, height, &pixels, &mut rng) {
        cut_window(&image, &affine(), y, x, side, &mut window).unwrap();
        let want = reference::forward_window(weights, &window, &mut scratch)
            .unwrap()
            .logits;
        let got = dense[y * width + x];
        let same = want
            .iter()
            .zip(&got)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same,
            "config {} f32, {width}x{height} image (seed {seed}): first differing pixel (y {y}, \
             x {x}): reference {want:?} ({:08x?}), dense {got:?} ({:08x?})",
            A::ID,
            want.map(f32::to_bits),
            got.map(f32::to_bits),
        );
    }
}

/// Compares dense int8 logits (whole-image call) with `forward_window_int8`.
fn check_int8<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
    float: &F32Weights<A, N>,
    (width, height): (usize, usize),
    pixels: Pixels,
    seed: u64,
) {
    let mut weights = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    quantize(float, &mut weights);
    let quant = InputQuant::from_affine(&affine());
    let raw = random_image(width, height, seed);
    let image = RawImage::new(&raw, width, height).unwrap();

    let mut activations = vec![i8::MIN; dense::activations_len_int8::<A>(width)];
    let mut sums = vec![i32::MIN; dense::sums_len_int8::<A>(width)];
    let mut dense = vec![[0i32; CLASSES]; width * height];
    dense::scan_image_int8(
        &weights,
        &image,
        quant,
        &mut activations,
        &mut sums,
        &mut dense,
    )
    .unwrap();

    let side = A::WINDOW;
    let half = (side / 2) as isize;
    let mut window = vec![0i8; side * side];
    let mut scratch = vec![0i8; int8::scratch_len_int8::<A>()];
    let mut rng = SplitMix64::new(seed);
    for (y, x) in chosen_pixels(width, height, &pixels, &mut rng) {
        for (dy, line) in window.chunks_exact_mut(side).enumerate() {
            for (dx, value) in line.iter_mut().enumerate() {
                let (row, column) = (
                    y as isize - half + dy as isize,
                    x as isize - half + dx as isize,
                );
                *value = quant.apply(image.mirrored(row, column));
            }
        }
        let want = int8::forward_window_int8(&weights, &window, &mut scratch)
            .unwrap()
            .logits;
        let got = dense[y * width + x];
        assert_eq!(
            want,
            got,
            "config {} int8, {width}x{height} image (seed {seed}): first differing pixel (y {y}, \
             x {x}): reference {want:?}, dense {got:?}",
            A::ID
        );
    }
}

/// Awkward shapes (width, height), all smaller than every window in at least one axis.
const SMALL: [(usize, usize); 6] = [(1, 1), (1, 9), (9, 1), (7, 1), (1, 7), (5, 3)];

#[test]
fn config1_f32() {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(1);
    for (index, size) in SMALL.iter().enumerate() {
        check_f32(&weights, *size, Pixels::All, 10 + index as u64);
    }
    check_f32(&weights, (11, 13), Pixels::Edges { extra: 0 }, 20);
    check_f32(&weights, (70, 3), Pixels::Sample { extra: 10 }, 21);
}

#[test]
fn config1_int8() {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(2);
    type W = F32Weights<Config1, { Config1::PARAMS }>;
    let check =
        check_int8::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>;
    let weights: &W = &weights;
    for (index, size) in SMALL.iter().enumerate() {
        check(weights, *size, Pixels::All, 30 + index as u64);
    }
    check(weights, (13, 17), Pixels::Edges { extra: 20 }, 40);
    check(weights, (70, 3), Pixels::Sample { extra: 20 }, 41);
}

#[test]
fn config2_f32() {
    let weights = boxed_random_weights::<Config2, { Config2::PARAMS }>(3);
    check_f32(&weights, (1, 1), Pixels::All, 50);
    check_f32(&weights, (11, 13), Pixels::Sample { extra: 0 }, 53);
}

#[test]
fn config2_int8() {
    let weights = boxed_random_weights::<Config2, { Config2::PARAMS }>(4);
    let check =
        check_int8::<Config2, { Config2::PARAMS }, { Config2::WEIGHTS }, { Config2::BIASES }>;
    check(&weights, (1, 1), Pixels::All, 60);
    check(&weights, (5, 3), Pixels::All, 61);
    check(&weights, (9, 1), Pixels::All, 62);
    check(&weights, (13, 17), Pixels::Sample { extra: 2 }, 63);
}

#[test]
fn config3_f32() {
    let weights = boxed_random_weights::<Config3, { Config3::PARAMS }>(5);
    check_f32(&weights, (1, 1), Pixels::All, 70);
    check_f32(&weights, (7, 1), Pixels::Sample { extra: 0 }, 71);
}

#[test]
fn config3_int8() {
    let weights = boxed_random_weights::<Config3, { Config3::PARAMS }>(6);
    let check =
        check_int8::<Config3, { Config3::PARAMS }, { Config3::WEIGHTS }, { Config3::BIASES }>;
    check(&weights, (1, 1), Pixels::All, 80);
    check(&weights, (7, 1), Pixels::All, 81);
    check(&weights, (1, 9), Pixels::All, 82);
    check(&weights, (70, 3), Pixels::Sample { extra: 2 }, 83);
}

#[test]
fn config4_f32() {
    let weights = boxed_random_weights::<Config4, { Config4::PARAMS }>(7);
    check_f32(&weights, (1, 1), Pixels::All, 90);
    check_f32(&weights, (2, 2), Pixels::All, 91);
}

#[test]
fn config4_int8() {
    let weights = boxed_random_weights::<Config4, { Config4::PARAMS }>(8);
    let check =
        check_int8::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>;
    check(&weights, (1, 1), Pixels::All, 100);
    check(&weights, (5, 3), Pixels::Sample { extra: 3 }, 101);
    check(&weights, (1, 9), Pixels::Sample { extra: 2 }, 102);
}

/// Images far taller than every ring, so each ring wraps several times: configuration 1
/// (largest ring 33 rows) at 100 x 2, configuration 4 int8 (largest ring 73 rows) at 160 x 1.
#[test]
fn tall_images_wrap_every_ring() {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(9);
    check_f32(&weights, (2, 100), Pixels::Sample { extra: 12 }, 110);
    let check =
        check_int8::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>;
    check(&weights, (2, 100), Pixels::Sample { extra: 20 }, 111);
    let weights = boxed_random_weights::<Config4, { Config4::PARAMS }>(10);
    let check =
        check_int8::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>;
    check(&weights, (1, 160), Pixels::Sample { extra: 4 }, 112);
}

/// Random shapes from 1 x 1 to 20 x 20 with random weights and images, configuration 1, both
/// precisions; a failure names the seed, which reproduces it.
#[test]
fn property_random_shapes() {
    let mut shapes = SplitMix64::new(0xd5e5);
    for seed in 0..6u64 {
        let (width, height) = (1 + shapes.below(20), 1 + shapes.below(20));
        let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(1000 + seed);
        check_f32(
            &weights,
            (width, height),
            Pixels::Sample { extra: 1 },
            2000 + seed,
        );
        let check =
            check_int8::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>;
        check(
            &weights,
            (width, height),
            Pixels::Sample { extra: 4 },
            3000 + seed,
        );
    }
}

/// The activations do not all saturate: the test weights exercise tanh's curved part, so a
/// wrong accumulation order would show in the bits.
#[test]
fn random_weights_give_spread_logits() {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(1);
    let raw = random_image(6, 6, 3);
    let image = RawImage::new(&raw, 6, 6).unwrap();
    let logits = dense_f32(&weights, &image);
    let mut differences: Vec<f32> = logits.iter().map(|pair| pair[1] - pair[0]).collect();
    differences.sort_by(f32::total_cmp);
    let spread = differences[differences.len() - 1] - differences[0];
    assert!(
        spread > 1e-3,
        "logit differences barely vary: {differences:?}"
    );
}

/// A too-small workspace is an error value, and a wrong-length row is refused without being
/// consumed.
#[test]
fn refusals_are_errors() {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(1);
    let needed = dense::workspace_len::<Config1>(4);
    let mut workspace = vec![0.0f32; needed];
    let short = DenseScanner::new(&weights, affine(), 4, &mut workspace[..needed / 2]).err();
    assert_eq!(
        short,
        Some(dense::DenseError::WorkspaceTooSmall {
            needed,
            found: needed / 2
        })
    );
    let mut scanner = DenseScanner::new(&weights, affine(), 4, &mut workspace).unwrap();
    let refused = scanner.push_row(&[1000; 5], |_| {});
    assert_eq!(
        refused,
        Err(dense::DenseError::RowLength {
            expected: 4,
            found: 5
        })
    );
    assert_eq!(scanner.rows_in(), 0);
    let quant = InputQuant::from_affine(&affine());
    let int8 = Box::new(Int8Weights::<
        Config1,
        { Config1::WEIGHTS },
        { Config1::BIASES },
    >::zeroed());
    let mut activations = vec![0i8; dense::activations_len_int8::<Config1>(4)];
    let mut sums = vec![0i32; 3];
    let short = DenseScannerInt8::new(&int8, quant, 4, &mut activations, &mut sums).err();
    assert!(matches!(
        short,
        Some(dense::DenseError::SumsTooSmall { found: 3, .. })
    ));
}
