//! # bonemask-core
//!
//! The network that labels every pixel of an X-ray image as bone or not, as a `no_std`
//! library with no allocator: fixed-size layer definitions, a forward pass defined to the last
//! bit (f32 and int8), weights files, and dense scanning into caller-provided buffers.
//!
//! Dimension legend used in every doc comment of this crate:
//!
//! | name | meaning |
//! |---|---|
//! | `W` | window side in pixels (64, 96, 102 or 128) |
//! | `K` | filter side of a convolution stage |
//! | `P` | pool side of a stage |
//! | `C_in` | input channels of a stage (1, then 36) |
//! | `MAPS` | feature maps per convolution stage (36) |
//! | `S` | side of the last pooled maps (3 or 4) |
//! | `HIDDEN` | hidden units (100) |
//! | `H`, `Wd` | image height and width in pixels |
//!
//! Memory is stated where it lives: weights in [`weights`] and [`int8`], scratch of the
//! per-window reference in [`reference::scratch_len`].
//!
//! Feature `std` adds heap constructors and uses the C library's fused multiply-add (the same
//! bits as the software one).
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod architecture;
pub mod arithmetic;
pub mod dense;
#[cfg(feature = "std")]
pub mod fast;
pub mod int8;
pub mod mirror;
pub mod prediction;
pub mod quantize;
pub mod random;
pub mod reference;
pub mod scaling;
pub mod tanh;
pub mod weights;
pub mod weights_file;
pub mod window;

pub use architecture::{Architecture, Config1, Config2, Config3, Config4, DefaultConfig};
pub use prediction::{Label, Prediction};
pub use weights::{F32Weights, Weights1, Weights2, Weights3, Weights4};
