//! `MaxPool` on an integer tensor: the max of the integers, valid while every channel's
//! pending steps are non-decreasing.

use super::common::{dilated, map_dims, output_used, square, unsupported};
use crate::error::{ModelError, Result};
use crate::format::{MaxPoolDef, OpDef};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{IntVal, Val};
use crate::import::qonnx::{eval, Importer};

impl Importer {
    /// `MaxPool` with a square window and no padding.
    pub(super) fn maxpool(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&[
            "auto_pad",
            "ceil_mode",
            "dilations",
            "kernel_shape",
            "pads",
            "storage_order",
            "strides",
        ])?;
        if output_used(node, 1) {
            return Err(unsupported(node, "its Indices output is used"));
        }
        let kernel = node.attr_ints("kernel_shape")?.unwrap_or_default();
        let k = square(kernel).ok_or_else(|| {
            unsupported(
                node,
                &format!("kernel_shape {kernel:?}; xnorc pools square windows"),
            )
        })?;
        let strides = node.attr_ints("strides")?.unwrap_or(&[1, 1]);
        let s =
            square(strides).ok_or_else(|| unsupported(node, &format!("strides {strides:?}")))?;
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
        let x = self.layer_input(node, 0)?;
        let [c, h, w] = map_dims(node, x.shape())?;
        if h < k || w < k {
            return Err(ModelError::new(format!(
                "the {k}×{k} window is larger than {h}×{w}"
            )));
        }
        let x = match x {
            Val::Const(x) => {
                let y = eval::pool(&x, eval::PoolKind::Max, Some((k, s)));
                return self.set_output(node, Val::Const(y));
            }
            Val::Int(v) => v,
            Val::Float(_) => unreachable!("layer_input refuses the float input"),
        };
        // max(f(u)) = f(max(u)) only for a non-decreasing f.
        if let Some(ch) =
            (0..c).find(|&ch| x.steps.iter().map(|st| st.slope_sign(ch)).product::<i32>() < 0)
        {
            return Err(unsupported(
                node,
                &format!(
                    "channel {ch} reaches it through a decreasing scale (a negative BatchNorm \
                     scale before the pool), so the max is a min of the integers"
                ),
            ));
        }
        let name = self.fresh_name(node, "");
        self.push(
            name.clone(),
            vec![x.node.clone()],
            OpDef::MaxPool(MaxPoolDef {
                kernel: k,
                stride: Some(s),
            }),
        );
        let v = IntVal {
            node: name,
            shape: vec![1, c, (h - k) / s + 1, (w - k) / s + 1],
            ..x
        };
        self.set_output(node, Val::Int(v))
    }
}
