//! DICOM reading and writing: round trips through our writer, MONOCHROME1 and signed inputs,
//! every kind of bad file, the real radiographs of pydicom-data, and pydicom opening what we
//! write.

mod common;
use common as common_data;

use std::path::{Path, PathBuf};
use std::process::Command;

use bonemask_tools::dicom_io::{
    DicomIoError, Radiograph, SourceInfo, Window, radiograph_object, read_radiograph,
    read_radiograph_bytes, write_radiograph, write_segmentation,
};
use dicom_core::{PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;

fn sample(width: usize, height: usize, bits: u16) -> Radiograph {
    let max = (1u32 << bits) - 1;
    let pixels = (0..width * height)
        .map(|i| ((i as u32 * 37) % (max + 1)) as u16)
        .collect();
    let mut r = Radiograph::from_pixels(
        width,
        height,
        pixels,
        bits,
        SourceInfo {
            patient_name: Some("Phantom^Test".into()),
            patient_id: Some("P-001".into()),
            study_instance_uid: Some("2.25.1111".into()),
            series_instance_uid: Some("2.25.2222".into()),
            sop_instance_uid: Some("2.25.3333".into()),
            sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.1.1".into()),
            frame_of_reference_uid: Some("2.25.4444".into()),
            pixel_spacing_mm: Some((0.143, 0.143)),
            ..SourceInfo::default()
        },
    );
    r.windows = vec![Window {
        center: 2000.0,
        width: 1000.0,
    }];
    r
}

#[test]
fn round_trip_keeps_pixels_and_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("img.dcm");
    let r = sample(7, 5, 12);
    write_radiograph(&r, &path).unwrap();
    let back = read_radiograph(&path).unwrap();
    assert_eq!((back.width, back.height, back.bits_stored), (7, 5, 12));
    assert_eq!(back.pixels, r.pixels);
    assert_eq!(back.format.photometric, "MONOCHROME2");
    assert!(!back.format.inverted);
    assert_eq!(back.source.patient_id.as_deref(), Some("P-001"));
    assert_eq!(back.source.study_instance_uid.as_deref(), Some("2.25.1111"));
    assert_eq!(
        back.source.frame_of_reference_uid.as_deref(),
        Some("2.25.4444")
    );
    assert_eq!(back.source.pixel_spacing_mm, Some((0.143, 0.143)));
    assert_eq!(
        back.windows,
        vec![Window {
            center: 2000.0,
            width: 1000.0
        }]
    );
}

/// Writes `r` with extra or replaced attributes and returns the file's bytes.
fn bytes_with(r: &Radiograph, edit: impl FnOnce(&mut dicom_object::DefaultDicomObject)) -> Vec<u8> {
    let mut obj = radiograph_object(r, Path::new("mem.dcm")).unwrap();
    edit(&mut obj);
    let mut out = Vec::new();
    obj.write_all(&mut out).unwrap();
    out
}

#[test]
fn monochrome1_is_inverted_so_bone_is_bright() {
    let r = sample(4, 3, 10);
    let bytes = bytes_with(&r, |o| {
        o.put(InMemElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME1"),
        ));
    });
    let back = read_radiograph_bytes(Path::new("m1.dcm"), &bytes).unwrap();
    assert!(back.format.inverted);
    let expect: Vec<u16> = r.pixels.iter().map(|&v| 1023 - v).collect();
    assert_eq!(back.pixels, expect);
}

#[test]
fn signed_values_with_rescale_are_offset_not_clipped() {
    // 12-bit signed stored values -2048..=2047 with slope 1, intercept -1024.
    let mut r = sample(4, 1, 12);
    let raw: [i16; 4] = [-2048, -1, 0, 2047];
    let bytes = bytes_with(&r, |o| {
        let data: Vec<u8> = raw.iter().flat_map(|v| v.to_le_bytes()).collect();
        o.put(InMemElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(data),
        ));
        o.put(InMemElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(1u16),
        ));
        o.put(InMemElement::new(
            tags::RESCALE_INTERCEPT,
            VR::DS,
            PrimitiveValue::from("-1024"),
        ));
    });
    r.pixels = vec![0, 2047, 2048, 4095];
    let back = read_radiograph_bytes(Path::new("signed.dcm"), &bytes).unwrap();
    assert!(back.format.signed);
    assert_eq!(back.format.rescale_intercept, -1024.0);
    assert_eq!(back.pixels, r.pixels);
    // The window centre 2000 (rescaled) is raw 3024, i.e. 3024 + 2048 in pixel units.
    assert_eq!(back.window_in_pixels(), Some((5072.0, 1000.0)));
}

