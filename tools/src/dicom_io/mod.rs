//! DICOM in and out through the `dicom` 0.10 crates.
//!
//! - [`read`]: any greyscale radiograph that dicom-pixeldata decodes in pure Rust (uncompressed,
//!   deflate, RLE, JPEG baseline and lossless, JPEG 2000) into a [`Radiograph`] with bone
//!   bright, plus the source's identifiers for the outputs.
//! - [`write`]: a radiograph as a DICOM image (the phantom and DRR outputs).
//! - [`seg`]: a bone mask as a DICOM Segmentation that keeps the source's patient, study and
//!   frame-of-reference identifiers.
//!
//! Every failure is a [`DicomIoError`] naming the file; no input makes this module panic.

pub mod read;
pub mod seg;
pub mod uid;
pub mod write;

use std::path::PathBuf;

pub use read::{read_radiograph, read_radiograph_bytes};
pub use seg::{segmentation_object, write_segmentation};
pub use write::{radiograph_object, write_radiograph};

/// A boxed error from the `dicom` crates, kept as the source of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Errors of DICOM reading and writing. Each names the file and says what to do where known.
#[derive(Debug, thiserror::Error)]
pub enum DicomIoError {
    /// The file could not be opened or read (missing, no permission, a folder).
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file has no bytes at all.
    #[error("{path}: empty file (0 bytes)")]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not a readable DICOM file: garbage, truncated, or a data set without the
    /// "DICM" preamble and file meta group.
    #[error("{path}: not a readable DICOM file (truncated or not DICOM): {source}")]
    NotDicom {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: BoxError,
    },
    /// The file's transfer syntax has no pure-Rust pixel decoder here (JPEG-LS, for example).
    #[error(
        "{path}: unsupported transfer syntax {uid} ({name}); convert it to explicit VR little \
         endian first, e.g. with `dcmconv +te` or `gdcmconv --raw`"
    )]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// Transfer syntax UID.
        uid: String,
        /// Its name, or "unknown" when not in the registry.
        name: String,
    },
    /// A required attribute is missing or unreadable.
    #[error("{path}: missing or invalid attribute {attribute}")]
    Attribute {
        /// The file.
        path: PathBuf,
        /// Attribute keyword.
        attribute: &'static str,
    },
    /// The image is of a kind bonemask does not handle (colour, more than 16 bits, ...).
    #[error("{path}: unsupported image: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What is unsupported.
        what: String,
    },
    /// Rows or Columns is zero.
    #[error("{path}: image of zero size ({width}x{height})")]
    ZeroSize {
        /// The file.
        path: PathBuf,
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
    },
    /// The pixel data could not be decoded (corrupt compressed stream, short pixel data).
    #[error("{path}: cannot decode pixel data: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error.
        source: BoxError,
    },
    /// The object to write could not be built or encoded.
    #[error("{path}: cannot write DICOM: {source}")]
    Encode {
        /// The destination.
        path: PathBuf,
        /// The encoder's error.
        source: BoxError,
    },
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
    /// Writing the output failed.
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
}

/// Identifiers and acquisition facts carried from a source image to its outputs. Every field
/// is optional because real files omit many of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourceInfo {
    /// (0010,0010) Patient's Name.
    pub patient_name: Option<String>,
    /// (0010,0020) Patient ID.
    pub patient_id: Option<String>,
    /// (0010,0030) Patient's Birth Date, `YYYYMMDD`.
    pub patient_birth_date: Option<String>,
    /// (0010,0040) Patient's Sex.
    pub patient_sex: Option<String>,
    /// (0020,000D) Study Instance UID.
    pub study_instance_uid: Option<String>,
    /// (0020,0010) Study ID.
    pub study_id: Option<String>,
    /// (0008,0020) Study Date, `YYYYMMDD`.
    pub study_date: Option<String>,
    /// (0008,0030) Study Time.
    pub study_time: Option<String>,
    /// (0008,0050) Accession Number.
    pub accession_number: Option<String>,
    /// (0008,0090) Referring Physician's Name.
    pub referring_physician: Option<String>,
    /// (0020,000E) Series Instance UID.
    pub series_instance_uid: Option<String>,
    /// (0008,0016) SOP Class UID.
    pub sop_class_uid: Option<String>,
    /// (0008,0018) SOP Instance UID.
    pub sop_instance_uid: Option<String>,
    /// (0020,0052) Frame of Reference UID.
    pub frame_of_reference_uid: Option<String>,
    /// (0008,0060) Modality.
    pub modality: Option<String>,
    /// (0018,0015) Body Part Examined.
    pub body_part: Option<String>,
    /// (0028,0030) Pixel Spacing, or (0018,1164) Imager Pixel Spacing when absent: (row
    /// spacing, column spacing) in mm.
    pub pixel_spacing_mm: Option<(f64, f64)>,
}

