//! Generated hardware under Verilator against the reference simulator, through the CLI:
//! random dense models over every lane kind and option, several foldings each, the cycle model,
//! lint, determinism, fault injection and folding errors. Verilator and yosys are installed by
//! `make setup`; a missing tool fails these tests with a message saying so.

mod common;

use common::{ok, require_tool, s, xnorc};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::process::Command;
use xnorc_compiler::format::{self, InputType, ModelFile, WeightValues};
use xnorc_compiler::ir::{Geometry, Op, WeightStore};
use xnorc_compiler::presets::{Builder, Storage};
use xnorc_plan::{folding::FoldingFile, StageKind};

/// A build directory shared by the tests, so Verilator builds are cached across runs.
fn build_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("build/test-hardware")
}

/// Runs `xnorc verify --json` and checks the report: bit-exact, cycles as predicted.
fn verify(model: &Path, folding: Option<&Path>, extra: &[&str]) -> serde_json::Value {
    require_tool("verilator");
    let bd = build_dir();
    let mut args = vec![
        "verify",
        s(model),
        "--json",
        "--vectors",
        "24",
        "--build-dir",
        s(&bd),
    ];
    if let Some(f) = folding {
        args.extend(["--folding", s(f)]);
    }
    args.extend(extra);
    let out = xnorc(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "verify {args:?} failed:\n{stdout}\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["matches"], true, "{report}");
    assert_eq!(
        report["latency_cycles"], report["predicted_latency_cycles"],
        "{report}"
    );
    assert_eq!(
        report["ii_cycles"], report["predicted_ii_cycles"],
        "{report}"
    );
    report
}

/// A random dense chain: binary/uint8/int8 input, ±1 and {0,1} weights, one- and multi-level
/// thresholds and float epilogues, odd widths, optional output affine.
fn random_dense(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    let dtype = [InputType::Bits, InputType::Uint8, InputType::Int8][b.rng().gen_range(0..3)];
    let n = [3, 8, 17, 30, 64, 70][b.rng().gen_range(0..6)];
    b.input(&[n], dtype);
    let layers = b.rng().gen_range(1..=3);
    for i in 0..layers {
        let out = [2, 6, 9, 12, 16, 33][b.rng().gen_range(0..6)];
        let values = if b.rng().gen_bool(0.3) {
            WeightValues::ZeroOne
        } else {
            WeightValues::Pm1
        };
        b.dense(&format!("fc{i}"), out, values);
        match b.rng().gen_range(0..3) {
            0 => b.binarize(&format!("sign{i}")),
            1 => b.threshold(&format!("act{i}"), 1, true),
            _ => {
                let levels = b.rng().gen_range(2..=3);
                b.threshold(&format!("multi{i}"), levels, true)
            }
        }
    }
    let classes = b.rng().gen_range(2..=10);
    b.dense("classifier", classes, WeightValues::Pm1);
    let affine = b.rng().gen_bool(0.5);
    b.output(affine);
    b.finish(&format!("dense{seed}"))
}

/// A random chain of convolutions (kernels 1–3, strides 1–2, asymmetric padding in both
/// modes, both weight encodings, every activation kind, 2×2 max-pools) on a binary, uint8 or
/// int8 map, then flatten, optional dense layers and the classifier.
fn random_conv(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    let dtype = [InputType::Bits, InputType::Uint8, InputType::Int8][b.rng().gen_range(0..3)];
    let c = b.rng().gen_range(1..=4);
    let (h, w) = (b.rng().gen_range(4..=9), b.rng().gen_range(4..=9));
    b.input(&[c, h, w], dtype);
    for i in 0..b.rng().gen_range(1..=2) {
        let (h, w) = (b.dims()[1], b.dims()[2]);
        let kh = b.rng().gen_range(1..=3.min(h));
        let kw = b.rng().gen_range(1..=3.min(w));
        let limit = kh.min(kw);
        let pads = [0; 4].map(|_: usize| b.rng().gen_range(0..limit));
        let stride = b.rng().gen_range(1..=2);
        let mode = if b.is_binary() && b.rng().gen_bool(0.5) {
            format::PadMode::MinusOne
        } else {
            format::PadMode::Zero
        };
        let out = [2, 3, 4, 8][b.rng().gen_range(0..4)];
        let values = if b.rng().gen_bool(0.3) {
            WeightValues::ZeroOne
        } else {
            WeightValues::Pm1
        };
        b.conv_padded(
            &format!("conv{i}"),
            out,
            [kh, kw],
            stride,
            pads,
            mode,
            values,
        );
        match b.rng().gen_range(0..3) {
            0 => b.binarize(&format!("sign{i}")),
            1 => b.threshold(&format!("act{i}"), 1, true),
            _ => b.threshold(&format!("multi{i}"), 2, true),
        }
        if b.dims()[1] >= 2 && b.dims()[2] >= 2 && b.rng().gen_bool(0.5) {
            b.maxpool(&format!("pool{i}"), 2);
        }
    }
    b.flatten("flatten");
    if b.rng().gen_bool(0.5) {
        b.dense("fc", 6, WeightValues::Pm1);
        b.threshold("fc_act", 1, false);
    }
    let classes = b.rng().gen_range(2..=5);
    b.dense("classifier", classes, WeightValues::Pm1);
    b.output(true);
    b.finish(&format!("conv{seed}"))
}

/// A sub-bit weight storage for the next layer of `n` weights and `out` outputs: a codebook
/// (convolutions; random τ and size) or a tile repeated p times — p a divisor of n, chosen to
/// share a factor with `out` half the time so the layer fans out — with or without α. With
/// the builder's chunk scales independent, p ≤ `out` (a filter spans at most two chunks: the
/// hardware's split partial sums). Returns whether the layer has α (a `binarize` must follow).
fn sub_bit_storage(b: &mut Builder, n: usize, out: usize, conv: bool) -> bool {
    let storage = if conv && b.rng().gen_bool(0.5) {
        let tau = b.rng().gen_range(1..=4);
        let entries = b.rng().gen_range(1..=1usize << tau);
        Storage::Codebook { tau, entries }
    } else {
        // Independent chunk scales: p never divides `out` in the draw, so α splits filters.
        let independent = b.chunk_scales_independent();
        let shared = b.rng().gen_bool(0.5) && !independent;
        let most = if independent { out } else { 16 };
        let ps: Vec<usize> = (2..=n.min(most))
            .filter(|p| {
                n.is_multiple_of(*p)
                    && (!shared || out.is_multiple_of(*p))
                    && !(independent && out.is_multiple_of(*p))
            })
            .collect();
        let p = if ps.is_empty() {
            1
        } else {
            ps[b.rng().gen_range(0..ps.len())]
        };
        let alpha = b.rng().gen_bool(0.5);
        Storage::Tiled { p, alpha }
    };
    b.storage(storage);
    matches!(storage, Storage::Tiled { alpha: true, .. })
}

/// A random chain with sub-bit weights: codebook and tiled convolutions (every lane kind and
/// padding mode), tiled dense layers (fanned out or not, α or not — for odd seeds α drawn per
/// chunk, so filters spanning chunks have split partial sums), a tiled classifier.
fn random_sub_bit(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    b.independent_chunk_scales(seed % 2 == 1);
    let dtype = [InputType::Bits, InputType::Uint8, InputType::Int8][b.rng().gen_range(0..3)];
    let c = b.rng().gen_range(1..=4);
    let (h, w) = (b.rng().gen_range(4..=8), b.rng().gen_range(4..=8));
    b.input(&[c, h, w], dtype);
    for i in 0..b.rng().gen_range(1..=2) {
        let (h, w) = (b.dims()[1], b.dims()[2]);
        let k = b.rng().gen_range(1..=3.min(h).min(w));
        let pad = b.rng().gen_range(0..k);
        let mode = if b.is_binary() && b.rng().gen_bool(0.5) {
            format::PadMode::MinusOne
        } else {
            format::PadMode::Zero
        };
        let out = [2, 4, 6, 8][b.rng().gen_range(0..4)];
        let values = if b.rng().gen_bool(0.3) {
            WeightValues::ZeroOne
        } else {
            WeightValues::Pm1
        };
        let n = out * b.dims()[0] * k * k;
        let scaled = sub_bit_storage(&mut b, n, out, true);
        b.conv(&format!("conv{i}"), out, k, 1, pad, mode, values);
        match b.rng().gen_range(0..3) {
            _ if scaled => b.binarize(&format!("sign{i}")),
            0 => b.binarize(&format!("sign{i}")),
            1 => b.threshold(&format!("act{i}"), 1, true),
            _ => b.threshold(&format!("multi{i}"), 2, true),
        }
    }
    b.flatten("flatten");
    if b.rng().gen_bool(0.7) {
        let out = [4, 6, 8, 12][b.rng().gen_range(0..4)];
        let n = out * b.dims()[0];
        let scaled = sub_bit_storage(&mut b, n, out, false);
        b.dense("fc", out, WeightValues::Pm1);
        if scaled || b.rng().gen_bool(0.5) {
            b.binarize("fc_sign");
        } else {
            b.threshold("fc_act", 2, true);
        }
    }
    let classes = b.rng().gen_range(2..=6);
    let n = classes * b.dims()[0];
    if sub_bit_storage(&mut b, n, classes, false) {
        let Storage::Tiled { p, .. } = b.pending_storage() else {
            unreachable!()
        };
        b.storage(Storage::Tiled { p, alpha: false });
    }
    b.dense("classifier", classes, WeightValues::Pm1);
    b.output(true);
    b.finish(&format!("subbit{seed}"))
}

/// How a layer may compute: a kernel-codebook convolution's ways.
#[derive(Clone, Copy, PartialEq)]
enum Codebook {
    /// Not a kernel-codebook convolution.
    No,
    /// Decode or share (its padded taps are masked).
    Masked,
    /// Any way, whole kernels too.
    Any,
}

/// Matrix layers of a model: (name, filters the unit computes — O, or O / fan-out for a
/// fanned-out tiled layer when `fanout` — what SIMD must divide, and whether it is a
/// kernel-codebook convolution).
fn layers(model: &ModelFile, fanout: bool) -> Vec<(String, usize, usize, Codebook)> {
    let graph = xnorc_compiler::passes::lower(model).unwrap();
    let (stages, _, _) = xnorc_plan::plan_stages(&graph, &FoldingFile::default()).unwrap();
    let masked = |layer: &str| {
        stages
            .iter()
            .any(|s| s.layer == layer && matches!(&s.kind, StageKind::Swg(w) if w.masked))
    };
    stages
        .iter()
        .filter_map(|s| match &s.kind {
            StageKind::Mvu(m) => {
                let Op::MatMul(mm) = &graph.node(m.node).op else {
                    unreachable!()
                };
                let unit = match mm.geometry {
                    Geometry::Dense => m.k,
                    Geometry::Conv { .. } => mm.weights.in_channels,
                };
                let filters = if fanout { m.o / m.fanout } else { m.o };
                let codebook = match mm.weights.store {
                    WeightStore::Codebook(_) if masked(&s.layer) => Codebook::Masked,
                    WeightStore::Codebook(_) => Codebook::Any,
                    _ => Codebook::No,
                };
                Some((graph.node(m.node).name.clone(), filters, unit, codebook))
            }
            _ => None,
        })
        .collect()
}

fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// How a folding has codebook convolutions compute.
#[derive(Clone, Copy)]
enum Compute {
    /// The cost rule's choice (no `compute` field).
    Rule,
    /// `"compute": "decode"`.
    Decode,
    /// `"compute": "share"`.
    Share,
    /// `"compute": "kernels"` where the layer can, else `"decode"`.
    Kernels,
}

/// Folding JSON: `pick(k, o)` chooses (pe, simd) per layer; `compute` applies to codebook
/// convolutions.
fn folding_json(
    model: &ModelFile,
    tree: u32,
    memory: &str,
    memory_register: bool,
    fanout: bool,
    compute: Compute,
    mut pick: impl FnMut(usize, usize) -> (usize, usize),
) -> String {
    let entries: Vec<String> = layers(model, fanout)
        .iter()
        .map(|(name, o, unit, codebook)| {
            let (pe, simd) = pick(*unit, *o);
            // Fan-out is the default; `"fanout": true` on a layer that cannot is an error.
            let off = if fanout { "" } else { ", \"fanout\": false" };
            let how = match (codebook, compute) {
                (Codebook::No, _) | (_, Compute::Rule) => "",
                (Codebook::Any, Compute::Kernels) => ", \"compute\": \"kernels\"",
                (_, Compute::Decode | Compute::Kernels) => ", \"compute\": \"decode\"",
                (_, Compute::Share) => ", \"compute\": \"share\"",
            };
            format!(
                "\"{name}\": {{\"pe\": {pe}, \"simd\": {simd}, \"memory\": \"{memory}\"{off}{how}}}"
            )
        })
        .collect();
    format!(
        "{{\"tree_pipeline\": {tree}, \"memory_output_register\": {memory_register}, \
         \"layers\": {{{}}}}}",
        entries.join(", ")
    )
}

/// Verifies random models under three foldings (fully parallel in block RAM with the second
/// operand register, fully serial in logic, random PE/SIMD) and the automatic one; with
/// `no_fanout`, also random PE/SIMD computing every output of tiled layers. Codebook
/// convolutions compute as the cost rule says when fully parallel, by shared responses when
/// serial, and two of decode, sharing and whole kernels (by seed) in the random foldings.
fn check_random_models(seeds: std::ops::Range<u64>, make: fn(u64) -> ModelFile, no_fanout: bool) {
    let dir = tempfile::tempdir().unwrap();
    for seed in seeds {
        let model = make(seed);
        let path = write_model(dir.path(), &model, &format!("m{seed}.xnm"));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut random_fold = |k: usize, o: usize| {
            let (p, q) = (divisors(o), divisors(k));
            (p[rng.gen_range(0..p.len())], q[rng.gen_range(0..q.len())])
        };
        let (one, other) = match seed % 3 {
            0 => (Compute::Decode, Compute::Share),
            1 => (Compute::Share, Compute::Kernels),
            _ => (Compute::Kernels, Compute::Decode),
        };
        let mut foldings = vec![
            folding_json(&model, 1, "block", true, true, Compute::Rule, |k, o| (o, k)),
            folding_json(&model, 0, "lut", false, true, Compute::Share, |_, _| (1, 1)),
            folding_json(&model, 2, "lut", seed % 2 == 0, true, one, &mut random_fold),
        ];
        if no_fanout {
            foldings.push(folding_json(
                &model,
                1,
                "block",
                false,
                false,
                other,
                &mut random_fold,
            ));
        }
        for (i, f) in foldings.iter().enumerate() {
            let fp = dir.path().join(format!("f{seed}_{i}.json"));
            std::fs::write(&fp, f).unwrap();
            verify(&path, Some(&fp), &["--seed", &seed.to_string()]);
        }
        // And the automatic folding, with lint of the generated design.
        verify(&path, None, &[]);
        lint(&path);
    }
}

#[test]
fn random_dense_models_a() {
    check_random_models(0..4, random_dense, false);
}

#[test]
fn random_dense_models_b() {
    check_random_models(4..8, random_dense, false);
}

#[test]
fn random_conv_models_a() {
    check_random_models(100..103, random_conv, false);
}

#[test]
fn random_conv_models_b() {
    check_random_models(103..106, random_conv, false);
}

#[test]
fn random_sub_bit_models_a() {
    check_random_models(200..203, random_sub_bit, true);
}

#[test]
fn random_sub_bit_models_b() {
    check_random_models(203..206, random_sub_bit, true);
}

/// The verified sub-bit seeds reach every hardware form: codebook convolutions (which the
/// foldings compute every way, whole kernels on the seeds that ask for them), fanned-out
/// tiles, tiles computed in full (their rows stored once), α folded into thresholds, and split
/// partial sums.
#[test]
fn random_sub_bit_models_cover_every_form() {
    let (mut codebook, mut fanned, mut full_tile, mut alpha, mut split) = (0, 0, 0, 0, 0);
    let mut whole_kernels = 0;
    for seed in 200..206 {
        let model = random_sub_bit(seed);
        if seed % 3 != 0 {
            whole_kernels += layers(&model, true)
                .iter()
                .filter(|l| l.3 == Codebook::Any)
                .count();
        }
        alpha += format::to_json(&model).matches("\"alpha\"").count();
        let graph = xnorc_compiler::passes::lower(&model).unwrap();
        let (stages, _, _) = xnorc_plan::plan_stages(&graph, &FoldingFile::default()).unwrap();
        for s in &stages {
            if let StageKind::SplitThreshold(t) = &s.kind {
                split += t.split.len();
            }
            if let StageKind::Mvu(m) = &s.kind {
                codebook += usize::from(m.storage == "codebook");
                fanned += usize::from(m.fanout > 1);
                full_tile +=
                    usize::from(m.storage == "tiled" && m.fanout == 1 && m.rows() < m.nf());
            }
        }
    }
    assert!(
        codebook > 0 && whole_kernels > 0 && fanned > 0 && full_tile > 0 && alpha > 0 && split > 0,
        "codebook {codebook} (whole kernels {whole_kernels}), fanned out {fanned}, tile rows \
         reused {full_tile}, alpha {alpha}, split channels {split}"
    );
}

/// Split partial sums on every lane kind: a tiled first layer (p = 3 chunks of independent α
/// over 4 outputs, so two filters span two chunks) on binary, zero-padded binary and uint8
/// input, ±1 and {0, 1} weights, and a dense one; each verified under the automatic, a serial
/// and a parallel folding. Every way the split stage forms its key is reached.
#[test]
fn split_partial_sums_verify_on_every_lane() {
    use xnorc_plan::split::ProbeKey;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            InputType::Bits,
            format::PadMode::MinusOne,
            WeightValues::Pm1,
        ),
        (InputType::Bits, format::PadMode::Zero, WeightValues::Pm1),
        (InputType::Uint8, format::PadMode::Zero, WeightValues::Pm1),
        (
            InputType::Bits,
            format::PadMode::MinusOne,
            WeightValues::ZeroOne,
        ),
        (
            InputType::Bits,
            format::PadMode::Zero,
            WeightValues::ZeroOne,
        ),
        (
            InputType::Uint8,
            format::PadMode::Zero,
            WeightValues::ZeroOne,
        ),
    ];
    let mut keys = Vec::new();
    for (i, &(dtype, mode, values)) in cases.iter().enumerate() {
        let mut b = Builder::new(300 + i as u64);
        b.independent_chunk_scales(true);
        b.input(&[2, 5, 5], dtype);
        b.storage(Storage::Tiled { p: 3, alpha: true });
        b.conv("conv", 4, 3, 1, 1, mode, values);
        b.binarize("sign");
        b.flatten("flatten");
        if i == 0 {
            // A dense split layer as well: 100 inputs, 4 outputs, p = 5: chunks of 80 weights,
            // so every filter spans two.
            b.storage(Storage::Tiled { p: 5, alpha: true });
            b.dense("fc", 4, WeightValues::Pm1);
            b.binarize("fc_sign");
        }
        b.dense("classifier", 3, WeightValues::Pm1);
        b.output(true);
        let model = b.finish(&format!("split{i}"));
        let graph = xnorc_compiler::passes::lower(&model).unwrap();
        let (stages, _, _) = xnorc_plan::plan_stages(&graph, &FoldingFile::default()).unwrap();
        for s in &stages {
            if let StageKind::SplitThreshold(t) = &s.kind {
                keys.extend(t.split.iter().map(|c| c.key));
            }
        }
        let path = dir.path().join(format!("split{i}.xnm"));
        std::fs::write(&path, format::to_json(&model)).unwrap();
        let foldings = [
            folding_json(&model, 0, "lut", false, true, Compute::Rule, |_, _| (1, 1)),
            folding_json(&model, 1, "block", true, true, Compute::Rule, |k, o| (o, k)),
        ];
        for (j, f) in foldings.iter().enumerate() {
            let fp = dir.path().join(format!("f{i}_{j}.json"));
            std::fs::write(&fp, f).unwrap();
            verify(&path, Some(&fp), &["--seed", &i.to_string()]);
        }
        verify(&path, None, &[]);
        lint(&path);
    }
    for key in [
        ProbeKey::Difference,
        ProbeKey::HalfDifference,
        ProbeKey::Probe,
    ] {
        assert!(
            keys.contains(&key),
            "no split channel keyed {key:?}: {keys:?}"
        );
    }
}

