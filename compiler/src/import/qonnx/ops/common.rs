//! What every op family shares: the refusal naming the op, and the checks on a node's inputs
//! and outputs that several operations make the same way.

use crate::error::{ModelError, Result};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{IntVal, Val};
use crate::import::qonnx::Importer;

/// The error for a node xnorc cannot translate: names its op (with the domain, if any) and why.
pub(super) fn unsupported(node: &NodeProto, why: &str) -> ModelError {
    ModelError::new(format!(
        "op {}{} is not supported: {why}",
        if node.domain().is_empty() {
            String::new()
        } else {
            format!("{}::", node.domain().escape_debug())
        },
        node.op_type().escape_debug()
    ))
}

impl Importer {
    /// A computed integer tensor as input `i`.
    pub(super) fn int_input(&self, node: &NodeProto, i: usize) -> Result<IntVal> {
        match self.input(node, i)? {
            Val::Int(v) => Ok(v.clone()),
            other => Err(unsupported(
                node,
                &format!(
                    "its input is {}; quantize it first (BipolarQuant / Quant)",
                    other.describe()
                ),
            )),
        }
    }
}