/// A VOI window from (0028,1050) Window Center and (0028,1051) Window Width, in the file's
/// rescaled units (after Rescale Slope and Intercept).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    /// Window centre.
    pub center: f64,
    /// Window width, > 0.
    pub width: f64,
}

/// How the stored values of a file were turned into [`Radiograph::pixels`].
#[derive(Clone, Debug, PartialEq)]
pub struct PixelFormat {
    /// Transfer syntax UID of the file.
    pub transfer_syntax: String,
    /// Photometric interpretation in the file: MONOCHROME1 (bone dark) or MONOCHROME2.
    pub photometric: String,
    /// Bits allocated per sample: 8 or 16.
    pub bits_allocated: u16,
    /// Bits stored per sample: 1..=16.
    pub bits_stored: u16,
    /// Whether stored values are two's complement.
    pub signed: bool,
    /// (0028,1053) Rescale Slope (1 when absent).
    pub rescale_slope: f64,
    /// (0028,1052) Rescale Intercept (0 when absent).
    pub rescale_intercept: f64,
    /// Whether the values were inverted so that bone is bright.
    pub inverted: bool,
    /// Number of frames in the file; only the first is read.
    pub frames: u32,
}

/// A greyscale radiograph with bone bright, ready for the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Radiograph {
    /// Width `W` in pixels (Columns).
    pub width: usize,
    /// Height `H` in pixels (Rows).
    pub height: usize,
    /// `H x W` row-major values in `0 .. 2^bits_stored`, higher = more attenuation (bone
    /// bright): the stored integers shifted to start at 0 and, for MONOCHROME1 (or a negative
    /// rescale slope), mirrored. The rescale is kept in `format`, not applied.
    pub pixels: Vec<u16>,
    /// Significant bits of `pixels`, 1..=16.
    pub bits_stored: u16,
    /// Windows from the file, in the file's rescaled units.
    pub windows: Vec<Window>,
    /// How the file stored its pixels.
    pub format: PixelFormat,
    /// Identifiers to carry into the outputs.
    pub source: SourceInfo,
}

impl Radiograph {
    /// A radiograph made in memory (phantom, DRR, tests): `H x W` pixels of `bits_stored`
    /// bits, bone bright, described as unsigned MONOCHROME2 with no rescale and no window.
    pub fn from_pixels(
        width: usize,
        height: usize,
        pixels: Vec<u16>,
        bits_stored: u16,
        source: SourceInfo,
    ) -> Self {
        Radiograph {
            width,
            height,
            pixels,
            bits_stored,
            windows: Vec::new(),
            format: PixelFormat {
                transfer_syntax: String::new(),
                photometric: "MONOCHROME2".into(),
                bits_allocated: 16,
                bits_stored,
                signed: false,
                rescale_slope: 1.0,
                rescale_intercept: 0.0,
                inverted: false,
                frames: 1,
            },
            source,
        }
    }

    /// Maps a value in the file's rescaled units to the units of [`Radiograph::pixels`]
    /// (used to express a window over `pixels`).
    pub fn rescaled_to_pixel(&self, value: f64) -> f64 {
        let f = &self.format;
        let slope = if f.rescale_slope == 0.0 {
            1.0
        } else {
            f.rescale_slope
        };
        let raw = (value - f.rescale_intercept) / slope;
        let (raw_min, raw_max) = stored_range(f.bits_stored, f.signed);
        if f.inverted {
            raw_max as f64 - raw
        } else {
            raw - raw_min as f64
        }
    }

    /// The file's first window expressed over `pixels` as (centre, width), if any.
    pub fn window_in_pixels(&self) -> Option<(f64, f64)> {
        let w = self.windows.first()?;
        let slope = self.format.rescale_slope.abs().max(f64::MIN_POSITIVE);
        Some((self.rescaled_to_pixel(w.center), w.width / slope))
    }
}

/// The range of stored integers for `bits` bits, signed or not.
pub(crate) fn stored_range(bits: u16, signed: bool) -> (i64, i64) {
    let bits = u32::from(bits.clamp(1, 32));
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}
