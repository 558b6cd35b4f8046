//! Dense scanning: the logits of every pixel of an image from one pass of the network over the
//! whole image, streamed row by row, in `no_std` with no allocator. f32 and int8.
//!
//! Memory model first: all working memory is borrowed from the caller (a `static` on firmware)
//! and sized by a `const fn` of the configuration and the image width alone
//! ([`workspace_len`] floats for f32; [`activations_len_int8`] bytes plus [`sums_len_int8`]
//! `i32`s for int8). It holds ring buffers of the dense feature maps, each a fixed number of rows
//! addressed by row modulo that number, so the image height never enters: configuration 4 at
//! width 2492 needs 47,863,356 bytes in f32 and 19,257,531 bytes in int8 for any height.
//! Layout and formula: [`DensePlan`] and [`workspace_len`].
//!
//! Method: max-pooling fragments, written as dilated convolution and dilated pooling. Stage `l`
//! convolves and pools with taps `d_l` apart (`d = Geometry::dilations`, products of the
//! earlier pools); the hidden layer reads its `S x S` inputs `d_3` apart. Output pixel (y, x) is
//! dense position (y, x) of the last maps, and every sum is formed exactly as in
//! [`crate::reference::forward_window`] (bias first, fma over input channel, filter row, filter
//! column; pooling from the top-left with [`crate::arithmetic::pool_max`], then `tanh`), so the
//! logits are the per-window reference's bit for bit; the int8 path likewise matches
//! [`crate::int8::forward_window_int8`]. Tests: `core/tests/dense_vs_reference.rs`.
//!
//! Borders: the image is mirror-padded by `W / 2` rows and columns as in [`crate::mirror`], so
//! the output has exactly the input's size, down to 1 x 1. The top border reads rows
//! `1..=W/2` that have not arrived with row 0: the scanner keeps `W/2 + 1` raw rows and emits
//! output row `y` once raw row `max(W/2, y + W/2 - 1)` is in; [`DenseScanner::finish`] flushes
//! the bottom `W/2 - 1` rows.
//!
//! Not here: threads and SIMD (see the `fast` module under feature `std`). Dense evaluation
//! computes every dense position of the padded maps, so an image much smaller than a window
//! costs several windows' worth of arithmetic (about 5 for a 1 x 1 image in configuration 4).

mod engine;
mod float;
mod integer;
mod plan;

use crate::architecture::{Architecture, CLASSES};
use crate::prediction::Label;
use crate::window::{ImageError, RawImage};

pub use float::{DenseScanner, scan_image, workspace_bytes, workspace_len};
pub use integer::{
    DenseScannerInt8, activations_len_int8, scan_image_int8, sums_len_int8, workspace_bytes_int8,
};
pub use plan::DensePlan;

/// Why a dense scan refused its input. Nothing is consumed when an error is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenseError {
    /// Image width 0, or [`DenseScanner::finish`] before any row: an image needs a pixel.
    Empty,
    /// The workspace (f32) or activation buffer (int8) is shorter than the plan needs; allocate
    /// [`workspace_len`] or [`activations_len_int8`] for this width.
    WorkspaceTooSmall {
        /// Elements needed.
        needed: usize,
        /// Elements given.
        found: usize,
    },
    /// The int8 accumulator buffer is shorter than [`sums_len_int8`] for this width.
    SumsTooSmall {
        /// `i32` elements needed.
        needed: usize,
        /// `i32` elements given.
        found: usize,
    },
    /// A pushed row does not have the scanner's width.
    RowLength {
        /// Pixels per row the scanner was made for.
        expected: usize,
        /// Pixels in the row given.
        found: usize,
    },
    /// A row or `finish` came after `finish`; start a new scanner for the next image.
    Finished,
    /// The output slice of a whole-image scan is not `H * Wd` pairs long.
    OutputSize {
        /// `H * Wd`.
        expected: usize,
        /// The slice's length.
        found: usize,
    },
    /// The image's own sizes are inconsistent (see [`RawImage::new`]).
    Image(ImageError),
}

