//! QONNX import against QONNX's own executor: every fixture in tests/fixtures/qonnx (Brevitas
//! models trained briefly on MNIST and scikit-learn's digits, and hand-built edge cases; made by
//! make_fixtures.py) must give the reference outputs `qonnx.core.onnx_exec.execute_onnx`
//! computed, import deterministically, verify under Verilator, and every graph in
//! unsupported/ must be refused with exit code 2, its reason, and no output file.

mod common;

use common::{fails_with_2, fixture, ok, require_tool, s};
use std::path::{Path, PathBuf};
use xnorc_compiler::import::qonnx::calibrate;
use xnorc_sim::npy::NpyArray;

/// Every importable fixture.
const FIXTURES: &[&str] = &[
    "fc_digits",
    "tfc_mnist",
    "cnv_mnist",
    "gemm_bias",
    "conv_pad_stride",
    "zero_one_weights",
    "finn_streamlined",
    "quant_2bit_hidden",
    "finn_input_thresholds",
    "finn_binary_input",
    "finn_uint4_input",
    "finn_binary01_input",
    "residual_digits",
    "residual_relu",
];

/// The fixtures trained on real data, with labels.
const TRAINED: &[&str] = &[
    "fc_digits",
    "tfc_mnist",
    "cnv_mnist",
    "residual_digits",
    "residual_relu",
];

