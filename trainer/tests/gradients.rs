//! Gradients of the whole network: finite differences in f64 on tiny tables, and the dense
//! form against the window form on the same pixels (f64 to 1e-10, f32 through the CPU backend
//! to 1e-4 of the largest gradient).

mod common;

use bonemask_core::architecture::{Architecture, Geometry};
use bonemask_trainer::backend::{Backend, CpuBackend, Sample};
use bonemask_trainer::layers::loss::softmax_cross_entropy;
use bonemask_trainer::network::{Form, PackedParams, Plan, Workspace, forward, sample_gradient};
use bonemask_trainer::train::initial_params;
use common::{Lcg, Pools, Small};

fn random_input(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = Lcg(seed);
    (0..len).map(|_| 2.0 * rng.unit() - 1.0).collect()
}

fn random_labels(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Lcg(seed);
    (0..len).map(|_| u8::from(rng.unit() < 0.5)).collect()
}

fn f64_params(geometry: &Geometry, seed: u64) -> Vec<f64> {
    let mut rng = Lcg(seed ^ 0x5eed);
    let mut params: Vec<f64> = initial_params(geometry, seed)
        .iter()
        .map(|p| *p as f64)
        .collect();
    // Biases too, so that their gradients are non-trivial.
    let layout = geometry.layout;
    for start in [
        layout.conv_biases[0],
        layout.conv_biases[1],
        layout.conv_biases[2],
    ] {
        for bias in &mut params[start..start + 36] {
            *bias = 0.2 * (rng.unit() - 0.5);
        }
    }
    params
}

fn loss(plan: &Plan, params: &[f64], input: &[f64], labels: &[u8]) -> f64 {
    let packed = PackedParams::pack(plan, params);
    let mut work = Workspace::default();
    let logits = forward(plan, &packed, input, &mut work).to_vec();
    let mut scratch = vec![0.0; logits.len()];
    softmax_cross_entropy(&logits, labels, 1.0, &mut scratch).loss
}

fn analytic(plan: &Plan, params: &[f64], input: &[f64], labels: &[u8]) -> Vec<f64> {
    let packed = PackedParams::pack(plan, params);
    let mut grads = PackedParams::zeros(plan);
    let mut work = Workspace::default();
    sample_gradient(plan, &packed, input, labels, 1.0, &mut work, &mut grads);
    let mut flat = vec![0.0; params.len()];
    grads.unpack_add(plan, &mut flat);
    flat
}

fn finite_differences<A: Architecture>(seed: u64, patch: usize) {
    let geometry = A::GEOMETRY;
    let plan = Plan::dense(&geometry, patch, patch);
    let params = f64_params(&geometry, seed);
    let input = random_input(plan.in_h() * plan.in_w(), seed);
    let labels = random_labels(patch * patch, seed + 1);
    let gradient = analytic(&plan, &params, &input, &labels);

    // Every bias, and weights spread over every layer.
    let layout = geometry.layout;
    let mut probes: Vec<usize> = (layout.conv_biases[0]..layout.conv_biases[0] + 4).collect();
    let mut rng = Lcg(seed + 2);
    let blocks = [
        (layout.conv_weights[0], layout.conv_biases[0]),
        (layout.conv_weights[1], layout.conv_biases[1]),
        (layout.conv_weights[2], layout.conv_biases[2]),
        (layout.hidden_weights, layout.hidden_biases),
        (layout.output_weights, layout.output_biases),
    ];
    for (start, end) in blocks {
        for _ in 0..8 {
            probes.push(start + (rng.unit() * (end - start) as f64) as usize);
        }
        probes.push(end);
    }
    probes.push(layout.params - 1);

    let step = 1e-6;
    let mut shifted = params.clone();
    for index in probes {
        shifted[index] = params[index] + step;
        let up = loss(&plan, &shifted, &input, &labels);
        shifted[index] = params[index] - step;
        let down = loss(&plan, &shifted, &input, &labels);
        shifted[index] = params[index];
        let numeric = (up - down) / (2.0 * step);
        let bound = 1e-6 * numeric.abs().max(1.0);
        assert!(
            (gradient[index] - numeric).abs() <= bound,
            "parameter {index}: backprop {:e}, finite differences {numeric:e}",
            gradient[index]
        );
    }
}

