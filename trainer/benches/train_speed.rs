//! Training speed of configuration 4 on this machine, in labelled pixels per second:
//! dense form on 40x40 patches (2 patches per step) and per-window form (128 windows per
//! step). Random inputs and labels, initial weights; one step is forward, loss, backward and
//! the gradient sum, as in training (the SGD update itself is negligible and left out).
//!
//! Run: `cargo bench -p bonemask-trainer --bench train_speed` (release profile). Optional
//! arguments: `dense-steps N`, `window-steps N`, `patch SIDE`, `threads N`.

use std::time::Instant;

use bonemask_core::architecture::{Architecture, Config4};
use bonemask_trainer::backend::{Backend, CpuBackend, Sample};
use bonemask_trainer::network::{Form, Plan};
use bonemask_trainer::train::initial_params;

struct Options {
    dense_steps: usize,
    window_steps: usize,
    patch: usize,
    threads: usize,
}

fn options() -> Options {
    let mut options = Options {
        dense_steps: 6,
        window_steps: 1,
        patch: 40,
        threads: 0,
    };
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    for pair in arguments.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok());
        match (pair[0].as_str(), value) {
            ("dense-steps", Some(v)) => options.dense_steps = v,
            ("window-steps", Some(v)) => options.window_steps = v,
            ("patch", Some(v)) => options.patch = v,
            ("threads", Some(v)) => options.threads = v,
            // `cargo bench` passes `--bench`; anything else unknown is ignored too.
            _ => {}
        }
    }
    options
}

fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// CPU seconds this process has used (user + system), from `/proc/self/stat`; `None` where
/// that file does not exist. On a loaded machine, labelled pixels per CPU-second times the
/// thread count estimates the rate the same machine reaches idle.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks of 1/100 s on Linux (USER_HZ).
    Some((user + system) / 100.0)
}

/// The machine's load average over the last minute, for the record.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// Runs `steps` steps of `batch`; returns labelled pixels per wall second and per CPU second.
fn measure(
    backend: &mut CpuBackend,
    params: &[f32],
    batch: &[Sample<'_>],
    steps: usize,
) -> (f64, Option<f64>) {
    let mut gradient = vec![0.0f32; params.len()];
    let labelled: usize = batch.iter().map(|s| s.labels.len()).sum();
    // One untimed step warms the buffers and caches.
    if let Err(error) = backend.batch_gradient(params, batch, &mut gradient) {
        eprintln!("benchmark step failed: {error}");
        std::process::exit(1);
    }
    let started = Instant::now();
    let cpu_started = cpu_seconds();
    for _ in 0..steps {
        gradient.fill(0.0);
        if let Err(error) = backend.batch_gradient(params, batch, &mut gradient) {
            eprintln!("benchmark step failed: {error}");
            std::process::exit(1);
        }
    }
    let pixels = (steps * labelled) as f64;
    let cpu = cpu_started
        .zip(cpu_seconds())
        .map(|(before, after)| pixels / (after - before).max(1e-9));
    (pixels / started.elapsed().as_secs_f64(), cpu)
}

fn print_rate(what: &str, (wall, cpu): (f64, Option<f64>), threads: usize) {
    match cpu {
        Some(cpu) => println!(
            "{what}: {wall:.1} labelled pixels/s wall, {cpu:.1} per CPU-second \
             (x {threads} threads = {:.1} on an idle machine)",
            cpu * threads as f64
        ),
        None => println!("{what}: {wall:.1} labelled pixels/s wall"),
    }
}

fn main() {
    let options = options();
    let geometry = Config4::GEOMETRY;
    let params = initial_params(&geometry, 1);
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.threads
    };
    println!(
        "configuration 4, {threads} threads, load average {} at start",
        load_average()
    );

    let patch = options.patch;
    let plan = Plan::dense(&geometry, patch, patch);
    let inputs: Vec<Vec<f32>> = (0..2)
        .map(|i| noise(plan.in_h() * plan.in_w(), i))
        .collect();
    let labels: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            noise(patch * patch, 10 + i)
                .iter()
                .map(|v| u8::from(*v > 0.0))
                .collect()
        })
        .collect();
    let batch: Vec<Sample<'_>> = inputs
        .iter()
        .zip(&labels)
        .map(|(input, labels)| Sample {
            input,
            labels,
            out_h: patch,
            out_w: patch,
        })
        .collect();
    let macs = plan.forward_macs() as f64 / (patch * patch) as f64;
    let Ok(mut dense) = CpuBackend::new(&geometry, Form::Dense, threads) else {
        eprintln!("cannot start {threads} threads");
        std::process::exit(1);
    };
    let rate = measure(&mut dense, &params, &batch, options.dense_steps);
    let what = format!(
        "dense {patch}x{patch} patches ({macs:.0} forward multiply-adds per labelled pixel), \
         2 per step, {} steps",
        options.dense_steps
    );
    print_rate(&what, rate, threads);

    if options.window_steps > 0 {
        let w = geometry.window;
        let windows: Vec<Vec<f32>> = (0..128).map(|i| noise(w * w, 100 + i)).collect();
        let window_labels: Vec<[u8; 1]> = (0..128).map(|i| [(i % 2) as u8]).collect();
        let batch: Vec<Sample<'_>> = windows
            .iter()
            .zip(&window_labels)
            .map(|(input, labels)| Sample {
                input,
                labels,
                out_h: 1,
                out_w: 1,
            })
            .collect();
        let Ok(mut per_window) = CpuBackend::new(&geometry, Form::Window, threads) else {
            eprintln!("cannot start {threads} threads");
            std::process::exit(1);
        };
        let rate = measure(&mut per_window, &params, &batch, options.window_steps);
        let what = format!("per window, 128 per step, {} steps", options.window_steps);
        print_rate(&what, rate, threads);
    }
}