fn qonnx(name: &str) -> PathBuf {
    fixture(&format!("qonnx/{name}"))
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("qonnx-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = NpyArray::read(path).unwrap();
    let values = a
        .to_f32()
        .unwrap_or_else(|| panic!("{}: not float32", path.display()));
    (a.shape, values)
}

/// Simulates `model` on the fixture's frames; returns the output's shape and values.
fn simulate(model: &Path, name: &str, dir: &Path) -> (Vec<usize>, Vec<f32>) {
    let out = dir.join(format!("{name}.y.npy"));
    ok(&[
        "simulate",
        s(model),
        "--input",
        s(&qonnx(&format!("{name}.input.npy"))),
        "--output",
        s(&out),
    ]);
    read_f32(&out)
}

/// Each frame's outputs agree with the reference within 1e-6 of the frame's largest magnitude.
fn assert_close(name: &str, got: &[f32], want: &[f32], per_frame: usize) {
    assert_eq!(got.len(), want.len(), "{name}");
    for (f, (g, w)) in got
        .chunks(per_frame)
        .zip(want.chunks(per_frame))
        .enumerate()
    {
        let scale = w
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        for (i, (a, b)) in g.iter().zip(w).enumerate() {
            assert!(
                ((a - b).abs() / scale) <= 1e-6,
                "{name}: frame {f}, output {i}: xnorc {a}, qonnx {b}"
            );
        }
    }
}

#[test]
fn every_fixture_matches_the_qonnx_executor() {
    let dir = scratch("reference");
    for name in FIXTURES {
        let (shape, got) = simulate(&qonnx(&format!("{name}.onnx")), name, &dir);
        let (want_shape, want) = read_f32(&qonnx(&format!("{name}.expected.npy")));
        assert_eq!(shape, want_shape, "{name}");
        assert_close(name, &got, &want, want_shape[1..].iter().product());
    }
}

#[test]
fn trained_fixtures_report_the_accuracy_of_the_graph_output() {
    for name in TRAINED {
        // The accuracy the reference outputs give (argmax, lowest index on ties).
        let (shape, want) = read_f32(&qonnx(&format!("{name}.expected.npy")));
        let labels = NpyArray::read(&qonnx(&format!("{name}.labels.npy")))
            .unwrap()
            .to_i64()
            .unwrap();
        let per = shape[1];
        let correct = want
            .chunks(per)
            .zip(&labels)
            .filter(|(frame, &label)| {
                let best = frame.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                frame.iter().position(|&v| v == best) == Some(label as usize)
            })
            .count();
        let out = ok(&[
            "simulate",
            s(&qonnx(&format!("{name}.onnx"))),
            "--input",
            s(&qonnx(&format!("{name}.input.npy"))),
            "--labels",
            s(&qonnx(&format!("{name}.labels.npy"))),
            "--json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        let accuracy = report["accuracy"].as_f64().unwrap();
        assert_eq!(
            accuracy,
            correct as f64 / labels.len() as f64,
            "{name}: {report}"
        );
    }
}

#[test]
fn import_writes_the_same_model_every_time_and_it_simulates_like_the_onnx_file() {
    let dir = scratch("import");
    for name in [
        "fc_digits",
        "cnv_mnist",
        "finn_streamlined",
        "residual_digits",
    ] {
        let onnx = qonnx(&format!("{name}.onnx"));
        let (a, b) = (
            dir.join(format!("{name}.a.xnm")),
            dir.join(format!("{name}.b.xnm")),
        );
        let said = ok(&["import", s(&onnx), "-o", s(&a)]);
        assert!(said.contains("input mapping: float32"), "{said}");
        ok(&["import", s(&onnx), "-o", s(&b)]);
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{name}"
        );
        let from_onnx = simulate(&onnx, name, &dir);
        let from_xnm = simulate(&a, name, &dir);
        assert_eq!(from_onnx, from_xnm, "{name}");
    }
}

#[test]
fn integer_scores_are_written_apart_from_the_float_output() {
    let dir = scratch("scores");
    let scores = dir.join("scores.npy");
    ok(&[
        "simulate",
        s(&qonnx("gemm_bias.onnx")),
        "--input",
        s(&qonnx("gemm_bias.input.npy")),
        "--scores",
        s(&scores),
    ]);
    let a = NpyArray::read(&scores).unwrap();
    assert_eq!(a.shape, [64, 10]);
    let scores = a.to_i64().expect("integer scores");
    // gemm_bias's last Gemm has ±1 weights on ±1 inputs, so its float32 result is S itself and
    // the graph's output is the tail (S − μ) / σ of the written integer scores.
    let (_, want) = read_f32(&qonnx("gemm_bias.expected.npy"));
    let model = xnorc_compiler::import::load_model(&qonnx("gemm_bias.onnx")).unwrap();
    let graph = xnorc_compiler::passes::lower(&model).unwrap();
    let tail = graph.float_tail.expect("a float tail");
    for (i, (&s, &w)) in scores.iter().zip(&want).enumerate() {
        assert_eq!(
            tail.apply(i % 10, s),
            w,
            "frame {}, class {}",
            i / 10,
            i % 10
        );
    }
}

#[test]
fn unsupported_graphs_are_refused_naming_node_op_and_reason() {
    let dir = scratch("unsupported");
    let table = std::fs::read_to_string(qonnx("unsupported/expected.tsv")).unwrap();
    let mut seen = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (file, text) = line.split_once('\t').unwrap();
        let model = qonnx(&format!("unsupported/{file}"));
        let out = dir.join(format!("{file}.xnm"));
        let err = fails_with_2(&["import", s(&model), "-o", s(&out)]);
        assert!(err.contains(text), "{file}: {err}");
        assert!(
            err.contains(file),
            "{file}: the error names the file: {err}"
        );
        assert!(
            err.contains("node \""),
            "{file}: the error names the node: {err}"
        );
        assert!(!out.exists(), "{file}: no output on error");
        let err = fails_with_2(&["inspect", s(&model)]);
        assert!(err.contains(text), "{file}: {err}");
        seen += 1;
    }
    assert!(seen >= 8, "expected.tsv lists {seen} cases");
}

#[test]
fn float_input_is_checked_against_the_graph_input() {
    let dir = scratch("input");
    let model = qonnx("gemm_bias.onnx");
    // The digits fixture's frames are [N, 1, 8, 8] too, but fc_digits' are not gemm_bias's:
    // use a wrong shape on purpose.
    let err = fails_with_2(&[
        "simulate",
        s(&model),
        "--input",
        s(&qonnx("tfc_mnist.input.npy")),
    ]);
    assert!(
        err.contains("does not match the graph's float input"),
        "{err}"
    );
    // A native model takes codes, not floats.
    let native = dir.join("tiny.xnm");
    ok(&["random-model", "--arch", "tiny", "-o", s(&native)]);
    let err = fails_with_2(&[
        "simulate",
        s(&native),
        "--input",
        s(&qonnx("gemm_bias.input.npy")),
    ]);
    assert!(err.contains("holds float32"), "{err}");
    // An input annotated as integers takes only those integers.
    let err = fails_with_2(&[
        "simulate",
        s(&qonnx("finn_uint4_input.onnx")),
        "--input",
        s(&qonnx("finn_uint4_input.bad_input.npy")),
    ]);
    assert!(err.contains("frame 1, element 13 is 2.5"), "{err}");
}

#[test]
fn fixtures_verify_under_verilator_on_their_own_frames() {
    require_tool("verilator");
    let build = Path::new(env!("CARGO_MANIFEST_DIR")).join("build/test-qonnx");
    for name in FIXTURES {
        let out = ok(&[
            "verify",
            s(&qonnx(&format!("{name}.onnx"))),
            "--input",
            s(&qonnx(&format!("{name}.input.npy"))),
            "--build-dir",
            s(&build),
            "--json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["matches"], true, "{name}: {report}");
        assert_eq!(
            report["latency_cycles"], report["predicted_latency_cycles"],
            "{name}: {report}"
        );
    }
}

/// The bundled example model (models/): its outputs are the QONNX executor's, its accuracy on
/// the bundled images is the one recorded when it was trained, and it verifies under Verilator
/// with the demo's folding.
#[test]
fn bundled_model_matches_its_reference_and_recorded_accuracy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let model = root.join("tfc_w1a1_mnist.onnx");
    let dir = scratch("bundled");
    let out = dir.join("outputs.npy");
    let said = ok(&[
        "simulate",
        s(&model),
        "--input",
        s(&root.join("mnist_test_images.npy")),
        "--labels",
        s(&root.join("mnist_test_labels.npy")),
        "--output",
        s(&out),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    let (_, got) = read_f32(&out);
    let (shape, want) = read_f32(&root.join("mnist_test_expected.npy"));
    assert_eq!(shape, [300, 10]);
    assert_close("bundled", &got, &want, 10);
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("tfc_w1a1_mnist.json")).unwrap())
            .unwrap();
    assert_eq!(report["accuracy"], recorded["accuracy_qonnx_bundled_300"]);
    require_tool("verilator");
    let out = ok(&[
        "verify",
        s(&model),
        "--folding",
        s(&root.join("tfc_w1a1_mnist.folding.json")),
        "--input",
        s(&root.join("mnist_test_images.npy")),
        "--build-dir",
        s(&Path::new(env!("CARGO_MANIFEST_DIR")).join("build/test-qonnx")),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["matches"], true, "{report}");
}

/// The float graph on `name`'s frames, as the calibration trace computes it.
fn traced(name: &str) -> Vec<Vec<f32>> {
    let (shape, values) = read_f32(&qonnx(&format!("{name}.input.npy")));
    let per: usize = shape[1..].iter().product();
    let frames: Vec<Vec<f32>> = values.chunks(per).map(<[f32]>::to_vec).collect();
    let (_, cal) =
        calibrate::load(&qonnx(&format!("{name}.onnx")), &frames, 8).expect("calibrated import");
    cal.float_outputs
}

#[test]
fn the_calibration_trace_computes_what_the_qonnx_executor_does() {
    // The trace folds every layer in float32 on one frame at a time; on graphs whose every
    // tensor is quantized it must give QONNX's outputs (sums of exact products are exact in
    // any order), and on the graph with float adds the float32 rounding of its own order.
    for name in FIXTURES.iter().chain(&["residual_float_add"]) {
        let got: Vec<f32> = traced(name).concat();
        let (shape, want) = read_f32(&qonnx(&format!("{name}.expected.npy")));
        assert_close(name, &got, &want, shape[1..].iter().product());
    }
}

#[test]
fn unquantized_adds_import_only_with_calibration_which_reports_the_distance() {
    let dir = scratch("calibrate");
    let model = qonnx("residual_float_add.onnx");
    let frames = qonnx("residual_float_add.input.npy");
    let out = dir.join("calibrated.xnm");
    let _ = std::fs::remove_file(&out);
    let err = fails_with_2(&["import", s(&model), "-o", s(&out)]);
    assert!(
        err.contains("node \"/Add\"") && err.contains("--calibrate"),
        "{err}"
    );
    assert!(!out.exists());
    let said = ok(&[
        "import",
        s(&model),
        "-o",
        s(&out),
        "--calibrate",
        s(&frames),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&said).unwrap();
    let cal = &report["calibration"];
    let tensors = cal["tensors"].as_array().unwrap();
    // Both joins read a BatchNorm's float output; each gets an 8-bit power-of-two format that
    // holds the largest magnitude the frames gave it.
    assert_eq!(tensors.len(), 2, "{report}");
    for t in tensors {
        let (m, scale) = (t["max_abs"].as_f64().unwrap(), t["scale"].as_f64().unwrap());
        assert!(m <= 127.0 * scale && m > 63.0 * scale, "{t}");
        assert!(t["tensor"].as_str().unwrap().contains("BatchNormalization"));
    }
    // The report is the simulated model against the float graph (the executor's outputs).
    let (_, want) = read_f32(&qonnx("residual_float_add.expected.npy"));
    let got = simulate(&out, "residual_float_add", &dir).1;
    let agree = want
        .chunks(10)
        .zip(got.chunks(10))
        .filter(|(a, b)| xnorc_sim::input::argmax_f32(a) == xnorc_sim::input::argmax_f32(b))
        .count();
    assert_eq!(cal["argmax_agree"], agree as u64, "{report}");
    assert!(agree * 10 >= 64 * 9, "{agree} of 64 frames agree: {report}");
    // Frames that are not float32 frames of the graph input are refused, naming the file.
    for (frames, text) in [
        (
            "residual_float_add.labels.npy",
            "calibration frames are float32",
        ),
        ("tfc_mnist.input.npy", "calibration frames are [N, 1, 8, 8]"),
    ] {
        let err = fails_with_2(&[
            "import",
            s(&model),
            "-o",
            s(&out),
            "--calibrate",
            s(&qonnx(frames)),
        ]);
        assert!(
            err.contains(text) && err.contains(frames.split('.').next().unwrap()),
            "{err}"
        );
    }
    // A graph whose every tensor is quantized needs no format: the same model as without.
    let plain = dir.join("plain.xnm");
    let calibrated = dir.join("exact.xnm");
    ok(&["import", s(&qonnx("residual_digits.onnx")), "-o", s(&plain)]);
    let said = ok(&[
        "import",
        s(&qonnx("residual_digits.onnx")),
        "-o",
        s(&calibrated),
        "--calibrate",
        s(&qonnx("residual_digits.input.npy")),
    ]);
    assert!(said.contains("the import is exact"), "{said}");
    assert_eq!(
        std::fs::read(&plain).unwrap(),
        std::fs::read(&calibrated).unwrap()
    );
}
