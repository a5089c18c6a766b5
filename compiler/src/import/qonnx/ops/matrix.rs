//! Matrix layers with binary or int8 weights: `MatMul`, `Gemm`, `Conv` and FINN's `XnorPopcountMatMul` become
//! `dense` / `conv2d` nodes whose float32 sums the importer proves exact, with the per-channel
//! scale and bias left as pending steps.

use super::common::{dilated, map_dims, square, unsupported};
use super::params::{compact, per_channel};
use crate::error::{ModelError, Result};
use crate::format::{
    ConvDef, DenseDef, OpDef, PadMode, PaddingDef, TensorDef, WeightValues, WeightsDef,
};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{Codes, Const, IntVal, Pending, Val};
use crate::import::qonnx::weights::{self, biased_multiples_exact, exact_product, multiples_exact};
use crate::import::qonnx::Importer;
use crate::import::qonnx::{consts, eval};

impl Importer {
    /// `MatMul` with a constant `[in, out]` weight.
    pub(super) fn matmul(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.layer_input(node, 0)?;
        let w = self.constant_input(node, 1, "weight")?;
        let (k, o) = in_out(node, w)?;
        let rows = consts::transpose(w, &[1, 0])?.as_f32();
        self.matrix(node, x, &rows, o, k, None, Layer::Dense)
    }

