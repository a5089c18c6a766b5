//! What a new user's mistakes and hostile inputs meet (issue 19): every one is refused up front
//! with exit code 2 and a message naming what is wrong — no abort, no panic, no partial output.

mod common;

use common::{fails_with_2, fixture, ok, s, xnorc};
use prost::Message;
use std::path::Path;
use xnorc_compiler::import::onnx::{tensor_shape_proto, type_proto, ModelProto};

/// `fixture` (an ONNX file) with axis `axis` of its graph input set to `size`, written to `out`.
fn with_input_dim(fixture_name: &str, axis: usize, size: i64, out: &Path) {
    let bytes = std::fs::read(fixture(fixture_name)).unwrap();
    let mut model = ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let input = &mut graph.input[0];
    let Some(type_proto::Value::TensorType(tensor)) = input.r#type.as_mut().unwrap().value.as_mut()
    else {
        panic!("{fixture_name}: the input is not a tensor")
    };
    let dim = &mut tensor.shape.as_mut().unwrap().dim[axis];
    dim.value = Some(tensor_shape_proto::dimension::Value::DimValue(size));
    std::fs::write(out, model.encode_to_vec()).unwrap();
}

#[test]
fn an_onnx_input_too_large_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.xnm");
    // fc_digits' input is [1, 64]: a billion features, and a size whose product overflows.
    for (size, phrase) in [
        (1_000_000_000i64, "64000000000 elements"),
        (1 << 62, "more than"),
    ] {
        let model = dir.path().join(format!("big{size}.onnx"));
        with_input_dim("qonnx/fc_digits.onnx", 1, size, &model);
        let err = fails_with_2(&["import", s(&model), "-o", s(&out)]);
        assert!(err.contains("graph input"), "{err}");
        assert!(err.contains(phrase), "{size}: {err}");
        assert!(!out.exists(), "a refused import wrote {}", out.display());
    }
}

#[test]
fn a_symbolic_input_axis_is_described_in_onnx_terms() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("zero.onnx");
    with_input_dim("qonnx/fc_digits.onnx", 1, 0, &model);
    let err = fails_with_2(&["inspect", s(&model)]);
    assert!(err.contains("axis 1 is 0"), "{err}");
    assert!(!err.contains("Value("), "Rust internals in {err}");
}

#[test]
fn random_input_refuses_more_frames_than_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.npy");
    let model = fixture("valid_dense.xnm");
    let err = fails_with_2(&[
        "random-input",
        s(&model),
        "-n",
        "100000000000",
        "-o",
        s(&out),
    ]);
    assert!(err.contains("frames"), "{err}");
    assert!(!out.exists());
    // Within the limit it writes.
    ok(&["random-input", s(&model), "-n", "3", "-o", s(&out)]);
    assert!(out.exists());
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    use std::process::{Command, Stdio};
    let model = fixture("valid_conv.xnm");
    for args in [vec!["inspect", s(&model)], vec!["boards"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xnorc"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the pipe before the command writes, as `| head -0` would.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {err}");
    }
}

