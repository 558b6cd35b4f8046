//! The one error type of the trainer: every variant names what failed and, where known, what
//! to do about it.

use std::path::PathBuf;

use bonemask_core::weights_file::WeightsError;

/// Why training, resuming or exporting failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A training image is unusable (empty, or pixel or mask count not `width * height`).
    #[error("training image {index}: {reason}")]
    Image {
        /// Position of the image in the data given to `train`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An interest-area file does not parse.
    #[error("interest areas, line {line}: {reason} (expected `x y w h` in pixels)")]
    AreaSyntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// An interest area reaches outside its image.
    #[error(
        "training image {index}: interest area {area:?} reaches outside the {width}x{height} image"
    )]
    AreaOutside {
        /// Position of the image.
        index: usize,
        /// The rectangle as (x, y, w, h) in pixels.
        area: (usize, usize, usize, usize),
        /// Image columns.
        width: usize,
        /// Image rows.
        height: usize,
    },
    /// No labelled pixel lies in any interest area.
    #[error("the interest areas hold no pixel; give at least one image with non-empty areas")]
    NoSamples,
    /// Balanced sampling needs both classes but the interest areas hold only one.
    #[error(
        "the interest areas hold no {class} pixel, but balanced sampling needs both classes; \
         add areas that contain {class}, or use natural balance"
    )]
    MissingClass {
        /// "bone" or "other".
        class: &'static str,
    },
    /// A configuration number outside 1..=4.
    #[error("configuration {0} does not exist; choose 1, 2, 3 or 4")]
    UnknownConfiguration(u8),
    /// A setting is out of range.
    #[error("setting `{name}`: {reason}")]
    Setting {
        /// The setting's field name.
        name: &'static str,
        /// What is wrong and the accepted range.
        reason: String,
    },
    /// A sample handed to a backend does not have the sizes its labelled area implies.
    #[error("batch sample {index}: {what} holds {found} values, expected {expected}")]
    SampleSize {
        /// Position in the batch.
        index: usize,
        /// "input" or "labels".
        what: &'static str,
        /// Values needed.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// The CUDA backend was asked for.
    #[error("the CUDA backend is not built yet; train with the CPU device")]
    CudaNotBuilt,
    /// The worker threads could not be started.
    #[error("starting {threads} training threads: {reason}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// The thread pool's message.
        reason: String,
    },
    /// A checkpoint could not be read or written.
    #[error("checkpoint {path}: {source}")]
    CheckpointIo {
        /// The checkpoint file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A checkpoint file is damaged or not a checkpoint.
    #[error("checkpoint {path}: {reason}; it cannot be resumed, start again without --resume")]
    CheckpointFormat {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint belongs to a run with other settings.
    #[error(
        "checkpoint {path} was written by another run: {reason}; resume with that run's settings"
    )]
    CheckpointMismatch {
        /// The checkpoint file.
        path: PathBuf,
        /// Which setting differs.
        reason: String,
    },
    /// A parameter became NaN or infinite.
    #[error(
        "training diverged in epoch {epoch} (a parameter is NaN or infinite); \
         lower the learning rate"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: u32,
    },
    /// The model's table is not one of the four configurations, so it has no weights type to
    /// dispatch to; use the generic export with its `Config` type.
    #[error("the network table is not one of configurations 1-4; export it with `f32_file_as`")]
    NotAConfiguration,
    /// The generic export was called with another configuration type than the model's.
    #[error(
        "exporting as configuration table {expected:?}, but the model was trained as {found:?}"
    )]
    WrongExportType {
        /// Window of the type asked for.
        expected: usize,
        /// Window of the model.
        found: usize,
    },
    /// Writing the weights file failed.
    #[error("writing the weights file: {0}")]
    WeightsFile(WeightsError),
}
