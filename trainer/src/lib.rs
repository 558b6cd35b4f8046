//! # bonemask-trainer
//!
//! Training the bone-segmentation network of `bonemask-core` on the CPU: data sets from
//! in-memory (image, mask) pairs ([`data`]), the layers' forward and backward passes
//! ([`layers`], [`network`]), SGD with momentum ([`optim`]), the training loop with
//! checkpoints ([`train`], [`checkpoint`]), and weights files in core's format ([`export`]).
//! Reading images and masks from disk, and the command line, belong to `bonemask-tools`.
//!
//! Two forms of evaluation share every layer: the method's per-window form (one window, one
//! labelled pixel) and the dense form, where a patch of labelled pixels shares its arithmetic
//! through dilated convolution and pooling. Both give the same gradients on the same pixels up
//! to f32 summation order (tested).
//!
//! Dimension legend used in every doc comment of this crate (maps are channel-last):
//!
//! | name | meaning |
//! |---|---|
//! | `W` | window side in pixels (receptive field of one output) |
//! | `K` | filter side of a convolution |
//! | `P` | pool side |
//! | `d` | dilation: distance between the taps of a filter or pool |
//! | `s` | stride of a pooling |
//! | `C_in`, `C_out` | input and output channels of a layer (36 maps, 100 hidden, 2 logits) |
//! | `H`, `W` of a map | rows and columns of a feature map (positions) |
//! | `h`, `w` | rows and columns of labelled pixels of a sample (1 x 1 in window form) |
//!
//! The arithmetic is not the bit-exact reference of `bonemask-core` (it uses matrix products
//! and a fast `tanh`); its logits agree with `bonemask_core::reference::forward_window` within
//! 1e-4 relative (tested).

pub mod backend;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod export;
pub mod fast_tanh;
pub mod layers;
pub mod network;
pub mod optim;
pub mod real;
pub mod train;

#[cfg(test)]
mod testing;

pub use backend::{Backend, CpuBackend, Device, Sample, create_backend};
pub use data::{AutoAreas, Balance, Rect, TrainingImage, parse_interest_areas};
pub use error::TrainError;
pub use optim::Schedule;
pub use train::{EpochProgress, EpochSummary, Mode, TrainSettings, TrainedModel, train};
