//! The training loop end to end on tiny problems: it learns an easy task, it is deterministic
//! for a seed, a resumed run continues bit for bit, weights files read back in core, and the
//! CUDA device is refused with a typed error.

mod common;

use bonemask_core::architecture::Architecture;
use bonemask_core::int8::Int8Weights;
use bonemask_core::weights::F32Weights;
use bonemask_core::weights_file::{read_f32, read_int8};
use bonemask_trainer::{
    Device, EpochProgress, Mode, Schedule, TrainError, TrainSettings, TrainedModel, train,
};
use common::{Small, disc_image};

fn settings(mode: Mode, epochs: u32) -> TrainSettings {
    let mut settings = TrainSettings::with_geometry(Small::GEOMETRY);
    settings.mode = mode;
    settings.epochs = epochs;
    settings.seed = 7;
    settings.learning_rate = 0.05;
    settings.labelled_per_epoch = 1536;
    settings.batch_size = Some(match mode {
        Mode::Window => 32,
        Mode::Dense { .. } => 2,
    });
    settings.auto_areas.side = 16;
    settings.threads = 2;
    settings
}

fn images() -> Vec<bonemask_trainer::TrainingImage> {
    (0..3).map(|seed| disc_image(40, seed)).collect()
}

fn run(settings: &TrainSettings) -> (TrainedModel, Vec<EpochProgress>) {
    let mut reports = Vec::new();
    let model = train(settings, &images(), &mut |report| {
        if report.epoch_done {
            reports.push(*report);
        }
    });
    match model {
        Ok(model) => (model, reports),
        Err(error) => panic!("training failed: {error}"),
    }
}

#[test]
fn dense_training_learns_a_bright_disc() {
    let (model, reports) = run(&settings(Mode::Dense { patch: 8 }, 6));
    let (first, last) = (reports[0], reports[reports.len() - 1]);
    println!("first epoch {first:?}\nlast epoch {last:?}");
    assert!(
        last.loss < 0.5 * first.loss,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy > 0.95, "accuracy {}", last.accuracy);
    assert_eq!(model.history.len(), 6);
    assert_eq!(model.provenance.epochs, 6);
}