#[test]
fn out_of_range_arguments_are_refused_up_front() {
    let model = fixture("valid_dense.xnm");
    let err = fails_with_2(&["verify", s(&model), "--stall-per-mille", "1000"]);
    assert!(err.contains("1000"), "{err}");
    let err = fails_with_2(&["bench", "--arch", "tiny", "--repeats", "0"]);
    assert!(err.contains("repeats"), "{err}");
    let out = xnorc(&["bench", "--arch", "tiny", "--frames", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bench_takes_onnx_like_every_command() {
    let model = fixture("qonnx/fc_digits.onnx");
    let out = ok(&[
        "bench",
        "--model",
        s(&model),
        "--frames",
        "64",
        "--repeats",
        "1",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["frames"], 64, "{report}");
    // A file that is not a model is named.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.xnm");
    std::fs::write(&bad, "not json").unwrap();
    let err = fails_with_2(&["bench", "--model", s(&bad)]);
    assert!(err.contains("bad.xnm"), "{err}");
}

#[test]
fn verify_writes_a_waveform() {
    common::require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.xnm");
    ok(&["random-model", "--arch", "tiny", "-o", s(&model)]);
    let vcd = dir.path().join("wave.vcd");
    let build = dir.path().join("build");
    ok(&[
        "verify",
        s(&model),
        "--vectors",
        "2",
        "--vcd",
        s(&vcd),
        "--build-dir",
        s(&build),
    ]);
    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains("$enddefinitions"), "not a VCD");
    // The core's clock and its output handshake are traced, over more than a few cycles.
    assert!(text.contains(" clk $end"), "no clock in the VCD");
    assert!(text.contains(" out_valid $end"), "no out_valid in the VCD");
    let stamps = text.lines().filter(|l| l.starts_with('#')).count();
    assert!(stamps > 20, "{stamps} time stamps");
}

/// The one rule for output places: a file goes into an existing, writable folder (else exit 2
/// before any work, naming the folder); nothing is written unless everything is.
#[test]
fn outputs_go_into_existing_folders_all_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("valid_dense.xnm");
    let frames = dir.path().join("x.npy");
    ok(&["random-input", s(&model), "-n", "4", "-o", s(&frames)]);
    let missing = dir.path().join("no/such/folder/s.npy");
    let written = dir.path().join("ok.npy");
    let err = fails_with_2(&[
        "simulate",
        s(&model),
        "--input",
        s(&frames),
        "--output",
        s(&written),
        "--scores",
        s(&missing),
    ]);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!written.exists(), "simulate wrote one output of two");
    // A "folder" that is a file, and a folder that takes no file (even for root).
    let not_a_folder = frames.join("m.xnm");
    let read_only = Path::new("/proc/xnorc-test.xnm");
    for out in [&missing, &not_a_folder, read_only] {
        for args in [
            vec!["random-model", "--arch", "tiny", "-o", s(out)],
            vec![
                "import",
                "tests/fixtures/qonnx/fc_digits.onnx",
                "-o",
                s(out),
            ],
            vec!["random-input", s(&model), "-o", s(out)],
        ] {
            let err = fails_with_2(&args);
            assert!(err.contains("cannot write there"), "{args:?}: {err}");
        }
    }
    let err = fails_with_2(&["verify", s(&model), "--vcd", s(&missing)]);
    assert!(err.contains("does not exist"), "{err}");
    // And a directory output is created with its parents.
    let design = dir.path().join("a/b/design");
    ok(&["compile", s(&model), "--output", s(&design)]);
    assert!(design.join("plan.json").exists());
}

#[test]
fn data_that_means_nothing_is_refused() {
    use xnorc_sim::npy::{NpyArray, NpyType};
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("qonnx/fc_digits.onnx");
    let frames = NpyArray::read(&fixture("qonnx/fc_digits.input.npy")).unwrap();
    let n = frames.shape[0];
    let mut values = frames.to_f32().unwrap();
    // NaN and ±∞ in float32 frames: named, not turned into bit 0.
    for (k, bad) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
        .iter()
        .enumerate()
    {
        values[70 + k] = *bad;
        let path = dir.path().join(format!("bad{k}.npy"));
        std::fs::write(
            &path,
            NpyArray::from_f32(frames.shape.clone(), &values).to_bytes(),
        )
        .unwrap();
        let err = fails_with_2(&["simulate", s(&model), "--input", s(&path)]);
        assert!(err.contains("frame 1, element"), "{err}");
        assert!(err.contains("finite"), "{err}");
        values[70 + k] = 0.5;
    }
    // Labels outside the classes.
    let input = fixture("qonnx/fc_digits.input.npy");
    for bad in [-1i64, 10] {
        let mut labels = vec![0i64; n];
        labels[n - 1] = bad;
        let path = dir.path().join("labels.npy");
        std::fs::write(
            &path,
            NpyArray::from_i64(NpyType::I64, vec![n], &labels).to_bytes(),
        )
        .unwrap();
        let err = fails_with_2(&[
            "simulate",
            s(&model),
            "--input",
            s(&input),
            "--labels",
            s(&path),
        ]);
        assert!(
            err.contains(&format!("label {} is {bad}", n - 1)) && err.contains("10 classes"),
            "{err}"
        );
    }
    // float64 frames: the message says float32 is what the graph's input takes.
    let as_f64: Vec<u8> = values
        .iter()
        .flat_map(|&v| (v as f64).to_le_bytes())
        .collect();
    let mut f64_frames = NpyArray::from_f32(frames.shape.clone(), &values);
    f64_frames.dtype = NpyType::F64;
    f64_frames.data = as_f64;
    let path = dir.path().join("f64.npy");
    std::fs::write(&path, f64_frames.to_bytes()).unwrap();
    let err = fails_with_2(&["simulate", s(&model), "--input", s(&path)]);
    assert!(err.contains("float32"), "{err}");
}

#[test]
fn messages_speak_of_the_files_not_of_rust() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("valid_dense.xnm");
    // Folding files: the wrong JSON shape, and a layer the model does not have.
    let cases = [
        ("[1, 2, 3]", "a folding file is a JSON object"),
        (
            r#"{"layers": {"fc1": [1, 2]}}"#,
            "a layer's folding is an object",
        ),
        (
            r#"{"layers": {"nope": {"pe": 1}}}"#,
            "names no dense/conv layer",
        ),
    ];
    for (text, phrase) in cases {
        let folding = dir.path().join("f.json");
        std::fs::write(&folding, text).unwrap();
        let out = dir.path().join("design");
        let err = fails_with_2(&[
            "compile",
            s(&model),
            "--folding",
            s(&folding),
            "-o",
            s(&out),
        ]);
        assert!(err.contains(phrase), "{text}: {err}");
        assert!(!err.contains("expected a boolean"), "{text}: {err}");
    }
    let folding = dir.path().join("f.json");
    let err = fails_with_2(&["compile", s(&model), "--folding", s(&folding), "-o", "x"]);
    let layers = ok(&["inspect", s(&model), "--json"]);
    let summary: serde_json::Value = serde_json::from_str(&layers).unwrap();
    let dense: Vec<&str> = summary["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["op"] == "dense")
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert!(!dense.is_empty(), "{summary}");
    for name in &dense {
        assert!(
            err.contains(&format!("\"{name}\"")),
            "{name} not listed: {err}"
        );
    }
    // A padding that is neither a number nor four sides says what it may be.
    let mut conv: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("valid_conv.xnm")).unwrap()).unwrap();
    conv["nodes"][1]["padding"] = serde_json::json!("same");
    let bad = dir.path().join("pad.xnm");
    std::fs::write(&bad, conv.to_string()).unwrap();
    let err = fails_with_2(&["inspect", s(&bad)]);
    assert!(err.contains("[top, left, bottom, right]"), "{err}");
    assert!(!err.contains("untagged"), "{err}");
}

