//! Quantizers: QONNX `BipolarQuant` and `Quant` and FINN's `MultiThreshold`, on constants
//! (evaluated), on the float input (the input node's mapping) or on an integer tensor (a
//! `binarize` or `threshold` node).

use super::common::unsupported;
use crate::error::{ModelError, Result};
use crate::format::{
    AffineDef, Arithmetic, BinarizeDef, InputType, IntQuantDef, OpDef, QuantDef, RoundingMode,
    TensorDef, ThresholdDef, ThresholdQuantDef,
};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::consts::{self, IntQuant};
use crate::import::qonnx::fixed_point::{self, Target};
use crate::import::qonnx::values::{Arith, Codes, Const, FloatIn, IntVal, Pending, Val};
use crate::import::qonnx::{eval, Importer};

/// Quantizers of at least this many bits on an integer tensor become an `affine` where one is
/// exact: from 5 bits on, a threshold table (31 levels and more per channel) costs more than
/// a multiplier, and a residual stream's 8 bits would need 255.
const AFFINE_FROM_BITS: u32 = 5;

impl Importer {
    /// QONNX `BipolarQuant`: ±scale by the sign.
    pub(super) fn bipolar_quant(&mut self, node: &NodeProto) -> Result<()> {
        let scale = self.constant_input(node, 1, "scale")?.clone();
        match self.input(node, 0)?.clone() {
            Val::Const(x) => {
                let out = consts::bipolar_quant(&x, &scale)?;
                self.set_output(node, Val::Const(out))
            }
            x => {
                let s = activation_scale(node, &scale)?;
                let v = self.binarize(node, x, &[], s)?;
                self.set_output(node, Val::Int(v))
            }
        }
    }

