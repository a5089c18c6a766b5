//! A model file on disk (`.xnm`, or `.onnx` imported on the way) → the lowered graph every
//! later stage reads: the importers, then the passes.

use crate::error::Result;
use crate::ir::Graph;
use std::path::Path;

/// Loads a model file (`.xnm`, or `.onnx` imported on the way) and lowers it; errors name the
/// file.
pub fn load_graph(path: &Path) -> Result<Graph> {
    let model = crate::import::load_model(path)?;
    crate::passes::lower(&model).map_err(|e| e.in_file(path.display().to_string()))
}
