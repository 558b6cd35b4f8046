//! PNG in and out: 8-bit bone masks, 16-bit bone probability maps and RGB overlays.
//!
//! Reading accepts 1-16 bit greyscale (with or without alpha, which is ignored) and 8-bit RGB
//! (converted to luma) so that masks drawn in ordinary tools can be evaluated. The encoders
//! write to any `Write`; putting the bytes into a file atomically is [`crate::atomic`]'s job.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use crate::mask::Mask;

/// Errors of PNG reading and encoding; each names the file when there is one.
#[derive(Debug, thiserror::Error)]
pub enum PngIoError {
    /// The file could not be opened or read (missing, unreadable, a folder).
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not a valid PNG (truncated, garbage, or not a PNG at all).
    #[error("{path}: not a readable PNG: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: png::DecodingError,
    },
    /// The PNG is valid but of a kind bonemask does not read (e.g. 16-bit colour).
    #[error("{path}: unsupported PNG ({what}); save it as 8- or 16-bit greyscale")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// Encoding failed (usually an I/O error of the destination).
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
    /// Writing failed.
    #[error("writing PNG failed: {0}")]
    Write(#[from] std::io::Error),
    /// A buffer does not hold `H x W` values.
    #[error("buffer of {got} values does not match a {width}x{height} image")]
    Shape {
        /// Width `W` in pixels.
        width: usize,
        /// Height `H` in pixels.
        height: usize,
        /// Values given.
        got: usize,
    },
    /// The image has zero width or height.
    #[error("image of zero size ({width}x{height})")]
    ZeroSize {
        /// Width `W` in pixels.
        width: usize,
        /// Height `H` in pixels.
        height: usize,
    },
}

/// A greyscale image read from a PNG: `H x W` row-major values of `bit_depth` bits each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreyImage {
    /// Width `W` in pixels.
    pub width: usize,
    /// Height `H` in pixels.
    pub height: usize,
    /// Bits per sample in the file: 1, 2, 4, 8 or 16.
    pub bit_depth: u8,
    /// `H x W` values in `0 .. 2^bit_depth`.
    pub values: Vec<u16>,
}

/// Reads a greyscale PNG (1-16 bit, alpha ignored) or an 8-bit RGB(A) PNG (converted to luma
/// with integer weights 299/587/114).
pub fn read_grey_png(path: &Path) -> Result<GreyImage, PngIoError> {
    let io = |source| PngIoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let decode = |source| PngIoError::Decode {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let decoder = png::Decoder::new(BufReader::new(file));
    let mut reader = decoder.read_info().map_err(decode)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| PngIoError::Unsupported {
            path: path.to_path_buf(),
            what: "image too large".into(),
        })?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(decode)?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    if width == 0 || height == 0 {
        return Err(PngIoError::ZeroSize { width, height });
    }
    let channels = frame.color_type.samples();
    let bit_depth = frame.bit_depth as u8;
    let line = frame.line_size;
    let mut values = Vec::with_capacity(width * height);
    use png::ColorType as C;
    match (frame.color_type, bit_depth) {
        (C::Grayscale | C::GrayscaleAlpha, 16) => {
            for row in buf.chunks(line).take(height) {
                for px in row.chunks(2 * channels).take(width) {
                    values.push(u16::from_be_bytes([px[0], px[1]]));
                }
            }
        }
        (C::Grayscale | C::GrayscaleAlpha, 8) => {
            for row in buf.chunks(line).take(height) {
                values.extend(row.chunks(channels).take(width).map(|px| u16::from(px[0])));
            }
        }
        (C::Grayscale, 1 | 2 | 4) => {
            let per_byte = 8 / usize::from(bit_depth);
            let max = (1u16 << bit_depth) - 1;
            for row in buf.chunks(line).take(height) {
                for x in 0..width {
                    let byte = row[x / per_byte];
                    let shift = 8 - usize::from(bit_depth) * (x % per_byte + 1);
                    values.push(u16::from(byte >> shift) & max);
                }
            }
        }
        (C::Rgb | C::Rgba, 8) => {
            for row in buf.chunks(line).take(height) {
                for px in row.chunks(channels).take(width) {
                    let [r, g, b] = [px[0], px[1], px[2]].map(u32::from);
                    values.push(((299 * r + 587 * g + 114 * b + 500) / 1000) as u16);
                }
            }
        }
        (color, depth) => {
            return Err(PngIoError::Unsupported {
                path: path.to_path_buf(),
                what: format!("{color:?} at {depth} bits"),
            });
        }
    }
    Ok(GreyImage {
        width,
        height,
        bit_depth,
        values,
    })
}