#[test]
fn sub_bit_presets_verify() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ["tfc-tiled", "cnv-small-codebook", "cnv-small-tiled"] {
        let model = preset(arch, dir.path());
        verify(&model, None, &[]);
        lint(&model);
    }
}

#[test]
fn conv_presets_verify() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ["cnv-small", "all-ops"] {
        let model = preset(arch, dir.path());
        verify(&model, None, &[]);
        lint(&model);
    }
}

fn lint(model: &Path) {
    require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    ok(&["compile", s(model), "-o", s(dir.path())]);
    let v: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "v"))
        .collect();
    let lint = Command::new("verilator")
        .current_dir(dir.path())
        .args(["--lint-only", "-Wall"])
        .args(&v)
        .output()
        .unwrap();
    assert!(
        lint.status.success() && lint.stderr.is_empty(),
        "lint of {}:\n{}",
        model.display(),
        String::from_utf8_lossy(&lint.stderr)
    );
}

fn preset(arch: &str, dir: &Path) -> PathBuf {
    let p = dir.join(format!("{arch}.xnm"));
    let out = xnorc(&["random-model", "--arch", arch, "--seed", "3", "-o", s(&p)]);
    assert!(out.status.success());
    p
}

#[test]
fn tfc_presets_verify_with_auto_folding() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ["tfc", "tfc-u8"] {
        let model = preset(arch, dir.path());
        let r = verify(&model, None, &[]);
        // The automatic rule balances TFC to 64 cycles per frame (see plan::folding).
        assert_eq!(r["ii_cycles"], 64, "{r}");
        lint(&model);
    }
}

