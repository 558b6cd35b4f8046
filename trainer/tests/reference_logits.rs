//! The training forward pass against `bonemask_core::reference::forward_window`: logits within
//! 1e-4 relative (of max(1, |reference|)) in window form and in dense form, on random weights.

mod common;

use bonemask_core::architecture::{Architecture, Config1};
use bonemask_core::reference::{forward_window, scratch_len};
use bonemask_core::weights::F32Weights;
use bonemask_trainer::network::{Form, PackedParams, Plan, Workspace, forward};
use bonemask_trainer::train::initial_params;
use common::{Lcg, Pools, Small};

const TOLERANCE: f32 = 1e-4;

fn check<A: Architecture, const N: usize>(seed: u64, patch: usize) {
    let geometry = A::GEOMETRY;
    let mut params = initial_params(&geometry, seed);
    // Non-zero biases, so that their paths are compared too.
    let mut rng = Lcg(seed);
    for stage in 0..3 {
        let start = geometry.layout.conv_biases[stage];
        for bias in &mut params[start..start + 36] {
            *bias = (rng.unit() - 0.5) as f32 * 0.2;
        }
    }
    let mut weights = F32Weights::<A, N>::boxed();
    weights.params_mut().copy_from_slice(&params);

    let side = patch + geometry.window - 1;
    let input: Vec<f32> = (0..side * side)
        .map(|_| (2.0 * rng.unit() - 1.0) as f32)
        .collect();
    let dense_plan = Plan::dense(&geometry, patch, patch);
    let packed = PackedParams::pack(&dense_plan, &params);
    let mut work = Workspace::default();
    let dense = forward(&dense_plan, &packed, &input, &mut work).to_vec();

    let window_plan = Plan::window(&geometry);
    assert_eq!(window_plan.form, Form::Window);
    let mut scratch = vec![0.0f32; scratch_len::<A>()];
    let w = geometry.window;
    for y in 0..patch {
        for x in 0..patch {
            let window: Vec<f32> = (0..w)
                .flat_map(|row| input[(y + row) * side + x..(y + row) * side + x + w].to_vec())
                .collect();
            let reference = match forward_window(&*weights, &window, &mut scratch) {
                Ok(prediction) => prediction.logits,
                Err(error) => panic!("reference refused the window: {error:?}"),
            };
            let windowed = forward(&window_plan, &packed, &window, &mut work).to_vec();
            for class in 0..2 {
                let want = reference[class];
                let bound = TOLERANCE * want.abs().max(1.0);
                let got_dense = dense[(y * patch + x) * 2 + class];
                let got_window = windowed[class];
                assert!(
                    (got_dense - want).abs() <= bound,
                    "dense pixel ({y}, {x}) logit {class}: got {got_dense}, reference {want}"
                );
                assert!(
                    (got_window - want).abs() <= bound,
                    "window ({y}, {x}) logit {class}: got {got_window}, reference {want}"
                );
            }
        }
    }
}

#[test]
fn small_table_logits_match_the_reference() {
    check::<Small, { Small::PARAMS }>(1, 5);
}

#[test]
fn dilated_pools_logits_match_the_reference() {
    check::<Pools, { Pools::PARAMS }>(2, 3);
}

#[test]
fn configuration_1_logits_match_the_reference() {
    check::<Config1, { Config1::PARAMS }>(3, 1);
}
