//! The training loop the `bonemask train` command calls: settings, progress reports, epochs
//! of SGD over a [`DataSet`], a checkpoint after every epoch, resuming, and the trained model.
//!
//! Randomness comes from one seed through ChaCha8 streams: stream 0 draws the initial
//! weights, stream 1 the interest areas and samples, stream `2 + e` the order of epoch `e`.
//! The random state after `e` epochs is therefore fully given by (seed, `e`), which is what a
//! checkpoint stores; resuming from it continues bit for bit as if never interrupted.

use std::path::PathBuf;
use std::time::Instant;

use bonemask_core::architecture::{Geometry, TABLES};
use bonemask_core::scaling::InputScaling;
use bonemask_core::weights_file::{DESCRIPTION_BYTES, Provenance};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::backend::{Device, Sample, create_backend};
use crate::checkpoint::Checkpoint;
use crate::data::{AutoAreas, Balance, DataSet, DataSettings, TrainingImage, shuffle};
use crate::error::TrainError;
use crate::network::{Form, Plan};
use crate::optim::{Schedule, sgd_step};

/// How samples are evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The method's: one window per labelled pixel.
    Window,
    /// Patches of `patch x patch` labelled pixels evaluated densely.
    Dense {
        /// Side of a patch (pixels).
        patch: usize,
    },
}

/// Everything a training run needs besides the images.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSettings {
    /// The network table (from [`TrainSettings::for_configuration`], or any consistent one).
    pub geometry: Geometry,
    /// Window or dense evaluation.
    pub mode: Mode,
    /// Epochs to train (in all, counting those a resumed checkpoint already did).
    pub epochs: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Base learning rate (per unit of the mean cross-entropy's gradient).
    pub learning_rate: f32,
    /// Momentum of SGD, in [0, 1).
    pub momentum: f32,
    /// How the rate changes over epochs.
    pub schedule: Schedule,
    /// Samples per SGD step: windows (window mode) or patches (dense); `None` takes 128
    /// windows or 2 patches.
    pub batch_size: Option<usize>,
    /// Labelled pixels per epoch (rounded up to whole patches in dense mode); the method's run
    /// used 27,136 (212 batches of 128).
    pub labelled_per_epoch: usize,
    /// Class balance of the drawn samples.
    pub balance: Balance,
    /// Input scaling, stored with the model.
    pub scaling: InputScaling,
    /// Automatic interest areas for images that bring none.
    pub auto_areas: AutoAreas,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Where the arithmetic runs.
    pub device: Device,
    /// File written (atomically) after every epoch, if any.
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint to continue from, if any.
    pub resume: Option<PathBuf>,
    /// Free text stored in the weights files' provenance (cut to 96 bytes).
    pub description: String,
}

impl TrainSettings {
    /// Defaults for configuration `configuration` (1..=4): dense 40x40 patches, 50 epochs,
    /// seed 0, rate 0.01 with a cosine schedule down to 1%, momentum 0.9, 27,136 labelled
    /// pixels per epoch, equal balance, percentile scaling 0.5 / 99.5.
    pub fn for_configuration(configuration: u8) -> Result<TrainSettings, TrainError> {
        let index = usize::from(configuration)
            .checked_sub(1)
            .filter(|index| *index < TABLES.len())
            .ok_or(TrainError::UnknownConfiguration(configuration))?;
        let (window, kernels, pools) = TABLES[index];
        match Geometry::derive(window, kernels, pools) {
            Ok(geometry) => Ok(TrainSettings::with_geometry(geometry)),
            Err(_) => Err(TrainError::UnknownConfiguration(configuration)),
        }
    }

    /// The same defaults for any consistent table (tests use tiny ones).
    pub fn with_geometry(geometry: Geometry) -> TrainSettings {
        TrainSettings {
            geometry,
            mode: Mode::Dense { patch: 40 },
            epochs: 50,
            seed: 0,
            learning_rate: 0.01,
            momentum: 0.9,
            schedule: Schedule::Cosine { floor: 0.01 },
            batch_size: None,
            labelled_per_epoch: 27_136,
            balance: Balance::Equal,
            scaling: InputScaling::Percentiles {
                low: 0.5,
                high: 99.5,
            },
            auto_areas: AutoAreas::default(),
            threads: 0,
            device: Device::Cpu,
            checkpoint: None,
            resume: None,
            description: String::new(),
        }
    }

    /// Samples per SGD step after defaults.
    pub fn effective_batch(&self) -> usize {
        match (self.batch_size, self.mode) {
            (Some(size), _) => size,
            (None, Mode::Window) => 128,
            (None, Mode::Dense { .. }) => 2,
        }
    }

    fn form(&self) -> Form {
        match self.mode {
            Mode::Window => Form::Window,
            Mode::Dense { .. } => Form::Dense,
        }
    }