/// The scores stage's two argmax forms, each bit- and cycle-exact. TFC's automatic folding
/// (II 64) leaves the time to scan its 10 classes (a frame per 24 cycles;
/// `tfc_presets_verify_with_auto_folding` co-simulates it); the tiny preset at II 1 needs the
/// tree, a frame a cycle. plan.json says which.
#[test]
fn scores_scan_and_tree_verify() {
    let dir = tempfile::tempdir().unwrap();
    for (arch, scan) in [("tfc", true), ("tiny", false)] {
        let model = preset(arch, dir.path());
        let out = dir.path().join(arch);
        ok(&["compile", s(&model), "-o", s(&out)]);
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
        let scores = plan["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["kind"] == "scores")
            .unwrap();
        assert_eq!(scores["scan"], scan, "{arch}: {scores}");
        if !scan {
            let r = verify(&model, None, &["--seed", "9"]);
            assert_eq!(r["ii_cycles"], 1, "{r}");
        }
    }
}

/// Weight ROMs in logic wider than a slice (fc1: 784-bit words in 13 slices, the last of 16
/// bits; fc2: 128 bits in two) read each slice through its own address register and image,
/// and the design stays bit- and cycle-exact: with the copies taking the next address, and
/// with the second weight register, where they take the address register and the ROM's data
/// register stands in for the second one.
#[test]
fn sliced_logic_roms_verify() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tfc", dir.path());
    let layers = r#"{"fc1": {"pe": 16, "simd": 49, "memory": "lut"},
                     "fc2": {"pe": 4, "simd": 32, "memory": "lut"}}"#;
    let late = dir.path().join("late.json");
    std::fs::write(
        &late,
        format!(r#"{{"memory_output_register": true, "layers": {layers}}}"#),
    )
    .unwrap();
    verify(&model, Some(&late), &["--seed", "6"]);
    let folding = dir.path().join("lut.json");
    std::fs::write(&folding, format!(r#"{{"layers": {layers}}}"#)).unwrap();
    let design = dir.path().join("design");
    ok(&[
        "compile",
        s(&model),
        "--folding",
        s(&folding),
        "-o",
        s(&design),
    ]);
    for (layer, slices) in [("fc1", 13), ("fc2", 2)] {
        let stem = format!("tfc_core_{layer}_weights");
        assert!(!design.join(format!("{stem}.hex")).exists(), "{layer}");
        for i in 0..slices {
            assert!(
                design.join(format!("{stem}_s{i:03}.hex")).exists(),
                "{layer} {i}"
            );
        }
        let past = design.join(format!("{stem}_s{slices:03}.hex"));
        assert!(!past.exists(), "{layer}");
    }
    verify(&model, Some(&folding), &["--seed", "5"]);
}

/// The broadcast tree (`broadcast_register`, a third operand/weight register) keeps a design
/// bit- and cycle-exact, one cycle later per unit, with its weights in each place it reads
/// them from: fc1 a sliced logic ROM (13 slices under 2 first-level address copies, the
/// operand's 2 copies under one), fc2 block RAM, fc3 block RAM at PE 32 (4 operand copies
/// under 2), fc4 without the tree beside them.
#[test]
fn broadcast_registers_verify() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tfc", dir.path());
    let folding = dir.path().join("tree.json");
    std::fs::write(
        &folding,
        r#"{"memory_output_register": true, "layers": {
             "fc1": {"pe": 16, "simd": 49, "memory": "lut", "broadcast_register": true},
             "fc2": {"pe": 4, "simd": 32, "memory": "block", "broadcast_register": true},
             "fc3": {"pe": 32, "simd": 4, "memory": "block", "broadcast_register": true}}}"#,
    )
    .unwrap();
    let tree = verify(&model, Some(&folding), &["--seed", "7"]);
    let plain = dir.path().join("plain.json");
    std::fs::write(
        &plain,
        std::fs::read_to_string(&folding)
            .unwrap()
            .replace(r#", "broadcast_register": true"#, ""),
    )
    .unwrap();
    let without = verify(&model, Some(&plain), &["--seed", "7"]);
    // One cycle more in each of the three units on the frame's path.
    assert_eq!(
        tree["latency_cycles"].as_u64().unwrap(),
        without["latency_cycles"].as_u64().unwrap() + 3,
        "{tree}\n{without}"
    );
    // The folding's default on a convolutional codebook network: integer-input lanes (conv1),
    // a sharing unit's select lanes (conv3) and dense ones take the tree; the decoding conv2
    // does not. With the reset copies, as an 85F build has them: the stages leave reset a
    // cycle late, and the testbench offers a beat in that cycle.
    let cnv = preset("cnv-small-codebook", dir.path());
    let default = dir.path().join("default.json");
    std::fs::write(
        &default,
        r#"{"memory_output_register": true, "broadcast_register": true, "reset_copies": true,
            "layers": {
             "conv2": {"compute": "decode"}, "conv3": {"compute": "share"}}}"#,
    )
    .unwrap();
    verify(&cnv, Some(&default), &["--seed", "8"]);
}

