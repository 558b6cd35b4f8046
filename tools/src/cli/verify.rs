//! `bonemask verify`: checks, on a real image, that the fast path gives the same bits as the
//! core's streaming dense scan on every pixel, and as the per-window reference on a sample of
//! pixels (or on all of them). Exit status 1 on any mismatch.
//!
//! With `--crop`, the crop is treated as the image (its own borders mirrored): the streaming
//! scan is scalar and costs about 127,000 multiply-adds a pixel, the per-window reference about
//! 123 million, so a crop keeps a run short. Without one, the whole 1841 x 1955 radiograph
//! `RG1_UNCR.dcm` took 21.8 minutes in f32 and 2.5 minutes in int8 (AMD EPYC, 2 cores,
//! `--samples 8`); the f32 streaming scan is the slow part, one scalar fma at a time.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use bonemask_core::architecture::Architecture;
use bonemask_core::dense;
use bonemask_core::fast::{self, ScanOptions};
use bonemask_core::int8::{InputQuant, Int8Weights};
use bonemask_core::random::SplitMix64;
use bonemask_core::scaling::InputAffine;
use bonemask_core::weights::F32Weights;
use bonemask_core::window::RawImage;

use crate::cli::segment::{PrecisionArg, read_input};
use crate::model::{Model, Network};

/// Arguments of `bonemask verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The image: DICOM or greyscale PNG.
    pub image: PathBuf,
    /// Weights file; the compiled-in default model when omitted.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Number format of the default model; a `--model` file carries its own.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: PrecisionArg,
    /// Only this part of the image, as WIDTHxHEIGHT+X+Y (pixels). Advised for large images:
    /// the scalar streaming scan of a whole 3.6-megapixel radiograph took 22 minutes in f32
    /// (2.5 minutes in int8) on 2 cores.
    #[arg(long, value_parser = parse_crop)]
    pub crop: Option<Crop>,
    /// Pixels checked against the per-window reference, chosen at random (seeded); 0 checks
    /// every pixel.
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A rectangle of an image, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crop {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Left column.
    pub x: usize,
    /// Top row.
    pub y: usize,
}

/// Parses `WIDTHxHEIGHT+X+Y`.
pub fn parse_crop(text: &str) -> Result<Crop, String> {
    let (size, offset) = text.split_once('+').ok_or("expected WIDTHxHEIGHT+X+Y")?;
    let (width, height) = crate::cli::bench::parse_size(size)?;
    let (x, y) = offset.split_once('+').ok_or("expected WIDTHxHEIGHT+X+Y")?;
    let x = x.parse().map_err(|_| "X is not a number")?;
    let y = y.parse().map_err(|_| "Y is not a number")?;
    Ok(Crop {
        width,
        height,
        x,
        y,
    })
}

/// The first pixel on which two paths differ.
#[derive(Debug, Serialize)]
pub struct Mismatch {
    /// Row in the (cropped) image.
    pub row: usize,
    /// Column in the (cropped) image.
    pub column: usize,
    /// Logits of the fast path.
    pub fast: [f64; 2],
    /// Logits of the other path.
    pub other: [f64; 2],
}

/// One comparison of the fast path with another path.
#[derive(Debug, Serialize)]
pub struct Comparison {
    /// Pixels compared.
    pub pixels: usize,
    /// Pixels whose logits differ in any bit.
    pub mismatches: usize,
    /// The first of them in row-major order.
    pub first: Option<Mismatch>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// Image checked (after cropping), width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// "f32" or "int8".
    pub precision: &'static str,
    /// Fast path against the core's streaming dense scan, every pixel.
    pub dense: Comparison,
    /// Fast path against the per-window reference.
    pub per_window: Comparison,
}

