//! The fast dense path against the per-window references, bit for bit: all four
//! configurations, f32 and int8, the AVX-512 kernel, the AVX2 kernel and the portable one, on
//! random weights and random images of awkward sizes (one pixel, one row, one column, widths
//! that cut the 8- and 16-lane vectors and the 16- and 32-column blocks unevenly, heights that
//! cut the bands unevenly), and against the `no_std` streaming scanner [`dense`].
//!
//! Every pixel of the kernels is compared with each other; the per-window reference (about
//! 0.1 s a pixel for configuration 4) is run on a sample: every pixel of small images, else the
//! corners, the middle of each edge and a few random pixels. A kernel this CPU lacks is not
//! tested, and its test says `skipped: ...` on a line of its own.

use std::io::Write;

use bonemask_core::architecture::Architecture;
use bonemask_core::dense;
use bonemask_core::fast::{self, DenseOutput, Kernel, ScanOptions};
use bonemask_core::int8::{InputQuant, Int8Weights};
use bonemask_core::quantize::quantize;
use bonemask_core::random::{SplitMix64, boxed_random_weights};
use bonemask_core::scaling::InputAffine;
use bonemask_core::window::RawImage;
use bonemask_core::{Config1, Config2, Config3, Config4};

/// 12-bit random pixels, and the affine map of that range.
fn random_image(height: usize, width: usize, seed: u64) -> Vec<u16> {
    let mut random = SplitMix64::new(seed);
    (0..height * width)
        .map(|_| (random.next_u64() % 4096) as u16)
        .collect()
}

const AFFINE: InputAffine = InputAffine {
    offset: 2047.5,
    scale: 1.0 / 2047.5,
};

/// The pixels checked against the per-window reference: all of them up to `budget`, else the
/// corners, the middle of each edge, the centre and random ones up to `budget`.
fn sample_pixels(height: usize, width: usize, budget: usize, seed: u64) -> Vec<(usize, usize)> {
    if height * width <= budget {
        return (0..height)
            .flat_map(|y| (0..width).map(move |x| (y, x)))
            .collect();
    }
    let (last_y, last_x) = (height - 1, width - 1);
    let mut pixels = vec![
        (0, 0),
        (0, last_x),
        (last_y, 0),
        (last_y, last_x),
        (0, last_x / 2),
        (last_y, last_x / 2),
        (last_y / 2, 0),
        (last_y / 2, last_x),
        (last_y / 2, last_x / 2),
    ];
    let mut random = SplitMix64::new(seed);
    while pixels.len() < budget {
        pixels.push((random.below(height), random.below(width)));
    }
    pixels.truncate(budget);
    pixels
}

/// Bits of a logit, for exact comparison of f32 and i32 alike.
trait Bits: Copy + std::fmt::Debug {
    fn bits(self) -> u32;
}

impl Bits for f32 {
    fn bits(self) -> u32 {
        self.to_bits()
    }
}

impl Bits for i32 {
    fn bits(self) -> u32 {
        self as u32
    }
}

/// Panics at the first pixel where `got` and `want` differ in any bit, naming both values.
fn assert_same<T: Bits>(what: &str, pixels: &[(usize, usize)], got: &[[T; 2]], want: &[[T; 2]]) {
    for ((pixel, got), want) in pixels.iter().zip(got).zip(want) {
        let same = got[0].bits() == want[0].bits() && got[1].bits() == want[1].bits();
        assert!(
            same,
            "{what}: first mismatch at pixel (row, column) {pixel:?}: fast {got:?} \
             (bits {:08x} {:08x}), reference {want:?} (bits {:08x} {:08x})",
            got[0].bits(),
            got[1].bits(),
            want[0].bits(),
            want[1].bits(),
        );
    }
}

/// The logits of `pixels` in a dense output.
fn pick<T: Copy>(output: &DenseOutput<T>, pixels: &[(usize, usize)]) -> Vec<[T; 2]> {
    pixels
        .iter()
        .map(|&(y, x)| output.logits[y * output.width + x])
        .collect()
}

