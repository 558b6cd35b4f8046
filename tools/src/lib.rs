//! bonemask's data and I/O tools: everything between a file on disk and the network.
//!
//! This crate owns reading radiographs (DICOM, PNG), writing segmentation results (mask,
//! probability, overlay PNGs and a DICOM Segmentation), the segmentation metrics of the paper,
//! synthetic radiographs with exact bone masks ([`phantom`]), radiographs rendered from a
//! labelled CT ([`drr`]), and the `bonemask` command line. It deliberately holds no network
//! code: the forward pass lives in `bonemask-core`.
//!
//! Dimension legend, used in every doc of this crate:
//!
//! - `W`: image width in pixels (columns), `H`: image height in pixels (rows);
//! - images and masks are row-major `H x W` slices: pixel `(x, y)` is at index `y * W + x`;
//! - a *label map* is `&[u8]` of `H x W` values, 0 for other and 1 for bone;
//! - a *probability map* is `&[f32]` of `H x W` bone probabilities in `[0, 1]`.

pub mod atomic;
pub mod cli;
pub mod dicom_io;
pub mod drr;
pub mod mask;
pub mod metrics;
pub mod model;
pub mod output;
pub mod phantom;
pub mod png_io;
