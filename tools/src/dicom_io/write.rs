//! Writing a [`Radiograph`] as a DICOM Digital X-Ray image (for presentation), explicit VR
//! little endian, MONOCHROME2, 16 bits allocated.
//!
//! Used for the phantom and DRR outputs. Identifiers come from the radiograph's
//! [`SourceInfo`]; any missing UID is generated fresh.

use std::path::{Path, PathBuf};

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject, mem::InMemElement};

use super::uid::fresh_uid;
use super::{DicomIoError, Radiograph, SourceInfo};
use crate::atomic::{Staged, stage};

/// Implementation Class UID written in the file meta group of every file bonemask writes.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.161395209883451204331216262939426094961";

/// Implementation Version Name written beside [`IMPLEMENTATION_CLASS_UID`] (16 chars max).
pub const IMPLEMENTATION_VERSION: &str = concat!("BONEMASK_", env!("CARGO_PKG_VERSION"));

/// Puts a text attribute.
pub(crate) fn put_text(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(InMemElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// Puts a text attribute, empty (present, type 2) when `value` is `None`.
pub(crate) fn put_opt(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: Option<&String>) {
    match value {
        Some(v) => put_text(obj, tag, vr, v),
        None => {
            obj.put(InMemElement::new(tag, vr, PrimitiveValue::Empty));
        }
    }
}

/// Puts an unsigned short attribute.
pub(crate) fn put_us(obj: &mut InMemDicomObject, tag: Tag, value: u16) {
    obj.put(InMemElement::new(tag, VR::US, PrimitiveValue::from(value)));
}

/// Puts a sequence of items.
pub(crate) fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// One coded concept item: (code value, coding scheme, meaning).
pub(crate) fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    put_text(&mut item, tags::CODE_VALUE, VR::SH, value);
    put_text(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    put_text(&mut item, tags::CODE_MEANING, VR::LO, meaning);
    item
}

/// Today's date and time as DICOM DA and TM text, in UTC.
pub(crate) fn now_da_tm() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let tod = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}{month:02}{day:02}"),
        format!("{:02}{:02}{:02}", tod / 3600, tod / 60 % 60, tod % 60),
    )
}