#[test]
fn eight_bit_input_reads() {
    let r = sample(5, 2, 8);
    let bytes = bytes_with(&r, |o| {
        let data: Vec<u8> = r.pixels.iter().map(|&v| v as u8).collect();
        o.put(InMemElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(data),
        ));
        o.put(InMemElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(8u16),
        ));
        o.put(InMemElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(8u16),
        ));
        o.put(InMemElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(7u16),
        ));
    });
    let back = read_radiograph_bytes(Path::new("eight.dcm"), &bytes).unwrap();
    assert_eq!((back.format.bits_allocated, back.bits_stored), (8, 8));
    assert_eq!(back.pixels, r.pixels);
}

fn expect_err(name: &str, bytes: &[u8]) -> DicomIoError {
    let path = PathBuf::from(name);
    let err = read_radiograph_bytes(&path, bytes).expect_err("bad input must fail");
    assert!(
        err.to_string().contains(name),
        "error must name the file: {err}"
    );
    err
}

#[test]
fn bad_files_are_typed_errors() {
    assert!(matches!(
        expect_err("empty.dcm", b""),
        DicomIoError::EmptyFile { .. }
    ));
    assert!(matches!(
        expect_err("junk.dcm", &[0x42; 300]),
        DicomIoError::NotDicom { .. }
    ));

    let good = bytes_with(&sample(16, 16, 12), |_| {});
    for cut in [100, 140, 200, good.len() / 2, good.len() - 1] {
        let err = expect_err("cut.dcm", &good[..cut]);
        assert!(
            matches!(
                err,
                DicomIoError::NotDicom { .. }
                    | DicomIoError::Decode { .. }
                    | DicomIoError::Attribute { .. }
            ),
            "cut at {cut}: {err:?}"
        );
    }

    let zero = bytes_with(&sample(4, 4, 12), |o| {
        o.put(InMemElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
    });
    assert!(matches!(
        expect_err("zero.dcm", &zero),
        DicomIoError::ZeroSize { .. }
    ));

    let colour = bytes_with(&sample(4, 4, 12), |o| {
        o.put(InMemElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(3u16),
        ));
        o.put(InMemElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("RGB"),
        ));
    });
    let err = expect_err("colour.dcm", &colour);
    assert!(
        matches!(
            err,
            DicomIoError::Unsupported { .. } | DicomIoError::Decode { .. }
        ),
        "{err:?}"
    );
}

#[test]
fn unsupported_transfer_syntax_is_named() {
    // A file meta group announcing JPEG-LS lossless, which has no pure-Rust decoder here.
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.4.80")
        .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.1.1")
        .media_storage_sop_instance_uid("2.25.5")
        .implementation_class_uid("2.25.6")
        .build()
        .unwrap();
    let mut bytes = vec![0u8; 128];
    bytes.extend_from_slice(b"DICM");
    meta.write(&mut bytes).unwrap();
    bytes.extend_from_slice(&[0; 64]);
    let err = expect_err("jls.dcm", &bytes);
    let text = err.to_string();
    assert!(
        matches!(err, DicomIoError::UnsupportedTransferSyntax { .. }),
        "{err:?}"
    );
    assert!(text.contains("1.2.840.10008.1.2.4.80"), "{text}");
    assert!(text.contains("JPEG-LS"), "{text}");
}

