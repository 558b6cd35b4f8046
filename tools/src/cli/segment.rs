//! `bonemask segment`: labels every pixel of each input radiograph and writes, per input,
//! `NAME.mask.png`, `NAME.prob.png`, `NAME.overlay.png` and `NAME.seg.dcm`.
//!
//! Inputs are DICOM files (recognised by their "DICM" marker) or greyscale PNGs. Every output
//! is written to a temporary file and renamed, so a failure leaves nothing half-written; the
//! inputs before a failing one keep their finished outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use bonemask_core::fast::ScanOptions;
use bonemask_core::weights_file::Precision;
use bonemask_core::window::RawImage;

use crate::cli::info::is_dicom;
use crate::cli::progress::bar;
use crate::dicom_io::{Radiograph, SourceInfo, read::read_radiograph_bytes};
use crate::model::Model;
use crate::output::write_outputs;
use crate::png_io::read_grey_png;

/// Number format of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    /// IEEE single precision, bit-exact with the reference.
    F32,
    /// int8 weights and activations, int32 sums.
    Int8,
}

impl From<PrecisionArg> for Precision {
    fn from(value: PrecisionArg) -> Self {
        match value {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::Int8 => Precision::Int8,
        }
    }
}

/// Arguments of `bonemask segment`.
#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// Radiographs to segment: DICOM files or greyscale PNGs.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Folder for the outputs (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Weights file; the compiled-in default model (configuration 4) when omitted.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Number format of the default model; a `--model` file carries its own.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: PrecisionArg,
    /// Worker threads; 0 uses every core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Runs `bonemask segment`.
pub fn run(args: &SegmentArgs) -> anyhow::Result<()> {
    let model = Model::load(args.model.as_deref(), args.precision.into())?;
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create output folder", args.output.display()))?;

    for input in &args.inputs {
        let radiograph = read_input(input)?;
        let name = output_name(input)?;
        let image = RawImage::new(&radiograph.pixels, radiograph.width, radiograph.height)
            .map_err(|e| anyhow::anyhow!("{}: unusable image: {e}", input.display()))?;

        let progress = bar(radiograph.height as u64, "rows");
        let report = |rows: usize| progress.set_position(rows as u64);
        let options = ScanOptions {
            threads: args.threads,
            progress: Some(&report),
            ..Default::default()
        };
        let segmentation = model
            .segment(&image, &options)
            .with_context(|| format!("{}: segmentation failed", input.display()))?;
        progress.finish_and_clear();

        let paths = write_outputs(
            &args.output,
            &name,
            &radiograph,
            &segmentation.labels,
            &segmentation.probability,
        )
        .with_context(|| format!("{}: cannot write outputs", input.display()))?;
        let bone = segmentation.labels.iter().filter(|l| **l == 1).count();
        println!(
            "{}: {}x{}, {:.1}% bone -> {}",
            input.display(),
            radiograph.width,
            radiograph.height,
            100.0 * bone as f64 / segmentation.labels.len() as f64,
            paths.mask.display()
        );
    }
    Ok(())
}

/// Reads a DICOM file or a greyscale PNG as a radiograph with bone bright.
pub fn read_input(path: &Path) -> anyhow::Result<Radiograph> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if is_dicom(&bytes) {
        return Ok(read_radiograph_bytes(path, &bytes)?);
    }
    if bytes.starts_with(b"\x89PNG") {
        let grey = read_grey_png(path)?;
        let source = SourceInfo::default();
        return Ok(Radiograph::from_pixels(
            grey.width,
            grey.height,
            grey.values,
            grey.bit_depth as u16,
            source,
        ));
    }
    bail!("{}: neither DICOM (no DICM marker) nor PNG", path.display())
}

/// The output base name of an input: its file name without the last extension.
fn output_name(path: &Path) -> anyhow::Result<String> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_string)
        .with_context(|| format!("{}: no usable file name", path.display()))
}