impl core::fmt::Display for DenseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DenseError::Empty => write!(f, "the image has no pixels"),
            DenseError::WorkspaceTooSmall { needed, found } => {
                write!(
                    f,
                    "workspace holds {found} elements, the scan needs {needed}"
                )
            }
            DenseError::SumsTooSmall { needed, found } => {
                write!(
                    f,
                    "sum buffer holds {found} elements, the scan needs {needed}"
                )
            }
            DenseError::RowLength { expected, found } => {
                write!(
                    f,
                    "row of {found} pixels given to a scanner of width {expected}"
                )
            }
            DenseError::Finished => write!(f, "the scan is finished; start a new scanner"),
            DenseError::OutputSize { expected, found } => {
                write!(
                    f,
                    "output holds {found} logit pairs, the image needs {expected}"
                )
            }
            DenseError::Image(error) => write!(f, "{error}"),
        }
    }
}

impl core::error::Error for DenseError {}

/// One finished output row: `Wd` logit pairs {other, bone}, pixel-major. `T` is `f32`, or
/// `i32` fixed point for the int8 path. Borrowed from the workspace until the closure returns.
#[derive(Clone, Copy, Debug)]
pub struct OutputRow<'r, T> {
    /// Image row `y` (0-based, top first).
    pub row: usize,
    /// `logits[x]` is the logit pair of pixel (y, x).
    pub logits: &'r [[T; CLASSES]],
}

impl<T: PartialOrd + Copy> OutputRow<'_, T> {
    /// The labels of the row, left to right (bone when its logit is strictly greater).
    pub fn labels(&self) -> impl Iterator<Item = Label> + '_ {
        self.logits.iter().map(Label::from_logits)
    }
}

/// The architecture numbers the engine reads, copied from `A::GEOMETRY`.
fn shape_of<A: Architecture>() -> engine::Shape {
    let g = A::GEOMETRY;
    engine::Shape {
        dilations: g.dilations,
        kernels: g.kernels,
        pools: g.pools,
        last_side: g.last_side(),
    }
}

