//! The `xnorc` binary end to end: commands, exit codes, no partial outputs, determinism.

mod common;

use common::{fails_with_2, fixture, ok, s};
use xnorc_sim::npy::{NpyArray, NpyType};

/// Runs a command that must fail with exit code 2 and a message containing `phrase`.
fn bad(args: &[&str], phrase: &str) {
    let stderr = fails_with_2(args);
    assert!(
        stderr.contains(phrase),
        "xnorc {args:?}: {stderr:?} lacks {phrase:?}"
    );
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn random_model_is_deterministic_and_inspectable() {
    let dir = tmp();
    let a = dir.path().join("a.xnm");
    let b = dir.path().join("b.xnm");
    ok(&[
        "random-model",
        "--arch",
        "cnv-small",
        "--seed",
        "4",
        "-o",
        s(&a),
    ]);
    ok(&[
        "random-model",
        "--arch",
        "cnv-small",
        "--seed",
        "4",
        "-o",
        s(&b),
    ]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let table = ok(&["inspect", s(&a)]);
    assert!(
        table.contains("conv1") && table.contains("maxpool"),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&["inspect", s(&a), "--json"])).unwrap();
    // 28x28 input: conv1 16x1x3x3 pad 1 → 16x28x28 → 112,896 MACs (computed by hand).
    let conv1 = &json["nodes"][1];
    assert_eq!(conv1["name"], "conv1");
    assert_eq!(conv1["macs"], 16 * 28 * 28 * 9);
    assert_eq!(conv1["weight_bits"], 16 * 9);
    // uint8 × ±1 over 9 taps: |S| <= 9·255 = 2295 → signed 13 bits.
    assert_eq!(conv1["value_bits"], 13);
}

#[test]
fn help_lists_every_preset() {
    let help = ok(&["random-model", "--help"]);
    for p in ["tiny", "tfc", "tfc-u8", "cnv-small", "cnv", "all-ops"] {
        assert!(help.contains(p), "{help}");
    }
}

#[test]
fn simulate_writes_scores_accuracy_and_dumps() {
    let dir = tmp();
    let model = dir.path().join("m.xnm");
    let x = dir.path().join("x.npy");
    let y = dir.path().join("y.npy");
    let labels = dir.path().join("l.npy");
    let dump = dir.path().join("dump");
    ok(&[
        "random-model",
        "--arch",
        "tiny",
        "--seed",
        "2",
        "-o",
        s(&model),
    ]);
    ok(&[
        "random-input",
        s(&model),
        "-n",
        "50",
        "--seed",
        "3",
        "-o",
        s(&x),
    ]);
    // Labels: class 0 for every frame, so accuracy is the share of frames predicted 0.
    std::fs::write(
        &labels,
        NpyArray::from_i64(NpyType::I64, vec![50], &[0; 50]).to_bytes(),
    )
    .unwrap();
    let out = ok(&[
        "simulate",
        s(&model),
        "--input",
        s(&x),
        "--output",
        s(&y),
        "--labels",
        s(&labels),
        "--dump",
        s(&dump),
        "--dump-frames",
        "2",
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let scores = NpyArray::read(&y).unwrap();
    assert_eq!(scores.shape, vec![50, 4]);
    assert_eq!(scores.dtype, NpyType::I32);
    let values = scores.to_i64().unwrap();
    // Accuracy recomputed here from the written scores (argmax, lowest index on ties).
    let zeros = values
        .chunks(4)
        .filter(|c| {
            c.iter()
                .enumerate()
                .max_by_key(|&(i, v)| (*v, std::cmp::Reverse(i)))
                .unwrap()
                .0
                == 0
        })
        .count();
    assert_eq!(summary["accuracy"].as_f64().unwrap(), zeros as f64 / 50.0);
    // tiny: 16 inputs → fc1 12 → 8 → 4; with ±1 weights S has the parity of the fan-in (8).
    assert!(
        values.iter().all(|v| v % 2 == 0 && v.abs() <= 8),
        "{values:?}"
    );
    let mut dumped: Vec<String> = std::fs::read_dir(&dump)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    dumped.sort();
    assert_eq!(dumped.first().unwrap(), "00_input_n.npy");
    assert_eq!(dumped.len(), 7); // input, fc1, act1, fc2, act2, fc3, scores
    let fc1 = NpyArray::read(&dump.join("01_fc1.npy")).unwrap();
    assert_eq!(fc1.shape, vec![2, 12]);
}

#[test]
fn bad_inputs_exit_2_and_leave_no_output() {
    let dir = tmp();
    let model = dir.path().join("m.xnm");
    let y = dir.path().join("y.npy");
    ok(&["random-model", "--arch", "tiny", "-o", s(&model)]);
    let write = |name: &str, a: NpyArray| {
        let p = dir.path().join(name);
        std::fs::write(&p, a.to_bytes()).unwrap();
        p
    };
    let cases = [
        (
            "two.npy",
            NpyArray::from_i64(NpyType::U8, vec![1, 16], &[2; 16]),
            "takes only 0 and 1",
        ),
        (
            "shape.npy",
            NpyArray::from_i64(NpyType::U8, vec![1, 15], &[1; 15]),
            "expected [N, 16]",
        ),
        (
            "dtype.npy",
            NpyArray::from_i64(NpyType::I64, vec![1, 16], &[1; 16]),
            "dtype int64",
        ),
    ];
    for (name, array, phrase) in cases {
        let input = write(name, array);
        bad(
            &[
                "simulate",
                s(&model),
                "--input",
                s(&input),
                "--output",
                s(&y),
            ],
            phrase,
        );
    }
    let two = dir.path().join("two.npy");
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not numpy").unwrap();
    bad(
        &[
            "simulate",
            s(&model),
            "--input",
            s(&garbage),
            "--output",
            s(&y),
        ],
        "garbage.npy",
    );
    assert!(!y.exists(), "a failed run left an output file");
    let broken = fixture("malformed/cycle.xnm");
    bad(
        &["inspect", s(&broken)],
        "cycle.xnm: node \"fc1\": field `inputs`",
    );
    bad(&["simulate", s(&broken), "--input", s(&two)], "cycle");
    bad(
        &["random-model", "--arch", "resnet1000", "-o", s(&y)],
        "resnet1000",
    );
    bad(&["inspect", "/nonexistent/model.xnm"], "cannot read model");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn simulate_reads_arrays_from_npz_archives() {
    // numpy-written archives (tests/fixtures/npy/make_npy_fixtures.py): frames and labels saved
    // together, and the same frames alone as bool, deflated.
    let dir = tmp();
    let model = fixture("valid_dense.xnm");
    let npz = fixture("npy/frames_labels.npz");
    let frames = format!("{}:frames", npz.display());
    let labels = format!("{}:labels", npz.display());
    let y = dir.path().join("y.npy");
    let out = ok(&[
        "simulate",
        s(&model),
        "--input",
        &frames,
        "--labels",
        &labels,
        "--output",
        s(&y),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(summary["frames"], 3);
    // Accuracy against the archive's labels, recomputed from the written scores.
    let scores = NpyArray::read(&y).unwrap().to_i64().unwrap();
    let want = NpyArray::read(std::path::Path::new(&labels))
        .unwrap()
        .to_i64()
        .unwrap();
    let hits = scores
        .chunks(2)
        .zip(&want)
        .filter(|(c, &l)| (if c[1] > c[0] { 1 } else { 0 }) == l)
        .count();
    assert_eq!(summary["accuracy"].as_f64().unwrap(), hits as f64 / 3.0);
    // The same frames from an .npy and from the one-array archive score the same.
    let x = dir.path().join("x.npy");
    let array = NpyArray::read(std::path::Path::new(&frames)).unwrap();
    std::fs::write(&x, array.to_bytes()).unwrap();
    let compressed = fixture("npy/frames_compressed.npz");
    for input in [s(&x), s(&compressed)] {
        let y2 = dir.path().join("y2.npy");
        ok(&["simulate", s(&model), "--input", input, "--output", s(&y2)]);
        assert_eq!(std::fs::read(&y2).unwrap(), std::fs::read(&y).unwrap());
    }
    // Several arrays and no name, or a wrong name: exit 2 listing the arrays, no output.
    let y3 = dir.path().join("y3.npy");
    bad(
        &[
            "simulate",
            s(&model),
            "--input",
            s(&npz),
            "--output",
            s(&y3),
        ],
        "frames_labels.npz: holds 2 arrays (frames, labels); name one, as in",
    );
    let wrong = format!("{}:images", npz.display());
    bad(
        &["simulate", s(&model), "--input", &wrong, "--output", s(&y3)],
        "frames_labels.npz: no array named 'images'; it holds frames, labels",
    );
    assert!(!y3.exists());
}

#[test]
fn untrusted_names_are_sanitized_in_dump_file_names() {
    let dir = tmp();
    let text = std::fs::read_to_string(fixture("valid_dense.xnm")).unwrap();
    // Rename fc1 to a hostile name (and update its consumer).
    let hostile = "../../x; rm -rf $HOME`\\n";
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["nodes"][1]["name"] = hostile.into();
    m["nodes"][2]["inputs"][0] = hostile.into();
    let model = dir.path().join("h.xnm");
    std::fs::write(&model, serde_json::to_string(&m).unwrap()).unwrap();
    let x = dir.path().join("x.npy");
    std::fs::write(
        &x,
        NpyArray::from_i64(NpyType::U8, vec![1, 4], &[1, 0, 1, 1]).to_bytes(),
    )
    .unwrap();
    let dump = dir.path().join("dump");
    ok(&["simulate", s(&model), "--input", s(&x), "--dump", s(&dump)]);
    let names: Vec<String> = std::fs::read_dir(&dump)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
    for n in &names {
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'),
            "{n}"
        );
    }
    assert!(dir.path().parent().unwrap().read_dir().is_ok());
}

#[test]
fn bench_reports_json() {
    let out = ok(&[
        "bench",
        "--arch",
        "tiny",
        "--frames",
        "20000",
        "--repeats",
        "1",
        "--json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(j["frames_per_second"].as_f64().unwrap() > 0.0);
    // tiny: 16→12→8→4, one word per row: 12 + 8 + 4 popcount words per frame.
    assert_eq!(j["popcount_words_per_frame"], 24);
    assert_eq!(j["direct_words_per_frame"], 0);
    // cnv-small's first layer, a 3×3 convolution of 16 rows on 28×28 grey bytes (padding 1):
    // 784 pixels × 16 rows × 9 taps of one word × 8 bit planes, summed on the bytes instead.
    let out = ok(&[
        "bench",
        "--arch",
        "cnv-small",
        "--frames",
        "40",
        "--repeats",
        "1",
        "--json",
    ]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["direct_words_per_frame"], 784 * 16 * 9 * 8);
}

/// A tiled layer whose filters span chunks of different α: the reference simulator computes its
/// split partial sums (checked bit for bit in sim/tests/equivalence.rs) and the hardware its
/// probe rows and split threshold stage, bit-exact under Verilator; fan-out is refused for such
/// a layer, naming the field.
#[test]
fn split_partial_sums_compile_and_verify() {
    use xnorc_compiler::format::{to_json, InputType, WeightValues};
    use xnorc_compiler::presets::{Builder, Storage};
    let dir = tmp();
    let mut b = Builder::new(7);
    b.input(&[8], InputType::Bits);
    b.independent_chunk_scales(true);
    // 3 filters of 8 taps in chunks of L = 6: each filter spans two chunks.
    b.storage(Storage::Tiled { p: 4, alpha: true });
    b.dense("fc1", 3, WeightValues::Pm1);
    b.binarize("sign1");
    b.dense("fc2", 2, WeightValues::Pm1);
    b.output(false);
    let model = dir.path().join("split.xnm");
    std::fs::write(&model, to_json(&b.finish("split"))).unwrap();
    let inspect = ok(&["inspect", s(&model)]);
    assert!(
        inspect.contains("3 on split partial sums"),
        "inspect does not show the split channels:\n{inspect}"
    );
    let x = dir.path().join("x.npy");
    ok(&["random-input", s(&model), "-n", "64", "-o", s(&x)]);
    ok(&["simulate", s(&model), "--input", s(&x)]);
    let out = dir.path().join("core");
    let plan = ok(&["compile", s(&model), "-o", s(&out), "--json"]);
    let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
    let split = plan["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["kind"] == "split_threshold")
        .expect("a split threshold stage");
    assert_eq!(split["split_channels"].as_array().unwrap().len(), 3);
    ok(&["verify", s(&model), "--input", s(&x)]);
    let folding = dir.path().join("f.json");
    std::fs::write(&folding, r#"{"layers": {"fc1": {"fanout": true}}}"#).unwrap();
    let out2 = dir.path().join("core2");
    bad(
        &[
            "compile",
            s(&model),
            "-o",
            s(&out2),
            "--folding",
            s(&folding),
        ],
        "layers.fc1.fanout",
    );
    assert!(!out2.exists(), "compile left a partial output");
}

#[test]
fn codebook_compute_is_chosen_per_layer_and_recorded_in_the_plan() {
    let dir = tmp();
    let model = dir.path().join("cb.xnm");
    ok(&[
        "random-model",
        "--arch",
        "cnv-small-codebook",
        "--seed",
        "3",
        "-o",
        s(&model),
    ]);
    let stages = |folding: Option<&str>| -> Vec<serde_json::Value> {
        let out = dir.path().join("d");
        let mut args = vec!["compile", s(&model), "-o", s(&out)];
        let f = dir.path().join("f.json");
        if let Some(json) = folding {
            std::fs::write(&f, json).unwrap();
            args.extend(["--folding", s(&f)]);
        }
        ok(&args);
        let plan: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("plan.json")).unwrap()).unwrap();
        plan["stages"].as_array().unwrap().clone()
    };
    let find = |stages: &[serde_json::Value], name: &str| {
        stages.iter().find(|s| s["name"] == name).cloned()
    };
    // Forced either way: sharing puts a responses stage before the unit, whose lanes select.
    let shared = stages(Some(
        r#"{"layers": {"conv2": {"pe": 2, "simd": 16, "compute": "share"}}}"#,
    ));
    let responses = find(&shared, "conv2_responses").expect("a responses stage");
    assert_eq!(responses["taps"], 9);
    let unit = find(&shared, "conv2").unwrap();
    assert!(unit["lane"]["select"].is_object(), "{unit}");
    // 16 input channels: one op per window pass at SIMD 16, where decode takes 9.
    assert_eq!(unit["sf"], 1);
    let decoded = stages(Some(
        r#"{"layers": {"conv2": {"pe": 2, "simd": 16, "compute": "decode"}}}"#,
    ));
    assert!(find(&decoded, "conv2_responses").is_none());
    assert_eq!(find(&decoded, "conv2").unwrap()["sf"], 9);
    // Whole kernels on conv3 (16 → 32 channels, unpadded): 4 channels at 9 positions a beat,
    // 36 lanes per PE, an op per channel block (SF 4), no responses stage; the window
    // generator's 4-channel beats are joined 9 to 1 before the unit.
    let kernels = stages(Some(
        r#"{"layers": {"conv3": {"pe": 4, "simd": 4, "compute": "kernels"}}}"#,
    ));
    let unit = find(&kernels, "conv3").unwrap();
    assert_eq!(
        (&unit["simd"], &unit["sf"]),
        (&36.into(), &4.into()),
        "{unit}"
    );
    assert_eq!(unit["codebook"]["whole_kernels"], true);
    assert_eq!(unit["input"]["elems"], 36);
    assert_eq!(find(&kernels, "conv3_swg").unwrap()["output"]["elems"], 4);
    assert!(find(&kernels, "conv3_responses").is_none());
    // conv2 is zero-padded: its masked taps have no flag in a whole-kernel beat.
    let f = dir.path().join("masked.json");
    std::fs::write(&f, r#"{"layers": {"conv2": {"compute": "kernels"}}}"#).unwrap();
    let out = dir.path().join("never");
    bad(
        &["compile", s(&model), "-o", s(&out), "--folding", s(&f)],
        "layers.conv2.compute",
    );
    assert!(!out.exists(), "compile left a partial output");
    // Without `compute` the rule decides: cnv-small's 1 Kbit index memories sit in logic, where
    // decoding costs about a LUT4 per lane, so every codebook layer decodes.
    let ruled = stages(None);
    assert!(
        ruled.iter().all(|s| s["kind"] != "responses"),
        "the rule shared a layer whose indices are in logic"
    );
}

/// A residual network goes through inspect, simulate and compile like a plain one (its inspect
/// figures derived by hand), is written as a version-2 file; what the hardware cannot build yet
/// is refused naming the node, exit 2, writing nothing.
#[test]
fn residual_models_simulate_and_compile() {
    let dir = tmp();
    let model = dir.path().join("r.xnm");
    let x = dir.path().join("x.npy");
    let y = dir.path().join("y.npy");
    ok(&[
        "random-model",
        "--arch",
        "resnet-mini",
        "--seed",
        "1",
        "-o",
        s(&model),
    ]);
    let text = std::fs::read_to_string(&model).unwrap();
    assert!(
        text.contains("\"version\": 2"),
        "a residual model is version 2"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", s(&model), "--json"])).unwrap();
    let nodes = json["nodes"].as_array().unwrap();
    let by_name = |n: &str| nodes.iter().find(|v| v["name"] == n).unwrap();
    // The join saturates to the 6-bit stream.
    assert_eq!(by_name("block1_add")["value_bits"], 6);
    // resnet20's int8 stem: 16 3x3 filters over 3 channels, stride 1, pad 1 → 16x32x32 outputs
    // of 27 taps; 8 stored bits per weight.
    let r20 = dir.path().join("r20.xnm");
    ok(&[
        "random-model",
        "--arch",
        "resnet20",
        "--seed",
        "1",
        "-o",
        s(&r20),
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["inspect", s(&r20), "--json"])).unwrap();
    let stem = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "stem")
        .unwrap()
        .clone();
    assert_eq!(stem["macs"], 16 * 32 * 32 * 27);
    assert_eq!(stem["weight_bits"], 16 * 27);
    assert_eq!(stem["stored_weight_bits"], 16 * 27 * 8);
    ok(&[
        "random-input",
        s(&model),
        "-n",
        "20",
        "--seed",
        "3",
        "-o",
        s(&x),
    ]);
    let dump = dir.path().join("dump");
    ok(&[
        "simulate",
        s(&model),
        "--input",
        s(&x),
        "--output",
        s(&y),
        "--dump",
        s(&dump),
        "--dump-frames",
        "1",
    ]);
    assert_eq!(NpyArray::read(&y).unwrap().shape, vec![20, 10]);
    let add = NpyArray::read(&dump.join("06_block1_add.npy")).unwrap();
    assert_eq!(add.shape, vec![1, 8, 14, 14]);
    assert!(add.to_i64().unwrap().iter().all(|v| (-32..=31).contains(v)));
    let out = dir.path().join("hw");
    ok(&["compile", s(&model), "-o", s(&out)]);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    // One block: its input is read twice, so a fork copies it; the join reads two.
    let kinds: Vec<&str> = plan["pipeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "fork").count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "add").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        plan["sources"].is_array(),
        "a forking core lists its sources"
    );
    // Integer weights on a binary input have no lane yet.
    let text = std::fs::read_to_string(fixture("valid_residual.xnm")).unwrap();
    let binary_input = dir.path().join("bits.xnm");
    std::fs::write(&binary_input, text.replace("\"uint8\"", "\"bits\"")).unwrap();
    let refused = dir.path().join("refused");
    bad(
        &["compile", s(&binary_input), "-o", s(&refused)],
        "node \"stem\": a layer with integer weights on binary input is not supported",
    );
    assert!(!refused.exists(), "no partial output");
}