/// Runs `bonemask verify`; fails (exit status 1) when any pixel differs.
pub fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let model = Model::load(args.model.as_deref(), args.precision.into())?;
    let radiograph = read_input(&args.image)?;
    let (pixels, width, height) = match args.crop {
        Some(crop) => (
            cut(
                &radiograph.pixels,
                radiograph.width,
                radiograph.height,
                crop,
            )
            .with_context(|| format!("{}: crop outside the image", args.image.display()))?,
            crop.width,
            crop.height,
        ),
        None => (
            radiograph.pixels.clone(),
            radiograph.width,
            radiograph.height,
        ),
    };
    let image = RawImage::new(&pixels, width, height)
        .map_err(|e| anyhow::anyhow!("{}: unusable image: {e}", args.image.display()))?;
    let affine = model.affine_for(&pixels);

    let mut rng = SplitMix64::new(0x5eed);
    let sample: Vec<(usize, usize)> = if args.samples == 0 {
        (0..height)
            .flat_map(|row| (0..width).map(move |column| (row, column)))
            .collect()
    } else {
        (0..args.samples)
            .map(|_| (rng.below(height), rng.below(width)))
            .collect()
    };

    let report = match &model.network {
        Network::F32C1(w) => check_f32(w, &image, affine, &sample)?,
        Network::F32C2(w) => check_f32(w, &image, affine, &sample)?,
        Network::F32C3(w) => check_f32(w, &image, affine, &sample)?,
        Network::F32C4(w) => check_f32(w, &image, affine, &sample)?,
        Network::Int8C1(w) => check_int8(w, &image, affine, &sample)?,
        Network::Int8C2(w) => check_int8(w, &image, affine, &sample)?,
        Network::Int8C3(w) => check_int8(w, &image, affine, &sample)?,
        Network::Int8C4(w) => check_int8(w, &image, affine, &sample)?,
    };

    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    let mismatches = report.dense.mismatches + report.per_window.mismatches;
    if mismatches > 0 {
        bail!(
            "{}: {mismatches} pixels differ between paths",
            args.image.display()
        );
    }
    Ok(())
}

fn print_report(report: &VerifyReport) {
    println!("{} {}x{}", report.precision, report.width, report.height);
    for (name, comparison) in [("dense", &report.dense), ("per-window", &report.per_window)] {
        print!(
            "fast vs {name:<10} {} pixels, {} mismatches",
            comparison.pixels, comparison.mismatches
        );
        match &comparison.first {
            Some(m) => println!(
                "; first at row {}, column {}: fast {:?}, {name} {:?}",
                m.row, m.column, m.fast, m.other
            ),
            None => println!(),
        }
    }
}

fn cut(pixels: &[u16], width: usize, height: usize, crop: Crop) -> Option<Vec<u16>> {
    if crop.x + crop.width > width || crop.y + crop.height > height {
        return None;
    }
    let rows = pixels.chunks_exact(width).skip(crop.y).take(crop.height);
    Some(
        rows.flat_map(|row| row[crop.x..crop.x + crop.width].iter().copied())
            .collect(),
    )
}

/// Compares logit pairs bit for bit at `positions` (indices into both slices).
fn compare<T: Copy + Into<f64> + PartialEq>(
    fast: &[[T; 2]],
    other: &[[T; 2]],
    positions: impl Iterator<Item = (usize, usize)>,
    width: usize,
    same: impl Fn(&[T; 2], &[T; 2]) -> bool,
) -> Comparison {
    let mut comparison = Comparison {
        pixels: 0,
        mismatches: 0,
        first: None,
    };
    for (index, (row, column)) in positions.enumerate() {
        let fast_pair = &fast[row * width + column];
        let other_pair = &other[index];
        comparison.pixels += 1;
        if !same(fast_pair, other_pair) {
            comparison.mismatches += 1;
            comparison.first.get_or_insert(Mismatch {
                row,
                column,
                fast: fast_pair.map(Into::into),
                other: other_pair.map(Into::into),
            });
        }
    }
    comparison
}

fn same_bits_f32(a: &[f32; 2], b: &[f32; 2]) -> bool {
    a[0].to_bits() == b[0].to_bits() && a[1].to_bits() == b[1].to_bits()
}

/// The logits of the three paths on one image, and how to compare two logit pairs.
struct Paths<'a, T> {
    precision: &'static str,
    width: usize,
    height: usize,
    fast: &'a [[T; 2]],
    streamed: &'a [[T; 2]],
    reference: &'a [[T; 2]],
    same: fn(&[T; 2], &[T; 2]) -> bool,
}

