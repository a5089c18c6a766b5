//! The residual stream's joins and reductions: `Add` of two computed tensors (an `add` node
//! whose operands are aligned by shifts), and `AveragePool`, `GlobalAveragePool` and
//! `ReduceMean` over the map (a `sumpool` node, its 1/n left as a pending division).
//!
//! Both are exact only on the grid of one fixed-point scale: each operand must read as
//! s·(u + z) for its integer codes u, and two scales must differ by a power of two. A float
//! tensor with no quantizer (unless `--calibrate` has quantized it to a chosen format), or
//! scales without a common grid, is refused naming the node.

use super::common::{map_dims, pool_window, unsupported};
use super::matrix::linear_codes;
use crate::error::Result;
use crate::format::{AddDef, AffineDef, OpDef, SumPoolDef, TensorDef};
use crate::import::onnx::NodeProto;
use crate::import::qonnx::values::{Arith, Codes, Const, IntVal, Pending, Val};
use crate::import::qonnx::{calibrate, eval, Importer};

/// Largest alignment shift between the operands of an add (the format's limit).
const MAX_ALIGN_SHIFT: u32 = 32;

impl Importer {
    /// `Add` of two computed tensors: a residual join.
    pub(super) fn join(&mut self, node: &NodeProto, a: Val, b: Val) -> Result<()> {
        let (Val::Int(a), Val::Int(b)) = (a, b) else {
            return Err(unsupported(
                node,
                "an operand is the unquantized float input; quantize both operands of a \
                 residual add",
            ));
        };
        if a.shape != b.shape {
            return Err(unsupported(
                node,
                &format!(
                    "operands of shapes {:?} and {:?}; a residual add takes equal shapes",
                    a.shape, b.shape
                ),
            ));
        }
        let (a, sa, za) = self.on_grid(node, 0, a, "an add")?;
        let (b, sb, zb) = self.on_grid(node, 1, b, "an add")?;
        let a = self.without_offset(a, sa, za);
        let b = self.without_offset(b, sb, zb);
        // The finer scale is the sum's; the coarser operand shifts left onto its grid.
        let fine = sa.min(sb);
        let shift_of = |s: f32| -> Option<u32> {
            let ratio = s as f64 / fine as f64;
            let k = ratio.log2().round();
            (k >= 0.0 && k <= MAX_ALIGN_SHIFT as f64 && 2f64.powi(k as i32) == ratio)
                .then_some(k as u32)
        };
        let (Some(ka), Some(kb)) = (shift_of(sa), shift_of(sb)) else {
            return Err(unsupported(
                node,
                &format!(
                    "its operands have scales {sa} and {sb}, whose ratio is not a power of two, \
                     so no shift aligns them and the float32 sum is not on one grid; quantize \
                     both with one quantizer or with power-of-two scales (Brevitas' \
                     *FixedPoint quantizers)"
                ),
            ));
        };
        let range = |v: &IntVal, k: u32| match v.codes {
            Codes::Bits => (-(1i64 << k), 1i64 << k),
            Codes::Int { min, max } => (min << k, max << k),
        };
        let ((alo, ahi), (blo, bhi)) = (range(&a, ka), range(&b, kb));
        let (lo, hi) = (alo + blo, ahi + bhi);
        // The graph's sum is exact in float32 when it is an integer multiple of the fine scale
        // below 2^24.
        if lo.abs().max(hi.abs()) >= 1 << 24 {
            return Err(unsupported(
                node,
                &format!(
                    "the sum spans [{lo}, {hi}] steps of {fine}, beyond float32's 24 bits, so \
                     the graph's own sum is rounded"
                ),
            ));
        }
        let name = self.fresh_name(node, "");
        let shift = (ka, kb) != (0, 0);
        self.push(
            name.clone(),
            vec![a.node.clone(), b.node.clone()],
            OpDef::Add(AddDef {
                shift: shift.then(|| vec![ka, kb]),
                bits: None,
            }),
        );
        let v = IntVal {
            node: name,
            shape: a.shape,
            codes: Codes::Int { min: lo, max: hi },
            steps: Pending::scale(vec![fine]).into_iter().collect(),
        };
        self.set_output(node, Val::Int(v))
    }

