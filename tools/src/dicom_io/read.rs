//! Reading a DICOM radiograph into a [`Radiograph`] with bone bright.
//!
//! Order of checks, each with its own error: empty file; "DICM" marker and file meta group;
//! transfer syntax known and decodable in pure Rust; data set; image attributes (greyscale,
//! 8 or 16 bits allocated, non-zero size); pixel data decoded and long enough. Only the first
//! frame of a multi-frame file is read.

use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTable, OpenFileOptions};
use dicom_pixeldata::{PhotometricInterpretation, PixelDecoder};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use super::{DicomIoError, PixelFormat, Radiograph, SourceInfo, Window, stored_range};

/// Length of the preamble before the "DICM" marker, in bytes.
const PREAMBLE: usize = 128;

/// Reads the DICOM file at `path`.
pub fn read_radiograph(path: &Path) -> Result<Radiograph, DicomIoError> {
    let bytes = std::fs::read(path).map_err(|source| DicomIoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_radiograph_bytes(path, &bytes)
}

/// Reads a DICOM file already in memory; `path` is used only in error messages.
pub fn read_radiograph_bytes(path: &Path, bytes: &[u8]) -> Result<Radiograph, DicomIoError> {
    let obj = open_object(path, bytes)?;
    decode(path, &obj)
}

/// Parses the file meta group and the data set, checking the transfer syntax in between so
/// that an unsupported one is reported by name rather than as a parse failure.
pub fn open_object(path: &Path, bytes: &[u8]) -> Result<DefaultDicomObject, DicomIoError> {
    let not_dicom = |source: super::BoxError| DicomIoError::NotDicom {
        path: path.to_path_buf(),
        source,
    };
    if bytes.is_empty() {
        return Err(DicomIoError::EmptyFile {
            path: path.to_path_buf(),
        });
    }
    if bytes.len() < PREAMBLE + 4 || &bytes[PREAMBLE..PREAMBLE + 4] != b"DICM" {
        return Err(not_dicom(
            "no \"DICM\" marker after the 128-byte preamble".into(),
        ));
    }
    let body = &bytes[PREAMBLE..];
    let meta = FileMetaTable::from_reader(body).map_err(|e| not_dicom(Box::new(e)))?;
    check_transfer_syntax(path, meta.transfer_syntax())?;
    OpenFileOptions::new()
        .from_reader(body)
        .map_err(|e| not_dicom(Box::new(e)))
}

/// Fails unless the transfer syntax `uid` can be fully decoded by this build.
pub fn check_transfer_syntax(path: &Path, uid: &str) -> Result<(), DicomIoError> {
    let uid = uid.trim_end_matches(['\0', ' ']);
    match TransferSyntaxRegistry.get(uid) {
        Some(ts) if ts.can_decode_all() => Ok(()),
        found => Err(DicomIoError::UnsupportedTransferSyntax {
            path: path.to_path_buf(),
            uid: uid.to_string(),
            name: found.map_or("unknown", |ts| ts.name()).to_string(),
        }),
    }
}

/// The name of a transfer syntax UID, or "unknown".
pub fn transfer_syntax_name(uid: &str) -> &'static str {
    let uid = uid.trim_end_matches(['\0', ' ']);
    TransferSyntaxRegistry
        .get(uid)
        .map_or("unknown", |ts| ts.name())
}

/// The trimmed text of an attribute, if present and non-empty.
pub(crate) fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.to_str().ok()?;
    let value = value.trim_matches(['\0', ' ']);
    (!value.is_empty()).then(|| value.to_string())
}

/// The first number of an attribute, if present and numeric.
pub(crate) fn number(obj: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    obj.get(tag)?.to_float64().ok()
}

