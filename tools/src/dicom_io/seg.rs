//! A bone mask as a DICOM Segmentation (binary, one segment, one frame) that keeps the
//! source's patient, study and frame-of-reference identifiers and references the source image.
//!
//! The object has a new series and SOP instance UID; the segment is coded as SNOMED CT "Bone
//! structure" (272673000) in category "Anatomical structure" (91723000). Pixel data are 1 bit
//! per pixel, packed little-end first, rows concatenated without row padding, as the standard
//! requires for BINARY segmentations. It does not carry plane position or orientation: a
//! projection radiograph has none.

use std::path::{Path, PathBuf};

use dicom_core::{PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{InMemDicomObject, mem::InMemElement};

use super::uid::fresh_uid;
use super::write::{
    code_item, now_da_tm, put_patient_study_frame, put_seq, put_text, put_us, stage_dicom,
    with_meta,
};
use super::{DicomIoError, SourceInfo};
use crate::atomic::Staged;

/// Packs an `H x W` label map (nonzero = bone) into DICOM's 1-bit layout: pixel `i` is bit
/// `i % 8` of byte `i / 8`; the result is padded to an even number of bytes.
pub fn pack_bits(labels: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; labels.len().div_ceil(8).next_multiple_of(2)];
    for (i, &v) in labels.iter().enumerate() {
        if v != 0 {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Builds the Segmentation object for a `width x height` label map (`H x W`, 0 other, 1
/// bone) of the image described by `source`. `path` is used only in error messages.
pub fn segmentation_object(
    source: &SourceInfo,
    width: usize,
    height: usize,
    labels: &[u8],
    path: &Path,
) -> Result<dicom_object::DefaultDicomObject, DicomIoError> {
    let shape_err = || DicomIoError::Shape {
        width,
        height,
        got: labels.len(),
    };
    if width * height != labels.len() || labels.is_empty() {
        return Err(shape_err());
    }
    let (Ok(rows), Ok(cols)) = (u16::try_from(height), u16::try_from(width)) else {
        return Err(shape_err());
    };
    let s = source;
    let salt = s.sop_instance_uid.as_deref().unwrap_or("segmentation");
    let (date, time) = now_da_tm();
    let mut obj = InMemDicomObject::new_empty();

    // SOP common and the identifiers kept from the source.
    put_text(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        uids::SEGMENTATION_STORAGE,
    );
    put_text(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &fresh_uid(salt));
    put_patient_study_frame(&mut obj, s);

    // New series, equipment, content.
    put_text(&mut obj, tags::MODALITY, VR::CS, "SEG");
    put_text(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &fresh_uid(&format!("{salt}.series")),
    );
    put_text(&mut obj, tags::SERIES_NUMBER, VR::IS, "900");
    put_text(
        &mut obj,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "bonemask bone segmentation",
    );
    put_text(&mut obj, tags::MANUFACTURER, VR::LO, "bonemask");
    put_text(&mut obj, tags::MANUFACTURER_MODEL_NAME, VR::LO, "bonemask");
    put_text(&mut obj, tags::DEVICE_SERIAL_NUMBER, VR::LO, "0");
    put_text(
        &mut obj,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );
    put_text(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_text(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
    put_text(&mut obj, tags::CONTENT_TIME, VR::TM, &time);
    put_text(&mut obj, tags::CONTENT_LABEL, VR::CS, "BONE");
    put_text(&mut obj, tags::CONTENT_DESCRIPTION, VR::LO, "bone mask");
    put_text(&mut obj, tags::CONTENT_CREATOR_NAME, VR::PN, "bonemask");
    put_text(&mut obj, tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY");
    put_text(&mut obj, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    put_text(&mut obj, tags::SEGMENTATION_TYPE, VR::CS, "BINARY");

    // The one segment.
    let mut segment = InMemDicomObject::new_empty();
    put_us(&mut segment, tags::SEGMENT_NUMBER, 1);
    put_text(&mut segment, tags::SEGMENT_LABEL, VR::LO, "bone");
    put_text(
        &mut segment,
        tags::SEGMENT_ALGORITHM_TYPE,
        VR::CS,
        "AUTOMATIC",
    );
    put_text(
        &mut segment,
        tags::SEGMENT_ALGORITHM_NAME,
        VR::LO,
        "bonemask",
    );
    put_seq(
        &mut segment,
        tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
        vec![code_item("91723000", "SCT", "Anatomical structure")],
    );
    put_seq(
        &mut segment,
        tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
        vec![code_item("272673000", "SCT", "Bone structure")],
    );
    put_seq(&mut obj, tags::SEGMENT_SEQUENCE, vec![segment]);

    // Multi-frame dimensions: one dimension, the segment number.
    let dim_uid = fresh_uid(&format!("{salt}.dimension"));
    let mut org = InMemDicomObject::new_empty();
    put_text(&mut org, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
    put_seq(&mut obj, tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![org]);
    let mut dim = InMemDicomObject::new_empty();
    put_text(&mut dim, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
    let at = |t| PrimitiveValue::Tags(vec![t].into());
    dim.put(InMemElement::new(
        tags::DIMENSION_INDEX_POINTER,
        VR::AT,
        at(tags::REFERENCED_SEGMENT_NUMBER),
    ));
    dim.put(InMemElement::new(
        tags::FUNCTIONAL_GROUP_POINTER,
        VR::AT,
        at(tags::SEGMENT_IDENTIFICATION_SEQUENCE),
    ));
    put_text(
        &mut dim,
        tags::DIMENSION_DESCRIPTION_LABEL,
        VR::LO,
        "Segment number",
    );
    put_seq(&mut obj, tags::DIMENSION_INDEX_SEQUENCE, vec![dim]);

    // Functional groups: pixel size shared, segment identity and source per frame.
    let mut shared = InMemDicomObject::new_empty();
    if let Some((row, col)) = s.pixel_spacing_mm {
        let mut measures = InMemDicomObject::new_empty();
        put_text(
            &mut measures,
            tags::PIXEL_SPACING,
            VR::DS,
            &format!("{row:.6}\\{col:.6}"),
        );
        put_seq(&mut shared, tags::PIXEL_MEASURES_SEQUENCE, vec![measures]);
    }
    put_seq(
        &mut obj,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    );
    let mut frame = InMemDicomObject::new_empty();
    let mut ident = InMemDicomObject::new_empty();
    put_us(&mut ident, tags::REFERENCED_SEGMENT_NUMBER, 1);
    put_seq(
        &mut frame,
        tags::SEGMENT_IDENTIFICATION_SEQUENCE,
        vec![ident],
    );
    let mut content = InMemDicomObject::new_empty();
    content.put(InMemElement::new(
        tags::DIMENSION_INDEX_VALUES,
        VR::UL,
        PrimitiveValue::from(1u32),
    ));
    put_seq(&mut frame, tags::FRAME_CONTENT_SEQUENCE, vec![content]);
    if let (Some(class), Some(inst)) = (&s.sop_class_uid, &s.sop_instance_uid) {
        let mut src = InMemDicomObject::new_empty();
        put_text(&mut src, tags::REFERENCED_SOP_CLASS_UID, VR::UI, class);
        put_text(&mut src, tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, inst);
        put_seq(
            &mut src,
            tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
            vec![code_item(
                "121322",
                "DCM",
                "Source image for image processing operation",
            )],
        );
        let mut derivation = InMemDicomObject::new_empty();
        put_seq(&mut derivation, tags::SOURCE_IMAGE_SEQUENCE, vec![src]);
        put_seq(
            &mut derivation,
            tags::DERIVATION_CODE_SEQUENCE,
            vec![code_item("113076", "DCM", "Segmentation")],
        );
        put_seq(
            &mut frame,
            tags::DERIVATION_IMAGE_SEQUENCE,
            vec![derivation],
        );

        if let Some(series) = &s.series_instance_uid {
            let mut inst_item = InMemDicomObject::new_empty();
            put_text(
                &mut inst_item,
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                class,
            );
            put_text(
                &mut inst_item,
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                inst,
            );
            let mut series_item = InMemDicomObject::new_empty();
            put_text(&mut series_item, tags::SERIES_INSTANCE_UID, VR::UI, series);
            put_seq(
                &mut series_item,
                tags::REFERENCED_INSTANCE_SEQUENCE,
                vec![inst_item],
            );
            put_seq(
                &mut obj,
                tags::REFERENCED_SERIES_SEQUENCE,
                vec![series_item],
            );
        }
    }
    put_seq(
        &mut obj,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![frame],
    );

    // Image pixel module, 1 bit.
    put_us(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
    put_text(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_us(&mut obj, tags::ROWS, rows);
    put_us(&mut obj, tags::COLUMNS, cols);
    put_text(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, "1");
    put_us(&mut obj, tags::BITS_ALLOCATED, 1);
    put_us(&mut obj, tags::BITS_STORED, 1);
    put_us(&mut obj, tags::HIGH_BIT, 0);
    put_us(&mut obj, tags::PIXEL_REPRESENTATION, 0);
    obj.put(InMemElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pack_bits(labels)),
    ));

    with_meta(obj, path)
}

/// Stages the Segmentation of `labels` for an atomic write to `path` (see
/// [`crate::atomic::commit_all`]).
pub fn stage_segmentation(
    source: &SourceInfo,
    width: usize,
    height: usize,
    labels: &[u8],
    path: &Path,
) -> Result<Staged, DicomIoError> {
    let file = segmentation_object(source, width, height, labels, path)?;
    stage_dicom(path, &file)
}

/// Writes the Segmentation of `labels` (`H x W`, 0 other, 1 bone) to `path` atomically.
pub fn write_segmentation(
    source: &SourceInfo,
    width: usize,
    height: usize,
    labels: &[u8],
    path: &Path,
) -> Result<PathBuf, DicomIoError> {
    Ok(stage_segmentation(source, width, height, labels, path)?.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_packed_little_end_first() {
        let labels = [1, 0, 0, 0, 0, 0, 0, 1, 0, 1];
        assert_eq!(pack_bits(&labels), vec![0b1000_0001, 0b0000_0010]);
        assert_eq!(pack_bits(&[1; 3]).len(), 2, "padded to even length");
    }
}
