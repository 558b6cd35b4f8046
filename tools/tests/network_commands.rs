//! The commands that run the network, as a user meets them through the binary: `segment` with
//! the compiled-in model and with a `--model` file, `verify`, `bench`, `train` and `info` on
//! weights files, and the clear errors (naming the file, non-zero status, no output written)
//! for a truncated DICOM, a damaged weights file and a CUDA request.

use std::path::Path;
use std::process::{Command, Output};

use bonemask_core::architecture::{Architecture, Config1};
use bonemask_core::random::boxed_random_weights;
use bonemask_core::scaling::InputScaling;
use bonemask_core::weights_file::{Header, Precision, Provenance, file_len_max, write_f32};
use bonemask_tools::png_io::read_mask_png;

fn bonemask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bonemask"))
        .args(args)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A small chest phantom written by the `phantom` command; returns its DICOM path.
fn phantom(dir: &Path, size: &str) -> String {
    let out = bonemask(&[
        "phantom",
        "--count",
        "1",
        "--seed",
        "5",
        "--size",
        size,
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    dir.join("chest-s5-0000.dcm").to_str().unwrap().to_string()
}

/// A configuration-1 weights file with random weights.
fn config1_weights(path: &Path) {
    let weights = boxed_random_weights::<Config1, { Config1::PARAMS }>(3);
    let header = Header::new::<Config1>(
        Precision::F32,
        InputScaling::Percentiles {
            low: 1.0,
            high: 99.0,
        },
        Provenance::untrained(3),
    );
    let mut bytes = vec![0u8; file_len_max::<Config1>()];
    let len = write_f32(&weights, &header, &mut bytes).unwrap();
    std::fs::write(path, &bytes[..len]).unwrap();
}

#[test]
fn segment_with_the_default_model_writes_four_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let image = phantom(dir.path(), "150x120");
    let out_dir = dir.path().join("out");
    let out = bonemask(&[
        "segment",
        &image,
        "-o",
        out_dir.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    for suffix in ["mask.png", "prob.png", "overlay.png", "seg.dcm"] {
        let path = out_dir.join(format!("chest-s5-0000.{suffix}"));
        assert!(path.exists(), "{} missing", path.display());
    }
    let mask = read_mask_png(&out_dir.join("chest-s5-0000.mask.png")).unwrap();
    assert_eq!((mask.width, mask.height), (150, 120));
    let bone = mask.labels.iter().filter(|l| **l == 1).count();
    assert!(
        bone > 0 && bone < mask.labels.len(),
        "a chest is neither all bone nor none"
    );
}

#[test]
fn segment_int8_and_a_model_file_of_another_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let image = phantom(dir.path(), "90x70");
    let out_dir = dir.path().join("out");
    let out_dir = out_dir.to_str().unwrap();

    let out = bonemask(&["segment", &image, "-o", out_dir, "--precision", "int8"]);
    assert!(out.status.success(), "{}", text(&out));

    let weights = dir.path().join("c1.weights");
    config1_weights(&weights);
    let out = bonemask(&[
        "segment",
        &image,
        "-o",
        out_dir,
        "--model",
        weights.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let info = bonemask(&["info", weights.to_str().unwrap()]);
    assert!(info.status.success(), "{}", text(&info));
    assert!(
        text(&info).contains("configuration       1 (window 64x64"),
        "{}",
        text(&info)
    );
}

#[test]
fn a_truncated_dicom_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let image = phantom(dir.path(), "64x48");
    let bytes = std::fs::read(&image).unwrap();
    let truncated = dir.path().join("cut.dcm");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let out_dir = dir.path().join("out");

    let out = bonemask(&[
        "segment",
        truncated.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("cut.dcm"),
        "the message names the file: {}",
        text(&out)
    );
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no output after a failure: {left:?}");
}

/// Segments a 64x48 phantom with a configuration-1 weights file named `name`, damaged by
/// `damage`; returns what `bonemask` said and the output folder it was given.
fn segment_with_damaged_weights(
    dir: &Path,
    name: &str,
    damage: impl FnOnce(&mut Vec<u8>),
) -> (Output, std::path::PathBuf) {
    let image = phantom(dir, "64x48");
    let weights = dir.join(name);
    config1_weights(&weights);
    let mut bytes = std::fs::read(&weights).unwrap();
    damage(&mut bytes);
    std::fs::write(&weights, &bytes).unwrap();

    let out_dir = dir.join("out");
    let out = bonemask(&[
        "segment",
        &image,
        "-o",
        out_dir.to_str().unwrap(),
        "--model",
        weights.to_str().unwrap(),
    ]);
    (out, out_dir)
}

#[test]
fn a_damaged_weights_file_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = segment_with_damaged_weights(dir.path(), "damaged.weights", |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
    });
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains("damaged.weights") && message.contains("checksum"),
        "{message}"
    );
}

#[test]
fn a_truncated_weights_file_is_named_once_with_its_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (out, out_dir) = segment_with_damaged_weights(dir.path(), "cut.weights", |bytes| {
        bytes.truncate(bytes.len() / 3);
    });
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let message = text(&out);
    assert!(message.contains("cut.weights"), "{message}");
    assert_eq!(
        message.matches("truncated").count(),
        1,
        "said once: {message}"
    );
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "no output after a failure: {left:?}");
}

#[test]
fn verify_finds_no_mismatch_on_a_phantom() {
    let dir = tempfile::tempdir().unwrap();
    let image = phantom(dir.path(), "40x30");
    let weights = dir.path().join("c1.weights");
    config1_weights(&weights);
    for precision in ["f32", "int8"] {
        let out = bonemask(&[
            "verify",
            &image,
            "--model",
            weights.to_str().unwrap(),
            "--precision",
            precision,
            "--samples",
            "5",
            "--json",
        ]);
        assert!(out.status.success(), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["dense"]["pixels"], 1200);
        assert_eq!(report["dense"]["mismatches"], 0);
        assert_eq!(report["per_window"]["pixels"], 5);
        assert_eq!(report["per_window"]["mismatches"], 0);
    }
}

#[test]
fn bench_reports_as_json() {
    let out = bonemask(&[
        "bench",
        "--size",
        "48x40",
        "--config",
        "1",
        "--threads",
        "1",
        "--windows",
        "1",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["width"], 48);
    assert!(report["seconds"].as_f64().unwrap() > 0.0);
    assert!(report["speedup_over_per_window"].as_f64().unwrap() > 1.0);
}

#[test]
fn train_writes_weights_files_and_refuses_cuda() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    phantom(&data, "120x100");
    let model = dir.path().join("tiny");
    let model = model.to_str().unwrap();
    let common = [
        "train",
        "--data",
        data.to_str().unwrap(),
        "--config",
        "1",
        "--epochs",
        "1",
        "--pixels-per-epoch",
        "200",
        "--patch",
        "10",
        "-o",
        model,
    ];

    let out = bonemask(&common);
    assert!(out.status.success(), "{}", text(&out));
    for suffix in ["f32.weights", "int8.weights"] {
        let info = bonemask(&["info", &format!("{model}.{suffix}")]);
        assert!(info.status.success(), "{}", text(&info));
        assert!(text(&info).contains("1 epochs"), "{}", text(&info));
    }

    let mut cuda = common.to_vec();
    cuda.extend(["--device", "cuda"]);
    let out = bonemask(&cuda);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("CUDA"), "{}", text(&out));
}