#[test]
fn the_compile_table_names_layers_as_a_folding_does() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(&[
        "compile",
        "models/tfc_w1a1_mnist.onnx",
        "-o",
        s(&dir.path().join("d")),
    ]);
    // The model's own names (MatMul_0), which `--folding` takes, not Verilog identifiers.
    assert!(out.contains("\nMatMul_0 "), "{out}");
    let folding = dir.path().join("f.json");
    std::fs::write(
        &folding,
        r#"{"layers": {"MatMul_0": {"pe": 8, "simd": 49}}}"#,
    )
    .unwrap();
    let out = ok(&[
        "compile",
        "models/tfc_w1a1_mnist.onnx",
        "--folding",
        s(&folding),
        "-o",
        s(&dir.path().join("e")),
    ]);
    assert!(out.contains("\nMatMul_0           8    49"), "{out}");
}

#[test]
fn a_build_without_its_tools_stops_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixture("valid_dense.xnm");
    let out = dir.path().join("build");
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_xnorc"))
        .args([
            "build",
            s(&model),
            "--board",
            "icebreaker",
            "--out",
            s(&out),
        ])
        .env("PATH", &empty)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    assert!(err.contains("yosys") && err.contains("make setup"), "{err}");
    assert!(
        !out.exists(),
        "a build without tools wrote {}",
        out.display()
    );
}