    fn validate(&self) -> Result<(), TrainError> {
        let fail = |name, reason: &str| {
            Err(TrainError::Setting {
                name,
                reason: reason.to_string(),
            })
        };
        if self.epochs == 0 {
            return fail("epochs", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return fail("learning_rate", "must be a positive number");
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return fail("momentum", "must be in [0, 1)");
        }
        if self.effective_batch() == 0 {
            return fail("batch_size", "must be at least 1");
        }
        if self.labelled_per_epoch == 0 {
            return fail("labelled_per_epoch", "must be at least 1");
        }
        if let Mode::Dense { patch: 0 } = self.mode {
            return fail("mode", "a dense patch needs a side of at least 1 pixel");
        }
        if self.auto_areas.side == 0 {
            return fail("auto_areas.side", "must be at least 1 pixel");
        }
        Ok(())
    }

    /// The settings that shape the trajectory, as text: a checkpoint only resumes a run whose
    /// fingerprint matches (the number of epochs may grow).
    pub(crate) fn fingerprint(&self) -> String {
        format!(
            "{:?}|{:?}|{}|{}|{}|{:?}|{:?}|{}|{:?}|{:?}|{:?}",
            self.geometry.kernels,
            self.mode,
            self.seed,
            self.learning_rate,
            self.momentum,
            self.schedule,
            self.effective_batch(),
            self.labelled_per_epoch,
            self.balance,
            self.scaling,
            (self.geometry.window, self.geometry.pools, self.auto_areas),
        )
    }
}

/// What the progress callback receives after every batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochProgress {
    /// Epoch, from 1.
    pub epoch: u32,
    /// Epochs of the run.
    pub epochs: u32,
    /// Batches done in this epoch.
    pub batch: usize,
    /// Batches of an epoch.
    pub batches: usize,
    /// Mean cross-entropy (nats per labelled pixel) so far in this epoch.
    pub loss: f64,
    /// Fraction of labelled pixels labelled right so far in this epoch (0..=1).
    pub accuracy: f64,
    /// Labelled pixels trained on so far in this epoch.
    pub labelled_pixels: u64,
    /// Labelled pixels per second of wall time so far in this epoch.
    pub pixels_per_second: f64,
    /// Learning rate of this epoch.
    pub learning_rate: f32,
    /// True on the last report of the epoch (after its checkpoint was written).
    pub epoch_done: bool,
}

/// The record of one finished epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochSummary {
    /// Epoch, from 1.
    pub epoch: u32,
    /// Mean cross-entropy (nats per labelled pixel).
    pub loss: f64,
    /// Fraction of labelled pixels labelled right.
    pub accuracy: f64,
    /// Labelled pixels trained on.
    pub labelled_pixels: u64,
    /// Wall time (seconds).
    pub seconds: f64,
    /// Learning rate.
    pub learning_rate: f32,
}

/// The result of a run: parameters in `bonemask_core`'s `Layout` order and what the weights
/// files need besides them (see [`crate::export`]).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainedModel {
    /// The network table.
    pub geometry: Geometry,
    /// `geometry.layout.params` parameters.
    pub params: Vec<f32>,
    /// Input scaling the model was trained with.
    pub scaling: InputScaling,
    /// Seed, epochs, labelled pixels per epoch, description.
    pub provenance: Provenance,
    /// One entry per epoch trained (including those before a resume).
    pub history: Vec<EpochSummary>,
}

/// A random generator on `stream` of `seed`.
pub(crate) fn stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// Initial parameters: weights uniform in `+-sqrt(3 / fan_in)` (unit variance of each
/// pre-activation for unit-variance inputs), biases zero.
pub fn initial_params(geometry: &Geometry, seed: u64) -> Vec<f32> {
    let mut rng = stream(seed, 0);
    let plan = Plan::window(geometry);
    let layout = geometry.layout;
    let mut params = vec![0.0f32; layout.params];
    let starts = [
        layout.conv_weights[0],
        layout.conv_weights[1],
        layout.conv_weights[2],
        layout.hidden_weights,
        layout.output_weights,
    ];
    for (shape, start) in plan.layers().iter().zip(starts) {
        let bound = (3.0 / shape.taps() as f64).sqrt();
        for param in &mut params[start..start + shape.weights_len()] {
            let unit = (rng.next_u32() >> 8) as f64 / (1u32 << 24) as f64;
            *param = ((2.0 * unit - 1.0) * bound) as f32;
        }
    }
    params
}