#[test]
fn compile_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tfc", dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for d in [&a, &b] {
        ok(&["compile", s(&model), "-o", s(d)]);
    }
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for n in names {
        assert_eq!(
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
            "{n:?}"
        );
    }
}

#[test]
fn a_corrupted_weight_bit_fails_verification() {
    require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tiny", dir.path());
    let design = dir.path().join("design");
    ok(&["compile", s(&model), "-o", s(&design)]);
    let bd = build_dir();
    ok(&[
        "verify",
        s(&model),
        "--design",
        s(&design),
        "--build-dir",
        s(&bd),
    ]);
    // Invert the low four weight bits of the first word of the middle layer (fc2).
    let hex = design.join("tiny_core_fc2_weights.hex");
    let text = std::fs::read_to_string(&hex).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines[0].pop().unwrap().to_digit(16).unwrap() ^ 0xf;
    lines[0].push(char::from_digit(last, 16).unwrap());
    std::fs::write(&hex, lines.join("\n") + "\n").unwrap();
    let bad = xnorc(&[
        "verify",
        s(&model),
        "--design",
        s(&design),
        "--build-dir",
        s(&bd),
    ]);
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("frame") && stderr.contains("reference gives"),
        "{stderr}"
    );
    // The diagnosis names the corrupted layer (fc2, fused with its threshold act2), not fc1.
    assert!(
        stderr.contains("first differing stage: fc2 (node \"act2\")"),
        "{stderr}"
    );
}

