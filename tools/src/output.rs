//! Writing the results of segmenting one image: `NAME.mask.png`, `NAME.prob.png`,
//! `NAME.overlay.png` and `NAME.seg.dcm`, all or nothing.
//!
//! Every file is first written to a temporary file in the output folder; only when all four
//! are complete are they renamed into place, so a failing run leaves no output file.

use std::path::{Path, PathBuf};

use crate::atomic::{commit_all, stage};
use crate::dicom_io::{DicomIoError, Radiograph, seg::stage_segmentation};
use crate::png_io::{PngIoError, encode_mask_png, encode_overlay_png, encode_prob_png};

/// Errors of writing segmentation outputs.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A PNG could not be encoded or written.
    #[error("{path}: {source}")]
    Png {
        /// The output file.
        path: PathBuf,
        /// The cause.
        source: PngIoError,
    },
    /// The DICOM Segmentation could not be built or written.
    #[error("{path}: {source}")]
    Dicom {
        /// The output file.
        path: PathBuf,
        /// The cause.
        source: DicomIoError,
    },
    /// The label or probability map does not hold `H x W` values of the image.
    #[error("{what} holds {got} values; the image is {width}x{height}")]
    Shape {
        /// Which buffer.
        what: &'static str,
        /// Width `W` in pixels.
        width: usize,
        /// Height `H` in pixels.
        height: usize,
        /// Values given.
        got: usize,
    },
    /// Renaming the finished files into place failed.
    #[error("cannot move outputs into {dir}: {source}")]
    Commit {
        /// The output folder.
        dir: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// The four files written for one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPaths {
    /// `NAME.mask.png`: 8-bit, 0 other, 255 bone.
    pub mask: PathBuf,
    /// `NAME.prob.png`: 16-bit bone probability, 65535 = 1.
    pub prob: PathBuf,
    /// `NAME.overlay.png`: 8-bit RGB, the image with bone tinted.
    pub overlay: PathBuf,
    /// `NAME.seg.dcm`: DICOM Segmentation keeping the source's identifiers.
    pub seg: PathBuf,
}

impl OutputPaths {
    /// The paths for image `name` (no extension) in folder `dir`.
    pub fn new(dir: &Path, name: &str) -> Self {
        OutputPaths {
            mask: dir.join(format!("{name}.mask.png")),
            prob: dir.join(format!("{name}.prob.png")),
            overlay: dir.join(format!("{name}.overlay.png")),
            seg: dir.join(format!("{name}.seg.dcm")),
        }
    }
}

/// Writes the four outputs of one segmented image into `dir`, all or none.
///
/// - `image`: the radiograph that was segmented (its pixels go into the overlay, its
///   identifiers into the Segmentation);
/// - `labels`: `H x W` label map, 0 other, 1 bone;
/// - `prob`: `H x W` bone probabilities in `[0, 1]`.
pub fn write_outputs(
    dir: &Path,
    name: &str,
    image: &Radiograph,
    labels: &[u8],
    prob: &[f32],
) -> Result<OutputPaths, OutputError> {
    let (w, h) = (image.width, image.height);
    for (what, got) in [("label map", labels.len()), ("probability map", prob.len())] {
        if got != w * h {
            return Err(OutputError::Shape {
                what,
                width: w,
                height: h,
                got,
            });
        }
    }
    let paths = OutputPaths::new(dir, name);
    let png_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Png { path, source }
    };

    let staged = vec![
        stage(&paths.mask, |o| encode_mask_png(o, w, h, labels)).map_err(png_err(&paths.mask))?,
        stage(&paths.prob, |o| encode_prob_png(o, w, h, prob)).map_err(png_err(&paths.prob))?,
        stage(&paths.overlay, |o| {
            encode_overlay_png(o, w, h, &image.pixels, labels)
        })
        .map_err(png_err(&paths.overlay))?,
        stage_segmentation(&image.source, w, h, labels, &paths.seg).map_err(|source| {
            OutputError::Dicom {
                path: paths.seg.clone(),
                source,
            }
        })?,
    ];
    commit_all(staged).map_err(|source| OutputError::Commit {
        dir: dir.to_path_buf(),
        source,
    })?;
    Ok(paths)
}
