//! `xnorc import`: a model from another tool (QONNX/ONNX) → a native `.xnm` model.

use crate::errors::{check_output, write_output, CliError};
use std::path::Path;
use xnorc_compiler::{format, import, passes};

/// Imports `model`, checks that it lowers (so a model xnorc cannot compile is never written),
/// and writes it to `output`.
pub fn run(model: &Path, output: &Path) -> Result<(), CliError> {
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
    println!(
        "imported {}: {} nodes, {} binary weights, {} classes -> {}",
        model.display(),
        graph.nodes.len(),
        weights,
        graph.classes(),
        output.display()
    );
    if let Some(map) = &graph.input_map {
        println!(
            "input mapping: {}",
            xnorc_compiler::summary::describe_input_map(map, &graph)
        );
    }
    Ok(())
}
