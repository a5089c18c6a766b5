//! Constant folding: `Constant` nodes, and the shape arithmetic and parameter expressions of a
//! raw export (`Shape`, `Gather`, `Concat`, `Cast`, `Sqrt`, `Pow`, arithmetic on two constants),
//! evaluated as ONNX does so that what reaches a layer is a plain constant.

use super::common::unsupported;
use crate::error::{ModelError, Result};
use crate::import::onnx::{AttrValue, NodeProto};
use crate::import::qonnx::values::{Const, Val};
use crate::import::qonnx::Importer;
use crate::import::qonnx::{self, consts};

impl Importer {
    /// `Constant`: its value attribute (tensor, float(s) or int(s)) as a constant.
    pub(super) fn constant_node(&mut self, node: &NodeProto) -> Result<()> {
        let c = if let Some(AttrValue::Tensor(t)) = node.attr_value("value") {
            qonnx::constant(t)?
        } else if let Some(AttrValue::Float(f)) = node.attr_value("value_float") {
            Const::f32(vec![], vec![f])
        } else if let Some(AttrValue::Floats(f)) = node.attr_value("value_floats") {
            Const::f32(vec![f.len()], f.to_vec())
        } else if let Some(AttrValue::Int(i)) = node.attr_value("value_int") {
            Const::ints(vec![], vec![i])
        } else if let Some(AttrValue::Ints(i)) = node.attr_value("value_ints") {
            Const::ints(vec![i.len()], i.to_vec())
        } else {
            return Err(unsupported(node, "only tensor, float(s) and int(s) values"));
        };
        self.set_output(node, Val::Const(c))
    }

    /// `Shape`: the (sliced) shape of any value, as an INT64 constant.
    pub(super) fn shape_of(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["start", "end"])?;
        let shape = self.input(node, 0)?.shape().to_vec();
        let rank = shape.len() as i64;
        let clip = |v: i64| consts::normalize_axis(v, shape.len()).clamp(0, rank) as usize;
        let (start, end) = (
            clip(node.attr_int("start")?.unwrap_or(0)),
            clip(node.attr_int("end")?.unwrap_or(rank)),
        );
        let dims: Vec<i64> = shape[start..end.max(start)]
            .iter()
            .map(|&d| d as i64)
            .collect();
        self.set_output(node, Val::Const(Const::ints(vec![dims.len()], dims)))
    }

    /// `Gather` of constants.
    pub(super) fn gather(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.constant_input(node, 0, "data")?;
        let i = self.constant_input(node, 1, "indices")?;
        let out = consts::gather(x, i, node.attr_int("axis")?.unwrap_or(0))?;
        self.set_output(node, Val::Const(out))
    }

    /// `Concat` of constants.
    pub(super) fn concat(&mut self, node: &NodeProto) -> Result<()> {
        let parts = (0..node.input.len())
            .map(|i| self.constant_input(node, i, "part"))
            .collect::<Result<Vec<_>>>()?;
        let out = consts::concat(&parts, node.attr_int("axis")?.unwrap_or(0))?;
        self.set_output(node, Val::Const(out))
    }

    /// `Cast` of a constant: to float rounds to float32, to int32 or int64 truncates.
    pub(super) fn cast(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.constant_input(node, 0, "input")?.clone();
        let to = node.attr_int("to")?.unwrap_or(1);
        let out = match to {
            1 => Const {
                values: x.values.iter().map(|&v| v as f32 as f64).collect(),
                float: true,
                ..x
            },
            6 | 7 => Const {
                values: x.values.iter().map(|&v| v.trunc()).collect(),
                float: false,
                ..x
            },
            _ => {
                return Err(unsupported(
                    node,
                    "Cast to types other than float, int32, int64",
                ))
            }
        };
        self.set_output(node, Val::Const(out))
    }

    /// `Sqrt`, `Log`, `Ceil`, `Floor` of a constant, in float32 (Brevitas computes a
    /// truncation's bit width as ⌈log(·) / log 2⌉).
    pub(super) fn unary(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.constant_input(node, 0, "input")?.clone();
        let f: fn(f32) -> f32 = match node.op_type() {
            "Sqrt" => f32::sqrt,
            "Log" => f32::ln,
            "Ceil" => f32::ceil,
            _ => f32::floor,
        };
        let values: Vec<f64> = x.values.iter().map(|&v| f(v as f32) as f64).collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::new(format!(
                "{} of {} is not finite",
                node.op_type(),
                x.values[i]
            )));
        }
        self.set_output(
            node,
            Val::Const(Const {
                values,
                float: true,
                ..x
            }),
        )
    }

    /// `Pow`, and `Mul`/`Add`/`Sub`/`Div` with two constant operands, evaluated as ONNX does.
    pub(super) fn const_binary(&mut self, node: &NodeProto) -> Result<()> {
        let a = self.constant_input(node, 0, "left operand")?;
        let b = self.constant_input(node, 1, "right operand")?;
        let out = consts::binary(node.op_type(), a, b)?;
        self.set_output(node, Val::Const(out))
    }
}