#[test]
fn missing_file_names_the_file() {
    let err = read_radiograph(Path::new("/nonexistent/x.dcm")).unwrap_err();
    assert!(matches!(err, DicomIoError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/x.dcm"));
}

#[test]
fn real_chest_cr_uncompressed_and_jpeg2000_agree() {
    let (Some(unc), Some(j2k)) = (
        common_data::fetched("pydicom-data", "RG1_UNCR.dcm"),
        common_data::fetched("pydicom-data", "RG1_J2KR.dcm"),
    ) else {
        return;
    };
    let a = read_radiograph(&unc).unwrap();
    let b = read_radiograph(&j2k).unwrap();
    assert_eq!(a.width * a.height, 1955 * 1841);
    assert_eq!(a.bits_stored, 15);
    assert_eq!(a.format.photometric, "MONOCHROME1");
    assert!(a.format.inverted, "MONOCHROME1 must be inverted");
    assert_eq!(b.format.transfer_syntax, "1.2.840.10008.1.2.4.90");
    assert_eq!((a.width, a.height), (b.width, b.height));
    if let Some(i) = a.pixels.iter().zip(&b.pixels).position(|(x, y)| x != y) {
        panic!(
            "pixel {i} differs: uncompressed {} vs JPEG 2000 {}",
            a.pixels[i], b.pixels[i]
        );
    }
    // Bone bright: the mediastinum (image centre column band) is brighter than the lung
    // fields on a PA chest once MONOCHROME1 is inverted.
    let mean = |x0: usize, x1: usize| {
        let (y0, y1) = (a.height / 3, 2 * a.height / 3);
        let mut sum = 0u64;
        for y in y0..y1 {
            sum += a.pixels[y * a.width + x0..y * a.width + x1]
                .iter()
                .map(|&v| u64::from(v))
                .sum::<u64>();
        }
        sum as f64 / ((y1 - y0) * (x1 - x0)) as f64
    };
    let w = a.width;
    let centre = mean(w / 2 - w / 20, w / 2 + w / 20);
    let lung = mean(w / 4 - w / 20, w / 4 + w / 20);
    assert!(
        centre > lung,
        "mediastinum {centre} should be brighter than lung {lung}"
    );
}

#[test]
fn real_leg_cr_reads() {
    let Some(path) = common_data::fetched("pydicom-data", "RG3_UNCR.dcm") else {
        return;
    };
    let r = read_radiograph(&path).unwrap();
    assert_eq!((r.width, r.height), (1760, 1760));
    assert_eq!(r.bits_stored, 10);
    assert!(r.format.inverted);
    assert!(r.pixels.iter().all(|&v| v < 1024));
}

/// A Python with pydicom: the project venv in `.cache/venv`, else `python3`.
fn pydicom_python() -> Option<PathBuf> {
    let venv = common_data::cache_dir().join("venv/bin/python");
    for python in [venv, PathBuf::from("python3")] {
        let ok = Command::new(&python)
            .args(["-c", "import pydicom"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(python);
        }
    }
    common_data::skip("pydicom not installed");
    None
}

#[test]
fn pydicom_opens_the_segmentation_and_sees_the_source_ids() {
    let dir = tempfile::tempdir().unwrap();
    let r = sample(13, 6, 12);
    let labels: Vec<u8> = (0..13 * 6).map(|i| u8::from(i % 3 == 0)).collect();
    let seg = dir.path().join("x.seg.dcm");
    write_segmentation(&r.source, 13, 6, &labels, &seg).unwrap();
    let img = dir.path().join("x.dcm");
    write_radiograph(&r, &img).unwrap();

    let Some(python) = pydicom_python() else {
        return;
    };
    let script = r#"
import sys, pydicom
s = pydicom.dcmread(sys.argv[1])
i = pydicom.dcmread(sys.argv[2])
bits = s.pixel_array
print(s.Modality, s.SegmentationType, s.Rows, s.Columns, s.PatientID, s.StudyInstanceUID,
      s.FrameOfReferenceUID, s.SegmentSequence[0].SegmentLabel,
      s.ReferencedSeriesSequence[0].SeriesInstanceUID)
print("".join(str(int(v)) for v in bits.reshape(-1)))
print(i.Rows, i.Columns, i.BitsStored, i.PhotometricInterpretation, int(i.pixel_array.sum()))
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&seg)
        .arg(&img)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pydicom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "SEG BINARY 6 13 P-001 2.25.1111 2.25.4444 bone 2.25.2222"
    );
    let expect_bits: String = labels.iter().map(|v| v.to_string()).collect();
    assert_eq!(lines[1], expect_bits);
    let sum: u64 = r.pixels.iter().map(|&v| u64::from(v)).sum();
    assert_eq!(lines[2], format!("6 13 12 MONOCHROME2 {sum}"));
}

/// pydicom re-encodes one of our files as RLE Lossless and as Deflated Explicit VR Little
/// Endian; both must read back to the same pixels (and the transfer syntax is reported).
#[test]
fn rle_and_deflate_files_written_by_pydicom_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let r = sample(37, 23, 16);
    let plain = dir.path().join("plain.dcm");
    write_radiograph(&r, &plain).unwrap();

    let Some(python) = pydicom_python() else {
        return;
    };
    let script = r#"
import sys, pydicom
from pydicom.uid import RLELossless, DeflatedExplicitVRLittleEndian
ds = pydicom.dcmread(sys.argv[1])
ds.compress(RLELossless)
ds.save_as(sys.argv[2], enforce_file_format=True)
ds = pydicom.dcmread(sys.argv[1])
ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
ds.save_as(sys.argv[3], enforce_file_format=True)
"#;
    let (rle, deflated) = (dir.path().join("rle.dcm"), dir.path().join("deflated.dcm"));
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&plain)
        .arg(&rle)
        .arg(&deflated)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pydicom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    for (path, uid) in [
        (&rle, "1.2.840.10008.1.2.5"),
        (&deflated, "1.2.840.10008.1.2.1.99"),
    ] {
        let back = read_radiograph(path).unwrap();
        assert_eq!(back.format.transfer_syntax, uid, "{}", path.display());
        assert_eq!((back.width, back.height), (37, 23));
        assert!(back.pixels == r.pixels, "{}: pixels differ", path.display());
    }
}
