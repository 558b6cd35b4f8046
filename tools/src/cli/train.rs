//! `bonemask train`: trains a network on a folder of radiographs with bone masks, as the
//! `phantom` and `drr` commands write them, and exports f32 and int8 weights files.
//!
//! A folder holds `NAME.dcm` (or `NAME.png`) with `NAME.mask.png` beside it, and optionally
//! `NAME.areas.txt` (interest areas, one `x y w h` rectangle per line); without it, interest
//! areas are chosen automatically around bone edges and in bone-free areas.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use bonemask_trainer::{Device, Mode, TrainSettings, TrainingImage, parse_interest_areas, train};

use crate::atomic::write_atomically;
use crate::cli::segment::read_input;
use crate::png_io::read_mask_png;

/// How labelled pixels are evaluated during training.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One window per labelled pixel (the method's form).
    Window,
    /// Patches of labelled pixels sharing their arithmetic (dense form).
    Dense,
}

/// Where training runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    /// The host's cores.
    Cpu,
    /// An NVIDIA GPU (not built yet: answers with an error).
    Cuda,
}

/// Arguments of `bonemask train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Folder of `NAME.dcm` (or `.png`) + `NAME.mask.png` pairs.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Network configuration, 1..=4.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub config: u8,
    /// Training form.
    #[arg(long, value_enum, default_value = "dense")]
    pub mode: ModeArg,
    /// Side of a dense patch of labelled pixels.
    #[arg(long, default_value_t = 40)]
    pub patch: usize,
    /// Passes over the labelled pixels.
    #[arg(long, default_value_t = 50)]
    pub epochs: u32,
    /// Labelled pixels per epoch.
    #[arg(long, default_value_t = 27_136)]
    pub pixels_per_epoch: usize,
    /// Seed of initialisation and sampling; a run is reproducible from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Initial learning rate.
    #[arg(long, default_value_t = 0.01)]
    pub learning_rate: f32,
    /// Worker threads; 0 uses every core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Training device.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Continue from this checkpoint (written by an earlier run as MODEL.checkpoint).
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// Output base: writes MODEL.f32.weights, MODEL.int8.weights and MODEL.checkpoint.
    #[arg(short, long, value_name = "MODEL")]
    pub output: PathBuf,
}

/// Runs `bonemask train`.
pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let images = load_folder(&args.data)?;
    let settings = settings(args)?;

    let bar = ProgressBar::new(args.epochs as u64);
    let style =
        ProgressStyle::with_template("epoch {pos}/{len} [{bar:30}] {msg} {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    let mut report = |progress: &bonemask_trainer::EpochProgress| {
        bar.set_position(progress.epoch as u64 - u64::from(!progress.epoch_done));
        bar.set_message(format!(
            "loss {:.4} accuracy {:.3} {:.0} px/s",
            progress.loss, progress.accuracy, progress.pixels_per_second
        ));
        if progress.epoch_done {
            log::info!(
                "epoch {}: loss {:.4}, accuracy {:.4}, {:.0} labelled px/s",
                progress.epoch,
                progress.loss,
                progress.accuracy,
                progress.pixels_per_second
            );
        }
    };
    let model = train(&settings, &images, &mut report)
        .with_context(|| format!("training on {}", args.data.display()))?;
    bar.finish_and_clear();

    let f32_path = with_suffix(&args.output, "f32.weights");
    let int8_path = with_suffix(&args.output, "int8.weights");
    let f32_file = model.f32_file()?;
    let int8_file = model.int8_file()?;
    write_atomically(&f32_path, |w| w.write_all(&f32_file))
        .with_context(|| format!("{}: cannot write", f32_path.display()))?;
    write_atomically(&int8_path, |w| w.write_all(&int8_file))
        .with_context(|| format!("{}: cannot write", int8_path.display()))?;
    if let Some(last) = model.history.last() {
        println!(
            "trained {} epochs: loss {:.4}, accuracy {:.4} -> {}, {}",
            last.epoch,
            last.loss,
            last.accuracy,
            f32_path.display(),
            int8_path.display()
        );
    }
    Ok(())
}

fn settings(args: &TrainArgs) -> anyhow::Result<TrainSettings> {
    let mut settings = TrainSettings::for_configuration(args.config)?;
    settings.mode = match args.mode {
        ModeArg::Window => Mode::Window,
        ModeArg::Dense => Mode::Dense { patch: args.patch },
    };
    settings.epochs = args.epochs;
    settings.seed = args.seed;
    settings.learning_rate = args.learning_rate;
    settings.labelled_per_epoch = args.pixels_per_epoch;
    settings.threads = args.threads;
    settings.device = match args.device {
        DeviceArg::Cpu => Device::Cpu,
        DeviceArg::Cuda => Device::Cuda,
    };
    settings.checkpoint = Some(with_suffix(&args.output, "checkpoint"));
    settings.resume = args.resume.clone();
    // At most 96 bytes are stored: a short form of the command line.
    settings.description = format!(
        "bonemask train: config {}, {:?}, patch {}, {} epochs x {} px, rate {}, seed {}",
        args.config,
        args.mode,
        args.patch,
        args.epochs,
        args.pixels_per_epoch,
        args.learning_rate,
        args.seed,
    )
    .to_lowercase();
    Ok(settings)
}

/// `base` with `.suffix` appended to its file name.
fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

/// Every image of `dir` that has a mask beside it, sorted by name.
pub fn load_folder(dir: &Path) -> anyhow::Result<Vec<TrainingImage>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    let mut masks: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .path();
        if path.to_str().is_some_and(|p| p.ends_with(".mask.png")) {
            masks.push(path);
        }
    }
    masks.sort();

    let mut images = Vec::new();
    for mask_path in masks {
        let Some(stem) = mask_path.to_str().and_then(|p| p.strip_suffix(".mask.png")) else {
            continue;
        };
        let image_path = [".dcm", ".png"]
            .iter()
            .map(|extension| PathBuf::from(format!("{stem}{extension}")))
            .find(|candidate| candidate.exists())
            .with_context(|| {
                format!("{}: no image (.dcm or .png) beside it", mask_path.display())
            })?;
        images.push(load_pair(
            &image_path,
            &mask_path,
            Path::new(&format!("{stem}.areas.txt")),
        )?);
    }
    if images.is_empty() {
        bail!(
            "{}: no NAME.mask.png with an image beside it",
            dir.display()
        );
    }
    log::info!("{}: {} training images", dir.display(), images.len());
    Ok(images)
}

fn load_pair(
    image_path: &Path,
    mask_path: &Path,
    areas_path: &Path,
) -> anyhow::Result<TrainingImage> {
    let radiograph = read_input(image_path)?;
    let mask = read_mask_png(mask_path)?;
    if mask.width != radiograph.width || mask.height != radiograph.height {
        bail!(
            "{}: mask is {}x{}, image {} is {}x{}",
            mask_path.display(),
            mask.width,
            mask.height,
            image_path.display(),
            radiograph.width,
            radiograph.height
        );
    }
    let interest_areas = if areas_path.exists() {
        let text = std::fs::read_to_string(areas_path)
            .with_context(|| format!("{}: cannot read", areas_path.display()))?;
        Some(parse_interest_areas(&text).with_context(|| areas_path.display().to_string())?)
    } else {
        None
    };
    Ok(TrainingImage {
        width: radiograph.width,
        height: radiograph.height,
        pixels: radiograph.pixels,
        mask: mask.labels,
        interest_areas,
    })
}