/// Trains a model on `data` (see the module doc for randomness and resuming).
///
/// `progress` is called after every batch. Fails before training on bad settings or images,
/// when `settings.device` is [`Device::Cuda`], or on an unreadable or foreign checkpoint; during
/// training when a checkpoint cannot be written or the parameters diverge.
pub fn train(
    settings: &TrainSettings,
    data: &[TrainingImage],
    progress: &mut dyn FnMut(&EpochProgress),
) -> Result<TrainedModel, TrainError> {
    settings.validate()?;
    let geometry = settings.geometry;
    let mut backend = create_backend(
        settings.device,
        &geometry,
        settings.form(),
        settings.threads,
    )?;

    let data_settings = DataSettings {
        window: geometry.window,
        patch: match settings.mode {
            Mode::Window => None,
            Mode::Dense { patch } => Some(patch),
        },
        labelled_pixels: settings.labelled_per_epoch,
        balance: settings.balance,
        scaling: settings.scaling,
        auto_areas: settings.auto_areas,
    };
    let data_set = DataSet::build(data, &data_settings, &mut stream(settings.seed, 1))?;
    let labelled_per_epoch = data_set.labelled_pixels();
    log::info!(
        "training on {} ({} samples, {labelled_per_epoch} labelled pixels per epoch)",
        backend.name(),
        data_set.samples.len()
    );

    let mut state = match &settings.resume {
        Some(path) => Checkpoint::read(path, settings)?,
        None => Checkpoint::start(settings, initial_params(&geometry, settings.seed)),
    };

    let batch_size = settings.effective_batch();
    let batches = data_set.samples.len().div_ceil(batch_size);
    let mut gradient = vec![0.0f32; geometry.layout.params];
    let mut inputs: Vec<(Vec<f32>, Vec<u8>)> = Vec::new();

    for epoch in state.epochs_done..settings.epochs {
        let started = Instant::now();
        let rate = settings
            .schedule
            .rate(settings.learning_rate, epoch, settings.epochs);
        let mut order: Vec<usize> = (0..data_set.samples.len()).collect();
        shuffle(&mut stream(settings.seed, 2 + epoch as u64), &mut order);

        let mut report = EpochProgress {
            epoch: epoch + 1,
            epochs: settings.epochs,
            batch: 0,
            batches,
            loss: 0.0,
            accuracy: 0.0,
            labelled_pixels: 0,
            pixels_per_second: 0.0,
            learning_rate: rate,
            epoch_done: false,
        };
        let mut totals = crate::layers::loss::LossSum::default();
        for (batch_index, indices) in order.chunks(batch_size).enumerate() {
            inputs.resize_with(indices.len(), Default::default);
            for (index, (input, labels)) in indices.iter().zip(inputs.iter_mut()) {
                data_set.cut(&data_set.samples[*index], input, labels);
            }
            let samples: Vec<Sample<'_>> = indices
                .iter()
                .zip(&inputs)
                .map(|(index, (input, labels))| {
                    let area = data_set.samples[*index].area;
                    Sample {
                        input,
                        labels,
                        out_h: area.height,
                        out_w: area.width,
                    }
                })
                .collect();

            gradient.fill(0.0);
            let sum = backend.batch_gradient(&state.params, &samples, &mut gradient)?;
            sgd_step(
                &mut state.params,
                &mut state.velocity,
                &gradient,
                rate,
                settings.momentum,
            );
            totals.add(&sum);

            let seconds = started.elapsed().as_secs_f64().max(1e-9);
            report.batch = batch_index + 1;
            report.loss = totals.loss / totals.labelled.max(1) as f64;
            report.accuracy = totals.correct as f64 / totals.labelled.max(1) as f64;
            report.labelled_pixels = totals.labelled;
            report.pixels_per_second = totals.labelled as f64 / seconds;
            progress(&report);
        }

        if state.params.iter().any(|p| !p.is_finite()) {
            return Err(TrainError::Diverged { epoch: epoch + 1 });
        }
        state.epochs_done = epoch + 1;
        state.history.push(EpochSummary {
            epoch: epoch + 1,
            loss: report.loss,
            accuracy: report.accuracy,
            labelled_pixels: report.labelled_pixels,
            seconds: started.elapsed().as_secs_f64(),
            learning_rate: rate,
        });
        log::info!(
            "epoch {}/{}: loss {:.4}, accuracy {:.4}, {:.0} labelled pixels/s",
            epoch + 1,
            settings.epochs,
            report.loss,
            report.accuracy,
            report.pixels_per_second
        );
        if let Some(path) = &settings.checkpoint {
            state.write(path)?;
        }
        report.epoch_done = true;
        progress(&report);
    }

    let mut description = heapless::String::<DESCRIPTION_BYTES>::new();
    for character in settings.description.chars() {
        if description.push(character).is_err() {
            break;
        }
    }
    Ok(TrainedModel {
        geometry,
        params: state.params,
        scaling: settings.scaling,
        provenance: Provenance {
            seed: settings.seed,
            epochs: state.epochs_done,
            labelled_pixels: labelled_per_epoch,
            description,
        },
        history: state.history,
    })
}