/// Puts the identifiers a derived object keeps from its source: character set, patient,
/// study and frame of reference. Missing study and frame-of-reference UIDs are made fresh;
/// other missing values are written empty (DICOM type 2).
pub(crate) fn put_patient_study_frame(obj: &mut InMemDicomObject, s: &SourceInfo) {
    put_text(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put_opt(obj, tags::PATIENT_NAME, VR::PN, s.patient_name.as_ref());
    put_opt(obj, tags::PATIENT_ID, VR::LO, s.patient_id.as_ref());
    put_opt(
        obj,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        s.patient_birth_date.as_ref(),
    );
    put_opt(obj, tags::PATIENT_SEX, VR::CS, s.patient_sex.as_ref());
    let study = s
        .study_instance_uid
        .clone()
        .unwrap_or_else(|| fresh_uid("study"));
    put_text(obj, tags::STUDY_INSTANCE_UID, VR::UI, &study);
    put_opt(obj, tags::STUDY_DATE, VR::DA, s.study_date.as_ref());
    put_opt(obj, tags::STUDY_TIME, VR::TM, s.study_time.as_ref());
    put_opt(obj, tags::STUDY_ID, VR::SH, s.study_id.as_ref());
    put_opt(
        obj,
        tags::ACCESSION_NUMBER,
        VR::SH,
        s.accession_number.as_ref(),
    );
    put_opt(
        obj,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        s.referring_physician.as_ref(),
    );
    let frame = s
        .frame_of_reference_uid
        .clone()
        .unwrap_or_else(|| fresh_uid("frame"));
    put_text(obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, &frame);
    put_text(obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
}

/// Wraps a data set with a file meta group in explicit VR little endian.
pub(crate) fn with_meta(
    obj: InMemDicomObject,
    path: &Path,
) -> Result<dicom_object::DefaultDicomObject, DicomIoError> {
    obj.with_meta(
        FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
            .implementation_version_name(IMPLEMENTATION_VERSION),
    )
    .map_err(|e| DicomIoError::Encode {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// Stages a DICOM file for an atomic write (see [`crate::atomic`]).
pub fn stage_dicom(
    path: &Path,
    file: &dicom_object::DefaultDicomObject,
) -> Result<Staged, DicomIoError> {
    stage(path, |w| {
        file.write_all(w).map_err(|e| DicomIoError::Encode {
            path: path.to_path_buf(),
            source: Box::new(e),
        })
    })
}

/// Builds the DICOM object of a radiograph. `path` is used only in error messages.
///
/// Pixels are written as they are (`H x W`, `bits_stored` significant bits, bone bright) with
/// the first window of the radiograph, if any, expressed over them.
pub fn radiograph_object(
    r: &Radiograph,
    path: &Path,
) -> Result<dicom_object::DefaultDicomObject, DicomIoError> {
    let n = r.width * r.height;
    if r.pixels.len() != n || n == 0 {
        return Err(DicomIoError::Shape {
            width: r.width,
            height: r.height,
            got: r.pixels.len(),
        });
    }
    let (Ok(rows), Ok(cols)) = (u16::try_from(r.height), u16::try_from(r.width)) else {
        return Err(DicomIoError::Shape {
            width: r.width,
            height: r.height,
            got: n,
        });
    };
    let s = &r.source;
    let (date, time) = now_da_tm();
    let sop_uid = s
        .sop_instance_uid
        .clone()
        .unwrap_or_else(|| fresh_uid("image"));
    let mut obj = InMemDicomObject::new_empty();

    // SOP common, patient, study, series, frame of reference, equipment.
    put_text(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    );
    put_text(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
    put_patient_study_frame(&mut obj, s);
    let series_uid = s
        .series_instance_uid
        .clone()
        .unwrap_or_else(|| fresh_uid("series"));
    put_text(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &series_uid);
    put_text(&mut obj, tags::SERIES_NUMBER, VR::IS, "1");
    put_text(
        &mut obj,
        tags::MODALITY,
        VR::CS,
        s.modality.as_deref().unwrap_or("DX"),
    );
    put_opt(
        &mut obj,
        tags::BODY_PART_EXAMINED,
        VR::CS,
        s.body_part.as_ref(),
    );
    put_text(&mut obj, tags::MANUFACTURER, VR::LO, "bonemask");
    put_text(
        &mut obj,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );

    // General and DX image.
    put_text(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_text(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
    put_text(&mut obj, tags::CONTENT_TIME, VR::TM, &time);
    put_text(&mut obj, tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY");
    put_text(
        &mut obj,
        tags::PRESENTATION_INTENT_TYPE,
        VR::CS,
        "FOR PRESENTATION",
    );
    put_text(&mut obj, tags::PIXEL_INTENSITY_RELATIONSHIP, VR::CS, "LOG");
    obj.put(InMemElement::new(
        tags::PIXEL_INTENSITY_RELATIONSHIP_SIGN,
        VR::SS,
        PrimitiveValue::from(1i16),
    ));
    put_text(&mut obj, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    put_text(&mut obj, tags::BURNED_IN_ANNOTATION, VR::CS, "NO");
    if let Some((row, col)) = s.pixel_spacing_mm {
        let spacing = format!("{row:.6}\\{col:.6}");
        put_text(&mut obj, tags::IMAGER_PIXEL_SPACING, VR::DS, &spacing);
        put_text(&mut obj, tags::PIXEL_SPACING, VR::DS, &spacing);
    }

    // Image pixel module.
    let bits = r.bits_stored.clamp(1, 16);
    put_us(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
    put_text(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_us(&mut obj, tags::ROWS, rows);
    put_us(&mut obj, tags::COLUMNS, cols);
    put_us(&mut obj, tags::BITS_ALLOCATED, 16);
    put_us(&mut obj, tags::BITS_STORED, bits);
    put_us(&mut obj, tags::HIGH_BIT, bits - 1);
    put_us(&mut obj, tags::PIXEL_REPRESENTATION, 0);
    put_text(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "0");
    put_text(&mut obj, tags::RESCALE_SLOPE, VR::DS, "1");
    put_text(&mut obj, tags::RESCALE_TYPE, VR::LO, "US");
    if let Some((center, width)) = r.window_in_pixels() {
        put_text(
            &mut obj,
            tags::WINDOW_CENTER,
            VR::DS,
            &format!("{center:.2}"),
        );
        put_text(
            &mut obj,
            tags::WINDOW_WIDTH,
            VR::DS,
            &format!("{:.2}", width.max(1.0)),
        );
    }
    let max = (1u32 << bits) - 1;
    let mut data = Vec::with_capacity(2 * n);
    for &v in &r.pixels {
        data.extend_from_slice(&(u32::from(v).min(max) as u16).to_le_bytes());
    }
    obj.put(InMemElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::from(data),
    ));

    with_meta(obj, path)
}

/// Writes a radiograph to `path` atomically (temporary file, then rename).
pub fn write_radiograph(r: &Radiograph, path: &Path) -> Result<PathBuf, DicomIoError> {
    let file = radiograph_object(r, path)?;
    Ok(stage_dicom(path, &file)?.commit()?)
}