fn all_pixels(height: usize, width: usize) -> Vec<(usize, usize)> {
    sample_pixels(height, width, usize::MAX, 0)
}

/// One scan per kernel in `kernels` (threads 1, 2, 3 in turn), all pixels compared across
/// kernels, `budget` pixels compared with the reference.
struct Case<'a> {
    config: u8,
    sizes: &'a [(usize, usize)],
    kernels: &'a [Kernel],
    budget: usize,
}

fn check_f32<A: Architecture, const N: usize>(case: &Case<'_>) {
    let weights = boxed_random_weights::<A, N>(u64::from(case.config));
    for (index, &(height, width)) in case.sizes.iter().enumerate() {
        let pixels = random_image(height, width, index as u64 + 100);
        let image = RawImage::new(&pixels, width, height).unwrap();
        let outputs: Vec<DenseOutput<f32>> = case
            .kernels
            .iter()
            .enumerate()
            .map(|(run, &kernel)| {
                let options = ScanOptions {
                    threads: 1 + (index + run) % 3,
                    kernel,
                    progress: None,
                };
                fast::scan_f32(&*weights, &image, &AFFINE, &options).unwrap()
            })
            .collect();
        let every = all_pixels(height, width);
        for pair in outputs.windows(2) {
            let what = format!(
                "f32 config {} {height}x{width}: {} against {}",
                case.config,
                pair[1].kernel.name(),
                pair[0].kernel.name()
            );
            assert_same(&what, &every, &pair[1].logits, &pair[0].logits);
        }
        let sample = sample_pixels(height, width, case.budget, index as u64);
        let want = fast::per_window_f32(&*weights, &image, &AFFINE, &sample).unwrap();
        for output in &outputs {
            let what = format!(
                "f32 config {} {height}x{width} kernel {} ({} bands)",
                case.config,
                output.kernel.name(),
                output.bands
            );
            assert_same(&what, &sample, &pick(output, &sample), &want);
        }
    }
}

fn check_int8<A: Architecture, const N: usize, const NW: usize, const NB: usize>(case: &Case<'_>) {
    let float = boxed_random_weights::<A, N>(u64::from(case.config) + 10);
    let mut weights = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    quantize(&*float, &mut weights);
    let quant = InputQuant::from_affine(&AFFINE);
    for (index, &(height, width)) in case.sizes.iter().enumerate() {
        let pixels = random_image(height, width, index as u64 + 200);
        let image = RawImage::new(&pixels, width, height).unwrap();
        let outputs: Vec<DenseOutput<i32>> = case
            .kernels
            .iter()
            .enumerate()
            .map(|(run, &kernel)| {
                let options = ScanOptions {
                    threads: 1 + (index + run) % 3,
                    kernel,
                    progress: None,
                };
                fast::scan_int8(&*weights, &image, &quant, &options).unwrap()
            })
            .collect();
        let every = all_pixels(height, width);
        for pair in outputs.windows(2) {
            let what = format!(
                "int8 config {} {height}x{width}: {} against {}",
                case.config,
                pair[1].kernel.name(),
                pair[0].kernel.name()
            );
            assert_same(&what, &every, &pair[1].logits, &pair[0].logits);
        }
        let sample = sample_pixels(height, width, case.budget, index as u64);
        let want = fast::per_window_int8(&*weights, &image, &quant, &sample).unwrap();
        for output in &outputs {
            let what = format!(
                "int8 config {} {height}x{width} kernel {} ({} bands)",
                case.config,
                output.kernel.name(),
                output.bands
            );
            assert_same(&what, &sample, &pick(output, &sample), &want);
        }
    }
}

fn avx2_available() -> bool {
    if Kernel::Avx2Fma.is_available() {
        return true;
    }
    // Straight to standard error: the test harness captures `println!` of passing tests.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nskipped: no AVX2+FMA on this CPU"
    );
    false
}

