//! Elementwise float32 arithmetic with constants: `Mul`, `Add`, `Sub`, `Div` and
//! `BatchNormalization`, folded on constants and otherwise recorded as steps on the float input
//! or as per-channel steps pending on an integer tensor.

use super::common::{output_used, unsupported};
use super::params::{channel_shape, channel_vector, per_channel, per_element};
use crate::error::Result;
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{Arith, Const, Pending, Val};
use crate::import::qonnx::{eval, Importer};

impl Importer {
    /// `Mul`, `Add`, `Sub`, `Div`: folded on constants, a step on a computed tensor.
    pub(super) fn arith(&mut self, node: &NodeProto) -> Result<()> {
        let (a, b) = (self.input(node, 0)?.clone(), self.input(node, 1)?.clone());
        let op = node.op_type();
        let (x, c, const_left) = match (a, b) {
            (Val::Const(a), Val::Const(b)) => {
                if op == "Add" {
                    // In the calibration trace, the operands of what may be a join.
                    self.probe(node, 0, &a);
                    self.probe(node, 1, &b);
                }
                return self.const_binary(node);
            }
            (Val::Const(c), x) => (x, c, true),
            (x, Val::Const(c)) => (x, c, false),
            (a, b) if op == "Add" => return self.join(node, a, b),
            _ => {
                return Err(unsupported(
                    node,
                    "both operands are computed tensors; xnorc joins two computed tensors \
                     only with Add (a residual join)",
                ))
            }
        };
        if !c.float {
            return Err(unsupported(node, "an integer constant on a float tensor"));
        }
        // x − c is x + (−c) exactly; c − x is (−x) + c exactly (negation never rounds).
        let negate = |c: &Const| Const {
            values: c.values.iter().map(|v| -v).collect(),
            ..c.clone()
        };
        let steps: Vec<(Arith, Const)> =
            match (op, const_left) {
                ("Mul", _) => vec![(Arith::Mul, c)],
                ("Add", _) => vec![(Arith::Add, c)],
                ("Sub", false) => vec![(Arith::Add, negate(&c))],
                ("Sub", true) => vec![
                    (Arith::Mul, Const::f32(vec![], vec![-1.0])),
                    (Arith::Add, c),
                ],
                ("Div", false) => vec![(Arith::Div, c)],
                _ => return Err(unsupported(
                    node,
                    "a constant divided by a computed tensor is not monotone in a way xnorc folds",
                )),
            };
        let mut x = x;
        for (arith, c) in steps {
            x = self.apply_step(x, arith, &c)?;
        }
        self.set_output(node, x)
    }

    /// Appends an elementwise step with a broadcast constant to a computed tensor.
    fn apply_step(&self, x: Val, op: Arith, c: &Const) -> Result<Val> {
        match x {
            Val::Float(mut f) => {
                let p = per_element(c, &f.shape)?;
                f.steps.push((op, p));
                Ok(Val::Float(f))
            }
            Val::Int(mut v) => {
                let p = per_channel(c, &v.shape)?;
                v.steps.push(Pending::Arith(op, p));
                Ok(Val::Int(v))
            }
            Val::Const(_) => unreachable!("constants are folded before"),
        }
    }

    /// `BatchNormalization` in inference: a per-channel step on an integer tensor, four
    /// elementwise steps on the float input.
    pub(super) fn batchnorm(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["epsilon", "momentum", "training_mode", "spatial"])?;
        if node.attr_int("training_mode")?.unwrap_or(0) != 0
            || node.attr_int("spatial")?.unwrap_or(1) != 1
        {
            return Err(unsupported(node, "training mode or spatial = 0"));
        }
        if (1..node.output.len()).any(|i| output_used(node, i)) {
            return Err(unsupported(node, "its running statistics outputs are used"));
        }
        let eps = node.attr_float("epsilon")?.unwrap_or(1e-5);
        let x = self.input(node, 0)?.clone();
        let param = |i: usize, role: &str| -> Result<Const> {
            Ok(self.constant_input(node, i, role)?.clone())
        };
        let (gamma, beta, mean, var) = (
            param(1, "scale")?,
            param(2, "bias")?,
            param(3, "mean")?,
            param(4, "variance")?,
        );
        // On a constant or an integer tensor: one step per channel.
        let per_channel_step = |shape: &[usize]| -> Result<Pending> {
            let channel = |c: &Const| per_channel(&channel_vector(c, shape.len()), shape);
            Ok(Pending::BatchNorm {
                gamma: channel(&gamma)?,
                beta: channel(&beta)?,
                mean: channel(&mean)?,
                var: channel(&var)?,
                eps,
            })
        };
        let out = match x {
            Val::Const(x) => {
                let step = per_channel_step(&x.shape)?;
                Val::Const(eval::per_channel(&x, |c, v| step.apply(c, v)))
            }
            Val::Int(mut v) => {
                v.steps.push(per_channel_step(&v.shape)?);
                Val::Int(v)
            }
            Val::Float(f) => {
                // On the float input the same arithmetic is four elementwise steps:
                // x + (−mean), / sqrt(var + ε), · scale, + B — each as float32 rounds it.
                let shape = f.shape.clone();
                let std: Vec<f32> = var.as_f32().iter().map(|&v| (v + eps).sqrt()).collect();
                let mut x = Val::Float(f);
                for (op, values) in [
                    (
                        Arith::Add,
                        mean.as_f32().iter().map(|v| -v).collect::<Vec<_>>(),
                    ),
                    (Arith::Div, std),
                    (Arith::Mul, gamma.as_f32()),
                    (Arith::Add, beta.as_f32()),
                ] {
                    let c = Const::f32(channel_shape(values.len(), shape.len()), values);
                    x = self.apply_step(x, op, &c)?;
                }
                x
            }
        };
        self.set_output(node, out)
    }

    /// `Relu` and `PRelu` (slope where x < 0): folded on constants, a pending step on an
    /// integer tensor when it is monotone (every slope ≥ 0).
    pub(super) fn rectify(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.input(node, 0)?.clone();
        let slope = match node.op_type() {
            "PRelu" => {
                let c = self.constant_input(node, 1, "slope")?.clone();
                // ONNX broadcasting (PyTorch exports a [C, 1, 1] slope for maps).
                per_channel(&c, x.shape())?
            }
            _ => vec![0.0],
        };
        let at = |c: usize| if slope.len() == 1 { slope[0] } else { slope[c] };
        let out = match x {
            Val::Const(x) => Val::Const(eval::per_channel(
                &x,
                |c, v| {
                    if v < 0.0 {
                        at(c) * v
                    } else {
                        v
                    }
                },
            )),
            Val::Int(mut v) => {
                if let Some(c) = (0..slope.len()).find(|&c| slope[c] < 0.0 || slope[c].is_nan()) {
                    return Err(unsupported(
                        node,
                        &format!(
                            "channel {c}'s slope {} is negative, so the activation is not \
                             monotone and no threshold or max-pool follows it exactly",
                            slope[c]
                        ),
                    ));
                }
                v.steps.push(Pending::PRelu { slope });
                Val::Int(v)
            }
            Val::Float(_) => {
                return Err(unsupported(
                    node,
                    "it acts on the float input before its quantizer; quantize the input first",
                ))
            }
        };
        self.set_output(node, out)
    }
}
