//! `bonemask phantom` end to end on a small size: files appear, the DICOM reads back as the
//! generator's pixels, the mask PNG equals the generator's mask, and bone is bright.

use bonemask_tools::cli::{Cli, run};
use bonemask_tools::dicom_io::read_radiograph;
use bonemask_tools::phantom::{Kind, generate};
use bonemask_tools::png_io::read_mask_png;
use clap::Parser;

#[test]
fn phantom_command_writes_matching_dicom_and_mask() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cli = Cli::try_parse_from([
        "bonemask", "phantom", "--kind", "chest", "--count", "2", "--seed", "9", "--size",
        "160x128", "-o", out,
    ])
    .unwrap();
    run(cli).unwrap();

    for index in 0..2 {
        let expect = generate(Kind::Chest, 9, index, 160, 128);
        let image = read_radiograph(&dir.path().join(format!("chest-s9-{index:04}.dcm"))).unwrap();
        assert_eq!((image.width, image.height), (160, 128));
        assert_eq!(image.pixels, expect.radiograph.pixels);
        assert!((12..=16).contains(&image.bits_stored));
        let mask =
            read_mask_png(&dir.path().join(format!("chest-s9-{index:04}.mask.png"))).unwrap();
        assert_eq!(mask.labels, expect.mask);

        // Bone bright: mean over bone pixels above the mean over the other pixels inside the
        // torso columns (the outer quarter holds air and arms).
        let (mut bone, mut nb, mut other, mut no) = (0f64, 0f64, 0f64, 0f64);
        for y in 0..128 {
            for x in 40..120 {
                let i = y * 160 + x;
                if mask.labels[i] == 1 {
                    bone += f64::from(image.pixels[i]);
                    nb += 1.0;
                } else {
                    other += f64::from(image.pixels[i]);
                    no += 1.0;
                }
            }
        }
        assert!(
            bone / nb > other / no,
            "bone mean {} <= other mean {}",
            bone / nb,
            other / no
        );
    }
}

#[test]
fn bad_size_is_a_usage_error() {
    let r = Cli::try_parse_from(["bonemask", "phantom", "--size", "0x10", "-o", "x"]);
    assert!(r.is_err());
}
