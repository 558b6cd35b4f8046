//! The `bonemask` binary as a user meets it: `eval` on files and folders (table and JSON),
//! `info` on good and bad DICOM, and a non-zero exit status with a message naming the file
//! whenever an input is bad.

use std::path::Path;
use std::process::{Command, Output};

use bonemask_tools::atomic::write_atomically;
use bonemask_tools::mask::Mask;
use bonemask_tools::png_io::encode_mask_png;

fn bonemask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bonemask"))
        .args(args)
        .output()
        .unwrap()
}

fn write_mask(path: &Path, m: &Mask) {
    write_atomically(path, |w| encode_mask_png(w, m.width, m.height, &m.labels)).unwrap();
}

#[test]
fn eval_folders_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (truth, pred) = (dir.path().join("truth"), dir.path().join("pred"));
    std::fs::create_dir_all(&truth).unwrap();
    std::fs::create_dir_all(&pred).unwrap();
    let a = Mask::from_art(&["....", ".##.", ".##.", "...."]);
    let b = Mask::from_art(&["....", "..##", "..##", "...."]);
    write_mask(&truth.join("one.png"), &a);
    write_mask(&pred.join("one.png"), &a);
    write_mask(&truth.join("two.png"), &a);
    write_mask(&pred.join("two.png"), &b);

    let out = bonemask(&[
        "eval",
        "--truth",
        truth.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs = json["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0]["name"], "one.png");
    assert_eq!(pairs[0]["pixel_error"], 0.0);
    // "two": a 2x2 square shifted one column: 4 of 16 pixels differ, no topology change.
    assert_eq!(pairs[1]["pixel_error"], 0.25);
    assert_eq!(pairs[1]["warping_error"], 0.0);
    assert_eq!(json["mean"]["pixel_error"], 0.125);
}

#[test]
fn eval_reports_a_missing_prediction_and_a_size_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (truth, pred) = (dir.path().join("t"), dir.path().join("p"));
    std::fs::create_dir_all(&truth).unwrap();
    std::fs::create_dir_all(&pred).unwrap();
    write_mask(&truth.join("a.png"), &Mask::empty(4, 4));
    let out = bonemask(&[
        "eval",
        "--truth",
        truth.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a.png"));

    write_mask(&pred.join("a.png"), &Mask::empty(5, 4));
    let out = bonemask(&[
        "eval",
        "--truth",
        truth.to_str().unwrap(),
        "--pred",
        pred.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("size mismatch"));
}

#[test]
fn info_describes_a_phantom_and_rejects_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = bonemask(&[
        "phantom", "--kind", "hand", "--size", "64x48", "-o", out_dir,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dcm = dir.path().join("hand-s0-0000.dcm");
    let out = bonemask(&["info", dcm.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("64 x 48"), "{text}");
    assert!(text.contains("MONOCHROME2"), "{text}");
    assert!(text.contains("Explicit VR Little Endian"), "{text}");

    for (name, bytes) in [("empty.dcm", &b""[..]), ("garbage.dcm", &[9u8; 500][..])] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = bonemask(&["info", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(name),
            "{name}"
        );
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    assert_eq!(bonemask(&["frobnicate"]).status.code(), Some(2));
}
