//! Times the fast dense path on configuration 4 with random weights and a random 12-bit image,
//! f32 and int8, and compares it with per-window scanning (a few windows timed with the
//! reference and extrapolated to every pixel).
//!
//! `cargo run --release -p bonemask-core --features std --example dense_speed -- [W H THREADS]`
//! (defaults: 1984 2492 2). Prints seconds, GFLOP/s (2 * 126,956 * pixels / seconds) and the
//! ratio to per-window scanning.

use std::time::Instant;

use bonemask_core::architecture::Architecture;
use bonemask_core::fast::{self, Kernel, ScanOptions};
use bonemask_core::int8::{InputQuant, Int8Weights4};
use bonemask_core::scaling::InputAffine;
use bonemask_core::window::RawImage;
use bonemask_core::{Config4, Weights4};

/// Windows timed with each per-window reference.
const WINDOWS: usize = 4;

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self, limit: f32) -> f32 {
        let unit = (self.next() >> 40) as f32 / (1u64 << 24) as f32;
        (2.0 * unit - 1.0) * limit
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arguments: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let width = arguments.first().copied().unwrap_or(1984);
    let height = arguments.get(1).copied().unwrap_or(2492);
    let threads = arguments.get(2).copied().unwrap_or(2);

    let mut random = Random(4);
    let mut weights = Weights4::boxed();
    for value in weights.params_mut().iter_mut() {
        *value = random.uniform(0.1);
    }
    let mut int8 = Box::new(Int8Weights4::zeroed());
    bonemask_core::quantize::quantize(&weights, &mut int8);
    let pixels: Vec<u16> = (0..width * height)
        .map(|_| (random.next() % 4096) as u16)
        .collect();
    let image = RawImage::new(&pixels, width, height).map_err(fast::FastError::from)?;
    let affine = InputAffine::from_range(0.0, 4095.0);
    let quant = InputQuant::from_affine(&affine);
    let options = ScanOptions {
        threads,
        ..ScanOptions::default()
    };
    let flops = 2.0 * Config4::MACS_PER_PIXEL_DENSE as f64 * (width * height) as f64;
    let ring_mb = fast::working_bytes::<Config4>(width).unwrap_or(0) as f64 / 1e6;
    println!(
        "configuration 4, {width}x{height}, {threads} threads, kernel {}, rings {ring_mb:.1} MB \
         per thread",
        options.kernel.name()
    );

    let sample: Vec<(usize, usize)> = (0..WINDOWS)
        .map(|i| (height / 2, (i * 37) % width))
        .collect();
    let start = Instant::now();
    fast::per_window_f32(&*weights, &image, &affine, &sample)?;
    let per_window_f32 = start.elapsed().as_secs_f64() / WINDOWS as f64 * (width * height) as f64;
    let start = Instant::now();
    fast::per_window_int8(&*int8, &image, &quant, &sample)?;
    let per_window_int8 = start.elapsed().as_secs_f64() / WINDOWS as f64 * (width * height) as f64;

    let (start, cpu) = (Instant::now(), cpu_seconds());
    let dense = fast::scan_f32(&*weights, &image, &affine, &options)?;
    let times = [start.elapsed().as_secs_f64(), cpu_seconds() - cpu];
    report("f32", times, flops, per_window_f32);
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let dense_int8 = fast::scan_int8(&*int8, &image, &quant, &options)?;
    let times = [start.elapsed().as_secs_f64(), cpu_seconds() - cpu];
    report("int8", times, flops, per_window_int8);

    let bone = dense.labels().filter(|l| *l as u8 == 1).count();
    let bone_int8 = dense_int8.labels().filter(|l| *l as u8 == 1).count();
    println!("bone pixels: f32 {bone}, int8 {bone_int8} (random weights: a checksum, no more)");
    if options.kernel != Kernel::Avx2Fma {
        println!("note: no AVX2+FMA on this CPU, the portable kernel was timed");
    }
    Ok(())
}

/// Prints wall seconds, GFLOP/s, CPU seconds (all threads; on a busy machine wall time
/// exceeds CPU time / threads) and the ratio to per-window scanning.
fn report(precision: &str, [seconds, cpu]: [f64; 2], flops: f64, per_window: f64) {
    println!(
        "{precision:>5}: {seconds:7.2} s wall  {:6.1} GFLOP/s  ({cpu:.2} CPU s, {:5.1} GFLOP per \
         CPU s)  per-window scan (extrapolated) {per_window:9.0} s, {:6.0}x slower",
        flops / seconds / 1e9,
        flops / cpu / 1e9,
        per_window / seconds
    );
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`, 100 ticks a
/// second); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
