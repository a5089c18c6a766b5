//! `MaxPool` on an integer tensor: the max of the integers, valid while every channel's
//! pending steps are non-decreasing.

use super::common::{output_used, pool_window, unsupported};
use crate::error::Result;
use crate::format::{MaxPoolDef, OpDef};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{IntVal, Val};
use crate::import::qonnx::{eval, Importer};

impl Importer {
    /// `MaxPool` with a square window and no padding.
    pub(super) fn maxpool(&mut self, node: &NodeProto) -> Result<()> {
        let (k, s) = pool_window(node, &["storage_order"])?;
        if output_used(node, 1) {
            return Err(unsupported(node, "its Indices output is used"));
        }
        let (x, [c, h, w]) = self.pooled_input(node, k)?;
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
