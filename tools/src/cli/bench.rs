//! `bonemask bench`: times the fast dense path on one image and compares it with the paper's
//! window-by-window scan, measured in the same process.
//!
//! The per-window figure is timed on a sample of windows with the reference forward pass and
//! extrapolated to every pixel (scanning a full image window by window would take hours). The
//! weights are random (seeded): speed does not depend on their values.

use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use bonemask_core::architecture::{Architecture, Config1, Config2, Config3, Config4};
use bonemask_core::fast::{self, ScanOptions};
use bonemask_core::int8::{InputQuant, Int8Weights};
use bonemask_core::quantize::quantize;
use bonemask_core::random::{SplitMix64, boxed_random_weights, fill_smooth_image};
use bonemask_core::scaling::InputAffine;
use bonemask_core::window::RawImage;

use crate::cli::segment::PrecisionArg;

/// Arguments of `bonemask bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Image size as WIDTHxHEIGHT in pixels.
    #[arg(long, default_value = "2492x1984", value_parser = parse_size)]
    pub size: (usize, usize),
    /// Network configuration, 1..=4.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub config: u8,
    /// Number format.
    #[arg(long, value_enum, default_value = "f32")]
    pub precision: PrecisionArg,
    /// Worker threads; 0 uses every core.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Windows timed one by one for the per-window comparison.
    #[arg(long, default_value_t = 4)]
    pub windows: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What one run measured.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Configuration number.
    pub config: u8,
    /// "f32" or "int8".
    pub precision: &'static str,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
    /// Threads used.
    pub threads: usize,
    /// Kernel that ran.
    pub kernel: &'static str,
    /// Seconds for the dense scan of the whole image.
    pub seconds: f64,
    /// Arithmetic rate, counting a multiply-add as 2 operations, 10^9 per second.
    pub gflops: f64,
    /// Peak resident memory of the process, MiB (Linux; 0 where unknown).
    pub peak_rss_mib: f64,
    /// Seconds one window takes on its own (mean of the sample).
    pub seconds_per_window: f64,
    /// Extrapolated seconds to scan every pixel window by window.
    pub per_window_seconds: f64,
    /// `per_window_seconds / seconds`.
    pub speedup_over_per_window: f64,
}

/// Parses `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let (width, height) = text.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT")?;
    let width: usize = width.trim().parse().map_err(|_| "width is not a number")?;
    let height: usize = height
        .trim()
        .parse()
        .map_err(|_| "height is not a number")?;
    if width == 0 || height == 0 {
        return Err("width and height must be at least 1".into());
    }
    Ok((width, height))
}

/// Runs `bonemask bench`.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let report = match args.config {
        1 => {
            measure::<Config1, { Config1::PARAMS }, { Config1::WEIGHTS }, { Config1::BIASES }>(args)
        }
        2 => {
            measure::<Config2, { Config2::PARAMS }, { Config2::WEIGHTS }, { Config2::BIASES }>(args)
        }
        3 => {
            measure::<Config3, { Config3::PARAMS }, { Config3::WEIGHTS }, { Config3::BIASES }>(args)
        }
        4 => {
            measure::<Config4, { Config4::PARAMS }, { Config4::WEIGHTS }, { Config4::BIASES }>(args)
        }
        other => bail!("configuration {other} does not exist (1..=4)"),
    }?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn print_report(report: &BenchReport) {
    println!(
        "config {} {} on {}x{}, {} threads, kernel {}",
        report.config, report.precision, report.width, report.height, report.threads, report.kernel
    );
    println!(
        "dense scan          {:.3} s, {:.1} GFLOP/s",
        report.seconds, report.gflops
    );
    println!("peak memory         {:.0} MiB", report.peak_rss_mib);
    println!(
        "per-window scan     {:.4} s per window, {:.0} s extrapolated ({:.0}x slower)",
        report.seconds_per_window, report.per_window_seconds, report.speedup_over_per_window
    );
}

fn measure<A: Architecture, const N: usize, const NW: usize, const NB: usize>(
    args: &BenchArgs,
) -> anyhow::Result<BenchReport> {
    let (width, height) = args.size;
    let mut pixels = vec![0u16; width * height];
    fill_smooth_image(&mut pixels, width, 1);
    let image =
        RawImage::new(&pixels, width, height).map_err(|e| anyhow::anyhow!("bench image: {e}"))?;
    let affine = InputAffine::from_range(1000.0, 3000.0);
    let weights = boxed_random_weights::<A, N>(7);
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let options = ScanOptions {
        threads,
        ..Default::default()
    };
    reset_peak_rss();

    let (seconds, kernel) = match args.precision {
        PrecisionArg::F32 => {
            let start = Instant::now();
            let output = fast::scan_f32(&weights, &image, &affine, &options)
                .map_err(|e| anyhow::anyhow!("dense scan: {e}"))?;
            (start.elapsed().as_secs_f64(), output.kernel.name())
        }
        PrecisionArg::Int8 => {
            let mut int8 = Box::new(Int8Weights::<A, NW, NB>::zeroed());
            quantize(&weights, &mut int8);
            let quant = InputQuant::from_affine(&affine);
            let start = Instant::now();
            let output = fast::scan_int8(&int8, &image, &quant, &options)
                .map_err(|e| anyhow::anyhow!("dense scan: {e}"))?;
            (start.elapsed().as_secs_f64(), output.kernel.name())
        }
    };
    let peak_rss_mib = peak_rss_mib();

    let mut rng = SplitMix64::new(3);
    let sample: Vec<(usize, usize)> = (0..args.windows.max(1))
        .map(|_| (rng.below(height), rng.below(width)))
        .collect();
    let start = Instant::now();
    fast::per_window_f32(&weights, &image, &affine, &sample)
        .map_err(|e| anyhow::anyhow!("per-window scan: {e}"))?;
    let seconds_per_window = start.elapsed().as_secs_f64() / sample.len() as f64;
    let per_window_seconds = seconds_per_window * (width * height) as f64;

    let operations = 2.0 * A::MACS_PER_PIXEL_DENSE as f64 * (width * height) as f64;
    Ok(BenchReport {
        config: A::ID,
        precision: match args.precision {
            PrecisionArg::F32 => "f32",
            PrecisionArg::Int8 => "int8",
        },
        width,
        height,
        threads,
        kernel,
        seconds,
        gflops: operations / seconds / 1e9,
        peak_rss_mib,
        seconds_per_window,
        per_window_seconds,
        speedup_over_per_window: per_window_seconds / seconds,
    })
}

/// Resets the kernel's peak-RSS counter (Linux 4.0+), so the figure covers the scan alone.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The process's peak resident set (VmHWM) in MiB, or 0 where /proc is unavailable.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2492x1984"), Ok((2492, 1984)));
        assert_eq!(parse_size("7X3"), Ok((7, 3)));
        assert!(parse_size("0x3").is_err());
        assert!(parse_size("12").is_err());
        assert!(parse_size("ax3").is_err());
    }
}