#[test]
fn invalid_folding_names_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tfc", dir.path());
    let cases = [
        (
            r#"{"layers": {"fc1": {"simd": 10}}}"#,
            "layers.fc1.simd",
            "does not divide the layer's 784 inputs",
        ),
        (
            r#"{"layers": {"fc2": {"pe": 7}}}"#,
            "layers.fc2.pe",
            "does not divide the layer's 64 outputs",
        ),
        (
            r#"{"layers": {"nope": {"pe": 1}}}"#,
            "layers.nope",
            "names no dense/conv layer",
        ),
        (
            r#"{"layers": {"fc1": {"pee": 1}}}"#,
            "layers.fc1",
            "unknown field",
        ),
        (
            r#"{"layers": {"fc1": {"compute": "share"}}}"#,
            "layers.fc1.compute",
            "kernel-codebook convolutions only",
        ),
        (
            r#"{"layers": {"fc1": {"compute": "sharing"}}}"#,
            "layers.fc1.compute",
            "unknown variant",
        ),
        (
            r#"{"layers": {"fc2": {"broadcast_register": true}}}"#,
            "layers.fc2.broadcast_register",
            "needs \"memory_output_register\": true",
        ),
    ];
    for (i, (json, field, phrase)) in cases.iter().enumerate() {
        let f = dir.path().join(format!("f{i}.json"));
        std::fs::write(&f, json).unwrap();
        let out = xnorc(&[
            "compile",
            s(&model),
            "-o",
            s(&dir.path().join("o")),
            "--folding",
            s(&f),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(field) && stderr.contains(phrase),
            "{json}: {stderr}"
        );
        // The error is the folding file's, and says so.
        assert!(stderr.contains(&format!("f{i}.json")), "{stderr}");
    }
}