#[test]
fn window_training_learns_a_bright_disc() {
    let (_, reports) = run(&settings(Mode::Window, 4));
    let (first, last) = (reports[0], reports[reports.len() - 1]);
    println!("first epoch {first:?}\nlast epoch {last:?}");
    assert!(
        last.loss < first.loss,
        "loss {} -> {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy > 0.9, "accuracy {}", last.accuracy);
}

fn bits(params: &[f32]) -> Vec<u32> {
    params.iter().map(|p| p.to_bits()).collect()
}

#[test]
fn a_seed_gives_identical_weights_for_any_thread_count() {
    let mut base = settings(Mode::Dense { patch: 6 }, 2);
    base.labelled_per_epoch = 400;
    let (one, _) = run(&base);
    let (again, _) = run(&base);
    assert_eq!(bits(&one.params), bits(&again.params));
    let mut single = base.clone();
    single.threads = 1;
    let (single, _) = run(&single);
    assert_eq!(bits(&one.params), bits(&single.params));
    let mut other_seed = base.clone();
    other_seed.seed += 1;
    let (other, _) = run(&other_seed);
    assert_ne!(bits(&one.params), bits(&other.params));
}

#[test]
fn a_resumed_run_continues_bit_for_bit() {
    let directory = std::env::temp_dir().join(format!("bonemask-resume-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let checkpoint = directory.join("run.ckpt");
    let after_two = directory.join("after-two.ckpt");

    let mut full = settings(Mode::Dense { patch: 6 }, 3);
    full.labelled_per_epoch = 400;
    full.checkpoint = Some(checkpoint.clone());
    let mut saved = false;
    let uninterrupted = train(&full, &images(), &mut |report| {
        if report.epoch_done && report.epoch == 2 {
            saved = std::fs::copy(&checkpoint, &after_two).is_ok();
        }
    })
    .unwrap();
    assert!(
        saved,
        "the checkpoint of epoch 2 exists when epoch 2 is reported"
    );

    let mut resumed_settings = full.clone();
    resumed_settings.resume = Some(after_two.clone());
    resumed_settings.checkpoint = None;
    let resumed = train(&resumed_settings, &images(), &mut |_| {}).unwrap();
    assert_eq!(bits(&uninterrupted.params), bits(&resumed.params));
    assert_eq!(resumed.history.len(), 3);

    // Another seed may not resume this run.
    let mut foreign = resumed_settings.clone();
    foreign.seed += 1;
    let error = train(&foreign, &images(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, TrainError::CheckpointMismatch { .. }),
        "{error}"
    );
    // A damaged file is reported as such.
    let mut bytes = std::fs::read(&after_two).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&after_two, bytes).unwrap();
    let error = train(&resumed_settings, &images(), &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, TrainError::CheckpointFormat { .. }),
        "{error}"
    );
    std::fs::remove_dir_all(&directory).ok();
}

#[test]
fn weights_files_read_back_in_core() {
    let mut quick = settings(Mode::Dense { patch: 6 }, 1);
    quick.labelled_per_epoch = 100;
    quick.description = "tiny test run".into();
    quick.schedule = Schedule::Constant;
    let (model, _) = run(&quick);

    let bytes = model.f32_file_as::<Small, { Small::PARAMS }>().unwrap();
    let mut weights = F32Weights::<Small, { Small::PARAMS }>::boxed();
    let header = read_f32(&bytes, &mut weights).unwrap();
    assert_eq!(bits(weights.params()), bits(&model.params));
    assert_eq!(header.provenance.seed, 7);
    assert_eq!(header.provenance.epochs, 1);
    assert_eq!(header.provenance.description.as_str(), "tiny test run");
    assert_eq!(header.scaling, model.scaling);

    let bytes = model
        .int8_file_as::<Small, { Small::PARAMS }, { Small::WEIGHTS }, { Small::BIASES }>()
        .unwrap();
    let mut int8 = Box::new(Int8Weights::<Small, { Small::WEIGHTS }, { Small::BIASES }>::zeroed());
    read_int8(&bytes, &mut int8).unwrap();

    // A table outside configurations 1-4 has no run-time dispatch.
    assert!(matches!(
        model.f32_file(),
        Err(TrainError::NotAConfiguration)
    ));
}

#[test]
fn configuration_4_exports_through_the_run_time_dispatch() {
    let settings = TrainSettings::for_configuration(4).unwrap();
    let model = TrainedModel {
        geometry: settings.geometry,
        params: bonemask_trainer::train::initial_params(&settings.geometry, 1),
        scaling: settings.scaling,
        provenance: bonemask_core::weights_file::Provenance::untrained(1),
        history: Vec::new(),
    };
    let bytes = model.f32_file().unwrap();
    let mut weights = bonemask_core::Weights4::boxed();
    read_f32(&bytes, &mut weights).unwrap();
    assert!(model.int8_file().unwrap().len() < bytes.len());
    assert!(matches!(
        TrainSettings::for_configuration(5),
        Err(TrainError::UnknownConfiguration(5))
    ));
}

#[test]
fn the_cuda_device_is_refused_with_a_typed_error() {
    let mut cuda = settings(Mode::Window, 1);
    cuda.device = Device::Cuda;
    let error = train(&cuda, &images(), &mut |_| {}).unwrap_err();
    assert!(matches!(error, TrainError::CudaNotBuilt));
    assert!(
        error.to_string().contains("CUDA backend is not built yet"),
        "{error}"
    );
}

#[test]
fn bad_settings_and_images_are_refused() {
    let mut bad = settings(Mode::Window, 1);
    bad.momentum = 1.0;
    assert!(matches!(
        train(&bad, &images(), &mut |_| {}),
        Err(TrainError::Setting {
            name: "momentum",
            ..
        })
    ));
    let mut broken = images();
    broken[1].mask.pop();
    let error = train(&settings(Mode::Window, 1), &broken, &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, TrainError::Image { index: 1, .. }),
        "{error}"
    );
}