fn avx512_available() -> bool {
    if Kernel::Avx512Vnni.is_available() {
        return true;
    }
    // Straight to standard error, as in `avx2_available`.
    let _ = writeln!(
        std::io::stderr().lock(),
        "\nskipped: no AVX-512 on this CPU"
    );
    false
}

/// The AVX-512 kernel, then the AVX2 one where the CPU has it (compared on every pixel).
fn avx512_and_avx2() -> Vec<Kernel> {
    let mut kernels = vec![Kernel::Avx512Vnni];
    if Kernel::Avx2Fma.is_available() {
        kernels.push(Kernel::Avx2Fma);
    }
    kernels
}

/// [`AWKWARD`] and widths past 64, where several 32-column calls run and the row ends with a
/// 16-column one (or not, by stage).
const AWKWARD_WIDE: &[(usize, usize)] = &[
    (1, 1),
    (1, 7),
    (9, 1),
    (13, 17),
    (7, 8),
    (5, 15),
    (3, 16),
    (4, 33),
    (11, 25),
    (2, 49),
    (3, 70),
    (2, 97),
];

const SMALL: &[(usize, usize)] = &[(1, 1), (1, 7), (9, 1), (13, 17), (2, 9)];
const AWKWARD: &[(usize, usize)] = &[
    (1, 1),
    (1, 7),
    (9, 1),
    (13, 17),
    (7, 8),
    (5, 15),
    (3, 16),
    (4, 33),
    (11, 25),
    (2, 49),
];

#[test]
fn f32_avx2_matches_reference_config1() {
    if avx2_available() {
        let kernels = [Kernel::Avx2Fma];
        let case = Case {
            config: 1,
            sizes: AWKWARD,
            kernels: &kernels,
            budget: 12,
        };
        check_f32::<Config1, { Config1::PARAMS }>(&case);
    }
}

#[test]
fn f32_portable_matches_avx2_and_reference_config1() {
    let mut kernels = vec![Kernel::Portable];
    if avx2_available() {
        kernels.push(Kernel::Avx2Fma);
    }
    let case = Case {
        config: 1,
        sizes: SMALL,
        kernels: &kernels,
        budget: 10,
    };
    check_f32::<Config1, { Config1::PARAMS }>(&case);
}

#[test]
fn f32_avx2_matches_reference_config2_and_3() {
    if avx2_available() {
        let kernels = [Kernel::Avx2Fma];
        let case = Case {
            config: 2,
            sizes: &[(1, 1), (9, 1), (1, 7), (13, 17), (3, 16), (4, 33)],
            kernels: &kernels,
            budget: 3,
        };
        check_f32::<Config2, { Config2::PARAMS }>(&case);
        let case = Case { config: 3, ..case };
        check_f32::<Config3, { Config3::PARAMS }>(&case);
    }
}

#[test]
fn f32_avx2_matches_reference_config4() {
    if avx2_available() {
        let kernels = [Kernel::Avx2Fma];
        let sizes = [(1, 1), (9, 1), (1, 7), (13, 17), (26, 33)];
        let case = Case {
            config: 4,
            sizes: &sizes,
            kernels: &kernels,
            budget: 3,
        };
        check_f32::<Config4, { Config4::PARAMS }>(&case);
    }
}

#[test]
fn f32_portable_matches_avx2_and_reference_config4() {
    let mut kernels = vec![Kernel::Portable];
    if avx2_available() {
        kernels.push(Kernel::Avx2Fma);
    }
    let case = Case {
        config: 4,
        sizes: &[(1, 1), (5, 3)],
        kernels: &kernels,
        budget: 2,
    };
    check_f32::<Config4, { Config4::PARAMS }>(&case);
}

/// Both kernels where the CPU has AVX2, the portable one alone otherwise (the skip is printed).
fn both_kernels() -> Vec<Kernel> {
    let mut kernels = vec![Kernel::Portable];
    if avx2_available() {
        kernels.push(Kernel::Avx2Fma);
    }
    kernels
}