#[test]
fn verify_works_with_a_relative_build_dir() {
    // `make demo` runs `xnorc verify` with the default, relative `--build-dir build`.
    require_tool("verilator");
    let dir = tempfile::tempdir().unwrap();
    let model = preset("tiny", dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_xnorc"))
        .current_dir(dir.path())
        .args(["verify", s(&model), "--vectors", "4"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("build/verilator").is_dir());
}

/// The seeds' other layer order, conv → max-pool → threshold (BinaryNet and VGG-small as Bop
/// and SiMaN train them): the plan thresholds first and pools after, with the max where a
/// channel's count rises with S and the min where it falls. Both directions, one and several
/// levels, binary input with a folding that puts several beats in a pixel (so the pool's
/// per-channel choice follows the channel block) under random stalls, 8-bit input with the
/// automatic folding: bit- and cycle-exact against the reference simulator, which pools the
/// integers first as the model says.
#[test]
fn max_pool_before_the_threshold_verifies_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let make = |seed: u64, dtype: InputType| {
        let mut b = Builder::new(seed);
        b.input(&[2, 8, 8], dtype);
        b.conv(
            "conv0",
            8,
            3,
            1,
            1,
            format::PadMode::Zero,
            WeightValues::Pm1,
        );
        b.maxpool("pool0", 2);
        b.threshold("act0", 1, true);
        b.conv(
            "conv1",
            8,
            2,
            1,
            0,
            format::PadMode::Zero,
            WeightValues::Pm1,
        );
        b.maxpool("pool1", 2);
        b.threshold("multi1", 3, true);
        b.flatten("flatten");
        b.dense("classifier", 3, WeightValues::Pm1);
        b.output(false);
        b.finish(&format!("poolfirst{seed}"))
    };
    let (mut falling, mut rising) = (0, 0);
    for (seed, dtype) in [(11, InputType::Bits), (12, InputType::Uint8)] {
        let model = make(seed, dtype);
        let graph = xnorc_compiler::passes::lower(&model).unwrap();
        let (stages, _, _) = xnorc_plan::plan_stages(&graph, &FoldingFile::default()).unwrap();
        for s in &stages {
            if let StageKind::Pool(p) = &s.kind {
                falling += p.minimum.iter().filter(|&&m| m).count();
                rising += p.minimum.iter().filter(|&&m| !m).count();
            }
        }
        let path = dir.path().join(format!("p{seed}.xnm"));
        std::fs::write(&path, format::to_json(&model)).unwrap();
        if dtype == InputType::Bits {
            // Two channels per beat: four channel blocks per pixel, under random stalls.
            let folding = dir.path().join(format!("p{seed}.json"));
            let two_if = |n: usize| if n.is_multiple_of(2) { 2 } else { 1 };
            let json = folding_json(
                &model,
                1,
                "block",
                false,
                false,
                Compute::Rule,
                |unit, o| (two_if(o), two_if(unit)),
            );
            std::fs::write(&folding, json).unwrap();
            verify(&path, Some(&folding), &["--stall-per-mille", "300"]);
        } else {
            verify(&path, None, &[]);
        }
    }
    assert!(
        falling > 0 && rising > 0,
        "{falling} falling, {rising} rising channels"
    );
}

/// A binary residual network: a uint8 stem whose accumulator enters the 8-bit stream through
/// its BatchNorm affine, then two Bi-Real blocks — RSign (a threshold on the stream), a binary
/// 3×3 convolution, its affine, the join with the shortcut (one with shifts, one saturating),
/// an RPReLU — and a binary classifier: bit- and cycle-exact under random stalls, with the
/// automatic folding and with two channels per beat.
fn residual_model(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    b.input(&[2, 6, 6], InputType::Uint8);
    let zero = format::PadMode::Zero;
    b.conv("stem", 8, 3, 1, 1, zero, WeightValues::Pm1);
    b.affine("stem_bn", false, Some(8));
    for (i, shift) in [[0, 0], [1, 0]].into_iter().enumerate() {
        let x = b.fork();
        b.threshold(&format!("b{i}_sign"), 1, true);
        b.conv(&format!("b{i}_conv"), 8, 3, 1, 1, zero, WeightValues::Pm1);
        b.affine(&format!("b{i}_bn"), false, Some(7));
        b.add(&format!("b{i}_add"), &x, shift, Some(8));
        b.affine(&format!("b{i}_prelu"), true, Some(8));
    }
    b.threshold("head_sign", 1, false);
    b.flatten("flatten");
    b.dense("classifier", 5, WeightValues::Pm1);
    b.output(false);
    b.finish(&format!("residual{seed}"))
}

/// An affine whose shift floors or (one in three) rounds half to even.
fn affine(b: &mut Builder, name: &str, piecewise: bool, bits: Option<u32>) {
    let rounding = if b.rng().gen_ratio(1, 3) {
        format::ShiftRounding::HalfEven
    } else {
        format::ShiftRounding::Floor
    };
    b.affine_rounded(name, piecewise, bits, rounding);
}

/// A random residual network within what the hardware builds: an integer or binary input, an
/// integer stem (a binary one on binary input) entering the stream through its affine, 1–3
/// blocks of random kinds — a binary path with RSign (one- or multi-level) or SiMaN's
/// meansign (identity, or downsampling with the option-A shortcut), a downsampling
/// block (binary stride-2 convolution against a 2×2 sum-pooled, int8-projected shortcut, on
/// even maps), an int8 convolution straight on the stream, x + x — joined with random shifts,
/// saturation or none, floor or half-even shifts, an optional PReLU, then a global sum (square maps) or a flatten and an
/// int8 or binary classifier.
fn random_residual(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    let zero = format::PadMode::Zero;
    let sat = |b: &mut Builder| b.rng().gen_bool(0.7).then(|| b.rng().gen_range(4..=10));
    let dtype = [InputType::Bits, InputType::Uint8, InputType::Int8][b.rng().gen_range(0..3)];
    let side = [4, 5, 6][b.rng().gen_range(0..3)];
    let c = b.rng().gen_range(1..=3);
    b.input(&[c, side, side], dtype);
    let stem = [2, 4, 6][b.rng().gen_range(0..3)];
    let stem_values = if dtype == InputType::Bits {
        WeightValues::Pm1
    } else {
        WeightValues::Int
    };
    b.conv("stem", stem, 3, 1, 1, zero, stem_values);
    let piecewise = b.rng().gen_bool(0.5);
    let s = sat(&mut b);
    affine(&mut b, "stem_bn", piecewise, s);
    for i in 0..b.rng().gen_range(1..=3) {
        let x = b.fork();
        let (c, h) = (b.dims()[0], b.dims()[1]);
        let name = |s: &str| format!("b{i}_{s}");
        let kind = b.rng().gen_range(0..5);
        match kind {
            0 => {
                let levels = if b.rng().gen_bool(0.8) { 1 } else { 3 };
                b.threshold(&name("sign"), levels, true);
                b.conv(&name("conv"), c, 3, 1, 1, zero, WeightValues::Pm1);
                let s = sat(&mut b);
                affine(&mut b, &name("bn"), false, s);
            }
            1 if h % 2 == 0 => {
                let out = [4, 8][b.rng().gen_range(0..2)];
                b.threshold(&name("sign"), 1, true);
                b.conv(&name("conv"), out, 3, 2, 1, zero, WeightValues::Pm1);
                let s = sat(&mut b);
                affine(&mut b, &name("bn"), false, s);
                let main = b.fork();
                b.resume(&x);
                b.sumpool(&name("pool"), Some((2, 2)));
                b.conv(&name("proj"), out, 1, 1, 0, zero, WeightValues::Int);
                let s = sat(&mut b);
                affine(&mut b, &name("proj_bn"), false, s);
                let s = sat(&mut b);
                let shift = [0, b.rng().gen_range(0..=1)];
                b.add(&name("add"), &main, shift, s);
                continue;
            }
            2 => {
                b.conv(&name("conv"), c, 3, 1, 1, zero, WeightValues::Int);
                let s = sat(&mut b);
                affine(&mut b, &name("bn"), true, s);
            }
            // SiMaN: the sign against the frame's mean, {0, 1} or ±1 weights; half the time a
            // downsampling block with the option-A shortcut (every other pixel, as many zero
            // channels as its own, before or after them).
            3 => {
                b.meansign(&name("sign"));
                let values = if b.rng().gen_bool(0.5) {
                    WeightValues::ZeroOne
                } else {
                    WeightValues::Pm1
                };
                let downsample = b.rng().gen_bool(0.5);
                let (out, stride) = if downsample { (2 * c, 2) } else { (c, 1) };
                b.conv(&name("conv"), out, 3, stride, 1, zero, values);
                let s = sat(&mut b);
                affine(&mut b, &name("bn"), false, s);
                if downsample {
                    let main = b.fork();
                    b.resume(&x);
                    b.sumpool(&name("subsample"), Some((1, 2)));
                    let before = if b.rng().gen_bool(0.5) { 0 } else { c };
                    b.pad_channels(&name("pad"), before, c - before);
                    let s = sat(&mut b);
                    b.add(&name("add"), &main, [0, 0], s);
                    continue;
                }
            }
            _ => {}
        }
        let shift = [b.rng().gen_range(0..=1), b.rng().gen_range(0..=1)];
        let s = sat(&mut b);
        b.add(&name("add"), &x, shift, s);
        if b.rng().gen_bool(0.5) {
            let s = sat(&mut b);
            affine(&mut b, &name("prelu"), true, s);
        }
    }
    if b.rng().gen_bool(0.5) {
        b.sumpool("pool", None);
    }
    b.flatten("flatten");
    let classes = b.rng().gen_range(2..=6);
    if b.rng().gen_bool(0.6) {
        b.dense("classifier", classes, WeightValues::Int);
    } else {
        b.threshold("head_sign", 1, true);
        b.dense("classifier", classes, WeightValues::Pm1);
    }
    let affine = b.rng().gen_bool(0.5);
    b.output(affine);
    b.finish(&format!("randres{seed}"))
}

#[test]
fn random_residual_models_verify() {
    check_random_residual(0..4);
}

/// Each random residual model with the automatic folding under stalls, and with random
/// PE/SIMD.
fn check_random_residual(seeds: std::ops::Range<u64>) {
    let dir = tempfile::tempdir().unwrap();
    for seed in seeds {
        let model = random_residual(seed);
        let path = write_model(dir.path(), &model, &format!("r{seed}.xnm"));
        verify(
            &path,
            None,
            &["--stall-per-mille", "300", "--seed", &seed.to_string()],
        );
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let json = folding_json(
            &model,
            1,
            "lut",
            seed % 2 == 0,
            false,
            Compute::Rule,
            |k, o| {
                let (p, q) = (divisors(o), divisors(k));
                (p[rng.gen_range(0..p.len())], q[rng.gen_range(0..q.len())])
            },
        );
        let folding = dir.path().join(format!("r{seed}.json"));
        std::fs::write(&folding, json).unwrap();
        verify(&path, Some(&folding), &["--seed", &seed.to_string()]);
    }
}

/// The residual stream with integer weights: an int8 stem on int8 input, a block widening the
/// stream from 6 to 10 channels whose shortcut is an int8 1×1 projection with its affine, and
/// an int8 classifier on the flattened stream.
fn integer_residual_model(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    b.input(&[3, 5, 5], InputType::Int8);
    let zero = format::PadMode::Zero;
    b.conv("stem", 6, 3, 1, 1, zero, WeightValues::Int);
    b.affine("stem_bn", true, Some(8));
    let x = b.fork();
    b.threshold("sign", 1, true);
    b.conv("conv", 10, 3, 1, 1, zero, WeightValues::Pm1);
    b.affine("bn", false, Some(8));
    let main = b.fork();
    b.resume(&x);
    b.conv("proj", 10, 1, 1, 0, zero, WeightValues::Int);
    b.affine("proj_bn", false, Some(8));
    b.add("join", &main, [0, 1], Some(9));
    b.flatten("flatten");
    b.dense("classifier", 4, WeightValues::Int);
    b.output(true);
    b.finish(&format!("intresidual{seed}"))
}

/// SiMaN's blocks (issue 20): the sign against the frame's mean before each binary convolution
/// ({0, 1} weights, as SiMaN trains them, and ±1), the shortcut joined after its affine; two
/// identity blocks and one that downsamples with the option-A shortcut. The shortcut FIFO must
/// hold what the meansign buffers.
fn siman_model(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    b.input(&[2, 5, 5], InputType::Int8);
    let zero = format::PadMode::Zero;
    b.conv("stem", 6, 3, 1, 1, zero, WeightValues::Int);
    b.affine("stem_bn", false, Some(8));
    for (i, values) in [WeightValues::ZeroOne, WeightValues::Pm1]
        .into_iter()
        .enumerate()
    {
        let x = b.fork();
        b.meansign(&format!("b{i}_sign"));
        b.conv(&format!("b{i}_conv"), 6, 3, 1, 1, zero, values);
        b.affine(&format!("b{i}_bn"), false, Some(8));
        b.add(&format!("b{i}_join"), &x, [0, 0], Some(9));
    }
    // Downsampling with the option-A shortcut: every other pixel, six zero channels before.
    let x = b.fork();
    b.meansign("down_sign");
    b.conv("down_conv", 12, 3, 2, 1, zero, WeightValues::ZeroOne);
    b.affine("down_bn", false, Some(8));
    let main = b.fork();
    b.resume(&x);
    b.sumpool("down_subsample", Some((1, 2)));
    b.pad_channels("down_pad", 6, 0);
    b.add("down_join", &main, [0, 0], Some(9));
    b.flatten("flatten");
    b.dense("classifier", 4, WeightValues::Int);
    b.output(true);
    b.finish(&format!("siman{seed}"))
}

/// Writes `model` to `dir/name`; `XNORC_TEST_KEEP=DIR` keeps a copy for debugging a failure.
fn write_model(dir: &Path, model: &ModelFile, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format::to_json(model)).unwrap();
    if let Ok(keep) = std::env::var("XNORC_TEST_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&path, Path::new(&keep).join(name)).unwrap();
    }
    path
}