/// Codebook indices are stored packed, τ bits each: a codebook CNV is smaller than the dense
/// one, and the packed and the integer forms of the same indices compute the same scores.
#[test]
fn codebook_indices_are_stored_packed() {
    use xnorc_compiler::format::{self, DType, TensorDef, WeightsDef};
    let dir = tempfile::tempdir().unwrap();
    let (packed, dense) = (dir.path().join("cb.xnm"), dir.path().join("cnv.xnm"));
    ok(&["random-model", "--arch", "cnv-codebook", "-o", s(&packed)]);
    ok(&["random-model", "--arch", "cnv", "-o", s(&dense)]);
    let (p, d) = (
        std::fs::metadata(&packed).unwrap().len(),
        std::fs::metadata(&dense).unwrap().len(),
    );
    assert!(p * 2 < d, "codebook CNV {p} bytes, dense CNV {d}");
    // The same model with its indices as plain integers computes the same scores.
    let mut model = format::load(&packed).unwrap();
    let mut converted = 0;
    for node in &mut model.nodes {
        let format::OpDef::Conv2d(conv) = &mut node.op else {
            continue;
        };
        if let WeightsDef::Codebook { indices, tau, .. } = &mut conv.weights {
            assert_eq!(indices.dtype, DType::Bits);
            let bits = indices.to_bits().unwrap();
            let t = *tau as usize;
            let values: Vec<i64> = (0..bits.len() / t)
                .map(|i| (0..t).map(|j| (bits.get(i * t + j) as i64) << j).sum())
                .collect();
            *indices = TensorDef::from_i64(indices.shape[..2].to_vec(), &values);
            converted += 1;
        }
    }
    assert!(converted >= 5, "{converted} codebook layers");
    let integers = dir.path().join("cb_int.xnm");
    std::fs::write(&integers, format::to_json(&model)).unwrap();
    let frames = dir.path().join("x.npy");
    ok(&["random-input", s(&packed), "-n", "8", "-o", s(&frames)]);
    let scores = |m: &Path, name: &str| {
        let out = dir.path().join(name);
        ok(&["simulate", s(m), "--input", s(&frames), "--scores", s(&out)]);
        std::fs::read(out).unwrap()
    };
    assert_eq!(scores(&packed, "a.npy"), scores(&integers, "b.npy"));
}

#[test]
fn every_command_that_reports_has_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let model = dir.path().join("m.xnm");
    let r = json(&[
        "random-model",
        "--arch",
        "tiny",
        "--seed",
        "4",
        "-o",
        s(&model),
        "--json",
    ]);
    assert_eq!(
        (r["preset"].as_str(), r["seed"].as_u64()),
        (Some("tiny"), Some(4))
    );
    assert_eq!(
        r["bytes"].as_u64(),
        Some(std::fs::metadata(&model).unwrap().len())
    );
    let frames = dir.path().join("x.npy");
    let r = json(&[
        "random-input",
        s(&model),
        "-n",
        "5",
        "-o",
        s(&frames),
        "--json",
    ]);
    assert_eq!(r["shape"], serde_json::json!([5, 16]), "{r}");
    assert_eq!(r["dtype"], "uint8", "{r}");
    let imported = dir.path().join("i.xnm");
    let onnx = fixture("qonnx/fc_digits.onnx");
    let r = json(&["import", s(&onnx), "-o", s(&imported), "--json"]);
    assert_eq!(r["classes"], 10, "{r}");
    assert!(r["input_mapping"].is_string(), "{r}");
}