#[test]
fn whole_small_network_matches_finite_differences() {
    finite_differences::<Small>(10, 3);
}

#[test]
fn whole_network_with_dilated_pools_matches_finite_differences() {
    finite_differences::<Pools>(11, 2);
}

/// The dense gradient of a patch against the sum of the window gradients of its pixels.
fn dense_equals_windows_f64<A: Architecture>(patch: usize, seed: u64) {
    let geometry = A::GEOMETRY;
    let dense_plan = Plan::dense(&geometry, patch, patch);
    let window_plan = Plan::window(&geometry);
    let params = f64_params(&geometry, seed);
    let side = dense_plan.in_w();
    let input = random_input(side * side, seed);
    let labels = random_labels(patch * patch, seed + 1);
    let dense = analytic(&dense_plan, &params, &input, &labels);

    let w = geometry.window;
    let mut windows = vec![0.0; params.len()];
    for y in 0..patch {
        for x in 0..patch {
            let window: Vec<f64> = (0..w)
                .flat_map(|row| input[(y + row) * side + x..(y + row) * side + x + w].to_vec())
                .collect();
            let one = analytic(
                &window_plan,
                &params,
                &window,
                &labels[y * patch + x..][..1],
            );
            for (sum, value) in windows.iter_mut().zip(one) {
                *sum += value;
            }
        }
    }
    for (index, (d, s)) in dense.iter().zip(&windows).enumerate() {
        assert!(
            (d - s).abs() <= 1e-10 * s.abs().max(1.0),
            "parameter {index}: dense {d:e}, windows {s:e}"
        );
    }
}

#[test]
fn dense_and_window_gradients_agree_in_f64() {
    dense_equals_windows_f64::<Small>(4, 20);
    dense_equals_windows_f64::<Pools>(3, 21);
}

#[test]
fn dense_and_window_batches_agree_through_the_cpu_backend() {
    let geometry = Pools::GEOMETRY;
    let patch = 4;
    let params = initial_params(&geometry, 30);
    let side = patch + geometry.window - 1;
    let input: Vec<f32> = random_input(side * side, 31)
        .iter()
        .map(|v| *v as f32)
        .collect();
    let labels = random_labels(patch * patch, 32);

    let mut dense_backend = CpuBackend::new(&geometry, Form::Dense, 2).unwrap();
    let mut dense = vec![0.0f32; params.len()];
    let batch = [Sample {
        input: &input,
        labels: &labels,
        out_h: patch,
        out_w: patch,
    }];
    let dense_sum = dense_backend
        .batch_gradient(&params, &batch, &mut dense)
        .unwrap();

    let w = geometry.window;
    let windows: Vec<Vec<f32>> = (0..patch * patch)
        .map(|at| {
            let (y, x) = (at / patch, at % patch);
            (0..w)
                .flat_map(|row| input[(y + row) * side + x..(y + row) * side + x + w].to_vec())
                .collect()
        })
        .collect();
    let batch: Vec<Sample<'_>> = windows
        .iter()
        .enumerate()
        .map(|(at, window)| Sample {
            input: window,
            labels: &labels[at..at + 1],
            out_h: 1,
            out_w: 1,
        })
        .collect();
    let mut window_backend = CpuBackend::new(&geometry, Form::Window, 2).unwrap();
    let mut per_window = vec![0.0f32; params.len()];
    let window_sum = window_backend
        .batch_gradient(&params, &batch, &mut per_window)
        .unwrap();

    assert_eq!(dense_sum.labelled, window_sum.labelled);
    assert_eq!(dense_sum.correct, window_sum.correct);
    assert!((dense_sum.loss - window_sum.loss).abs() < 1e-4 * window_sum.loss.abs());
    let largest = per_window.iter().fold(0.0f32, |m, g| m.max(g.abs()));
    for (index, (d, s)) in dense.iter().zip(&per_window).enumerate() {
        assert!(
            (d - s).abs() <= 1e-4 * largest,
            "parameter {index}: dense {d:e}, windows {s:e} (largest {largest:e})"
        );
    }
}