    /// QONNX `Quant`: round(clamp(x / scale + zero point)), 1 to 8 bits.
    pub(super) fn quant(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["signed", "narrow", "rounding_mode"])?;
        let scale = self.constant_input(node, 1, "scale")?.clone();
        let zeropt = self.constant_input(node, 2, "zero point")?.clone();
        let bits = self
            .constant_input(node, 3, "bit width")?
            .scalar()
            .ok_or_else(|| unsupported(node, "a bit width that is not one number"))?;
        if bits.fract() != 0.0 || !(1.0..=8.0).contains(&bits) {
            return Err(unsupported(
                node,
                &format!("bit width {bits}; xnorc takes 1 to 8 bit integer quantizers"),
            ));
        }
        let q = IntQuant {
            bits: bits as u32,
            signed: node.attr_int("signed")?.unwrap_or(1) != 0,
            narrow: node.attr_int("narrow")?.unwrap_or(0) != 0,
            rounding: rounding_mode(node.attr_string("rounding_mode")?.unwrap_or("ROUND"))?,
        };
        let x = self.input(node, 0)?.clone();
        if let Val::Const(x) = &x {
            let out = consts::int_quant(x, &scale, &zeropt, &q)?;
            return self.set_output(node, Val::Const(out));
        }
        let s = activation_scale(node, &scale)?;
        if zeropt.values.iter().any(|&z| z != 0.0) {
            return Err(unsupported(
                node,
                "a non-zero zero point on activations (xnorc's integer codes have none)",
            ));
        }
        let out = match (x, q.bits == 1 && q.signed) {
            // QONNX computes a 1-bit signed Quant as ±1 from x / scale ≥ 0.
            (x, true) => self.binarize(node, x, &[Pending::Arith(Arith::Div, vec![s])], s)?,
            (Val::Float(f), false) => self.int_input_quant(node, f, &q, s)?,
            (Val::Int(v), false) => {
                let name = self.fresh_name(node, "");
                self.int_activation(node, name, v, &q, s)?
            }
            (Val::Const(_), _) => unreachable!("constants handled above"),
        };
        self.set_output(node, Val::Int(out))
    }

    /// QONNX `Trunc` version 2 (Brevitas' `TruncAvgPool2d` after its `AveragePool`):
    /// y = round_half_even(x / scale + zeropt) / 2^round(log2(out_scale / scale)), clamped to
    /// the output bits, rounded by the rounding mode, then · out_scale (zero points 0).
    pub(super) fn trunc(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["signed", "narrow", "rounding_mode"])?;
        let scalar = |i: usize, role: &str| -> Result<f32> {
            self.constant_input(node, i, role)?
                .uniform()
                .map(|v| v as f32)
                .ok_or_else(|| unsupported(node, &format!("a {role} that is not one number")))
        };
        let scale = scalar(1, "scale")?;
        if scalar(2, "zero point")? != 0.0 {
            return Err(unsupported(node, "a non-zero zero point"));
        }
        if node.input.len() < 6 {
            return Err(unsupported(
                node,
                "Trunc version 1 (five inputs, no output scale); export with a current \
                 Brevitas, which writes version 2",
            ));
        }
        let (out_scale, out_bits) = (scalar(4, "output scale")?, scalar(5, "output bit width")?);
        if out_bits.fract() != 0.0 || !(1.0..=16.0).contains(&out_bits) || scale <= 0.0 {
            return Err(unsupported(
                node,
                &format!("output bit width {out_bits} and scale {scale}; xnorc takes 1–16 bits"),
            ));
        }
        let bits = out_bits as u32;
        let signed = node.attr_int("signed")?.unwrap_or(1) != 0;
        let narrow = node.attr_int("narrow")?.unwrap_or(0) != 0;
        let rounding = rounding_mode(node.attr_string("rounding_mode")?.unwrap_or("FLOOR"))?;
        // A power of two: QONNX rounds its exponent.
        let step = 2f64.powf(((out_scale / scale) as f64).log2().round()) as f32;
        let range = crate::passes::int_range(bits, signed, narrow);
        let code = move |x: f32| {
            let y = crate::ir::float_io::round(x / scale, RoundingMode::HalfEven) / step;
            crate::ir::float_io::clamp_round(y, range.0, range.1, rounding)
        };
        let out = match self.input(node, 0)?.clone() {
            Val::Const(x) => Val::Const(Const {
                values: x
                    .values
                    .iter()
                    .map(|&v| (code(v as f32) * out_scale) as f64)
                    .collect(),
                float: true,
                ..x
            }),
            Val::Int(v) => {
                let name = self.fresh_name(node, "");
                Val::Int(self.requantize(node, name, v, (bits, range), &code, out_scale)?)
            }
            Val::Float(_) => return Err(unsupported(node, "Trunc of the unquantized input")),
        };
        self.set_output(node, out)
    }

    /// A sign quantizer (`BipolarQuant`, 1-bit signed `Quant`) on the float input or on an
    /// integer tensor; `extra` are float32 steps the quantizer applies before comparing with 0.
    fn binarize(&mut self, node: &NodeProto, x: Val, extra: &[Pending], s: f32) -> Result<IntVal> {
        let out_steps: Vec<Pending> = Pending::scale(vec![s]).into_iter().collect();
        match x {
            Val::Float(mut f) => {
                for step in extra {
                    if let Pending::Arith(op, p) = step {
                        f.steps.push((*op, p.clone()));
                    }
                }
                let (name, shape) =
                    self.make_input(node, &f, InputType::Bits, QuantDef::Bipolar {})?;
                Ok(IntVal {
                    node: name,
                    shape,
                    codes: Codes::Bits,
                    steps: out_steps,
                })
            }
            Val::Int(v) if v.codes == Codes::Bits => {
                Err(unsupported(node, "binarizing an already binary tensor"))
            }
            Val::Int(v) if v.steps.iter().chain(extra).any(|s| !s.is_affine()) => {
                // A ReLU / PReLU on the way: no float step holds it, but the sign of a
                // monotone function of u is a threshold on u, found exactly by bisection.
                let name = self.fresh_name(node, "");
                let mut w = v.clone();
                w.steps.extend(extra.iter().cloned());
                let name = self.threshold_node(node, name, &w, 1, |_, _, y| y >= 0.0)?;
                Ok(IntVal {
                    node: name,
                    shape: v.shape,
                    codes: Codes::Bits,
                    steps: out_steps,
                })
            }
            Val::Int(v) => {
                let name = self.fresh_name(node, "");
                let steps = v
                    .steps
                    .iter()
                    .chain(extra)
                    .filter_map(|s| s.to_step())
                    .collect();
                self.push(
                    name.clone(),
                    vec![v.node.clone()],
                    OpDef::Binarize(BinarizeDef {
                        steps,
                        arithmetic: Arithmetic::Float32,
                    }),
                );
                Ok(IntVal {
                    node: name,
                    shape: v.shape,
                    codes: Codes::Bits,
                    steps: out_steps,
                })
            }
            Val::Const(_) => unreachable!("constants are folded"),
        }
    }

    /// An integer `Quant` on the float input: the input node takes its codes.
    fn int_input_quant(
        &mut self,
        node: &NodeProto,
        f: FloatIn,
        q: &IntQuant,
        s: f32,
    ) -> Result<IntVal> {
        let (dtype, codes) = match q.signed {
            true => (
                InputType::Int8,
                crate::passes::int_range(q.bits, true, q.narrow),
            ),
            false => (
                InputType::Uint8,
                crate::passes::int_range(q.bits, false, q.narrow),
            ),
        };
        let quant = QuantDef::Int(IntQuantDef {
            bits: q.bits,
            signed: q.signed,
            narrow: q.narrow,
            scale: s as f64,
            rounding: q.rounding,
        });
        let (name, shape) = self.make_input(node, &f, dtype, quant)?;
        Ok(IntVal {
            node: name,
            shape,
            codes: Codes::Int {
                min: codes.0,
                max: codes.1,
            },
            steps: vec![Pending::Arith(Arith::Mul, vec![s])],
        })
    }

    /// A multi-bit `Quant` on an integer tensor: code(u) = round(clamp(f(u) / s)), then
    /// code · s.
    pub(super) fn int_activation(
        &mut self,
        node: &NodeProto,
        name: String,
        v: IntVal,
        q: &IntQuant,
        s: f32,
    ) -> Result<IntVal> {
        let range = crate::passes::int_range(q.bits, q.signed, q.narrow);
        let rounding = q.rounding;
        let code =
            move |y: f32| crate::ir::float_io::clamp_round(y / s, range.0, range.1, rounding);
        self.requantize(node, name, v, (q.bits, range), &code, s)
    }

    /// A quantizer on an integer tensor whose float32 `code` of the value y = f(u) is an
    /// integer in `range` (a `bits`-bit range), monotone in y; the result reads code · `scale`.
    /// From [`AFFINE_FROM_BITS`] bits on an exact `affine` when one exists (see `fixed_point`),
    /// else a multi-level threshold whose count c gives the code c + min.
    pub(super) fn requantize(
        &mut self,
        node: &NodeProto,
        name: String,
        v: IntVal,
        (bits, (min, max)): (u32, (i64, i64)),
        code: &dyn Fn(f32) -> f32,
        scale: f32,
    ) -> Result<IntVal> {
        if bits >= AFFINE_FROM_BITS {
            if let Some(out) = self.affine_activation(&name, &v, (min, max), code, scale) {
                return Ok(out);
            }
        }
        if bits > 8 {
            return Err(unsupported(
                node,
                &format!(
                    "a {bits}-bit quantizer that no affine reproduces exactly (thresholds stop \
                     at 8 bits)"
                ),
            ));
        }
        // Level L (min < L ≤ max) is reached where the code first is ≥ L.
        let n = (max - min) as usize;
        let name = self.threshold_node(node, name, &v, n, |_, k, y| {
            code(y) >= (min + 1 + k as i64) as f32
        })?;
        Ok(IntVal {
            node: name,
            shape: v.shape,
            codes: Codes::Int {
                min: 0,
                max: max - min,
            },
            steps: [
                Pending::offset(vec![min as f32]),
                Pending::scale(vec![scale]),
            ]
            .into_iter()
            .flatten()
            .collect(),
        })
    }

    /// A quantizer on an integer tensor as an `affine` node whose codes are the quantizer's
    /// own (q, then q · scale), when one reproduces it at every input value (see
    /// `fixed_point`); `None` leaves it to the thresholds.
    fn affine_activation(
        &mut self,
        name: &str,
        v: &IntVal,
        (qmin, qmax): (i64, i64),
        code: &dyn Fn(f32) -> f32,
        s: f32,
    ) -> Option<IntVal> {
        let Codes::Int { min: lo, max: hi } = v.codes else {
            return None;
        };
        let code = |c: usize, u: i64| code(v.value(c, u)) as i64;
        let fit = fixed_point::fit(&Target {
            channels: v.channels(),
            range: (lo, hi),
            codes: (qmin, qmax),
            ties: true,
            code: &code,
        })?;
        let c = v.channels();
        let t = |x: &[i64]| TensorDef::from_i64(vec![c], x);
        let piecewise = fit.neg_mul != fit.mul;
        let name = name.to_string();
        self.push(
            name.clone(),
            vec![v.node.clone()],
            OpDef::Affine(AffineDef {
                mul: t(&fit.mul),
                neg_mul: piecewise.then(|| t(&fit.neg_mul)),
                pre: fit.pre.iter().any(|&p| p != 0).then(|| t(&fit.pre)),
                bias: fit.bias.iter().any(|&b| b != 0).then(|| t(&fit.bias)),
                shift: fit.shift,
                rounding: fit.rounding,
                bits: Some(fit.bits),
            }),
        );
        Some(IntVal {
            node: name,
            shape: v.shape.clone(),
            codes: Codes::Int {
                min: qmin,
                max: qmax,
            },
            steps: Pending::scale(vec![s]).into_iter().collect(),
        })
    }

    /// A `threshold` node with `n` levels on integer tensor `v`: level k of channel c counts
    /// where `fires(c, k, f_c(u))`, f_c being v's pending steps. `fires` must be monotone in
    /// its value (non-decreasing truth); the direction of f_c decides ≥ or ≤ on u.
    fn threshold_node(
        &mut self,
        node: &NodeProto,
        name: String,
        v: &IntVal,
        n: usize,
        fires: impl Fn(usize, usize, f32) -> bool,
    ) -> Result<String> {
        let Codes::Int { min: lo, max: hi } = v.codes else {
            return Err(unsupported(node, "thresholds on a binary tensor"));
        };
        let channels = v.channels();
        let mut table = Vec::with_capacity(channels * n);
        let mut direction = Vec::with_capacity(channels);
        for c in 0..channels {
            let d: i32 = v.steps.iter().map(|st| st.slope_sign(c)).product();
            for k in 0..n {
                let at = |u: i64| fires(c, k, v.value(c, u));
                table.push(match d {
                    // A constant channel: every u fires or none does.
                    0 if at(lo) => lo,
                    0 => hi + 1,
                    d => crate::passes::bisect(d, lo, hi, at),
                });
            }
            direction.push(if d < 0 { -1 } else { 1 });
        }
        let thresholds = if n == 1 {
            TensorDef::from_i64(vec![channels], &table)
        } else {
            TensorDef::from_i64(vec![channels, n], &table)
        };
        let direction = direction
            .iter()
            .any(|&d| d < 0)
            .then(|| TensorDef::from_i64(vec![channels], &direction));
        self.push(
            name.clone(),
            vec![v.node.clone()],
            OpDef::Threshold(ThresholdDef {
                thresholds,
                direction,
            }),
        );
        Ok(name)
    }

    /// FINN's `MultiThreshold`: out = out_scale · #{k : x ≥ T[c][k]} + out_bias.
    pub(super) fn multithreshold(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["out_dtype", "out_scale", "out_bias", "data_layout"])?;
        let layout = node.attr_string("data_layout")?.unwrap_or("");
        if !matches!(layout, "" | "NCHW" | "NC") {
            return Err(unsupported(
                node,
                &format!("data_layout {layout}; xnorc takes NCHW / NC"),
            ));
        }
        let (out_scale, out_bias) = (
            node.attr_float("out_scale")?.unwrap_or(1.0),
            node.attr_float("out_bias")?.unwrap_or(0.0),
        );
        let x = self.input(node, 0)?.clone();
        let t = self.constant_input(node, 1, "thresholds")?.clone();
        let channels = x.shape().get(1).copied().unwrap_or(1);
        let (tc, n) = match t.shape[..] {
            [tc, n] if (tc == channels || tc == 1) && n >= 1 => (tc, n),
            _ => {
                return Err(ModelError::new(format!(
                    "thresholds of shape {:?} do not fit {channels} channels",
                    t.shape
                ))
                .at_field("thresholds"))
            }
        };
        let values = t.as_f32();
        let (name, shape) = match x {
            Val::Int(v) => {
                let name = self.fresh_name(node, "");
                let name = self.threshold_node(node, name, &v, n, |c, k, y| {
                    y >= values[if tc == 1 { k } else { c * n + k }]
                })?;
                (name, v.shape)
            }
            // FINN's input quantizer: the count of thresholds each float element reaches.
            Val::Float(f) => {
                if n > 255 {
                    return Err(unsupported(node, "more than 255 thresholds on the input"));
                }
                let stride = f.shape.iter().skip(2).product();
                let quant = QuantDef::Thresholds(ThresholdQuantDef {
                    thresholds: TensorDef::from_f32(vec![tc, n], &values),
                    channel_stride: stride,
                });
                let dtype = if n == 1 {
                    InputType::Bits
                } else {
                    InputType::Uint8
                };
                self.make_input(node, &f, dtype, quant)?
            }
            Val::Const(x) => {
                let y = eval::per_channel(&x, |c, v| {
                    let t = |k: usize| values[if tc == 1 { k } else { c * n + k }];
                    let count = (0..n).filter(|&k| v >= t(k)).count() as f32;
                    count * out_scale + out_bias
                });
                return self.set_output(node, Val::Const(y));
            }
        };
        // One level: a binary tensor u = ±1, count = (u + 1) / 2.
        let count = if n == 1 {
            Pending::half_sum(1.0).to_vec()
        } else {
            Vec::new()
        };
        let steps = count
            .into_iter()
            .chain(Pending::scale(vec![out_scale]))
            .chain(Pending::offset(vec![out_bias]))
            .collect();
        let v = IntVal {
            node: name,
            shape,
            codes: if n == 1 {
                Codes::Bits
            } else {
                Codes::Int {
                    min: 0,
                    max: n as i64,
                }
            },
            steps,
        };
        self.set_output(node, Val::Int(v))
    }
}

/// The quantizer's scale on activations: one positive number.
fn activation_scale(node: &NodeProto, scale: &Const) -> Result<f32> {
    match scale.uniform() {
        Some(s) if s > 0.0 => Ok(s as f32),
        Some(s) => Err(unsupported(
            node,
            &format!("scale {s}; activation scales must be > 0"),
        )),
        None => Err(unsupported(
            node,
            "per-channel activation scales (the next layer would sum differently scaled inputs)",
        )),
    }
}

fn rounding_mode(s: &str) -> Result<RoundingMode> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "ROUND" | "HALF_EVEN" => RoundingMode::HalfEven,
        "CEIL" => RoundingMode::Ceil,
        "FLOOR" => RoundingMode::Floor,
        "UP" => RoundingMode::Up,
        "DOWN" => RoundingMode::Down,
        "HALF_UP" => RoundingMode::HalfUp,
        "HALF_DOWN" => RoundingMode::HalfDown,
        other => {
            return Err(ModelError::new(format!("unknown rounding mode {other}"))
                .at_field("attribute rounding_mode"))
        }
    })
}