/// `simulate --labels` reports per-class accuracy and the confusion matrix, counted here again
/// from the written output and the labels.
#[test]
fn simulate_reports_the_confusion_matrix() {
    use xnorc_sim::npy::NpyArray;
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = (
        "models/mnist_test_images.npy",
        "models/mnist_test_labels.npy",
    );
    let output = dir.path().join("y.npy");
    let out = ok(&[
        "simulate",
        "models/tfc_w1a1_mnist.onnx",
        "--input",
        images,
        "--labels",
        labels,
        "--output",
        s(&output),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let y = NpyArray::read(&output).unwrap();
    let (n, classes) = (y.shape[0], y.shape[1]);
    let values = y.to_f32().unwrap();
    let truth = NpyArray::read(Path::new(labels)).unwrap().to_i64().unwrap();
    let mut matrix = vec![vec![0u64; classes]; classes];
    for f in 0..n {
        let row = &values[f * classes..(f + 1) * classes];
        let mut best = 0;
        for c in 1..classes {
            if row[c] > row[best] {
                best = c;
            }
        }
        matrix[truth[f] as usize][best] += 1;
    }
    assert_eq!(r["confusion"], serde_json::json!(matrix), "{r}");
    let correct: u64 = (0..classes).map(|c| matrix[c][c]).sum();
    assert_eq!(r["accuracy"].as_f64().unwrap(), correct as f64 / n as f64);
    for c in 0..classes {
        let labelled: u64 = matrix[c].iter().sum();
        assert_eq!(r["per_class"][c]["frames"], labelled);
        assert_eq!(r["per_class"][c]["correct"], matrix[c][c]);
    }
    // And the table.
    let text = ok(&[
        "simulate",
        "models/tfc_w1a1_mnist.onnx",
        "--input",
        images,
        "--labels",
        labels,
    ]);
    assert!(
        text.contains("confusion matrix (rows: label, columns: predicted)"),
        "{text}"
    );
    assert!(text.contains("class   3: "), "{text}");
}

/// plan.json gives every stage its cycles per frame, its share of the II and the bottleneck,
/// here recomputed from the folding and TFC's layer sizes (784-64-64-64-10).
#[test]
fn plan_json_has_each_layers_share_of_the_ii() {
    let dir = tempfile::tempdir().unwrap();
    let folding = "models/tfc_w1a1_mnist.folding.json";
    let out = ok(&[
        "compile",
        "models/tfc_w1a1_mnist.onnx",
        "--folding",
        folding,
        "-o",
        s(&dir.path().join("d")),
        "--json",
    ]);
    let plan: serde_json::Value = serde_json::from_str(&out).unwrap();
    let f: serde_json::Value = serde_json::from_slice(&std::fs::read(folding).unwrap()).unwrap();
    let ii = plan["ii_cycles"].as_u64().unwrap();
    let sizes = [(784u64, 64u64), (64, 64), (64, 64), (64, 10)];
    let mvus: Vec<&serde_json::Value> = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "mvu")
        .collect();
    assert_eq!(mvus.len(), 4);
    let mut expected = Vec::new();
    for (i, (stage, (k, o))) in mvus.iter().zip(sizes).enumerate() {
        let layer = &f["layers"][format!("MatMul_{i}")];
        let (pe, simd) = (
            layer["pe"].as_u64().unwrap(),
            layer["simd"].as_u64().unwrap(),
        );
        let cycles = k.div_ceil(simd) * o.div_ceil(pe);
        assert_eq!(stage["layer"], format!("MatMul_{i}"));
        assert_eq!(stage["cycles_per_frame"].as_u64(), Some(cycles), "{stage}");
        let share = stage["share_of_ii"].as_f64().unwrap();
        assert!((share - cycles as f64 / ii as f64).abs() < 1e-12, "{stage}");
        expected.push(cycles);
    }
    // The first of the slowest is marked, and only it.
    let slowest = expected.iter().max().unwrap();
    let first = expected.iter().position(|c| c == slowest).unwrap();
    for (i, stage) in mvus.iter().enumerate() {
        assert_eq!(stage["bottleneck"], i == first, "{stage}");
    }
    let marked = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["bottleneck"] == true)
        .count();
    assert_eq!(marked, 1);
}

