//! The int8 path against the float model it was quantised from: label agreement and logit error
//! on random smooth images, per configuration, printed and checked against a floor. (The figure
//! for a trained model is measured by the tools' benchmarks; random weights give small logit
//! margins, so they are a harsher test of agreement than a trained network.)

use bonemask_core::architecture::{Architecture, Config1, Config2, Config4};
use bonemask_core::int8::{InputQuant, Int8Weights, forward_window_int8, scratch_len_int8};
use bonemask_core::quantize::quantize;
use bonemask_core::random::{SplitMix64, boxed_random_weights, fill_smooth_image};
use bonemask_core::reference::{forward_window, scratch_len};
use bonemask_core::scaling::InputAffine;
use bonemask_core::window::{RawImage, cut_window};

/// (label agreement, mean |logit difference| / mean |f32 logit|) over `samples` pixels.
fn agreement<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
    seed: u64,
    samples: usize,
) -> (f64, f64) {
    let float = boxed_random_weights::<A, N>(seed);
    let mut int8 = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    quantize(&float, &mut int8);

    let (width, height) = (96, 80);
    let mut pixels = vec![0u16; width * height];
    fill_smooth_image(&mut pixels, width, seed);
    let image = RawImage::new(&pixels, width, height).unwrap();
    let affine = InputAffine::from_range(1200.0, 2900.0);
    let quant = InputQuant::from_affine(&affine);

    let side = A::WINDOW;
    let mut window = vec![0.0; side * side];
    let mut window_int8 = vec![0i8; side * side];
    let mut scratch = vec![0.0; scratch_len::<A>()];
    let mut scratch_int8 = vec![0i8; scratch_len_int8::<A>()];
    let mut rng = SplitMix64::new(seed ^ 0xabc);
    let (mut agree, mut difference, mut magnitude) = (0, 0.0, 0.0);
    for _ in 0..samples {
        let (row, column) = (rng.below(height), rng.below(width));
        cut_window(&image, &affine, row, column, side, &mut window).unwrap();
        let top = row as isize - (side / 2) as isize;
        let left = column as isize - (side / 2) as isize;
        for (index, value) in window_int8.iter_mut().enumerate() {
            let raw = image.mirrored(
                top + (index / side) as isize,
                left + (index % side) as isize,
            );
            *value = quant.apply(raw);
        }
        let want = forward_window(&float, &window, &mut scratch).unwrap();
        let got = forward_window_int8(&int8, &window_int8, &mut scratch_int8).unwrap();
        agree += usize::from(want.label == got.label);
        let margin_f32 = (want.logits[1] - want.logits[0]) as f64;
        let margin_int8 = (got.logits[1] - got.logits[0]) as f64 / 4096.0;
        difference += (margin_f32 - margin_int8).abs();
        magnitude += margin_f32.abs();
    }
    (agree as f64 / samples as f64, difference / magnitude)
}

fn check(name: &str, (agree, relative): (f64, f64)) {
    println!(
        "{name}: int8 labels agree with f32 on {:.1}% of pixels, margin error {:.3}",
        agree * 100.0,
        relative
    );
    assert!(agree >= 0.9, "{name}: label agreement {agree}");
    assert!(relative <= 0.25, "{name}: relative margin error {relative}");
}

#[test]
fn int8_agrees_with_f32_on_config1() {
    const P: usize = Config1::PARAMS;
    const W: usize = Config1::WEIGHTS;
    const B: usize = Config1::BIASES;
    let result = agreement::<Config1, P, W, B>(11, 120);
    check("config 1", result);
}

#[test]
fn int8_agrees_with_f32_on_config2() {
    const P: usize = Config2::PARAMS;
    const W: usize = Config2::WEIGHTS;
    const B: usize = Config2::BIASES;
    let result = agreement::<Config2, P, W, B>(12, 30);
    check("config 2", result);
}

#[test]
fn int8_agrees_with_f32_on_config4() {
    const P: usize = Config4::PARAMS;
    const W: usize = Config4::WEIGHTS;
    const B: usize = Config4::BIASES;
    let result = agreement::<Config4, P, W, B>(14, 4);
    check("config 4", result);
}