/// All numbers of a multi-valued attribute (empty when absent or not numeric).
fn numbers(obj: &DefaultDicomObject, tag: Tag) -> Vec<f64> {
    obj.get(tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}

/// Collects the identifiers to carry into outputs.
pub fn source_info(obj: &DefaultDicomObject) -> SourceInfo {
    let spacing = |tag| {
        let v = numbers(obj, tag);
        (v.len() == 2 && v[0] > 0.0 && v[1] > 0.0).then(|| (v[0], v[1]))
    };
    SourceInfo {
        patient_name: text(obj, tags::PATIENT_NAME),
        patient_id: text(obj, tags::PATIENT_ID),
        patient_birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(obj, tags::PATIENT_SEX),
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        study_id: text(obj, tags::STUDY_ID),
        study_date: text(obj, tags::STUDY_DATE),
        study_time: text(obj, tags::STUDY_TIME),
        accession_number: text(obj, tags::ACCESSION_NUMBER),
        referring_physician: text(obj, tags::REFERRING_PHYSICIAN_NAME),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        modality: text(obj, tags::MODALITY),
        body_part: text(obj, tags::BODY_PART_EXAMINED),
        pixel_spacing_mm: spacing(tags::PIXEL_SPACING)
            .or_else(|| spacing(tags::IMAGER_PIXEL_SPACING)),
    }
}

/// Decodes the first frame of `obj` into a [`Radiograph`].
fn decode(path: &Path, obj: &DefaultDicomObject) -> Result<Radiograph, DicomIoError> {
    let unsupported = |what: String| DicomIoError::Unsupported {
        path: path.to_path_buf(),
        what,
    };
    let attribute = |attribute| DicomIoError::Attribute {
        path: path.to_path_buf(),
        attribute,
    };

    // Image attributes, checked before decoding so that a wrong kind of image fails fast.
    let rows = number(obj, tags::ROWS).ok_or_else(|| attribute("Rows"))? as usize;
    let cols = number(obj, tags::COLUMNS).ok_or_else(|| attribute("Columns"))? as usize;
    if rows == 0 || cols == 0 {
        return Err(DicomIoError::ZeroSize {
            path: path.to_path_buf(),
            width: cols,
            height: rows,
        });
    }
    if obj.get(tags::PIXEL_DATA).is_none() {
        return Err(attribute("PixelData"));
    }

    let decoded = obj.decode_pixel_data().map_err(|e| DicomIoError::Decode {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let samples = decoded.samples_per_pixel();
    let photometric = decoded.photometric_interpretation().clone();
    if samples != 1 || !photometric.is_monochrome() {
        return Err(unsupported(format!(
            "{samples} samples per pixel, {photometric}; only greyscale radiographs are read"
        )));
    }
    let bits_allocated = decoded.bits_allocated();
    let bits_stored = decoded.bits_stored();
    let high_bit = decoded.high_bit();
    if !matches!(bits_allocated, 8 | 16) || bits_stored == 0 || bits_stored > bits_allocated {
        return Err(unsupported(format!(
            "{bits_allocated} bits allocated, {bits_stored} stored; 8 or 16 allocated are read"
        )));
    }
    let shift = (high_bit + 1).saturating_sub(bits_stored);
    if shift + bits_stored > bits_allocated {
        return Err(unsupported(format!(
            "high bit {high_bit} with {bits_stored} bits stored"
        )));
    }
    let signed = decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;

    let frame = decoded.frame_data(0).map_err(|e| DicomIoError::Decode {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let n = rows * cols;
    let bytes_per = usize::from(bits_allocated / 8);
    if frame.len() < n * bytes_per {
        return Err(DicomIoError::Decode {
            path: path.to_path_buf(),
            source: format!(
                "pixel data holds {} bytes, {rows}x{cols} needs {}",
                frame.len(),
                n * bytes_per
            )
            .into(),
        });
    }

    // Rescale and orientation. Pixels stay the stored integers; only the direction and the
    // offset change, so no precision is lost.
    let slope = number(obj, tags::RESCALE_SLOPE)
        .filter(|s| *s != 0.0)
        .unwrap_or(1.0);
    let intercept = number(obj, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let inverted = (photometric == PhotometricInterpretation::Monochrome1) != (slope < 0.0);
    let (raw_min, raw_max) = stored_range(bits_stored, signed);
    let mask = (1u32 << bits_stored) - 1;
    let sign_bit = 1u32 << (bits_stored - 1);
    let pixels: Vec<u16> = (0..n)
        .map(|i| {
            let word = if bytes_per == 2 {
                u32::from(u16::from_ne_bytes([frame[2 * i], frame[2 * i + 1]]))
            } else {
                u32::from(frame[i])
            };
            let bits = (word >> shift) & mask;
            let raw = if signed && bits & sign_bit != 0 {
                i64::from(bits) - (i64::from(mask) + 1)
            } else {
                i64::from(bits)
            };
            let out = if inverted {
                raw_max - raw
            } else {
                raw - raw_min
            };
            out as u16
        })
        .collect();

    let windows = numbers(obj, tags::WINDOW_CENTER)
        .into_iter()
        .zip(numbers(obj, tags::WINDOW_WIDTH))
        .filter(|&(_, w)| w > 0.0)
        .map(|(center, width)| Window { center, width })
        .collect();

    Ok(Radiograph {
        width: cols,
        height: rows,
        pixels,
        bits_stored,
        windows,
        format: PixelFormat {
            transfer_syntax: obj
                .meta()
                .transfer_syntax()
                .trim_end_matches('\0')
                .to_string(),
            photometric: photometric.to_string(),
            bits_allocated,
            bits_stored,
            signed,
            rescale_slope: slope,
            rescale_intercept: intercept,
            inverted,
            frames: decoded.number_of_frames(),
        },
        source: source_info(obj),
    })
}
