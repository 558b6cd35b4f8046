//! The segmentation output writer: four files, all or nothing.

mod common;

use std::path::Path;
use std::process::Command;

use bonemask_tools::dicom_io::{Radiograph, SourceInfo, read_radiograph};
use bonemask_tools::output::{OutputError, write_outputs};
use bonemask_tools::png_io::{read_grey_png, read_mask_png};

fn image(width: usize, height: usize) -> Radiograph {
    Radiograph::from_pixels(
        width,
        height,
        (0..width * height).map(|i| (i % 4096) as u16).collect(),
        12,
        SourceInfo {
            patient_id: Some("P-9".into()),
            study_instance_uid: Some("2.25.77".into()),
            ..SourceInfo::default()
        },
    )
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_all_four_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let img = image(6, 4);
    let labels: Vec<u8> = (0..24).map(|i| u8::from(i % 5 == 0)).collect();
    let prob: Vec<f32> = labels
        .iter()
        .map(|&l| if l == 1 { 0.9 } else { 0.1 })
        .collect();
    let paths = write_outputs(dir.path(), "chest", &img, &labels, &prob).unwrap();
    assert_eq!(
        files_in(dir.path()),
        [
            "chest.mask.png",
            "chest.overlay.png",
            "chest.prob.png",
            "chest.seg.dcm"
        ]
    );
    assert_eq!(read_mask_png(&paths.mask).unwrap().labels, labels);
    let prob_png = read_grey_png(&paths.prob).unwrap();
    assert_eq!(prob_png.bit_depth, 16);
    assert_eq!(prob_png.values[0], (0.9f32 * 65535.0).round() as u16);
    // The Segmentation is DICOM with the source's study; it is not a greyscale radiograph, so
    // read only its identifiers.
    let seg = dicom_object::open_file(&paths.seg).unwrap();
    let study = seg
        .element(dicom_dictionary_std::tags::STUDY_INSTANCE_UID)
        .unwrap();
    assert_eq!(study.to_str().unwrap().trim_end_matches('\0'), "2.25.77");
    assert!(
        read_radiograph(&paths.seg).is_err(),
        "a 1-bit SEG is not read as a radiograph"
    );
}

#[test]
fn a_failure_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();

    // Wrong label map size: rejected before anything is written.
    let img = image(6, 4);
    let err = write_outputs(dir.path(), "a", &img, &[0; 23], &[0.0; 24]).unwrap_err();
    assert!(matches!(err, OutputError::Shape { got: 23, .. }), "{err}");

    // 70000 columns fit a PNG but not DICOM's 16-bit Columns: the PNGs are staged, then the
    // Segmentation fails, and the staged PNGs must vanish with it.
    let img = image(70_000, 1);
    let err = write_outputs(dir.path(), "b", &img, &vec![0; 70_000], &vec![0.0; 70_000]);
    assert!(matches!(err, Err(OutputError::Dicom { .. })), "{err:?}");
    assert!(
        files_in(dir.path()).is_empty(),
        "left behind: {:?}",
        files_in(dir.path())
    );
}

#[test]
fn segmentation_of_a_real_radiograph_keeps_its_identifiers() {
    let Some(path) = common::fetched("pydicom-data", "RG1_UNCR.dcm") else {
        return;
    };
    let image = read_radiograph(&path).unwrap();
    let n = image.width * image.height;
    // A stand-in label map: the brightest tenth of the pixels.
    let mut sorted = image.pixels.clone();
    sorted.sort_unstable();
    let cut = sorted[n * 9 / 10];
    let labels: Vec<u8> = image.pixels.iter().map(|&v| u8::from(v > cut)).collect();
    let prob: Vec<f32> = labels.iter().map(|&l| f32::from(l)).collect();
    let dir = tempfile::tempdir().unwrap();
    let paths = write_outputs(dir.path(), "RG1", &image, &labels, &prob).unwrap();

    let venv = common::cache_dir().join("venv/bin/python");
    let python = [venv, "python3".into()].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import pydicom"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(python) = python else {
        common::skip("pydicom not installed");
        return;
    };
    let script = "import sys, pydicom\n\
        s = pydicom.dcmread(sys.argv[1]); i = pydicom.dcmread(sys.argv[2])\n\
        same = [getattr(s, k, None) == getattr(i, k, None) for k in\n\
                ('PatientID', 'PatientName', 'StudyInstanceUID')]\n\
        src = s.PerFrameFunctionalGroupsSequence[0].DerivationImageSequence[0]\n\
        ref = src.SourceImageSequence[0].ReferencedSOPInstanceUID == i.SOPInstanceUID\n\
        print(all(same), ref, int(s.pixel_array.sum()), s.Rows, s.Columns)\n";
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&paths.seg)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bone: usize = labels.iter().map(|&l| usize::from(l)).sum();
    let expect = format!("True True {bone} {} {}", image.height, image.width);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expect);
}