/// Reads a mask PNG: bone where the value is at least half the format's maximum (128 of 255
/// for 8-bit, 1 of 1 for 1-bit), other elsewhere.
pub fn read_mask_png(path: &Path) -> Result<Mask, PngIoError> {
    let img = read_grey_png(path)?;
    let half = 1u32 << (img.bit_depth - 1);
    Ok(Mask {
        width: img.width,
        height: img.height,
        labels: img
            .values
            .iter()
            .map(|&v| u8::from(u32::from(v) >= half))
            .collect(),
    })
}

fn check_shape(width: usize, height: usize, got: usize) -> Result<(), PngIoError> {
    if width == 0 || height == 0 {
        return Err(PngIoError::ZeroSize { width, height });
    }
    if width.checked_mul(height) != Some(got) || u32::try_from(width.max(height)).is_err() {
        return Err(PngIoError::Shape { width, height, got });
    }
    Ok(())
}

fn encode(
    out: &mut dyn Write,
    width: usize,
    height: usize,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
) -> Result<(), PngIoError> {
    let mut encoder = png::Encoder::new(out, width as u32, height as u32);
    encoder.set_color(color);
    encoder.set_depth(depth);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(())
}

/// Encodes a label map (`H x W`, 0 other / nonzero bone) as an 8-bit greyscale PNG with 0 for
/// other and 255 for bone.
pub fn encode_mask_png(
    out: &mut dyn Write,
    width: usize,
    height: usize,
    labels: &[u8],
) -> Result<(), PngIoError> {
    check_shape(width, height, labels.len())?;
    let data: Vec<u8> = labels
        .iter()
        .map(|&v| if v != 0 { 255 } else { 0 })
        .collect();
    encode(
        out,
        width,
        height,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &data,
    )
}

/// Encodes a bone probability map (`H x W` values in `[0, 1]`; NaN and out-of-range values
/// are clamped, NaN to 0) as a 16-bit greyscale PNG where 65535 means probability 1.
pub fn encode_prob_png(
    out: &mut dyn Write,
    width: usize,
    height: usize,
    prob: &[f32],
) -> Result<(), PngIoError> {
    check_shape(width, height, prob.len())?;
    let mut data = Vec::with_capacity(prob.len() * 2);
    for &p in prob {
        let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
        let v = (p * 65535.0).round() as u16;
        data.extend_from_slice(&v.to_be_bytes());
    }
    encode(
        out,
        width,
        height,
        png::ColorType::Grayscale,
        png::BitDepth::Sixteen,
        &data,
    )
}

/// The tint of bone pixels in overlays, as 8-bit RGB.
pub const BONE_TINT: [u8; 3] = [255, 140, 0];

/// How much of the tint replaces the grey value in bone pixels, in `[0, 1]`.
pub const TINT_ALPHA: f32 = 0.45;