    /// Input `i` of `node` (`v`) as s·(u + z) on one fixed-point grid: as it is, or through the
    /// format calibration chose for it (a quantizer the graph lacks); else the refusal, which
    /// names `what` needs the grid and how to give it one.
    fn on_grid(
        &mut self,
        node: &NodeProto,
        i: usize,
        v: IntVal,
        what: &str,
    ) -> Result<(IntVal, f32, i64)> {
        let e = match linear_codes(&v) {
            Ok((s, z)) => return Ok((v, s, z)),
            Err(e) => e,
        };
        let tensor = node.input.get(i).cloned().unwrap_or_default();
        let Some(format) = self.formats.get(&tensor).copied() else {
            return Err(unsupported(
                node,
                &format!(
                    "its {} operand {}: {what} is exact only on one fixed-point grid; quantize \
                     it in the model (Brevitas QuantIdentity), or import with --calibrate \
                     FRAMES.npy to choose a fixed-point format from sample frames",
                    if i == 0 { "first" } else { "second" },
                    e.message
                ),
            ));
        };
        let name = self.fresh_name(node, &format!("in{i}_fixed"));
        let quantizer = crate::import::qonnx::consts::IntQuant {
            bits: format.bits,
            signed: true,
            narrow: false,
            rounding: crate::format::RoundingMode::HalfEven,
        };
        let q = self.int_activation(node, name.clone(), v, &quantizer, format.scale)?;
        self.calibrated.push(calibrate::CalibratedTensor {
            tensor,
            node: name,
            max_abs: format.max_abs,
            bits: format.bits,
            scale: format.scale,
        });
        let (s, z) = linear_codes(&q).map_err(|e| unsupported(node, &e.message))?;
        Ok((q, s, z))
    }

    /// `v`, read as s·(u + z), with its offset z moved into the integers: u + z by an
    /// `affine` that adds z (a threshold's counts start at 0, the quantizer's codes at its
    /// minimum), then read as s·(u + z).
    fn without_offset(&mut self, v: IntVal, s: f32, z: i64) -> IntVal {
        if z == 0 {
            return v;
        }
        let (lo, hi) = match v.codes {
            Codes::Bits => (-1, 1),
            Codes::Int { min, max } => (min, max),
        };
        let name = self.fresh(v.node.clone(), "offset");
        self.push(
            name.clone(),
            vec![v.node.clone()],
            OpDef::Affine(AffineDef {
                mul: TensorDef::from_i64(vec![1], &[1]),
                neg_mul: None,
                pre: None,
                bias: Some(TensorDef::from_i64(vec![1], &[z])),
                shift: 0,
                rounding: Default::default(),
                bits: None,
            }),
        );
        IntVal {
            node: name,
            shape: v.shape,
            codes: Codes::Int {
                min: lo + z,
                max: hi + z,
            },
            steps: Pending::scale(vec![s]).into_iter().collect(),
        }
    }

    /// `AveragePool`: a square window moved by its own size or less, no padding.
    pub(super) fn average_pool(&mut self, node: &NodeProto) -> Result<()> {
        // count_include_pad only matters with padding, which is refused.
        let (k, stride) = pool_window(node, &["count_include_pad"])?;
        let (x, [c, h, w]) = self.pooled_input(node, k)?;
        let x = match x {
            Val::Const(x) => {
                self.probe(node, 0, &x);
                let y = eval::pool(&x, eval::PoolKind::Average, Some((k, stride)));
                return self.set_output(node, Val::Const(y));
            }
            Val::Int(v) => v,
            Val::Float(_) => unreachable!("layer_input refuses the float input"),
        };
        let shape = vec![1, c, (h - k) / stride + 1, (w - k) / stride + 1];
        let def = SumPoolDef {
            kernel: Some(k),
            stride: (stride != k).then_some(stride),
            global: false,
        };
        self.sum_pool(node, x, def, k * k, shape)
    }

