//! Operations that keep the data and change only its shape or name: `Identity`, `Dropout` (in
//! inference), `Reshape`, `Flatten`, `Squeeze`, `Unsqueeze` and data-preserving `Transpose`s.

use super::common::{output_used, unsupported};
use crate::error::{ModelError, Result};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::consts;
use crate::import::qonnx::values::{Const, FloatIn, Val};
use crate::import::qonnx::Importer;

impl Importer {
    /// `Identity`: the output is the input.
    pub(super) fn alias(&mut self, node: &NodeProto) -> Result<()> {
        let v = self.input(node, 0)?.clone();
        self.set_output(node, v)
    }

    /// `Dropout` in inference mode: the identity.
    pub(super) fn dropout(&mut self, node: &NodeProto) -> Result<()> {
        if let Some(Val::Const(t)) = self.optional_input(node, 2) {
            if t.values.iter().any(|&v| v != 0.0) {
                return Err(unsupported(node, "training_mode is true"));
            }
        }
        if output_used(node, 1) {
            return Err(unsupported(node, "its mask output is used"));
        }
        self.alias(node)
    }

    /// `Squeeze` and `Unsqueeze`, with axes from the attribute (older opsets) or a constant input.
    pub(super) fn squeeze(&mut self, node: &NodeProto) -> Result<()> {
        let axes = match (node.attr_ints("axes")?, self.optional_input(node, 1)) {
            (Some(axes), _) => Some(axes.to_vec()),
            (None, Some(Val::Const(c))) => Some(c.as_i64()?),
            (None, Some(_)) => return Err(unsupported(node, "axes must be constant")),
            (None, None) => None,
        };
        let x = self.input(node, 0)?.clone();
        let old = x.shape().to_vec();
        let unsqueeze = node.op_type() == "Unsqueeze";
        let new_rank = if unsqueeze {
            old.len() + axes.as_ref().map_or(0, |a| a.len())
        } else {
            old.len()
        };
        let norm = |a: i64, rank: usize| -> Result<usize> {
            usize::try_from(consts::normalize_axis(a, rank))
                .ok()
                .filter(|&v| v < rank)
                .ok_or_else(|| ModelError::new(format!("axis {a} is out of range")))
        };
        let shape: Vec<usize> = if unsqueeze {
            let axes = axes.ok_or_else(|| unsupported(node, "Unsqueeze needs axes"))?;
            let axes = axes
                .iter()
                .map(|&a| norm(a, new_rank))
                .collect::<Result<Vec<_>>>()?;
            let mut rest = old.iter();
            (0..new_rank)
                .map(|a| {
                    if axes.contains(&a) {
                        1
                    } else {
                        *rest.next().unwrap_or(&1)
                    }
                })
                .collect()
        } else {
            let axes = match axes {
                Some(axes) => axes
                    .iter()
                    .map(|&a| norm(a, old.len()))
                    .collect::<Result<Vec<_>>>()?,
                None => (0..old.len()).filter(|&a| old[a] == 1).collect(),
            };
            old.iter()
                .enumerate()
                .filter(|(a, _)| !axes.contains(a))
                .map(|(_, &d)| d)
                .collect()
        };
        if shape.iter().product::<usize>() != old.iter().product::<usize>() {
            return Err(ModelError::new(format!(
                "squeezing axes {axes:?} of shape {old:?} that are not of size 1",
                axes = node.attr_ints("axes")?.unwrap_or_default()
            )));
        }
        self.reshaped(node, x, shape)
    }

    /// `Reshape` to a constant shape, and `Flatten`.
    pub(super) fn reshape(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.input(node, 0)?.clone();
        let shape = if node.op_type() == "Flatten" {
            let axis = node.attr_int("axis")?.unwrap_or(1);
            let old = x.shape();
            let rank = old.len() as i64;
            let axis = consts::normalize_axis(axis, old.len());
            if !(0..=rank).contains(&axis) {
                return Err(ModelError::new(format!("axis {axis} is out of range")));
            }
            let (head, tail) = old.split_at(axis as usize);
            vec![head.iter().product(), tail.iter().product()]
        } else {
            let target = self.constant_input(node, 1, "shape")?.as_i64()?;
            let allow_zero = node.attr_int("allowzero")?.unwrap_or(0) != 0;
            consts::reshape_target(x.shape(), &target, allow_zero)?
        };
        self.reshaped(node, x, shape)
    }

    /// `x` with a new shape of the same elements in the same order.
    fn reshaped(&mut self, node: &NodeProto, x: Val, shape: Vec<usize>) -> Result<()> {
        let out = match x {
            Val::Const(c) => Val::Const(Const { shape, ..c }),
            Val::Float(f) => Val::Float(FloatIn { shape, ..f }),
            Val::Int(v) if v.shape == shape => Val::Int(v),
            Val::Int(v) => {
                let numel: usize = v.shape.iter().product();
                if v.shape.len() == 4 && shape == [1, numel] {
                    Val::Int(self.flatten(v, "flat")?)
                } else {
                    return Err(unsupported(
                        node,
                        &format!(
                            "reshaping {:?} to {shape:?}; xnorc flattens a [1, C, H, W] map to \
                             [1, C·H·W] and keeps a batch of 1",
                            v.shape
                        ),
                    ));
                }
            }
        };
        self.set_output(node, out)
    }

    /// `Transpose`: folded on constants; on computed tensors only when it moves no data.
    pub(super) fn transpose(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.input(node, 0)?.clone();
        let rank = x.shape().len();
        let perm: Vec<usize> = match node.attr_ints("perm")? {
            Some(p) => p
                .iter()
                .map(|&a| usize::try_from(a).map_err(|_| ModelError::new("negative axis in perm")))
                .collect::<Result<_>>()?,
            None => (0..rank).rev().collect(),
        };
        if let Val::Const(c) = &x {
            let out = consts::transpose(c, &perm)?;
            return self.set_output(node, Val::Const(out));
        }
        // Moving only axes of size 1 keeps the data order: a reshape in disguise.
        let moved: Vec<usize> = perm
            .iter()
            .filter(|&&a| a < rank && x.shape()[a] != 1)
            .copied()
            .collect();
        if perm.len() != rank || moved.windows(2).any(|w| w[0] > w[1]) {
            return Err(unsupported(
                node,
                "a transpose that moves data (xnorc keeps activations in C, H, W order)",
            ));
        }
        let shape = perm.iter().map(|&a| x.shape()[a]).collect();
        self.reshaped(node, x, shape)
    }
}