/// `compile --board` estimates every component of the plan on the board (in plan.json and a
/// table); `report` makes the page of a compile directory, escaping a hostile layer name, and
/// refuses what it cannot use with exit 2: a directory without plan.json, inputs without
/// labels, accuracy without a model.
#[test]
fn compile_estimates_per_layer_and_report_pages_a_compile_directory() {
    use xnorc_sim::npy::{NpyArray, NpyType};
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("valid_dense.xnm")).unwrap();
    let hostile = "fc<script>alert(1)</script>&\"";
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["nodes"][1]["name"] = hostile.into();
    m["nodes"][2]["inputs"][0] = hostile.into();
    let model = dir.path().join("h.xnm");
    std::fs::write(&model, serde_json::to_string(&m).unwrap()).unwrap();
    // A board that does not exist is refused before anything is planned or written.
    let out = dir.path().join("core");
    let err = fails_with_2(&["compile", s(&model), "-o", s(&out), "--board", "nope"]);
    assert!(err.contains("nope"), "{err}");
    assert!(!out.exists());
    let table = ok(&["compile", s(&model), "-o", s(&out), "--board", "ulx3s-25f"]);
    assert!(table.contains("estimate on ulx3s-25f (ecp5)"), "{table}");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
    let estimate = &plan["estimate"];
    let components = estimate["components"].as_array().unwrap();
    assert_eq!(components.len(), plan["pipeline"].as_array().unwrap().len());
    for field in ["luts", "ffs", "ram_blocks", "dsps"] {
        let sum: u64 = components
            .iter()
            .map(|c| c["cost"][field].as_u64().unwrap())
            .chain([estimate["shell"][field].as_u64().unwrap()])
            .sum();
        assert_eq!(sum, estimate["total"][field].as_u64().unwrap(), "{field}");
    }
    for (c, p) in components.iter().zip(plan["pipeline"].as_array().unwrap()) {
        assert_eq!(c["kind"], p["kind"]);
        if p["kind"] == "mvu" {
            assert!(c["cost"]["luts"].as_u64().unwrap() > 0, "{c}");
            assert!(c["cost"]["ffs"].as_u64().unwrap() > 0, "{c}");
        }
    }
    // The table prints the model's own name, made printable, never raw control characters.
    assert!(table.contains("fc<script>"), "{table}");
    // The page of the compile directory: the name escaped, nothing that runs.
    ok(&["report", s(&out)]);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("fc&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"));
    assert!(!html.contains("<script"), "a model's name became markup");
    // Refusals.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = fails_with_2(&["report", s(&empty)]);
    assert!(err.contains("plan.json"), "{err}");
    let x = dir.path().join("x.npy");
    std::fs::write(
        &x,
        NpyArray::from_i64(NpyType::U8, vec![2, 4], &[1, 0, 1, 1, 0, 0, 1, 0]).to_bytes(),
    )
    .unwrap();
    let labels = dir.path().join("l.npy");
    std::fs::write(
        &labels,
        NpyArray::from_i64(NpyType::I64, vec![2], &[0, 1]).to_bytes(),
    )
    .unwrap();
    let err = fails_with_2(&["report", s(&out), "--input", s(&x)]);
    assert!(err.contains("--labels"), "{err}");
    let args = ["report", s(&out), "--input", s(&x), "--labels", s(&labels)];
    let err = fails_with_2(&args);
    assert!(err.contains("--model"), "{err}");
    let with_model = [&args[..], &["--model", s(&model), "--json"]].concat();
    let summary: serde_json::Value = serde_json::from_str(&ok(&with_model)).unwrap();
    let simulated: serde_json::Value = serde_json::from_str(&ok(&[
        "simulate",
        s(&model),
        "--input",
        s(&x),
        "--labels",
        s(&labels),
        "--json",
    ]))
    .unwrap();
    assert_eq!(summary["accuracy"], simulated["accuracy"], "{summary}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<h2>Accuracy</h2>"));
}
