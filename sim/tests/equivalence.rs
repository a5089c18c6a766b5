//! The simulator against the naive evaluator: every preset, and random models over every op and
//! option, node by node.

mod common;

use common::{naive, random_inputs, random_model, random_residual_model};
use proptest::prelude::*;
use xnorc_compiler::format::ModelFile;
use xnorc_compiler::passes::lower;
use xnorc_compiler::presets;
use xnorc_sim::Simulator;

/// Compares every node's output for every frame, and the final scores.
fn check(model: &ModelFile, frames: usize, seed: u64) -> Result<(), TestCaseError> {
    let graph = lower(model).map_err(|e| TestCaseError::fail(format!("lower: {e}")))?;
    let sim = Simulator::new(graph).unwrap();
    let input = random_inputs(model, frames, seed);
    let results = sim.run(input.frames()).unwrap();
    let trace = sim.trace(input.frames()).unwrap();
    let per_frame = input.values.len() / frames;
    for f in 0..frames {
        let x = &input.values[f * per_frame..(f + 1) * per_frame];
        let expected = naive::eval_all(model, x);
        for nv in &trace {
            let node = sim.graph().node(nv.node);
            let want = &expected[&node.name];
            let n = want.v.len();
            let got: Vec<i64> = nv.values[f * n..(f + 1) * n]
                .iter()
                .map(|&v| if nv.bits { 2 * v - 1 } else { v })
                .collect();
            prop_assert_eq!(&nv.dims, &want.dims, "node {} dims", node.name);
            prop_assert_eq!(nv.bits, want.binary, "node {} binary", node.name);
            prop_assert_eq!(&got, &want.v, "node {} frame {}", node.name, f);
        }
        let classes = results.classes;
        let out_name = &sim.graph().node(sim.graph().output).name;
        prop_assert_eq!(
            &results.scores[f * classes..(f + 1) * classes],
            expected[out_name].v.as_slice()
        );
    }
    Ok(())
}

#[test]
fn every_small_preset_matches_naive() {
    for name in SMALL_PRESETS {
        for seed in 0..3 {
            let model = presets::find(name).unwrap().generate(seed);
            check(&model, 4, seed + 100).unwrap_or_else(|e| panic!("{name} seed {seed}: {e}"));
        }
    }
}

/// Every preset except the CNV-sized ones.
const SMALL_PRESETS: [&str; 10] = [
    "tiny",
    "all-ops",
    "tfc",
    "tfc-u8",
    "cnv-small",
    "tfc-tiled",
    "cnv-small-codebook",
    "cnv-small-tiled",
    "resnet-mini",
    "tiny-residual",
];

#[test]
fn cnv_matches_naive_on_one_frame() {
    for name in [
        "cnv",
        "cnv-codebook",
        "cnv-tiled",
        "resnet20",
        "resnet20-siman",
    ] {
        let model = presets::find(name).unwrap().generate(1);
        check(&model, 1, 7).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn every_preset_is_tested() {
    for p in presets::PRESETS {
        assert!(
            SMALL_PRESETS.contains(&p.name)
                || p.name.starts_with("cnv")
                || p.name.starts_with("resnet20"),
            "{} is in no test list",
            p.name
        );
    }
}

#[test]
fn sub_bit_presets_take_every_knob() {
    use presets::Knobs;
    for (name, knobs) in [
        ("cnv-small-codebook", Knobs { tau: 1, repeats: 4 }),
        ("cnv-small-codebook", Knobs { tau: 6, repeats: 4 }),
        ("cnv-small-tiled", Knobs { tau: 4, repeats: 1 }),
        (
            "cnv-small-tiled",
            Knobs {
                tau: 4,
                repeats: 16,
            },
        ),
        ("tfc-tiled", Knobs { tau: 4, repeats: 8 }),
    ] {
        let model = presets::find(name).unwrap().generate_with(2, &knobs);
        check(&model, 2, 9).unwrap_or_else(|e| panic!("{name} {knobs:?}: {e}"));
    }
}

#[test]
fn presets_produce_varied_activations() {
    // Thresholds placed outside the accumulator range would make every comparison above
    // trivially equal; check that outputs actually vary across frames.
    for name in SMALL_PRESETS {
        let model = presets::find(name).unwrap().generate(3);
        let sim = Simulator::new(lower(&model).unwrap()).unwrap();
        let input = random_inputs(&model, 64, 5);
        let r = sim.run(input.frames()).unwrap();
        let distinct: std::collections::BTreeSet<&[i64]> = r.scores.chunks(r.classes).collect();
        assert!(
            distinct.len() > 8,
            "{name}: only {} distinct score vectors",
            distinct.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_models_match_naive(seed in any::<u64>()) {
        let model = random_model(seed);
        check(&model, 3, seed ^ 0x5eed)?;
    }

    #[test]
    fn random_residual_models_match_naive(seed in any::<u64>()) {
        let model = random_residual_model(seed);
        check(&model, 3, seed ^ 0x5eed)?;
    }
}
