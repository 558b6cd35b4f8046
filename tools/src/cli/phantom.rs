//! `bonemask phantom`: writes seeded synthetic radiographs as `NAME.dcm` plus their exact
//! masks as `NAME.mask.png`, each file atomically.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::atomic::{commit_all, stage};
use crate::dicom_io::write::{radiograph_object, stage_dicom};
use crate::phantom::{Kind, generate};
use crate::png_io::encode_mask_png;

/// Arguments of `bonemask phantom`.
#[derive(Debug, Args)]
pub struct PhantomArgs {
    /// Anatomy to draw.
    #[arg(long, value_enum, default_value = "chest")]
    pub kind: Kind,
    /// Number of images.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Seed of the series; image i of seed S is the same on every machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Image size in pixels, WIDTHxHEIGHT.
    #[arg(long, default_value = "2492x1984", value_parser = parse_size)]
    pub size: (usize, usize),
    /// Output folder (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

/// Parses `WIDTHxHEIGHT`, each 1..=65535.
pub fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, got {text:?}"))?;
    let parse = |s: &str| -> Result<usize, String> {
        let v: usize = s.trim().parse().map_err(|_| format!("not a size: {s:?}"))?;
        if (1..=65535).contains(&v) {
            Ok(v)
        } else {
            Err(format!("{v} is not in 1..=65535"))
        }
    };
    Ok((parse(w)?, parse(h)?))
}

/// Runs `bonemask phantom`.
pub fn run(args: &PhantomArgs) -> anyhow::Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create folder", args.output.display()))?;
    let (width, height) = args.size;
    let kind = match args.kind {
        Kind::Chest => "chest",
        Kind::Hand => "hand",
    };
    let bar = super::progress::bar(args.count, "phantoms");
    // Images one after another; each image is parallel inside.
    for index in 0..args.count {
        let name = format!("{kind}-s{}-{index:04}", args.seed);
        let dcm = args.output.join(format!("{name}.dcm"));
        let png = args.output.join(format!("{name}.mask.png"));
        let started = std::time::Instant::now();
        let p = generate(args.kind, args.seed, index, width, height);
        log::info!(
            "{name}: generated in {:.2} s",
            started.elapsed().as_secs_f64()
        );
        let (obj, mask) = rayon::join(
            || radiograph_object(&p.radiograph, &dcm),
            || stage(&png, |w| encode_mask_png(w, width, height, &p.mask)),
        );
        let staged = vec![
            stage_dicom(&dcm, &obj?).with_context(|| format!("{}: writing", dcm.display()))?,
            mask.with_context(|| format!("{}: writing", png.display()))?,
        ];
        commit_all(staged).with_context(|| format!("{}: moving outputs into place", name))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}