    /// `Gemm` with a constant weight (transB allowed) and an optional constant bias.
    pub(super) fn gemm(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["alpha", "beta", "transA", "transB"])?;
        if node.attr_int("transA")?.unwrap_or(0) != 0 {
            return Err(unsupported(node, "transA = 1"));
        }
        if node.attr_float("alpha")?.unwrap_or(1.0) != 1.0 {
            return Err(unsupported(
                node,
                "alpha ≠ 1 scales the product after the runtime's own summation; fold it into \
                 the weights",
            ));
        }
        let x = self.layer_input(node, 0)?;
        let w = self.constant_input(node, 1, "weight")?;
        let rows = if node.attr_int("transB")?.unwrap_or(0) != 0 {
            w.clone()
        } else {
            consts::transpose(w, &[1, 0])?
        };
        let [o, k] = rows.shape[..] else {
            return Err(unsupported(node, "the weight must be a 2-D constant"));
        };
        let bias = match self.bias_input(node, "the bias C")? {
            None => None,
            Some(c) => {
                let beta = node.attr_float("beta")?.unwrap_or(1.0);
                if beta != 1.0 {
                    return Err(unsupported(node, "beta ≠ 1 with a bias input C"));
                }
                Some(per_channel(c, &[1, o])?)
            }
        };
        self.matrix(node, x, &rows.as_f32(), o, k, bias, Layer::Dense)
    }

    /// `Conv` 2-D, group 1, no dilation, equal strides, explicit (or no) padding.
    pub(super) fn conv(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&[
            "auto_pad",
            "dilations",
            "group",
            "kernel_shape",
            "pads",
            "strides",
        ])?;
        let x = self.layer_input(node, 0)?;
        let w = self.constant_input(node, 1, "weight")?.clone();
        let [o, c, kh, kw] = w.shape[..] else {
            return Err(unsupported(node, "only 2-D convolutions (a 4-D weight)"));
        };
        if node.attr_int("group")?.unwrap_or(1) != 1 {
            return Err(unsupported(
                node,
                "grouped or depthwise convolution (group ≠ 1)",
            ));
        }
        if dilated(node)? {
            return Err(unsupported(node, "dilation ≠ 1"));
        }
        if let Some(k) = node.attr_ints("kernel_shape")? {
            if k != [kh as i64, kw as i64] {
                return Err(ModelError::new(format!(
                    "kernel_shape {k:?} does not match the weight's {kh}×{kw}"
                ))
                .at_field("attribute kernel_shape"));
            }
        }
        let strides = node.attr_ints("strides")?.unwrap_or(&[1, 1]);
        let stride = square(strides).ok_or_else(|| {
            unsupported(
                node,
                &format!("strides {strides:?}; xnorc takes equal strides"),
            )
        })?;
        let pads = match node.attr_string("auto_pad")?.unwrap_or("NOTSET") {
            "NOTSET" => node.attr_ints("pads")?.unwrap_or(&[0; 4]),
            "VALID" => &[0; 4],
            other => {
                return Err(unsupported(
                    node,
                    &format!("auto_pad {other}; export with explicit pads"),
                ))
            }
        };
        let [top, left, bottom, right] = pads[..] else {
            return Err(ModelError::new(format!("pads {pads:?} must have 4 values"))
                .at_field("attribute pads"));
        };
        let pads = [top, left, bottom, right].map(|p| p.max(0) as usize);
        if pads.iter().any(|&p| p >= kh.min(kw)) {
            return Err(unsupported(
                node,
                &format!("pads {pads:?} as large as the {kh}×{kw} kernel"),
            ));
        }
        let [xc, h, wd] = map_dims(node, x.shape())?;
        if xc != c {
            return Err(ModelError::new(format!(
                "the weight has {c} input channels, the input {xc}"
            )));
        }
        let out_h = (h + pads[0] + pads[2])
            .checked_sub(kh)
            .map(|v| v / stride + 1);
        let out_w = (wd + pads[1] + pads[3])
            .checked_sub(kw)
            .map(|v| v / stride + 1);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            return Err(ModelError::new(format!(
                "the {kh}×{kw} kernel is larger than the padded {h}×{wd} input"
            )));
        };
        let bias = match self.bias_input(node, "the bias")? {
            None => None,
            Some(b) => Some(per_channel(b, &[1, o])?),
        };
        let layer = Layer::Conv {
            kh,
            kw,
            stride,
            pads,
            out: (out_h, out_w),
            input: (c, h, wd),
        };
        self.matrix(node, x, &w.as_f32(), o, c * kh * kw, bias, layer)
    }

    /// A matrix layer: splits the weights, checks that the float32 sum is exact, and
    /// records the accumulator with its per-channel scale (and bias) as pending steps; on a
    /// constant input, the float32 result.
    #[allow(clippy::too_many_arguments)]
    fn matrix(
        &mut self,
        node: &NodeProto,
        x: Val,
        w: &[f32],
        o: usize,
        k: usize,
        bias: Option<Vec<f32>>,
        layer: Layer,
    ) -> Result<()> {
        if let Layer::Dense = layer {
            if x.shape().len() != 2 || x.shape()[1] != k {
                return Err(ModelError::new(format!(
                    "the input has shape {:?}, the weight {k} inputs; xnorc takes a [1, {k}] \
                     vector",
                    x.shape()
                )));
            }
        }
        let x = match x {
            Val::Int(v) => v,
            Val::Const(c) => {
                let geometry = match layer {
                    Layer::Dense => None,
                    Layer::Conv {
                        kh,
                        kw,
                        stride,
                        pads,
                        out,
                        input,
                    } => Some(eval::ConvGeometry {
                        input,
                        kernel: (kh, kw),
                        stride,
                        pads,
                        out,
                    }),
                };
                let y = eval::layer(&c, w, (o, k), bias.as_deref(), geometry);
                return self.set_output(node, Val::Const(y));
            }
            Val::Float(_) => unreachable!("layer_input refuses the float input"),
        };
        let (s, z) =
            linear_codes(&x).map_err(|e| ModelError::new(format!("its input {}", e.message)))?;
        if z != 0 && matches!(layer, Layer::Conv { pads, .. } if pads.iter().any(|&p| p > 0)) {
            return Err(unsupported(
                node,
                "zero padding of an input whose codes are offset (its zero is not a code)",
            ));
        }
        let split = weights::split(w, o, k).map_err(|e| e.at_field("weights"))?;
        let max_u = x.codes.max_abs();
        let max_w = split.max_code().max(1) as u64;
        // Float32 holds integers exactly up to 2^24; no exact layer sums beyond that.
        let graph_multiples = (k as u64)
            .saturating_mul((max_u + z.abs()) as u64)
            .saturating_mul(max_w);
        if graph_multiples >= 1 << 24 {
            return Err(unsupported(
                node,
                &format!(
                    "{k} inputs of magnitude up to {max_u} times weights up to {max_w}: the \
                     float32 sum cannot be exact"
                ),
            ));
        }
        // The graph's terms are c·q·(u + z): its partial sums are multiples of c up to
        // `graph_multiples`. Ours: c·S with |S| ≤ K·max|q|·max|u|, then one add of
        // d = c·z·R + b.
        let our_multiples = (k as u64)
            .saturating_mul(max_u as u64)
            .saturating_mul(max_w);
        let mut scale = Vec::with_capacity(o);
        let mut offset = Vec::with_capacity(o);
        for row in 0..o {
            let alpha = split.alpha[row];
            let c = exact_product(alpha, s).ok_or_else(|| inexact(node, row, alpha, s))?;
            // R = Σ of the row's weight values (bits as ±1 or 0/1, or int8 codes).
            let r: i64 = (0..k).map(|i| split.code(row * k + i)).sum();
            let b = bias
                .as_ref()
                .map_or(0.0, |b| if b.len() == 1 { b[0] } else { b[row] });
            let d64 = c as f64 * (z * r) as f64 + b as f64;
            let d = d64 as f32;
            let exact = d as f64 == d64
                && biased_multiples_exact(c, b, graph_multiples)
                && biased_multiples_exact(c, d, our_multiples)
                && multiples_exact(c, our_multiples);
            if !exact {
                return Err(inexact(node, row, alpha, s));
            }
            scale.push(c);
            offset.push(d);
        }
        let multiples = our_multiples;
        let (name, shape) = self.emit_matrix(node, &x, &split, o, layer)?;
        let steps = [
            Pending::scale(compact(scale)),
            Pending::offset(compact(offset)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let bound = multiples.min(i64::MAX as u64) as i64;
        let v = IntVal {
            node: name,
            shape,
            codes: Codes::Int {
                min: -bound,
                max: bound,
            },
            steps,
        };
        self.set_output(node, Val::Int(v))
    }

    /// The bias input (input 2) of a `Gemm` or `Conv` when present; it must be a constant,
    /// which `role` names in the refusal.
    fn bias_input(&self, node: &NodeProto, role: &str) -> Result<Option<&Const>> {
        match self.optional_input(node, 2) {
            None => Ok(None),
            Some(Val::Const(c)) => Ok(Some(c)),
            Some(_) => Err(unsupported(node, &format!("{role} must be a constant"))),
        }
    }

    fn emit_matrix(
        &mut self,
        node: &NodeProto,
        x: &IntVal,
        split: &weights::LayerWeights,
        o: usize,
        layer: Layer,
    ) -> Result<(String, Vec<usize>)> {
        let name = self.fresh_name(node, "");
        let (op, shape) = match layer {
            Layer::Dense => {
                let k = x.shape[1];
                (
                    OpDef::Dense(DenseDef {
                        weights: weights_def(split, vec![o, k]),
                    }),
                    vec![1, o],
                )
            }
            Layer::Conv {
                kh,
                kw,
                stride,
                pads,
                out,
                ..
            } => {
                let c = x.shape[1];
                let padded = pads.iter().any(|&p| p > 0);
                (
                    OpDef::Conv2d(ConvDef {
                        weights: weights_def(split, vec![o, c, kh, kw]),
                        stride,
                        padding: padded.then(|| PaddingDef::Sides(pads.to_vec())),
                        // ONNX pads the float tensor with 0.0, which contributes nothing.
                        pad_mode: padded.then_some(PadMode::Zero),
                    }),
                    vec![1, o, out.0, out.1],
                )
            }
        };
        self.push(name.clone(), vec![x.node.clone()], op);
        Ok((name, shape))
    }

    /// FINN's `XnorPopcountMatMul` on {0, 1} activations and weights: the number of agreeing
    /// bits P = (S + K) / 2 of the ±1 product S.
    pub(super) fn xnor_popcount(&mut self, node: &NodeProto) -> Result<()> {
        if let Val::Const(x) = self.input(node, 0)?.clone() {
            // The calibration trace: count the agreeing {0, 1} bits in float32.
            let w = self.constant_input(node, 1, "weight")?;
            let (k, o) = in_out(node, w)?;
            let (x, w) = (x.as_f32(), w.as_f32());
            let counts = (0..o)
                .map(|j| {
                    (0..k)
                        .map(|i| x[i] * w[i * o + j] + (1.0 - x[i]) * (1.0 - w[i * o + j]))
                        .sum()
                })
                .collect();
            return self.set_output(node, Val::Const(Const::f32(vec![1, o], counts)));
        }
        let x = self.int_input(node, 0)?;
        let binary01 = x.codes == Codes::Bits
            && (0..x.channels()).all(|c| x.value(c, -1) == 0.0 && x.value(c, 1) == 1.0);
        if !binary01 {
            return Err(unsupported(
                node,
                "its input must be binary {0, 1} activations",
            ));
        }
        let w = self.constant_input(node, 1, "weight")?;
        let (k, o) = in_out(node, w)?;
        if k >= 1 << 24 {
            return Err(unsupported(
                node,
                "more than 2^24 inputs (float32 counts are inexact)",
            ));
        }
        if w.values.iter().any(|&v| v != 0.0 && v != 1.0) {
            return Err(ModelError::new("the weight must hold only 0 and 1").at_field("weights"));
        }
        if x.shape.len() != 2 || x.shape[1] != k {
            return Err(ModelError::new(format!(
                "the input has shape {:?}, the weight {k} inputs",
                x.shape
            )));
        }
        let rows = consts::transpose(w, &[1, 0])?;
        let split = weights::LayerWeights::binary(
            WeightValues::Pm1,
            crate::bits::BitVec::from_bools(
                &rows.values.iter().map(|&v| v == 1.0).collect::<Vec<_>>(),
            ),
            vec![1.0; o],
        );
        let bare = IntVal {
            steps: Vec::new(),
            ..x
        };
        let (name, shape) = self.emit_matrix(node, &bare, &split, o, Layer::Dense)?;
        let v = IntVal {
            node: name,
            shape,
            codes: Codes::Int {
                min: -(k as i64),
                max: k as i64,
            },
            steps: Pending::half_sum(k as f32).to_vec(),
        };
        self.set_output(node, Val::Int(v))
    }
}

/// The weights in the model format: bits, or int8 codes.
fn weights_def(split: &weights::LayerWeights, shape: Vec<usize>) -> WeightsDef {
    match split.values {
        WeightValues::Int => WeightsDef::Int {
            ints: TensorDef::from_i8(shape, &split.ints),
        },
        values => WeightsDef::Dense {
            values,
            bits: TensorDef::from_bits(shape, &split.bits),
        },
    }
}

/// Most integer codes checked one by one when an integer tensor feeds a layer.
const MAX_CHECKED_CODES: i64 = 1 << 16;

/// Inputs and outputs of a `[in, out]` weight (`MatMul`, `XnorPopcountMatMul`).
fn in_out(node: &NodeProto, w: &Const) -> Result<(usize, usize)> {
    match w.shape[..] {
        [k, o] => Ok((k, o)),
        _ => Err(unsupported(
            node,
            "the weight must be a 2-D constant [in, out]",
        )),
    }
}

/// The shape of a matrix layer.
#[derive(Debug, Clone, Copy)]
enum Layer {
    Dense,
    Conv {
        kh: usize,
        kw: usize,
        stride: usize,
        pads: [usize; 4],
        out: (usize, usize),
        input: (usize, usize, usize),
    },
}

fn inexact(node: &NodeProto, row: usize, alpha: f32, s: f32) -> ModelError {
    unsupported(
        node,
        &format!(
            "output channel {row}: with weight scale {alpha} and input scale {s}, the float32 sum \
             the graph computes is not exact, so its value depends on the runtime's summation \
             order and no integer accumulator reproduces it; use scale 1 or power-of-two scales \
             (Brevitas: scaling_const=1.0 / RestrictValueType.POWER_OF_TWO)"
        ),
    )
}

/// The input of a matrix layer as s·(u + z): one float32 scale s and an integer offset z for
/// every code u, checked code by code (the graph multiplies these float values by the weights).
pub(super) fn linear_codes(x: &IntVal) -> std::result::Result<(f32, i64), ModelError> {
    let channels = x.channels();
    let (lo, hi, step_lo) = match x.codes {
        Codes::Bits => (-1, 1, 2),
        Codes::Int { min, max } => (min, max, 1),
    };
    if hi - lo > MAX_CHECKED_CODES {
        return Err(ModelError::new(format!(
            "spans [{lo}, {hi}], too many integer values to check as a layer input; quantize it"
        )));
    }
    let v0 = x.value(0, lo) as f64;
    let v1 = x.value(0, lo + step_lo) as f64;
    let s = (v1 - v0) / step_lo as f64;
    let z = if s != 0.0 {
        v0 / s - lo as f64
    } else {
        f64::NAN
    };
    if s == 0.0 || !s.is_finite() || z.fract() != 0.0 || s as f32 as f64 != s {
        return Err(ModelError::new(format!(
            "values ({v0} for code {lo}) are not a float32 scale times the integer codes"
        )));
    }
    let z = z as i64;
    let codes: Vec<i64> = match x.codes {
        Codes::Bits => vec![-1, 1],
        Codes::Int { .. } => (lo..=hi).collect(),
    };
    for c in 0..channels {
        for &u in &codes {
            let got = x.value(c, u) as f64;
            if got != s * (u + z) as f64 {
                return Err(ModelError::new(format!(
                    "value {got} of channel {c} at code {u} is not {s}·({u} + {z}); every \
                     channel must share one scale"
                )));
            }
        }
    }
    Ok((s as f32, z))
}
