//! Times the fast dense path of configuration 4 with every kernel this CPU runs, in one
//! process, so that the kernels' ratio is measured under the same load.
//!
//! Usage: `cargo run --release -p bonemask-core --example speed -- [WIDTH HEIGHT [THREADS
//! [REPEATS]]]` (defaults 512 512 2 1). Prints, per precision and kernel, the best of the
//! repeats in seconds and the arithmetic rate (a multiply-add counted as 2 operations). The
//! weights are random and the image is smooth 12-bit noise: speed does not depend on values.
//! Not here: the per-window comparison and memory figures (`bonemask bench` has them).

use std::time::Instant;

use bonemask_core::Config4;
use bonemask_core::architecture::Architecture;
use bonemask_core::fast::{self, Kernel, ScanOptions};
use bonemask_core::int8::{InputQuant, Int8Weights};
use bonemask_core::quantize::quantize;
use bonemask_core::random::{boxed_random_weights, fill_smooth_image};
use bonemask_core::scaling::InputAffine;
use bonemask_core::window::RawImage;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arguments: Vec<usize> = std::env::args()
        .skip(1)
        .map(|text| text.parse())
        .collect::<Result<_, _>>()?;
    let get = |index: usize, default: usize| arguments.get(index).copied().unwrap_or(default);
    let (width, height, threads, repeats) = (get(0, 512), get(1, 512), get(2, 2), get(3, 1));

    let mut pixels = vec![0u16; width * height];
    fill_smooth_image(&mut pixels, width, 1);
    let image = RawImage::new(&pixels, width, height)?;
    let affine = InputAffine::from_range(1000.0, 3000.0);
    let weights = boxed_random_weights::<Config4, { Config4::PARAMS }>(7);
    let mut int8 = Box::new(Int8Weights::<
        Config4,
        { Config4::WEIGHTS },
        { Config4::BIASES },
    >::zeroed());
    quantize(&*weights, &mut int8);
    let quant = InputQuant::from_affine(&affine);
    let operations = 2.0 * Config4::MACS_PER_PIXEL_DENSE as f64 * (width * height) as f64;
    println!("config 4 on {width}x{height}, {threads} threads, best of {repeats}");

    for kernel in [Kernel::Avx512Vnni, Kernel::Avx2Fma] {
        if !kernel.is_available() {
            println!(
                "skipped: kernel {} not available on this CPU",
                kernel.name()
            );
            continue;
        }
        let options = ScanOptions {
            threads,
            kernel,
            progress: None,
        };
        for precision in ["f32", "int8"] {
            let mut best = f64::INFINITY;
            for _ in 0..repeats.max(1) {
                let start = Instant::now();
                if precision == "f32" {
                    fast::scan_f32(&*weights, &image, &affine, &options)?;
                } else {
                    fast::scan_int8(&*int8, &image, &quant, &options)?;
                }
                best = best.min(start.elapsed().as_secs_f64());
            }
            println!(
                "{precision:4} {:12} {best:8.3} s {:7.1} GFLOP/s",
                kernel.name(),
                operations / best / 1e9
            );
        }
    }
    Ok(())
}