    /// `GlobalAveragePool`, and `ReduceMean` over axes 2 and 3 (how PyTorch's
    /// `AdaptiveAvgPool2d(1)` and `mean((2, 3))` export).
    pub(super) fn global_average(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.layer_input(node, 0)?;
        let [c, h, w] = map_dims(node, x.shape())?;
        let keep = if node.op_type() == "ReduceMean" {
            node.check_attributes(&["axes", "keepdims", "noop_with_empty_axes"])?;
            // Opset 18 moved the axes from an attribute to an optional input.
            let axes = match self.optional_input(node, 1) {
                Some(Val::Const(a)) => a.as_i64()?,
                Some(_) => return Err(unsupported(node, "axes that are not a constant")),
                None => node.attr_ints("axes")?.unwrap_or_default().to_vec(),
            };
            let mut axes: Vec<i64> = axes
                .iter()
                .map(|&a| if a < 0 { a + 4 } else { a })
                .collect();
            axes.sort_unstable();
            if axes != [2, 3] {
                return Err(unsupported(
                    node,
                    &format!("axes {axes:?}; xnorc averages a map over axes [2, 3]"),
                ));
            }
            node.attr_int("keepdims")?.unwrap_or(1) != 0
        } else {
            node.check_attributes(&[])?;
            true
        };
        let shape = if keep { vec![1, c, 1, 1] } else { vec![1, c] };
        let x = match x {
            Val::Const(x) => {
                self.probe(node, 0, &x);
                let y = eval::pool(&x, eval::PoolKind::Average, None);
                let y = Const { shape, ..y };
                return self.set_output(node, Val::Const(y));
            }
            Val::Int(v) => v,
            Val::Float(_) => unreachable!("layer_input refuses the float input"),
        };
        let def = SumPoolDef {
            kernel: None,
            stride: None,
            global: true,
        };
        self.sum_pool(node, x, def, h * w, shape)
    }

    /// A `sumpool` node: ONNX's average is s·Σ(u + z) summed exactly, then divided by n once
    /// in float32, which the pending steps repeat.
    fn sum_pool(
        &mut self,
        node: &NodeProto,
        x: IntVal,
        def: SumPoolDef,
        n: usize,
        shape: Vec<usize>,
    ) -> Result<()> {
        let (x, s, z) = self.on_grid(node, 0, x, "an average")?;
        let max = x.codes.max_abs() + z.abs();
        if (n as i64).saturating_mul(max) >= 1 << 24 {
            return Err(unsupported(
                node,
                &format!("a sum of {n} values up to {max} steps is beyond float32's 24 bits"),
            ));
        }
        let x = self.without_offset(x, s, z);
        let (lo, hi) = match x.codes {
            Codes::Bits => (-(n as i64), n as i64),
            Codes::Int { min, max } => (min * n as i64, max * n as i64),
        };
        let name = self.fresh_name(node, "");
        self.push(name.clone(), vec![x.node.clone()], OpDef::SumPool(def));
        let mut steps: Vec<Pending> = Pending::scale(vec![s]).into_iter().collect();
        if n > 1 {
            steps.push(Pending::Arith(Arith::Div, vec![n as f32]));
        }
        let mut v = IntVal {
            node: name,
            shape: vec![1, x.channels(), 1, 1],
            codes: Codes::Int { min: lo, max: hi },
            steps,
        };
        if shape.len() == 4 {
            v.shape = shape;
        } else {
            v = self.flatten(v, "flat")?;
        }
        self.set_output(node, Val::Int(v))
    }
}
