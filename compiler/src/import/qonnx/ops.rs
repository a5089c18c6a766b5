//! One ONNX node at a time: what each supported operation becomes.

use super::consts::{self, IntQuant};
use super::values::{broadcast_index, Arith, Codes, Const, FloatIn, IntVal, Pending, Val};
use super::weights::{self, biased_multiples_exact, exact_product, multiples_exact};
use super::Importer;
use crate::error::{ModelError, Result};
use crate::format::{
    Arithmetic, BinarizeDef, ConvDef, DenseDef, InputType, IntQuantDef, MaxPoolDef, OpDef, PadMode,
    PaddingDef, QuantDef, RoundingMode, TensorDef, ThresholdDef, ThresholdQuantDef, WeightValues,
    WeightsDef,
};
use crate::import::onnx::{AttrValue, NodeProto};

/// Domains of QONNX's and FINN's custom operations.
const CUSTOM_DOMAINS: &[&str] = &[
    "qonnx.custom_op.general",
    "finn.custom_op.general",
    "finn",
    "qonnx",
];

/// Most integer codes checked one by one when an integer tensor feeds a layer.
const MAX_CHECKED_CODES: i64 = 1 << 16;

fn unsupported(node: &NodeProto, why: &str) -> ModelError {
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
    /// Translates one node.
    pub(super) fn node(&mut self, node: &NodeProto) -> Result<()> {
        let standard = matches!(node.domain(), "" | "ai.onnx");
        let custom = CUSTOM_DOMAINS.contains(&node.domain());
        match (node.op_type(), standard, custom) {
            ("Identity", true, _) => self.alias(node),
            ("Dropout", true, _) => self.dropout(node),
            ("Constant", true, _) => self.constant_node(node),
            ("Shape", true, _) => self.shape_of(node),
            ("Gather", true, _) => self.gather(node),
            ("Unsqueeze" | "Squeeze", true, _) => self.squeeze(node),
            ("Concat", true, _) => self.concat(node),
            ("Cast", true, _) => self.cast(node),
            ("Sqrt", true, _) => self.sqrt(node),
            ("Pow", true, _) => self.const_binary(node),
            ("Mul" | "Add" | "Sub" | "Div", true, _) => self.arith(node),
            ("MatMul", true, _) => self.matmul(node),
            ("Gemm", true, _) => self.gemm(node),
            ("Conv", true, _) => self.conv(node),
            ("BatchNormalization", true, _) => self.batchnorm(node),
            ("MaxPool", true, _) => self.maxpool(node),
            ("Reshape" | "Flatten", true, _) => self.reshape(node),
            ("Transpose", true, _) => self.transpose(node),
            ("BipolarQuant", _, true) => self.bipolar_quant(node),
            ("Quant", _, true) => self.quant(node),
            ("MultiThreshold", _, true) => self.multithreshold(node),
            ("XnorPopcountMatMul", _, true) => self.xnor_popcount(node),
            _ => Err(unsupported(
                node,
                "xnorc imports binary networks from QONNX (docs/semantics.md, \"Imported \
                 models\", lists the operations)",
            )),
        }
    }

    fn alias(&mut self, node: &NodeProto) -> Result<()> {
        let v = self.input(node, 0)?.clone();
        self.set_output(node, v)
    }

    fn dropout(&mut self, node: &NodeProto) -> Result<()> {
        if let Some(Val::Const(t)) = self.optional_input(node, 2) {
            if t.values.iter().any(|&v| v != 0.0) {
                return Err(unsupported(node, "training_mode is true"));
            }
        }
        if node.output.get(1).is_some_and(|m| !m.is_empty()) {
            return Err(unsupported(node, "its mask output is used"));
        }
        self.alias(node)
    }

    fn constant_node(&mut self, node: &NodeProto) -> Result<()> {
        let c = if let Some(AttrValue::Tensor(t)) = node.attr_value("value") {
            super::constant(t)?
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

    fn shape_of(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["start", "end"])?;
        let shape = self.input(node, 0)?.shape().to_vec();
        let rank = shape.len() as i64;
        let clip = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
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

    fn gather(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.constant_input(node, 0, "data")?;
        let i = self.constant_input(node, 1, "indices")?;
        let out = consts::gather(x, i, node.attr_int("axis")?.unwrap_or(0))?;
        self.set_output(node, Val::Const(out))
    }

    fn squeeze(&mut self, node: &NodeProto) -> Result<()> {
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
            let r = rank as i64;
            let v = if a < 0 { a + r } else { a };
            (0..r)
                .contains(&v)
                .then_some(v as usize)
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

    fn concat(&mut self, node: &NodeProto) -> Result<()> {
        let parts = (0..node.input.len())
            .map(|i| self.constant_input(node, i, "part"))
            .collect::<Result<Vec<_>>>()?;
        let out = consts::concat(&parts, node.attr_int("axis")?.unwrap_or(0))?;
        self.set_output(node, Val::Const(out))
    }

    fn cast(&mut self, node: &NodeProto) -> Result<()> {
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

    fn sqrt(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.constant_input(node, 0, "input")?.clone();
        let values: Vec<f64> = x.values.iter().map(|&v| (v as f32).sqrt() as f64).collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::new("Sqrt of a negative constant"));
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

    fn const_binary(&mut self, node: &NodeProto) -> Result<()> {
        let a = self.constant_input(node, 0, "left operand")?;
        let b = self.constant_input(node, 1, "right operand")?;
        let out = consts::binary(node.op_type(), a, b)?;
        self.set_output(node, Val::Const(out))
    }

    /// `Mul`, `Add`, `Sub`, `Div`: folded on constants, a step on a computed tensor.
    fn arith(&mut self, node: &NodeProto) -> Result<()> {
        let (a, b) = (self.input(node, 0)?.clone(), self.input(node, 1)?.clone());
        let op = node.op_type();
        let (x, c, const_left) = match (a, b) {
            (Val::Const(_), Val::Const(_)) => return self.const_binary(node),
            (Val::Const(c), x) => (x, c, true),
            (x, Val::Const(c)) => (x, c, false),
            _ => {
                return Err(unsupported(
                    node,
                    "both operands are computed tensors (a residual or similar join); xnorc \
                     imports chains of layers",
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

    fn batchnorm(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&["epsilon", "momentum", "training_mode", "spatial"])?;
        if node.attr_int("training_mode")?.unwrap_or(0) != 0
            || node.attr_int("spatial")?.unwrap_or(1) != 1
        {
            return Err(unsupported(node, "training mode or spatial = 0"));
        }
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
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
        let out = match x {
            Val::Int(mut v) => {
                let rank = v.shape.len();
                let channel = |c: &Const| per_channel(&channel_vector(c, rank), &v.shape);
                let step = Pending::BatchNorm {
                    gamma: channel(&gamma)?,
                    beta: channel(&beta)?,
                    mean: channel(&mean)?,
                    var: channel(&var)?,
                    eps,
                };
                v.steps.push(step);
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
            other => {
                return Err(unsupported(
                    node,
                    &format!("BatchNormalization of {}", other.describe()),
                ))
            }
        };
        self.set_output(node, out)
    }

    fn matmul(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.int_input(node, 0)?;
        let w = self.constant_input(node, 1, "weight")?;
        let [k, o] = w.shape[..] else {
            return Err(unsupported(
                node,
                "the weight must be a 2-D constant [in, out]",
            ));
        };
        let rows = consts::transpose(w, &[1, 0])?.as_f32();
        self.matrix(node, x, &rows, o, k, None, Layer::Dense)
    }

    fn gemm(&mut self, node: &NodeProto) -> Result<()> {
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
        let x = self.int_input(node, 0)?;
        let w = self.constant_input(node, 1, "weight")?;
        let rows = if node.attr_int("transB")?.unwrap_or(0) != 0 {
            w.clone()
        } else {
            consts::transpose(w, &[1, 0])?
        };
        let [o, k] = rows.shape[..] else {
            return Err(unsupported(node, "the weight must be a 2-D constant"));
        };
        let bias = match self.optional_input(node, 2) {
            None => None,
            Some(Val::Const(c)) => {
                let beta = node.attr_float("beta")?.unwrap_or(1.0);
                if beta != 1.0 {
                    return Err(unsupported(node, "beta ≠ 1 with a bias input C"));
                }
                Some(per_channel(c, &[1, o])?)
            }
            Some(_) => return Err(unsupported(node, "the bias C must be a constant")),
        };
        self.matrix(node, x, &rows.as_f32(), o, k, bias, Layer::Dense)
    }

    fn conv(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&[
            "auto_pad",
            "dilations",
            "group",
            "kernel_shape",
            "pads",
            "strides",
        ])?;
        let x = self.int_input(node, 0)?;
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
        if node
            .attr_ints("dilations")?
            .is_some_and(|d| d.iter().any(|&v| v != 1))
        {
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
        let stride = match strides[..] {
            [s, t] if s == t && s >= 1 => s as usize,
            _ => {
                return Err(unsupported(
                    node,
                    &format!("strides {strides:?}; xnorc takes equal strides"),
                ))
            }
        };
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
        let [1, xc, h, wd] = x.shape[..] else {
            return Err(unsupported(node, "the input must be a [1, C, H, W] map"));
        };
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
        let bias = match self.optional_input(node, 2) {
            None => None,
            Some(Val::Const(b)) => Some(per_channel(b, &[1, o])?),
            Some(_) => return Err(unsupported(node, "the bias must be a constant")),
        };
        let layer = Layer::Conv {
            kh,
            kw,
            stride,
            pads,
            out: (out_h, out_w),
        };
        self.matrix(node, x, &w.as_f32(), o, c * kh * kw, bias, layer)
    }

    /// A computed integer tensor as input `i`.
    fn int_input(&self, node: &NodeProto, i: usize) -> Result<IntVal> {
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

    /// A binary matrix layer: splits the weights, checks that the float32 sum is exact, and
    /// records the accumulator with its per-channel scale (and bias) as pending steps.
    #[allow(clippy::too_many_arguments)]
    fn matrix(
        &mut self,
        node: &NodeProto,
        x: IntVal,
        w: &[f32],
        o: usize,
        k: usize,
        bias: Option<Vec<f32>>,
        layer: Layer,
    ) -> Result<()> {
        if let Layer::Dense = layer {
            if x.shape.len() != 2 || x.shape[1] != k {
                return Err(ModelError::new(format!(
                    "the input has shape {:?}, the weight {k} inputs; xnorc takes a [1, {k}] \
                     vector",
                    x.shape
                )));
            }
        }
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
        // Float32 holds integers exactly up to 2^24; no exact layer sums beyond that.
        if (k as u64).saturating_mul((max_u + z.abs()) as u64) >= 1 << 24 {
            return Err(unsupported(
                node,
                &format!("{k} inputs of magnitude up to {max_u}: the float32 sum cannot be exact"),
            ));
        }
        // The graph's terms are c·β·(u + z): its partial sums are multiples of c up to this.
        let graph_multiples = (k as u64).saturating_mul((max_u + z.abs()) as u64);
        // Ours: c·S with |S| ≤ K·max|u|, then one add of d = c·z·R + b.
        let our_multiples = (k as u64).saturating_mul(max_u as u64);
        let mut scale = Vec::with_capacity(o);
        let mut offset = Vec::with_capacity(o);
        for row in 0..o {
            let alpha = split.alpha[row];
            let c = exact_product(alpha, s).ok_or_else(|| inexact(node, row, alpha, s))?;
            // R = Σ of the row's weight values (bits as ±1 or 0/1).
            let r: i64 = (0..k)
                .map(|i| {
                    let b = split.bits.get(row * k + i) as i64;
                    match split.values {
                        WeightValues::Pm1 => 2 * b - 1,
                        WeightValues::ZeroOne => b,
                    }
                })
                .sum();
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
        let mut steps = Vec::new();
        if scale.iter().any(|&c| c != 1.0) {
            steps.push(Pending::Arith(Arith::Mul, compact(scale)));
        }
        if offset.iter().any(|&d| d != 0.0) {
            steps.push(Pending::Arith(Arith::Add, compact(offset)));
        }
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

    fn emit_matrix(
        &mut self,
        node: &NodeProto,
        x: &IntVal,
        split: &weights::BinaryWeights,
        o: usize,
        layer: Layer,
    ) -> Result<(String, Vec<usize>)> {
        let name = self.fresh_name(node, "");
        let (op, shape) = match layer {
            Layer::Dense => {
                let k = x.shape[1];
                (
                    OpDef::Dense(DenseDef {
                        weights: WeightsDef::Dense {
                            values: split.values,
                            bits: TensorDef::from_bits(vec![o, k], &split.bits),
                        },
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
            } => {
                let c = x.shape[1];
                let padded = pads.iter().any(|&p| p > 0);
                (
                    OpDef::Conv2d(ConvDef {
                        weights: WeightsDef::Dense {
                            values: split.values,
                            bits: TensorDef::from_bits(vec![o, c, kh, kw], &split.bits),
                        },
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

    fn maxpool(&mut self, node: &NodeProto) -> Result<()> {
        node.check_attributes(&[
            "auto_pad",
            "ceil_mode",
            "dilations",
            "kernel_shape",
            "pads",
            "storage_order",
            "strides",
        ])?;
        if node.output.get(1).is_some_and(|o| !o.is_empty()) {
            return Err(unsupported(node, "its Indices output is used"));
        }
        let kernel = node.attr_ints("kernel_shape")?.unwrap_or_default();
        let k = match kernel[..] {
            [h, w] if h == w && h >= 1 => h as usize,
            _ => {
                return Err(unsupported(
                    node,
                    &format!("kernel_shape {kernel:?}; xnorc pools square windows"),
                ))
            }
        };
        let strides = node.attr_ints("strides")?.unwrap_or(&[1, 1]);
        let s = match strides[..] {
            [x, y] if x == y && x >= 1 => x as usize,
            _ => return Err(unsupported(node, &format!("strides {strides:?}"))),
        };
        if node
            .attr_ints("pads")?
            .is_some_and(|p| p.iter().any(|&v| v != 0))
            || node.attr_int("ceil_mode")?.unwrap_or(0) != 0
            || node
                .attr_ints("dilations")?
                .is_some_and(|d| d.iter().any(|&v| v != 1))
            || !matches!(
                node.attr_string("auto_pad")?.unwrap_or("NOTSET"),
                "NOTSET" | "VALID"
            )
        {
            return Err(unsupported(node, "padding, ceil_mode or dilation"));
        }
        let x = self.int_input(node, 0)?;
        let [1, c, h, w] = x.shape[..] else {
            return Err(unsupported(node, "the input must be a [1, C, H, W] map"));
        };
        if h < k || w < k {
            return Err(ModelError::new(format!(
                "the {k}×{k} window is larger than {h}×{w}"
            )));
        }
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

    fn reshape(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.input(node, 0)?.clone();
        let shape = if node.op_type() == "Flatten" {
            let axis = node.attr_int("axis")?.unwrap_or(1);
            let old = x.shape();
            let rank = old.len() as i64;
            let axis = if axis < 0 { axis + rank } else { axis };
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

    fn transpose(&mut self, node: &NodeProto) -> Result<()> {
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

    fn bipolar_quant(&mut self, node: &NodeProto) -> Result<()> {
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

    fn quant(&mut self, node: &NodeProto) -> Result<()> {
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
            (Val::Int(v), false) => self.int_activation(node, v, &q, s)?,
            (Val::Const(_), _) => unreachable!("constants handled above"),
        };
        self.set_output(node, Val::Int(out))
    }

    /// A sign quantizer (`BipolarQuant`, 1-bit signed `Quant`) on the float input or on an
    /// integer tensor; `extra` are float32 steps the quantizer applies before comparing with 0.
    fn binarize(&mut self, node: &NodeProto, x: Val, extra: &[Pending], s: f32) -> Result<IntVal> {
        let out_steps = if s == 1.0 {
            Vec::new()
        } else {
            vec![Pending::Arith(Arith::Mul, vec![s])]
        };
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
            Val::Int(v) => {
                let name = self.fresh_name(node, "");
                let steps = v.steps.iter().chain(extra).map(|s| s.to_step()).collect();
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

    /// A multi-bit `Quant` on an integer tensor: a multi-level threshold whose count c gives the
    /// code q = c + min, then (q − 0) · scale.
    fn int_activation(
        &mut self,
        node: &NodeProto,
        v: IntVal,
        q: &IntQuant,
        s: f32,
    ) -> Result<IntVal> {
        let (min, max) = crate::passes::int_range(q.bits, q.signed, q.narrow);
        // code(u) = round(clamp(f(u) / s)) is monotone in f(u); level L (min < L ≤ max) is
        // reached where the rounded value first is ≥ L.
        let rounding = q.rounding;
        let code = move |y: f32| crate::ir::float_io::clamp_round(y / s, min, max, rounding);
        let n = (max - min) as usize;
        let name = self.threshold_node(node, &v, n, |_, k, y| {
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
                (min != 0).then(|| Pending::Arith(Arith::Add, vec![min as f32])),
                (s != 1.0).then(|| Pending::Arith(Arith::Mul, vec![s])),
            ]
            .into_iter()
            .flatten()
            .collect(),
        })
    }

    /// A `threshold` node with `n` levels on integer tensor `v`: level k of channel c counts
    /// where `fires(c, k, f_c(u))`, f_c being v's pending steps. `fires` must be monotone in
    /// its value (non-decreasing truth); the direction of f_c decides ≥ or ≤ on u.
    fn threshold_node(
        &mut self,
        node: &NodeProto,
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
        let name = self.fresh_name(node, "");
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
    fn multithreshold(&mut self, node: &NodeProto) -> Result<()> {
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
                let name = self.threshold_node(node, &v, n, |c, k, y| {
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
            Val::Const(_) => return Err(unsupported(node, "MultiThreshold on a constant")),
        };
        let steps = if n == 1 {
            // One level: a binary tensor u = ±1, count = (u + 1) / 2.
            let mut s = vec![
                Pending::Arith(Arith::Add, vec![1.0]),
                Pending::Arith(Arith::Mul, vec![0.5]),
            ];
            if out_scale != 1.0 {
                s.push(Pending::Arith(Arith::Mul, vec![out_scale]));
            }
            if out_bias != 0.0 {
                s.push(Pending::Arith(Arith::Add, vec![out_bias]));
            }
            s
        } else {
            [
                (out_scale != 1.0).then(|| Pending::Arith(Arith::Mul, vec![out_scale])),
                (out_bias != 0.0).then(|| Pending::Arith(Arith::Add, vec![out_bias])),
            ]
            .into_iter()
            .flatten()
            .collect()
        };
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

    /// FINN's `XnorPopcountMatMul` on {0, 1} activations and weights: the number of agreeing
    /// bits P = (S + K) / 2 of the ±1 product S.
    fn xnor_popcount(&mut self, node: &NodeProto) -> Result<()> {
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
        let [k, o] = w.shape[..] else {
            return Err(unsupported(
                node,
                "the weight must be a 2-D constant [in, out]",
            ));
        };
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
        let split = weights::BinaryWeights {
            values: WeightValues::Pm1,
            bits: crate::bits::BitVec::from_bools(
                &rows.values.iter().map(|&v| v == 1.0).collect::<Vec<_>>(),
            ),
            alpha: vec![1.0; o],
        };
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
            steps: vec![
                Pending::Arith(Arith::Add, vec![k as f32]),
                Pending::Arith(Arith::Mul, vec![0.5]),
            ],
        };
        self.set_output(node, Val::Int(v))
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

/// A constant as one value per element of a tensor of `shape` (or one value for all).
fn per_element(c: &Const, shape: &[usize]) -> Result<Vec<f32>> {
    if let Some(v) = c.uniform() {
        if broadcast_index(&c.shape, shape).is_some() {
            return Ok(vec![v as f32]);
        }
    }
    let index = broadcast_index(&c.shape, shape).ok_or_else(|| {
        ModelError::new(format!(
            "the constant of shape {:?} does not broadcast to the tensor's {shape:?}",
            c.shape
        ))
    })?;
    Ok(index.iter().map(|&i| c.values[i] as f32).collect())
}

/// A constant as one value per channel (axis 1) of a tensor of `shape`, or one for all; an error
/// if it varies along any other axis.
fn per_channel(c: &Const, shape: &[usize]) -> Result<Vec<f32>> {
    let full = per_element(c, shape)?;
    if full.len() == 1 {
        return Ok(full);
    }
    let channels = shape.get(1).copied().unwrap_or(1);
    let per: usize = shape.iter().skip(2).product();
    let mut out = Vec::with_capacity(channels);
    for ch in 0..channels {
        let slice = &full[ch * per..(ch + 1) * per];
        if slice.iter().any(|v| v.to_bits() != slice[0].to_bits()) {
            return Err(ModelError::new(format!(
                "the constant of shape {:?} varies inside channel {ch}; xnorc takes per-channel \
                 parameters on computed tensors",
                c.shape
            )));
        }
        out.push(slice[0]);
    }
    Ok(compact(out))
}

/// A BatchNorm parameter `[C]` (or a scalar) laid out for channel broadcasting against a tensor
/// of rank `rank`: `[1, C, 1, …]`.
fn channel_vector(c: &Const, rank: usize) -> Const {
    let n = c.values.len();
    Const {
        shape: if n == 1 {
            vec![1]
        } else {
            channel_shape(n, rank)
        },
        ..c.clone()
    }
}

/// A `[C]` parameter's broadcast shape against a tensor of rank `rank` (channel axis 1).
fn channel_shape(n: usize, rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank.max(2)];
    s[1] = n;
    s
}

/// One value when all agree.
fn compact(v: Vec<f32>) -> Vec<f32> {
    match v.first() {
        Some(&f) if v.iter().all(|x| x.to_bits() == f.to_bits()) => vec![f],
        _ => v,
    }
}

/// The input of a matrix layer as s·(u + z): one float32 scale s and an integer offset z for
/// every code u, checked code by code (the graph multiplies these float values by the weights).
fn linear_codes(x: &IntVal) -> std::result::Result<(f32, i64), ModelError> {
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