#[test]
fn int8_kernels_match_reference_config1() {
    let kernels = both_kernels();
    let case = Case {
        config: 1,
        sizes: AWKWARD,
        kernels: &kernels,
        budget: 10,
    };
    check_int8::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>(&case);
}

#[test]
fn int8_kernels_match_reference_config2_and_3() {
    let kernels = both_kernels();
    let case = Case {
        config: 2,
        sizes: SMALL,
        kernels: &kernels,
        budget: 3,
    };
    check_int8::<Config2, { Config2::PARAMS }, { Config2::WEIGHTS }, { Config2::BIASES }>(&case);
    let case = Case { config: 3, ..case };
    check_int8::<Config3, { Config3::PARAMS }, { Config3::WEIGHTS }, { Config3::BIASES }>(&case);
}

#[test]
fn int8_kernels_match_reference_config4() {
    let kernels = both_kernels();
    let case = Case {
        config: 4,
        sizes: &[(1, 1), (9, 1), (5, 17)],
        kernels: &kernels,
        budget: 3,
    };
    check_int8::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>(&case);
}

/// The fast path against the `no_std` streaming scanner on every pixel of a medium image:
/// both claim the reference's bits, so they must agree exactly.
#[test]
fn fast_matches_streaming_scanner_config1() {
    check_streaming::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>(
        Kernel::detect(),
        (150, 90),
        7,
    );
}

#[test]
fn f32_avx512_matches_avx2_and_reference_config1() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 1,
            sizes: AWKWARD_WIDE,
            kernels: &kernels,
            budget: 12,
        };
        check_f32::<Config1, { Config1::PARAMS }>(&case);
    }
}

#[test]
fn f32_avx512_matches_avx2_and_reference_config2_and_3() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 2,
            sizes: &[(1, 1), (9, 1), (1, 7), (13, 17), (3, 16), (4, 33), (2, 70)],
            kernels: &kernels,
            budget: 3,
        };
        check_f32::<Config2, { Config2::PARAMS }>(&case);
        let case = Case { config: 3, ..case };
        check_f32::<Config3, { Config3::PARAMS }>(&case);
    }
}

#[test]
fn f32_avx512_matches_avx2_and_reference_config4() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 4,
            sizes: &[(1, 1), (9, 1), (1, 7), (13, 17), (26, 33), (3, 70)],
            kernels: &kernels,
            budget: 3,
        };
        check_f32::<Config4, { Config4::PARAMS }>(&case);
    }
}

#[test]
fn int8_avx512_matches_avx2_and_reference_config1() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 1,
            sizes: AWKWARD_WIDE,
            kernels: &kernels,
            budget: 10,
        };
        check_int8::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>(
            &case,
        );
    }
}

#[test]
fn int8_avx512_matches_avx2_and_reference_config2_and_3() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 2,
            sizes: &[(1, 1), (9, 1), (1, 7), (13, 17), (3, 16), (4, 33), (2, 70)],
            kernels: &kernels,
            budget: 3,
        };
        check_int8::<Config2, { Config2::PARAMS }, { Config2::WEIGHTS }, { Config2::BIASES }>(
            &case,
        );
        let case = Case { config: 3, ..case };
        check_int8::<Config3, { Config3::PARAMS }, { Config3::WEIGHTS }, { Config3::BIASES }>(
            &case,
        );
    }
}

#[test]
fn int8_avx512_matches_avx2_and_reference_config4() {
    if avx512_available() {
        let kernels = avx512_and_avx2();
        let case = Case {
            config: 4,
            sizes: &[(1, 1), (9, 1), (1, 7), (5, 17), (13, 33), (3, 70)],
            kernels: &kernels,
            budget: 3,
        };
        check_int8::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>(
            &case,
        );
    }
}