/// Encodes an 8-bit RGB overlay for a person to look at: the image (`H x W` values of
/// `bits_stored` bits, bone bright) stretched to 8-bit grey between its 0.5th and 99.5th
/// percentiles, with bone pixels (`labels != 0`) tinted with [`BONE_TINT`].
pub fn encode_overlay_png(
    out: &mut dyn Write,
    width: usize,
    height: usize,
    image: &[u16],
    labels: &[u8],
) -> Result<(), PngIoError> {
    check_shape(width, height, image.len())?;
    check_shape(width, height, labels.len())?;
    let (lo, hi) = percentile_range(image, 0.005, 0.995);
    let span = f32::from(hi.saturating_sub(lo).max(1));
    let mut data = Vec::with_capacity(image.len() * 3);
    for (&v, &bone) in image.iter().zip(labels) {
        let g = (f32::from(v.saturating_sub(lo)) / span).min(1.0) * 255.0;
        if bone != 0 {
            for c in BONE_TINT {
                data.push(((1.0 - TINT_ALPHA) * g + TINT_ALPHA * f32::from(c)).round() as u8);
            }
        } else {
            let g = g.round() as u8;
            data.extend_from_slice(&[g, g, g]);
        }
    }
    encode(
        out,
        width,
        height,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        &data,
    )
}

/// The values at fractions `lo` and `hi` of the sorted image, from a 65536-bin histogram.
pub fn percentile_range(image: &[u16], lo: f64, hi: f64) -> (u16, u16) {
    let mut hist = vec![0u64; 65536];
    for &v in image {
        hist[usize::from(v)] += 1;
    }
    let n = image.len() as f64;
    let find = |frac: f64| {
        let target = (frac * n).floor() as u64;
        let mut seen = 0u64;
        for (v, &c) in hist.iter().enumerate() {
            seen += c;
            if seen > target {
                return v as u16;
            }
        }
        u16::MAX
    };
    (find(lo), find(hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::atomic::write_atomically;

    #[test]
    fn mask_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.png");
        let mask = Mask::from_art(&["..#", "##.", "..."]);
        write_atomically(&path, |w| encode_mask_png(w, 3, 3, &mask.labels)).unwrap();
        let img = read_grey_png(&path).unwrap();
        assert_eq!(img.values, vec![0, 0, 255, 255, 255, 0, 0, 0, 0]);
        assert_eq!(read_mask_png(&path).unwrap(), mask);
    }

    #[test]
    fn prob_is_16_bit_and_clamped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.png");
        let prob = [0.0, 0.5, 1.0, 2.0, f32::NAN, -1.0];
        write_atomically(&path, |w| encode_prob_png(w, 3, 2, &prob)).unwrap();
        let img = read_grey_png(&path).unwrap();
        assert_eq!(img.bit_depth, 16);
        assert_eq!(img.values, vec![0, 32768, 65535, 65535, 0, 0]);
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let mut out = Vec::new();
        let err = encode_mask_png(&mut out, 3, 3, &[0; 8]).unwrap_err();
        assert!(matches!(err, PngIoError::Shape { got: 8, .. }), "{err}");
        assert!(matches!(
            encode_mask_png(&mut out, 0, 3, &[]),
            Err(PngIoError::ZeroSize { .. })
        ));
    }

    #[test]
    fn garbage_is_a_decode_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let err = read_grey_png(&path).unwrap_err();
        assert!(matches!(err, PngIoError::Decode { .. }));
        assert!(err.to_string().contains("junk.png"), "{err}");
    }

    #[test]
    fn overlay_tints_bone_only() {
        let mut out = Vec::new();
        encode_overlay_png(&mut out, 2, 1, &[0, 4095], &[0, 1]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.png");
        std::fs::write(&path, &out).unwrap();
        let decoder = png::Decoder::new(BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(&buf[..3], &[0, 0, 0], "background pixel must stay grey");
        let expect: Vec<u8> = BONE_TINT
            .iter()
            .map(|&c| ((1.0 - TINT_ALPHA) * 255.0 + TINT_ALPHA * f32::from(c)).round() as u8)
            .collect();
        assert_eq!(&buf[3..6], &expect[..]);
    }
}
