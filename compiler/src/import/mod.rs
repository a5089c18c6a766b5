//! Importers from other tools' formats into the xnorc model format. `onnx` decodes ONNX files
//! (prost types generated from ONNX's schema); the QONNX translation lives beside it.

pub mod onnx;
pub mod qonnx;

use crate::error::Result;
use crate::format::ModelFile;
use std::path::Path;

/// Loads a model in any format xnorc reads, by file extension: `.onnx` is imported (QONNX),
/// anything else is read as a native `.xnm` model.
pub fn load_model(path: &Path) -> Result<ModelFile> {
    if is_imported(path) {
        qonnx::load(path)
    } else {
        crate::format::load(path)
    }
}

/// Whether `path` names a model [`load_model`] imports (an `.onnx` file) rather than reads.
pub fn is_imported(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(qonnx::EXTENSION))
}