/// Checks a whole image against its output slice (`H * Wd` pairs).
fn check_image(image: &RawImage<'_>, out_len: usize) -> Result<(), DenseError> {
    if image.width == 0 || image.height == 0 {
        return Err(DenseError::Empty);
    }
    let expected = image
        .width
        .checked_mul(image.height)
        .ok_or(DenseError::Image(ImageError::OutOfBounds))?;
    if image.pixels.len() != expected {
        return Err(DenseError::Image(ImageError::SizeMismatch {
            expected,
            found: image.pixels.len(),
        }));
    }
    if out_len != expected {
        return Err(DenseError::OutputSize {
            expected,
            found: out_len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use crate::architecture::{Config1, Config4};
    use crate::int8::{InputQuant, Int8Weights};
    use crate::scaling::InputAffine;
    use crate::weights::F32Weights;

    const AFFINE: InputAffine = InputAffine {
        offset: 100.0,
        scale: 0.01,
    };

    #[test]
    fn config4_workspace_figure() {
        assert_eq!(workspace_len::<Config4>(2492), 11_965_839);
        assert_eq!(workspace_bytes::<Config4>(2492), 47_863_356);
        assert_eq!(workspace_bytes_int8::<Config4>(2492), 19_257_531);
        assert!(workspace_bytes::<Config4>(2492) < 256 << 20);
    }

    #[test]
    fn scanners_are_small_beside_their_workspace() {
        type Scanner<'a> = DenseScanner<'a, Config4, { Config4::PARAMS }>;
        let size = core::mem::size_of::<Scanner<'_>>();
        assert!(
            size < 512,
            "a scanner holds only its position: {size} bytes"
        );
    }

    #[test]
    fn short_workspace_and_bad_rows_are_refused() {
        let weights = F32Weights::<Config1, { Config1::PARAMS }>::zeroed();
        let needed = workspace_len::<Config1>(5);
        let mut workspace = std::vec![0.0f32; needed];
        let short = &mut workspace[..needed - 1];
        assert_eq!(
            DenseScanner::new(&weights, AFFINE, 5, short).err(),
            Some(DenseError::WorkspaceTooSmall {
                needed,
                found: needed - 1
            })
        );
        assert_eq!(
            DenseScanner::new(&weights, AFFINE, 0, &mut workspace).err(),
            Some(DenseError::Empty)
        );
        let mut scanner = DenseScanner::new(&weights, AFFINE, 5, &mut workspace).unwrap();
        let ignore = |_: OutputRow<'_, f32>| {};
        assert_eq!(
            scanner.push_row(&[1, 2, 3, 4], ignore),
            Err(DenseError::RowLength {
                expected: 5,
                found: 4
            })
        );
        assert_eq!(scanner.finish(ignore), Err(DenseError::Empty));
        scanner.push_row(&[1, 2, 3, 4, 5], ignore).unwrap();
        assert_eq!(scanner.finish(ignore), Ok(1));
        assert_eq!(scanner.push_row(&[1; 5], ignore), Err(DenseError::Finished));
        assert_eq!(scanner.finish(ignore), Err(DenseError::Finished));
    }

    #[test]
    fn short_int8_buffers_are_refused() {
        let weights = Int8Weights::<Config1, { Config1::WEIGHTS }, { Config1::BIASES }>::zeroed();
        let quant = InputQuant::from_affine(&AFFINE);
        let (maps, sums) = (
            activations_len_int8::<Config1>(3),
            sums_len_int8::<Config1>(3),
        );
        let mut activations = std::vec![0i8; maps];
        let mut accumulators = std::vec![0i32; sums];
        let short = DenseScannerInt8::new(&weights, quant, 3, &mut activations, &mut [0; 7]).err();
        assert_eq!(
            short,
            Some(DenseError::SumsTooSmall {
                needed: sums,
                found: 7
            })
        );
        let short = DenseScannerInt8::new(&weights, quant, 3, &mut [0; 7], &mut accumulators).err();
        assert_eq!(
            short,
            Some(DenseError::WorkspaceTooSmall {
                needed: maps,
                found: 7
            })
        );
    }

    #[test]
    fn whole_image_shapes_are_checked() {
        let weights = F32Weights::<Config1, { Config1::PARAMS }>::zeroed();
        let mut workspace = std::vec![0.0f32; workspace_len::<Config1>(2)];
        let pixels = [0u16; 6];
        let image = RawImage::new(&pixels, 2, 3).unwrap();
        let mut out = [[0.0f32; CLASSES]; 5];
        assert_eq!(
            scan_image(&weights, &image, AFFINE, &mut workspace, &mut out),
            Err(DenseError::OutputSize {
                expected: 6,
                found: 5
            })
        );
        let broken = RawImage {
            pixels: &pixels[..5],
            width: 2,
            height: 3,
        };
        let mut out = [[0.0f32; CLASSES]; 6];
        assert_eq!(
            scan_image(&weights, &broken, AFFINE, &mut workspace, &mut out),
            Err(DenseError::Image(ImageError::SizeMismatch {
                expected: 6,
                found: 5
            }))
        );
        // Zero weights: every logit is its bias, 0.
        scan_image(&weights, &image, AFFINE, &mut workspace, &mut out).unwrap();
        assert!(out.iter().all(|pair| pair == &[0.0, 0.0]));
    }

    #[test]
    fn rows_leave_as_soon_as_they_are_known() {
        // Configuration 1: W/2 = 32; output row y needs raw row max(32, y + 31).
        let weights = F32Weights::<Config1, { Config1::PARAMS }>::zeroed();
        let height = 40;
        let mut workspace = std::vec![0.0f32; workspace_len::<Config1>(3)];
        let mut scanner = DenseScanner::new(&weights, AFFINE, 3, &mut workspace).unwrap();
        let mut emitted_at = std::vec::Vec::new();
        for raw_row in 0..height {
            let mut rows = std::vec::Vec::new();
            scanner
                .push_row(&[7, 8, 9], |row| rows.push(row.row))
                .unwrap();
            emitted_at.extend(rows.into_iter().map(|row| (row, raw_row)));
        }
        let mut rows = std::vec::Vec::new();
        assert_eq!(scanner.finish(|row| rows.push(row.row)), Ok(height));
        emitted_at.extend(rows.into_iter().map(|row| (row, height)));
        for (index, (row, raw_row)) in emitted_at.iter().enumerate() {
            assert_eq!(*row, index, "rows leave in order, once each");
            let needed = (row + 31).max(32);
            let want = if needed < height { needed } else { height };
            assert_eq!(*raw_row, want, "output row {row}");
        }
        assert_eq!(emitted_at.len(), height);
        assert_eq!(scanner.rows_out(), height);
        assert_eq!(scanner.rows_in(), height);
    }
}
