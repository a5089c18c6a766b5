//! A plan from files: a model (`.xnm`, or `.onnx` imported on the way) and an optional folding
//! file, with errors naming the file they are about.

use crate::folding::{lanes_for_luts, FoldingFile, RegisterDefaults};
use crate::pipeline::HardwarePlan;
use std::path::Path;
use xnorc_compiler::ir::Graph;
use xnorc_compiler::load::load_graph;
use xnorc_compiler::Result;

/// Loads the model and folding and builds the plan.
///
/// `registers` fills what the folding does not say (the board build picks them by device;
/// everything else uses none).
pub fn build_plan(
    model: &Path,
    folding: Option<&Path>,
    lut_budget: Option<usize>,
    registers: RegisterDefaults,
) -> Result<(Graph, HardwarePlan)> {
    let graph = load_graph(model)?;
    let folding_path = folding;
    let mut folding = match folding {
        Some(f) => FoldingFile::load(f)?,
        None => FoldingFile::default(),
    };
    registers.fill(&mut folding);
    if let Some(luts) = lut_budget {
        folding.lane_budget = Some(lanes_for_luts(luts));
    }
    let plan = crate::stages::plan(&graph, &folding).map_err(|e| {
        // A problem in a `layers.*` entry is the folding file's; anything else the model's.
        let in_folding = e.field.as_deref().is_some_and(|f| f.starts_with("layers"));
        match (folding_path, in_folding) {
            (Some(f), true) => e.in_file(f.display().to_string()),
            _ => e.in_file(model.display().to_string()),
        }
    })?;
    Ok((graph, plan))
}