/// `kernel` against the streaming scanner on every pixel of one random image of configuration
/// `A` (pixels from `seed`), f32 and int8, two threads.
fn check_streaming<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
    kernel: Kernel,
    (height, width): (usize, usize),
    seed: u64,
) {
    let pixels = random_image(height, width, seed);
    let image = RawImage::new(&pixels, width, height).unwrap();
    let every = all_pixels(height, width);
    let weights = boxed_random_weights::<A, N>(31 + seed);
    let options = ScanOptions {
        threads: 2,
        kernel,
        progress: None,
    };

    let fast_f32 = fast::scan_f32(&*weights, &image, &AFFINE, &options).unwrap();
    let mut workspace = vec![0.0f32; dense::workspace_len::<A>(width)];
    let mut streamed = vec![[0.0f32; 2]; height * width];
    dense::scan_image(&*weights, &image, AFFINE, &mut workspace, &mut streamed).unwrap();
    let what = format!(
        "f32 config {} {height}x{width} {} against the streaming scanner",
        A::ID,
        kernel.name()
    );
    assert_same(&what, &every, &fast_f32.logits, &streamed);

    let mut int8 = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    quantize(&*weights, &mut int8);
    let quant = InputQuant::from_affine(&AFFINE);
    let fast_int8 = fast::scan_int8(&*int8, &image, &quant, &options).unwrap();
    let mut activations = vec![0i8; dense::activations_len_int8::<A>(width)];
    let mut sums = vec![0i32; dense::sums_len_int8::<A>(width)];
    let mut streamed = vec![[0i32; 2]; height * width];
    dense::scan_image_int8(
        &*int8,
        &image,
        quant,
        &mut activations,
        &mut sums,
        &mut streamed,
    )
    .unwrap();
    let what = format!(
        "int8 config {} {height}x{width} {} against the streaming scanner",
        A::ID,
        fast_int8.kernel.name()
    );
    assert_same(&what, &every, &fast_int8.logits, &streamed);
}

#[test]
fn avx512_matches_streaming_scanner_all_configs() {
    if avx512_available() {
        check_streaming::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>(
            Kernel::Avx512Vnni,
            (37, 81),
            11,
        );
        check_streaming::<Config2, { Config2::PARAMS }, { Config2::WEIGHTS }, { Config2::BIASES }>(
            Kernel::Avx512Vnni,
            (21, 67),
            11,
        );
        check_streaming::<Config3, { Config3::PARAMS }, { Config3::WEIGHTS }, { Config3::BIASES }>(
            Kernel::Avx512Vnni,
            (19, 50),
            11,
        );
        check_streaming::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>(
            Kernel::Avx512Vnni,
            (17, 45),
            11,
        );
    }
}

/// Weights built in code with negative multipliers in a convolution stage: the VNNI kernel
/// activates before pooling, which only matches the reference while requantisation is
/// monotone, so such a scan must run the AVX2 kernel and still equal the reference.
#[test]
fn int8_negative_multiplier_is_scanned_exactly() {
    if !avx512_available() {
        return;
    }
    type Weights1 = Int8Weights<Config1, { Config1::WEIGHTS }, { Config1::BIASES }>;
    let float = boxed_random_weights::<Config1, { Config1::PARAMS }>(31);
    let mut weights = Box::new(Weights1::zeroed());
    quantize(&*float, &mut weights);
    for map in 0..6 {
        let requant = &mut weights.requant[Weights1::conv_channel(1, map)];
        requant.multiplier = -requant.multiplier;
    }
    let quant = InputQuant::from_affine(&AFFINE);
    let (height, width) = (37, 45);
    let pixels = random_image(height, width, 77);
    let image = RawImage::new(&pixels, width, height).unwrap();

    let options = ScanOptions {
        threads: 2,
        kernel: Kernel::Avx512Vnni,
        progress: None,
    };
    let output = fast::scan_int8(&*weights, &image, &quant, &options).unwrap();
    assert_eq!(output.kernel, Kernel::Avx2Fma, "the kernel that ran");
    let sample = sample_pixels(height, width, 40, 5);
    let want = fast::per_window_int8(&*weights, &image, &quant, &sample).unwrap();
    assert_same(
        "int8 negative multipliers",
        &sample,
        &pick(&output, &sample),
        &want,
    );
}