impl<T: Copy + Into<f64> + PartialEq> Paths<'_, T> {
    fn report(&self, sample: &[(usize, usize)]) -> VerifyReport {
        let width = self.width;
        let everywhere =
            (0..self.height).flat_map(|row| (0..width).map(move |column| (row, column)));
        VerifyReport {
            width,
            height: self.height,
            precision: self.precision,
            dense: compare(self.fast, self.streamed, everywhere, width, self.same),
            per_window: compare(
                self.fast,
                self.reference,
                sample.iter().copied(),
                width,
                self.same,
            ),
        }
    }
}

fn check_f32<A: Architecture, const N: usize>(
    weights: &F32Weights<A, N>,
    image: &RawImage<'_>,
    affine: InputAffine,
    sample: &[(usize, usize)],
) -> anyhow::Result<VerifyReport> {
    let (width, height) = (image.width, image.height);
    let fast = fast::scan_f32(weights, image, &affine, &ScanOptions::default())
        .map_err(|e| anyhow::anyhow!("fast path: {e}"))?;

    let mut workspace = vec![0.0f32; dense::workspace_len::<A>(width)];
    let mut streamed = vec![[0.0f32; 2]; width * height];
    dense::scan_image(weights, image, affine, &mut workspace, &mut streamed)
        .map_err(|e| anyhow::anyhow!("streaming dense scan: {e}"))?;

    let reference = fast::per_window_f32(weights, image, &affine, sample)
        .map_err(|e| anyhow::anyhow!("per-window reference: {e}"))?;
    let paths = Paths {
        precision: "f32",
        width,
        height,
        fast: &fast.logits,
        streamed: &streamed,
        reference: &reference,
        same: same_bits_f32,
    };
    Ok(paths.report(sample))
}

fn check_int8<A: Architecture, const NW: usize, const NB: usize>(
    weights: &Int8Weights<A, NW, NB>,
    image: &RawImage<'_>,
    affine: InputAffine,
    sample: &[(usize, usize)],
) -> anyhow::Result<VerifyReport> {
    let (width, height) = (image.width, image.height);
    let quant = InputQuant::from_affine(&affine);
    let fast = fast::scan_int8(weights, image, &quant, &ScanOptions::default())
        .map_err(|e| anyhow::anyhow!("fast path: {e}"))?;

    let mut activations = vec![0i8; dense::activations_len_int8::<A>(width)];
    let mut sums = vec![0i32; dense::sums_len_int8::<A>(width)];
    let mut streamed = vec![[0i32; 2]; width * height];
    dense::scan_image_int8(
        weights,
        image,
        quant,
        &mut activations,
        &mut sums,
        &mut streamed,
    )
    .map_err(|e| anyhow::anyhow!("streaming dense scan: {e}"))?;

    let reference = fast::per_window_int8(weights, image, &quant, sample)
        .map_err(|e| anyhow::anyhow!("per-window reference: {e}"))?;
    let paths = Paths {
        precision: "int8",
        width,
        height,
        fast: &fast.logits,
        streamed: &streamed,
        reference: &reference,
        same: |a, b| a == b,
    };
    Ok(paths.report(sample))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_parse_and_cut() {
        assert_eq!(
            parse_crop("4x2+1+3"),
            Ok(Crop {
                width: 4,
                height: 2,
                x: 1,
                y: 3
            })
        );
        assert!(parse_crop("4x2").is_err());
        let pixels: Vec<u16> = (0..30).collect();
        assert_eq!(
            cut(
                &pixels,
                6,
                5,
                Crop {
                    width: 2,
                    height: 2,
                    x: 4,
                    y: 3
                }
            ),
            Some(vec![22, 23, 28, 29])
        );
        assert_eq!(
            cut(
                &pixels,
                6,
                5,
                Crop {
                    width: 3,
                    height: 1,
                    x: 4,
                    y: 0
                }
            ),
            None
        );
    }
}
