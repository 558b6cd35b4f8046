//! Cutting the window around one pixel out of an image, with mirrored borders.
//!
//! The pixel labelled by a window of width `w` is the one at offset `w / 2` in both axes: the
//! window spans rows `y - w/2 ..= y - w/2 + w - 1` and the same for columns.

use crate::mirror::mirror;
use crate::scaling::InputAffine;

/// A borrowed grey-value image: `height` rows of `width` raw detector values, row-major.
#[derive(Clone, Copy, Debug)]
pub struct RawImage<'a> {
    /// `height * width` raw values, row-major, bone bright.
    pub pixels: &'a [u16],
    /// Columns (pixels).
    pub width: usize,
    /// Rows (pixels).
    pub height: usize,
}

/// Why an image cannot be scanned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Width or height is zero.
    Empty,
    /// `pixels.len()` is not `width * height`.
    SizeMismatch {
        /// `width * height`.
        expected: usize,
        /// `pixels.len()`.
        found: usize,
    },
    /// A pixel outside the image was asked for.
    OutOfBounds,
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImageError::Empty => write!(f, "the image has no pixels (width or height is 0)"),
            ImageError::SizeMismatch { expected, found } => {
                write!(
                    f,
                    "the image holds {found} pixels, its size needs {expected}"
                )
            }
            ImageError::OutOfBounds => write!(f, "a pixel outside the image was asked for"),
        }
    }
}

impl core::error::Error for ImageError {}

impl<'a> RawImage<'a> {
    /// Wraps `pixels` as a `width x height` image, checking the sizes.
    pub fn new(pixels: &'a [u16], width: usize, height: usize) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::Empty);
        }
        let expected = width.checked_mul(height).ok_or(ImageError::OutOfBounds)?;
        if pixels.len() != expected {
            return Err(ImageError::SizeMismatch {
                expected,
                found: pixels.len(),
            });
        }
        Ok(RawImage {
            pixels,
            width,
            height,
        })
    }

    /// The raw value at a possibly out-of-image position, mirrored into the image.
    #[inline]
    pub fn mirrored(&self, row: isize, column: isize) -> u16 {
        let row = mirror(row, self.height);
        let column = mirror(column, self.width);
        self.pixels[row * self.width + column]
    }
}

/// Fills `window` (`side * side` network inputs, row-major) with the scaled window around pixel
/// (`row`, `column`) of `image`.
pub fn cut_window(
    image: &RawImage<'_>,
    affine: &InputAffine,
    row: usize,
    column: usize,
    side: usize,
    window: &mut [f32],
) -> Result<(), ImageError> {
    if row >= image.height || column >= image.width || window.len() != side * side {
        return Err(ImageError::OutOfBounds);
    }
    let top = row as isize - (side / 2) as isize;
    let left = column as isize - (side / 2) as isize;
    for (dy, line) in window.chunks_exact_mut(side).enumerate() {
        for (dx, value) in line.iter_mut().enumerate() {
            let raw = image.mirrored(top + dy as isize, left + dx as isize);
            *value = affine.apply(raw);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_centred_at_half_width() {
        let pixels: [u16; 16] = core::array::from_fn(|i| i as u16);
        let image = RawImage::new(&pixels, 4, 4).unwrap();
        let affine = InputAffine {
            offset: 0.0,
            scale: 1.0,
        };
        let mut window = [0.0; 4];
        cut_window(&image, &affine, 1, 1, 2, &mut window).unwrap();
        // Rows 0..=1, columns 0..=1.
        assert_eq!(window, [0.0, 1.0, 4.0, 5.0]);
        cut_window(&image, &affine, 0, 0, 2, &mut window).unwrap();
        // Rows -1..=0 read rows 1, 0.
        assert_eq!(window, [5.0, 4.0, 1.0, 0.0]);
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert_eq!(RawImage::new(&[], 0, 3).unwrap_err(), ImageError::Empty);
        assert_eq!(
            RawImage::new(&[1, 2, 3], 2, 2).unwrap_err(),
            ImageError::SizeMismatch {
                expected: 4,
                found: 3
            }
        );
    }
}
