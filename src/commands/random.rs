//! `xnorc random-model` and `xnorc random-input`.

use crate::errors::{check_output, write_output, CliError};
use crate::progress::spin;
use clap::builder::{PossibleValue, PossibleValuesParser};
use std::path::Path;
use xnorc_compiler::load::load_graph;
use xnorc_compiler::{format, passes, presets};
use xnorc_sim::input::random_values;
use xnorc_sim::npy::NpyArray;

/// The `--arch` values with their descriptions, for `--help`.
pub fn preset_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        presets::PRESETS
            .iter()
            .map(|p| PossibleValue::new(p.name).help(p.description)),
    )
}

pub fn model(
    arch: &str,
    seed: u64,
    tau: Option<u32>,
    repeats: Option<usize>,
    output: &Path,
    json: bool,
) -> Result<(), CliError> {
    check_output(output)?;
    let preset =
        presets::find(arch).ok_or_else(|| CliError::Input(format!("unknown preset {arch}")))?;
    let mut knobs = presets::Knobs::default();
    for (given, knob, flag) in [
        (tau.is_some(), presets::Knob::Tau, "--tau"),
        (repeats.is_some(), presets::Knob::Repeats, "--repeats"),
    ] {
        if given && !preset.knobs.contains(&knob) {
            let takers: Vec<&str> = presets::PRESETS
                .iter()
                .filter(|p| p.knobs.contains(&knob))
                .map(|p| p.name)
                .collect();
            return Err(CliError::Input(format!(
                "{flag} does not apply to preset {arch}; it applies to {}",
                takers.join(", ")
            )));
        }
    }
    knobs.tau = tau.unwrap_or(knobs.tau);
    knobs.repeats = repeats.unwrap_or(knobs.repeats);
    let model = spin(&format!("random-model: {arch}"), || {
        preset.generate_with(seed, &knobs)
    });
    // Check our own output with the real loader before writing it.
    passes::lower(&model)?;
    let text = format::to_json(&model);
    write_output(output, text.as_bytes())?;
    if json {
        let report = serde_json::json!({
            "output": output.display().to_string(),
            "preset": arch,
            "seed": seed,
            "nodes": model.nodes.len(),
            "bytes": text.len(),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        eprintln!(
            "wrote {} ({} nodes, preset {arch}, seed {seed})",
            output.display(),
            model.nodes.len()
        );
    }
    Ok(())
}

/// `xnorc random-input`: uniform frames over the model input's range.
pub fn input(
    model: &Path,
    frames: usize,
    seed: u64,
    output: &Path,
    json: bool,
) -> Result<(), CliError> {
    check_output(output)?;
    let graph = load_graph(model)?;
    let (dtype, values) = random_values(&graph, frames, seed)?;
    let mut shape = vec![frames];
    shape.extend(graph.input_node().shape.dims());
    write_output(
        output,
        &NpyArray::from_i64(dtype, shape.clone(), &values).to_bytes(),
    )?;
    if json {
        let report = serde_json::json!({
            "output": output.display().to_string(),
            "frames": frames,
            "shape": shape,
            "dtype": dtype.name(),
            "seed": seed,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        eprintln!("wrote {} ({frames} frames)", output.display());
    }
    Ok(())
}
