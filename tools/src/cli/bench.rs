//! `bonemask bench`: times the fast dense path on one image and compares it with the paper's
//! window-by-window scan, measured in the same process.
//!
//! `--kernel` may be given more than once: the dense scan is then timed with each kernel in
//! turn, in the same process on the same image and weights, and the report gives each one's
//! time against the first's.
//!
//! The per-window figure is timed on a sample of windows with the reference forward pass and
//! extrapolated to every pixel (scanning a full image window by window would take hours). The
//! weights are random (seeded): speed does not depend on their values.

use std::time::Instant;

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde::Serialize;

use bonemask_core::architecture::{Architecture, Config1, Config2, Config3, Config4};
use bonemask_core::fast::{self, Kernel, ScanOptions};
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
    /// Kernel of the dense scan; repeat the option to time several in the same run (the
    /// first is the baseline of the ratios). A kernel the CPU lacks is an error.
    #[arg(long, value_enum)]
    pub kernel: Vec<KernelArg>,
    /// Windows timed one by one for the per-window comparison.
    #[arg(long, default_value_t = 4)]
    pub windows: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The row kernels `--kernel` can force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    /// The fastest this CPU runs.
    Auto,
    /// x86-64 AVX-512 F, BW, VL and VNNI.
    #[value(name = "avx512-vnni")]
    Avx512Vnni,
    /// x86-64 AVX2 and FMA.
    Avx2,
    /// Plain Rust.
    Portable,
}

impl From<KernelArg> for Kernel {
    fn from(value: KernelArg) -> Self {
        match value {
            KernelArg::Auto => Kernel::detect(),
            KernelArg::Avx512Vnni => Kernel::Avx512Vnni,
            KernelArg::Avx2 => Kernel::Avx2Fma,
            KernelArg::Portable => Kernel::Portable,
        }
    }
}

/// The dense scan timed with one more kernel (`--kernel` given more than once).
#[derive(Debug, Serialize)]
pub struct KernelTiming {
    /// Kernel that ran.
    pub kernel: &'static str,
    /// Seconds for the dense scan of the whole image.
    pub seconds: f64,
    /// Arithmetic rate, 10^9 operations per second.
    pub gflops: f64,
    /// `seconds` over the first kernel's seconds.
    pub ratio_to_first: f64,
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
    /// The same scan with the further kernels of `--kernel`, in order.
    pub other_kernels: Vec<KernelTiming>,
    /// Peak resident memory of the process, MiB (Linux; 0 where unknown), over every scan.
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
    for other in &report.other_kernels {
        println!(
            "  with {:12}    {:.3} s, {:.1} GFLOP/s, {:.2}x the time of {}",
            other.kernel, other.seconds, other.gflops, other.ratio_to_first, report.kernel
        );
    }
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
    let kernels: Vec<Kernel> = if args.kernel.is_empty() {
        vec![Kernel::detect()]
    } else {
        args.kernel.iter().map(|&k| Kernel::from(k)).collect()
    };
    let mut int8 = Box::new(Int8Weights::<A, NW, NB>::zeroed());
    if args.precision == PrecisionArg::Int8 {
        quantize(&weights, &mut int8);
    }
    let quant = InputQuant::from_affine(&affine);
    let operations = 2.0 * A::MACS_PER_PIXEL_DENSE as f64 * (width * height) as f64;
    reset_peak_rss();

    let mut timings = Vec::new();
    for kernel in kernels {
        let options = ScanOptions {
            threads,
            kernel,
            progress: None,
        };
        let context =
            |e: fast::FastError| anyhow::anyhow!("dense scan with kernel {}: {e}", kernel.name());
        let start = Instant::now();
        match args.precision {
            PrecisionArg::F32 => {
                fast::scan_f32(&weights, &image, &affine, &options).map_err(context)?;
            }
            PrecisionArg::Int8 => {
                fast::scan_int8(&int8, &image, &quant, &options).map_err(context)?;
            }
        }
        timings.push((kernel.name(), start.elapsed().as_secs_f64()));
    }
    let peak_rss_mib = peak_rss_mib();
    let (kernel, seconds) = timings[0];
    let other_kernels = timings[1..]
        .iter()
        .map(|&(kernel, other)| KernelTiming {
            kernel,
            seconds: other,
            gflops: operations / other / 1e9,
            ratio_to_first: other / seconds,
        })
        .collect();

    let mut rng = SplitMix64::new(3);
    let sample: Vec<(usize, usize)> = (0..args.windows.max(1))
        .map(|_| (rng.below(height), rng.below(width)))
        .collect();
    let start = Instant::now();
    fast::per_window_f32(&weights, &image, &affine, &sample)
        .map_err(|e| anyhow::anyhow!("per-window scan: {e}"))?;
    let seconds_per_window = start.elapsed().as_secs_f64() / sample.len() as f64;
    let per_window_seconds = seconds_per_window * (width * height) as f64;
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
        other_kernels,
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
