//! The f32 reference forward pass against an independent f64 implementation of the same network,
//! written plainly here from the method's description. It shares no arithmetic with the crate
//! (only the random weights come from the crate's seeded generator): it applies tanh before
//! pooling (the textbook order) and lays out the parameters itself from the documented layout.

use bonemask_core::Label;
use bonemask_core::architecture::{Architecture, Config, Config1, Config2, Config3, Config4};
use bonemask_core::random::{SplitMix64, boxed_random_weights};
use bonemask_core::reference::{forward_window, scratch_len};
use bonemask_core::weights::F32Weights;

/// A plain network in f64: 36-map conv stages, tanh, max pool; 100 tanh units; 2 logits.
struct PlainNetwork {
    window: usize,
    kernels: [usize; 3],
    pools: [usize; 3],
}

impl PlainNetwork {
    fn logits(&self, params: &[f32], window: &[f32]) -> [f64; 2] {
        let mut at = 0;
        let mut take = |count: usize| {
            let block: Vec<f64> = params[at..at + count].iter().map(|v| *v as f64).collect();
            at += count;
            block
        };

        let mut maps: Vec<Vec<f64>> = vec![window.iter().map(|v| *v as f64).collect()];
        let mut side = self.window;
        for stage in 0..3 {
            let (k, p) = (self.kernels[stage], self.pools[stage]);
            let filters = take(36 * maps.len() * k * k);
            let biases = take(36);
            let conv_side = side - k + 1;
            let pooled_side = conv_side / p;
            let mut next = Vec::new();
            for map in 0..36 {
                let mut activated = vec![0.0; conv_side * conv_side];
                for y in 0..conv_side {
                    for x in 0..conv_side {
                        let mut sum = biases[map];
                        for (c, input) in maps.iter().enumerate() {
                            for ky in 0..k {
                                for kx in 0..k {
                                    let w = filters[((map * maps.len() + c) * k + ky) * k + kx];
                                    sum += w * input[(y + ky) * side + x + kx];
                                }
                            }
                        }
                        activated[y * conv_side + x] = sum.tanh();
                    }
                }
                let mut pooled = vec![f64::NEG_INFINITY; pooled_side * pooled_side];
                for y in 0..conv_side {
                    for x in 0..conv_side {
                        let slot = &mut pooled[(y / p) * pooled_side + x / p];
                        *slot = slot.max(activated[y * conv_side + x]);
                    }
                }
                next.push(pooled);
            }
            maps = next;
            side = pooled_side;
        }

        let flat: Vec<f64> = maps.concat();
        let hidden_weights = take(100 * flat.len());
        let hidden_biases = take(100);
        let hidden: Vec<f64> = (0..100)
            .map(|unit| {
                let row = &hidden_weights[unit * flat.len()..(unit + 1) * flat.len()];
                let sum: f64 = row.iter().zip(&flat).map(|(w, v)| w * v).sum();
                (sum + hidden_biases[unit]).tanh()
            })
            .collect();
        let output_weights = take(200);
        let output_biases = take(2);
        let mut logits = [0.0; 2];
        for (class, logit) in logits.iter_mut().enumerate() {
            let row = &output_weights[class * 100..(class + 1) * 100];
            *logit =
                output_biases[class] + row.iter().zip(&hidden).map(|(w, h)| w * h).sum::<f64>();
        }
        assert_eq!(
            at,
            params.len(),
            "the plain network consumed every parameter"
        );
        logits
    }
}

fn random_window(side: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..side * side).map(|_| rng.signed_unit()).collect()
}

fn compare<A: Architecture, const N: usize>(seed: u64, windows: usize) {
    let weights = boxed_random_weights::<A, N>(seed);
    let plain = PlainNetwork {
        window: A::WINDOW,
        kernels: A::KERNELS,
        pools: A::POOLS,
    };
    let mut scratch = vec![0.0; scratch_len::<A>()];
    for index in 0..windows {
        let window = random_window(A::WINDOW, seed * 100 + index as u64);
        let got = forward_window(&weights, &window, &mut scratch).unwrap();
        let want = plain.logits(weights.params(), &window);
        for (class, (got, want)) in got.logits.iter().zip(want).enumerate() {
            // Relative to the logit's magnitude, or absolute for logits below 1.
            let error = (*got as f64 - want).abs();
            let tolerance = 1e-5 * want.abs().max(1.0);
            assert!(
                error <= tolerance,
                "config {}, window {index}, logit {class}: f32 {got} vs f64 {want} \
                 (error {error:e})",
                A::ID,
            );
        }
    }
}

#[test]
fn agrees_with_f64_on_config1() {
    compare::<Config1, { Config1::PARAMS }>(1, 3);
}

#[test]
fn agrees_with_f64_on_config2() {
    compare::<Config2, { Config2::PARAMS }>(2, 2);
}

#[test]
fn agrees_with_f64_on_config3() {
    compare::<Config3, { Config3::PARAMS }>(3, 2);
}

#[test]
fn agrees_with_f64_on_config4() {
    compare::<Config4, { Config4::PARAMS }>(4, 1);
}

/// A 2x2 window through a table of 1x1 filters where only map 0 and hidden unit 0 carry
/// weight, worked out by hand with a calculator:
/// - stage 0: conv (weight 2) gives 1.0, -0.5, 2.0, 0.0; pool 2 keeps 2.0; tanh(2) = 0.96402758;
/// - stages 1, 2: weight 1, so tanh(0.96402758) = 0.74606800, tanh(0.74606800) = 0.63279732;
/// - hidden unit 0: tanh(0.63279732) = 0.55997538;
/// - logits: 0.25 + 1.5 * 0.55997538 = 1.08996307 and -0.5 * 0.55997538 = -0.27998769;
/// - bone probability: 1 / (1 + exp(-(1.08996307 + 0.27998769))) = 0.79737220.
#[test]
fn tiny_network_computed_by_hand() {
    type Tiny = Config<2, 1, 2, 1, 1, 1, 1>;
    let mut weights = F32Weights::<Tiny, { Tiny::PARAMS }>::boxed();
    let layout = Tiny::GEOMETRY.layout;
    let params = weights.params_mut();
    params[layout.conv_weights[0]] = 2.0;
    params[layout.conv_weights[1]] = 1.0;
    params[layout.conv_weights[2]] = 1.0;
    params[layout.hidden_weights] = 1.0;
    params[layout.output_weights] = -0.5;
    params[layout.output_weights + 100] = 1.5;
    params[layout.output_biases + 1] = 0.25;

    let mut scratch = vec![0.0; scratch_len::<Tiny>()];
    let prediction = forward_window(&weights, &[0.5, -0.25, 1.0, 0.0], &mut scratch).unwrap();
    assert!(
        (prediction.logits[0] - -0.279_987_7).abs() < 1e-6,
        "{:?}",
        prediction.logits
    );
    assert!(
        (prediction.logits[1] - 1.089_963_1).abs() < 1e-6,
        "{:?}",
        prediction.logits
    );
    assert_eq!(prediction.label, Label::Bone);
    assert!((prediction.bone_probability() - 0.797_372_2).abs() < 1e-6);
}
