//! Golden snapshots of what xnorc emits for small models, so that a reviewer sees any change to
//! the output in the diff: the IR as `inspect --json` reports it, the plan (`plan.json`) and the
//! generated top-level Verilog, for presets that together reach every kind of top-level
//! instance (dense and convolutional layers, windows, pools, width converters, fan-out, codebook
//! decode and shared responses, scores).
//!
//! The snapshots live in `tests/snapshots/`. After an intended change, review and accept them
//! with `cargo insta review` (or rerun with `INSTA_UPDATE=always` and read the diff); an
//! unintended change fails the test.

mod common;

use common::{ok, s};
use std::path::Path;

/// Snapshots of preset `arch` (seed 1), compiled with `folding` if given, under `name`.
fn snapshot(name: &str, arch: &str, folding: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.xnm");
    ok(&[
        "random-model",
        "--arch",
        arch,
        "--seed",
        "1",
        "-o",
        s(&model),
    ]);
    insta::assert_snapshot!(format!("{name}.ir"), ok(&["inspect", s(&model), "--json"]));
    let out = dir.path().join("core");
    let mut args = vec!["compile", s(&model), "-o", s(&out)];
    let folding_file = dir.path().join("folding.json");
    if let Some(f) = folding {
        std::fs::write(&folding_file, f).unwrap();
        args.extend(["--folding", s(&folding_file)]);
    }
    ok(&args);
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    insta::assert_snapshot!(format!("{name}.plan"), read(&out.join("plan.json")));
    let top = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_core.v"))
        .expect("the generated top");
    insta::assert_snapshot!(format!("{name}.top"), read(&top));
}

#[test]
fn tiny_dense_chain() {
    // With a copy of the reset per instance and the input's gate, as on ECP5.
    snapshot("tiny", "tiny", Some(r#"{"reset_copies": true}"#));
}

#[test]
fn all_ops_convolutions_windows_and_pools() {
    snapshot("all_ops", "all-ops", None);
}

#[test]
fn tiled_layers_fanned_out() {
    snapshot("tfc_tiled", "tfc-tiled", None);
}

#[test]
fn codebook_convolutions_decoded_and_shared() {
    snapshot(
        "cnv_small_codebook",
        "cnv-small-codebook",
        Some(r#"{"layers": {"conv2": {"compute": "share"}}}"#),
    );
}