/// Verifies `model` under 30% stalls with the automatic folding and, unless `automatic_only`,
/// with two elements a beat wherever the channels allow (the meansign and the adds then sum,
/// compare and join per beat), then lints its RTL.
fn verify_under_stalls(dir: &Path, model: &ModelFile, name: &str, automatic_only: bool) {
    let path = write_model(dir, model, &format!("{name}.xnm"));
    verify(&path, None, &["--stall-per-mille", "300"]);
    if automatic_only {
        return;
    }
    let folding = dir.join(format!("{name}.json"));
    let two_if = |n: usize| if n.is_multiple_of(2) { 2 } else { 1 };
    let json = folding_json(model, 1, "lut", false, false, Compute::Rule, |unit, o| {
        (two_if(o), two_if(unit))
    });
    std::fs::write(&folding, json).unwrap();
    verify(&path, Some(&folding), &["--stall-per-mille", "300"]);
    lint(&path);
}

#[test]
fn siman_blocks_verify_under_stalls() {
    let dir = tempfile::tempdir().unwrap();
    verify_under_stalls(dir.path(), &siman_model(40), "siman", false);
}

#[test]
fn residual_networks_verify_under_stalls() {
    let dir = tempfile::tempdir().unwrap();
    let integer = integer_residual_model(32);
    verify_under_stalls(dir.path(), &integer, "integer_residual", true);
    verify_under_stalls(dir.path(), &residual_model(31), "residual", false);
    // The preset: downsampling with a sum-pooled, projected shortcut, a global sum.
    let preset = preset("resnet-mini", dir.path());
    verify(&preset, None, &["--stall-per-mille", "300"]);
}
