//! What every op family shares: the refusal naming the op, and the checks on a node's inputs
//! and outputs that several operations make the same way.

use crate::error::{ModelError, Result};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{IntVal, Val};
use crate::import::qonnx::Importer;
use crate::sanitize::printable;

/// The error for a node xnorc cannot translate: names its op (with the domain, if any) and why.
pub(super) fn unsupported(node: &NodeProto, why: &str) -> ModelError {
    ModelError::new(format!(
        "op {}{} is not supported: {why}",
        if node.domain().is_empty() {
            String::new()
        } else {
            format!("{}::", printable(node.domain()))
        },
        printable(node.op_type())
    ))
}

/// Whether output `i` of `node` is used: present and named (ONNX marks an unused optional
/// output with an empty name).
pub(super) fn output_used(node: &NodeProto, i: usize) -> bool {
    node.output.get(i).is_some_and(|o| !o.is_empty())
}

/// The size of a pair of equal sizes of at least 1 (a square kernel, equal strides), if the
/// attribute is one.
pub(super) fn square(pair: &[i64]) -> Option<usize> {
    match *pair {
        [a, b] if a == b && a >= 1 => usize::try_from(a).ok(),
        _ => None,
    }
}

/// Whether the node's `dilations` ask for anything but 1 (xnorc has no dilated windows).
pub(super) fn dilated(node: &NodeProto) -> Result<bool> {
    Ok(node
        .attr_ints("dilations")?
        .is_some_and(|d| d.iter().any(|&v| v != 1)))
}

/// The square window and equal strides of a pooling node (`MaxPool`, `AveragePool`), with no
/// padding, ceiling or dilation; `extra` are the op's other attributes.
pub(super) fn pool_window(node: &NodeProto, extra: &[&str]) -> Result<(usize, usize)> {
    let mut known = vec![
        "auto_pad",
        "ceil_mode",
        "dilations",
        "kernel_shape",
        "pads",
        "strides",
    ];
    known.extend_from_slice(extra);
    node.check_attributes(&known)?;
    let kernel = node.attr_ints("kernel_shape")?.unwrap_or_default();
    let k = square(kernel).ok_or_else(|| {
        unsupported(
            node,
            &format!("kernel_shape {kernel:?}; xnorc pools square windows"),
        )
    })?;
    let strides = node.attr_ints("strides")?.unwrap_or(&[1, 1]);
    let s = square(strides).ok_or_else(|| unsupported(node, &format!("strides {strides:?}")))?;
    if node
        .attr_ints("pads")?
        .is_some_and(|p| p.iter().any(|&v| v != 0))
        || node.attr_int("ceil_mode")?.unwrap_or(0) != 0
        || dilated(node)?
        || !matches!(
            node.attr_string("auto_pad")?.unwrap_or("NOTSET"),
            "NOTSET" | "VALID"
        )
    {
        return Err(unsupported(node, "padding, ceil_mode or dilation"));
    }
    Ok((k, s))
}

/// C, H and W of an input that must be a `[1, C, H, W]` feature map.
pub(super) fn map_dims(node: &NodeProto, shape: &[usize]) -> Result<[usize; 3]> {
    match *shape {
        [1, c, h, w] => Ok([c, h, w]),
        _ => Err(unsupported(node, "the input must be a [1, C, H, W] map")),
    }
}

impl Importer {
    /// Input `i` of a layer or pool: a computed integer tensor, or a constant that the layer
    /// folds (in the calibration trace every tensor is one).
    pub(super) fn layer_input(&self, node: &NodeProto, i: usize) -> Result<Val> {
        match self.input(node, i)? {
            v @ (Val::Int(_) | Val::Const(_)) => Ok(v.clone()),
            other => Err(unsupported(
                node,
                &format!(
                    "its input is {}; quantize it first (BipolarQuant / Quant)",
                    other.describe()
                ),
            )),
        }
    }

    /// A pool's input: a `[1, C, H, W]` map (computed or constant) that a `k`×`k` window fits,
    /// with its C, H and W.
    pub(super) fn pooled_input(&self, node: &NodeProto, k: usize) -> Result<(Val, [usize; 3])> {
        let x = self.layer_input(node, 0)?;
        let [c, h, w] = map_dims(node, x.shape())?;
        if h < k || w < k {
            return Err(ModelError::new(format!(
                "the {k}×{k} window is larger than {h}×{w}"
            )));
        }
        Ok((x, [c, h, w]))
    }

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
