//! `xnorc import`: a model from another tool (QONNX/ONNX) → a native `.xnm` model.

use crate::errors::{check_output, write_output, CliError};
use std::path::Path;
use xnorc_compiler::{format, import, passes};

/// Imports `model`, checks that it lowers (so a model xnorc cannot compile is never written),
/// and writes it to `output`.
pub fn run(model: &Path, output: &Path, json: bool) -> Result<(), CliError> {
    check_output(output)?;
    let file = import::load_model(model)?;
    let graph = passes::lower(&file).map_err(|e| e.in_file(model.display().to_string()))?;
    write_output(output, format::to_json(&file).as_bytes())?;
    let weights: usize = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            xnorc_compiler::ir::Op::MatMul(m) => Some(m.weights.count()),
            _ => None,
        })
        .sum();
    let mapping = graph
        .input_map
        .as_ref()
        .map(|map| xnorc_compiler::summary::describe_input_map(map, &graph));
    if json {
        let report = serde_json::json!({
            "model": model.display().to_string(),
            "output": output.display().to_string(),
            "nodes": graph.nodes.len(),
            "binary_weights": weights,
            "classes": graph.classes(),
            "input_mapping": mapping,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
        return Ok(());
    }
    println!(
        "imported {}: {} nodes, {} binary weights, {} classes -> {}",
        model.display(),
        graph.nodes.len(),
        weights,
        graph.classes(),
        output.display()
    );
    if let Some(mapping) = mapping {
        println!("input mapping: {mapping}");
    }
    Ok(())
}
