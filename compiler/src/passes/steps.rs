//! Float epilogue steps of the model file → the IR's checked `FloatStep`s: shared by the graph
//! builder (binarize epilogues) and the float edges (an imported model's float tail).

use crate::error::{ModelError, Result};
use crate::format::{Arithmetic, StepDef, TensorDef};
use crate::ir::FloatStep;

/// A per-channel float parameter: shape `[C]`, or `[1]` broadcast to every channel.
fn per_channel(t: &TensorDef, channels: usize, field: &str) -> Result<Vec<f64>> {
    let values = t.to_f64().map_err(|e| e.at_field(field))?;
    match t.shape.as_slice() {
        [n] if *n == channels => Ok(values),
        [1] => Ok(vec![values[0]; channels]),
        other => Err(ModelError::new(format!(
            "expected shape [{channels}] (one per channel) or [1], found {other:?}"
        ))
        .at_field(format!("{field}.shape"))),
    }
}

/// Float steps with one parameter per channel (of `c`), checked: PReLU slopes ≥ 0, a divisor
/// never 0, BatchNorm's σ² + ε > 0 and, for float32 arithmetic, every parameter exactly a
/// float32 value (an imported graph's own numbers; anything else would be rounded silently).
pub fn lower_steps(
    defs: &[StepDef],
    c: usize,
    arithmetic: Arithmetic,
    field: &str,
) -> Result<Vec<FloatStep>> {
    let mut steps = Vec::with_capacity(defs.len());
    for (i, step) in defs.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let lowered = match step {
            StepDef::Mul(t) => FloatStep::Mul(per_channel(t, c, &at("mul"))?),
            StepDef::Add(t) => FloatStep::Add(per_channel(t, c, &at("add"))?),
            StepDef::Div(t) => {
                let d = per_channel(t, c, &at("div"))?;
                if let Some(ch) = d.iter().position(|&v| v == 0.0) {
                    return Err(ModelError::new(format!("channel {ch} divides by zero"))
                        .at_field(at("div")));
                }
                FloatStep::Div(d)
            }
            StepDef::Prelu(t) => {
                let slope = per_channel(t, c, &at("prelu"))?;
                if let Some(ch) = slope.iter().position(|&s| s < 0.0) {
                    return Err(ModelError::new(format!(
                        "channel {ch} has slope {}; a negative PReLU slope makes the sign \
                         decision non-monotone, which no threshold can express",
                        slope[ch]
                    ))
                    .at_field(at("prelu")));
                }
                FloatStep::Prelu(slope)
            }
            StepDef::Batchnorm(bn) => {
                let field = at("batchnorm");
                if !bn.eps.is_finite() || bn.eps < 0.0 {
                    return Err(ModelError::new(format!(
                        "is {}; it must be finite and >= 0",
                        bn.eps
                    ))
                    .at_field(format!("{field}.eps")));
                }
                let var = per_channel(&bn.var, c, &format!("{field}.var"))?;
                let positive = |v: f64| match arithmetic {
                    Arithmetic::Float64 => v + bn.eps > 0.0,
                    Arithmetic::Float32 => v as f32 + bn.eps as f32 > 0.0,
                };
                if let Some(ch) = var.iter().position(|&v| !positive(v)) {
                    return Err(ModelError::new(format!(
                        "channel {ch}: var + eps = {} must be > 0",
                        var[ch] + bn.eps
                    ))
                    .at_field(format!("{field}.var")));
                }
                FloatStep::BatchNorm {
                    gamma: per_channel(&bn.gamma, c, &format!("{field}.gamma"))?,
                    beta: per_channel(&bn.beta, c, &format!("{field}.beta"))?,
                    mean: per_channel(&bn.mean, c, &format!("{field}.mean"))?,
                    var,
                    eps: bn.eps,
                }
            }
        };
        if arithmetic == Arithmetic::Float32 {
            if let Some(v) = lowered
                .parameters()
                .into_iter()
                .find(|&v| v as f32 as f64 != v)
            {
                return Err(ModelError::new(format!(
                    "parameter {v} is not a float32 value, but the epilogue computes in float32"
                ))
                .at_field(format!("{field}[{i}]")));
            }
        }
        steps.push(lowered);
    }
    Ok(steps)
}
