//! Lowering of an imported model's float edges (`input.from_float`, `output.to_float`) to the
//! IR's [`InputMap`] and [`FloatTail`], with their checks.

use super::fold::check_finite_f32;
use super::steps::lower_steps;
use crate::error::{ModelError, Result};
use crate::format::{Arithmetic, ElementStepDef, FromFloatDef, QuantDef, ToFloatDef};
use crate::ir::float_io::{ElementOp, ElementStep, InputQuant};
use crate::ir::{FloatTail, InputMap, Node, ValueType};

/// The input map of `input`, checked against the input node's shape and element type.
pub fn input_map(def: &FromFloatDef, input: &Node) -> Result<InputMap> {
    let numel = input.shape.numel();
    let float_numel = def.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if float_numel != Some(numel) {
        return Err(ModelError::new(format!(
            "float frame shape {:?} does not have the input's {numel} elements",
            def.shape
        ))
        .at_field("shape"));
    }
    let steps = def
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| element_step(step, numel).map_err(|e| e.at_field(format!("steps[{i}]"))))
        .collect::<Result<Vec<_>>>()?;
    let quant = match &def.quant {
        QuantDef::Bipolar {} => {
            if input.vtype != ValueType::Bits {
                return Err(ModelError::new(format!(
                    "a bipolar quantizer makes bits, but the input's dtype is {}",
                    input.vtype.describe()
                ))
                .at_field("quant"));
            }
            InputQuant::Bipolar
        }
        QuantDef::Codes(c) => {
            let (lo, hi) = input.vtype.range();
            let bits = input.vtype == ValueType::Bits;
            let fits = if bits {
                (c.min == 0 || c.min == -1) && c.max == 1
            } else {
                c.min >= lo && c.max <= hi && c.min <= c.max
            };
            if !fits {
                return Err(ModelError::new(format!(
                    "codes [{}, {}] do not fit the input's dtype {}",
                    c.min,
                    c.max,
                    input.vtype.describe()
                ))
                .at_field("quant.codes"));
            }
            InputQuant::Codes {
                min: c.min,
                max: c.max,
                bits,
            }
        }
        QuantDef::Thresholds(t) => {
            let at = |f: &str| format!("quant.thresholds.{f}");
            let values = t
                .thresholds
                .to_f64()
                .map_err(|e| e.at_field(at("thresholds")))?;
            let (channels, levels) = match t.thresholds.shape[..] {
                [c, n] if c >= 1 && n >= 1 => (c, n),
                _ => {
                    return Err(ModelError::new(format!(
                        "expected shape [C, n] or [1, n], found {:?}",
                        t.thresholds.shape
                    ))
                    .at_field(at("thresholds.shape")))
                }
            };
            if values.iter().any(|&v| v as f32 as f64 != v) {
                return Err(
                    ModelError::new("thresholds must be float32 values").at_field(at("thresholds"))
                );
            }
            let table: Vec<f32> = values.iter().map(|&v| v as f32).collect();
            let want = if levels == 1 {
                ValueType::Bits
            } else {
                ValueType::Int { min: 0, max: 255 }
            };
            if levels > 255 || input.vtype != want {
                return Err(ModelError::new(format!(
                    "{levels} thresholds make codes 0..={levels}, which the input's dtype {} \
                     does not take (bits for one threshold, else uint8)",
                    input.vtype.describe()
                ))
                .at_field("quant"));
            }
            if t.channel_stride == 0 || channels * t.channel_stride > numel {
                return Err(ModelError::new(format!(
                    "{channels} channels of {} elements do not fit the {numel} elements",
                    t.channel_stride
                ))
                .at_field(at("channel_stride")));
            }
            InputQuant::Thresholds {
                table,
                levels,
                stride: t.channel_stride,
            }
        }
        QuantDef::Int(q) => {
            let field = |f: &str| format!("quant.int.{f}");
            if !(2..=8).contains(&q.bits) {
                return Err(ModelError::new(format!("is {}; it must be 2 to 8", q.bits))
                    .at_field(field("bits")));
            }
            let (min, max) = int_range(q.bits, q.signed, q.narrow);
            let (lo, hi) = input.vtype.range();
            if input.vtype == ValueType::Bits || min < lo || max > hi {
                return Err(ModelError::new(format!(
                    "codes [{min}, {max}] do not fit the input's dtype {}",
                    input.vtype.describe()
                ))
                .at_field("quant"));
            }
            let scale = q.scale as f32;
            if scale as f64 != q.scale || scale <= 0.0 || !scale.is_finite() {
                return Err(ModelError::new(format!(
                    "is {}; it must be a positive, finite float32 value",
                    q.scale
                ))
                .at_field(field("scale")));
            }
            InputQuant::Int {
                min,
                max,
                scale,
                rounding: q.rounding,
            }
        }
    };
    Ok(InputMap {
        shape: def.shape.clone(),
        steps,
        quant,
    })
}

/// The codes of a `bits`-wide integer quantizer: QONNX's `min_int` / `max_int`.
pub fn int_range(bits: u32, signed: bool, narrow: bool) -> (i64, i64) {
    let half = 1i64 << (bits - 1);
    match (signed, narrow) {
        (true, false) => (-half, half - 1),
        (true, true) => (-half + 1, half - 1),
        (false, false) => (0, 2 * half - 1),
        (false, true) => (0, 2 * half - 2),
    }
}

fn element_step(def: &ElementStepDef, numel: usize) -> Result<ElementStep> {
    let (op, t, name) = match def {
        ElementStepDef::Mul(t) => (ElementOp::Mul, t, "mul"),
        ElementStepDef::Add(t) => (ElementOp::Add, t, "add"),
        ElementStepDef::Div(t) => (ElementOp::Div, t, "div"),
    };
    let values = t.to_f64().map_err(|e| e.at_field(name))?;
    if t.shape != [1] && t.shape != [numel] {
        return Err(ModelError::new(format!(
            "expected shape [1] or [{numel}] (one value per element), found {:?}",
            t.shape
        ))
        .at_field(format!("{name}.shape")));
    }
    let values = values
        .iter()
        .map(|&v| {
            let f = v as f32;
            if f as f64 != v {
                Err(ModelError::new(format!("{v} is not a float32 value")).at_field(name))
            } else if op == ElementOp::Div && f == 0.0 {
                Err(ModelError::new("divides by zero").at_field(name))
            } else {
                Ok(f)
            }
        })
        .collect::<Result<Vec<f32>>>()?;
    Ok(ElementStep { op, values })
}

/// The float tail of `output`: float32 steps per class, checked for float32 parameters, exact
/// scores (|score| ≤ 2^24) and no overflow over the score range.
pub fn float_tail(def: &ToFloatDef, output: &Node) -> Result<FloatTail> {
    let classes = output.shape.numel();
    if def.shape.iter().product::<usize>() != classes || def.shape.contains(&0) {
        return Err(ModelError::new(format!(
            "output frame shape {:?} does not have the {classes} classes",
            def.shape
        ))
        .at_field("shape"));
    }
    let steps = lower_steps(&def.steps, classes, Arithmetic::Float32, "steps")?;
    let (lo, hi) = output.vtype.range();
    for c in 0..classes {
        check_finite_f32(&steps, c, lo, hi)?;
    }
    Ok(FloatTail {
        shape: def.shape.clone(),
        steps,
    })
}
