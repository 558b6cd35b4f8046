//! `bonemask eval`: scores predicted masks against ground-truth masks, one PNG pair or two
//! folders of PNGs matched by file name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::metrics::{Scores, score};
use crate::png_io::read_mask_png;

/// Arguments of `bonemask eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Ground-truth mask PNG, or a folder of them (bone = value >= half the maximum).
    #[arg(long, value_name = "PATH")]
    pub truth: PathBuf,
    /// Predicted mask PNG, or a folder holding a PNG of the same name for each truth PNG.
    #[arg(long, value_name = "PATH")]
    pub pred: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One scored pair, as printed.
#[derive(Debug, Serialize)]
struct PairScores {
    name: String,
    #[serde(flatten)]
    scores: Scores,
}

/// The whole report.
#[derive(Debug, Serialize)]
struct Report {
    pairs: Vec<PairScores>,
    mean: Scores,
}

/// The PNG files of a folder, by file name.
fn pngs(dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("{}: cannot list", dir.display()))?
            .path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if let (true, Some(name)) = (is_png, path.file_name().and_then(|n| n.to_str())) {
            out.insert(name.to_string(), path);
        }
    }
    Ok(out)
}

/// The (name, truth, prediction) triples to score.
fn pairs(args: &EvalArgs) -> anyhow::Result<Vec<(String, PathBuf, PathBuf)>> {
    match (args.truth.is_dir(), args.pred.is_dir()) {
        (false, false) => {
            let name = args
                .pred
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into());
            Ok(vec![(name, args.truth.clone(), args.pred.clone())])
        }
        (true, true) => {
            let truth = pngs(&args.truth)?;
            let pred = pngs(&args.pred)?;
            let missing: Vec<&str> = truth
                .keys()
                .filter(|k| !pred.contains_key(*k))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                bail!(
                    "{}: no prediction for {} truth mask(s): {}",
                    args.pred.display(),
                    missing.len(),
                    missing.join(", ")
                );
            }
            for extra in pred.keys().filter(|k| !truth.contains_key(*k)) {
                log::warn!("{extra}: prediction without ground truth, ignored");
            }
            if truth.is_empty() {
                bail!("{}: no PNG files to evaluate", args.truth.display());
            }
            Ok(truth
                .into_iter()
                .map(|(n, t)| {
                    let p = pred[&n].clone();
                    (n, t, p)
                })
                .collect())
        }
        _ => bail!(
            "--truth and --pred must both be files or both be folders ({} vs {})",
            args.truth.display(),
            args.pred.display()
        ),
    }
}

/// Runs `bonemask eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let pairs = pairs(args)?;
    let bar = super::progress::bar(pairs.len() as u64, "eval");
    let mut scored = Vec::with_capacity(pairs.len());
    for (name, truth_path, pred_path) in pairs {
        let truth = read_mask_png(&truth_path).context("reading ground truth")?;
        let pred = read_mask_png(&pred_path).context("reading prediction")?;
        let scores = score(&truth, &pred).with_context(|| {
            format!(
                "{name}: {} vs {}",
                truth_path.display(),
                pred_path.display()
            )
        })?;
        scored.push(PairScores { name, scores });
        bar.inc(1);
    }
    bar.finish_and_clear();

    let n = scored.len() as f64;
    let mean_of = |f: fn(&Scores) -> f64| scored.iter().map(|p| f(&p.scores)).sum::<f64>() / n;
    let mean = Scores {
        pixel_error: mean_of(|s| s.pixel_error),
        rand_error: mean_of(|s| s.rand_error),
        warping_error: mean_of(|s| s.warping_error),
        dice: mean_of(|s| s.dice),
        iou: mean_of(|s| s.iou),
    };
    let report = Report {
        pairs: scored,
        mean,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{:<32} {:>11} {:>11} {:>11} {:>8} {:>8}",
        "image", "pixel err", "rand err", "warp err", "dice", "iou"
    );
    let line = |name: &str, s: &Scores| {
        println!(
            "{:<32} {:>11.6} {:>11.6} {:>11.6} {:>8.4} {:>8.4}",
            name, s.pixel_error, s.rand_error, s.warping_error, s.dice, s.iou
        );
    };
    for p in &report.pairs {
        line(&p.name, &p.scores);
    }
    if report.pairs.len() > 1 {
        line("mean", &report.mean);
    }
    Ok(())
}
