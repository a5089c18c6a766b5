//! What the importer knows about each ONNX tensor while it walks the graph: a constant, the
//! graph's float input on its way to a quantizer, or an integer tensor of the xnorc graph seen
//! through pending float32 steps.

use crate::error::{ModelError, Result};
use crate::format::{BatchNormDef, StepDef, TensorDef};

/// A constant tensor (initializer, `Constant` node, or folded from constants). Values are kept
/// in f64, which holds every float32 and every integer up to 2^53 exactly; `float` says whether
/// ONNX arithmetic on it is float32.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    /// ONNX shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f64>,
    /// True for float tensors (float32 arithmetic), false for integer tensors (shapes, axes).
    pub float: bool,
}

impl Const {
    /// A float32 constant.
    pub fn f32(shape: Vec<usize>, values: Vec<f32>) -> Const {
        Const {
            shape,
            values: values.into_iter().map(f64::from).collect(),
            float: true,
        }
    }

    /// An integer constant.
    pub fn ints(shape: Vec<usize>, values: Vec<i64>) -> Const {
        Const {
            shape,
            values: values.into_iter().map(|v| v as f64).collect(),
            float: false,
        }
    }

    /// The values as float32 (exact: they came from float32 data or float32 arithmetic).
    pub fn as_f32(&self) -> Vec<f32> {
        self.values.iter().map(|&v| v as f32).collect()
    }

    /// The values as integers, or an error if one is not an integer.
    pub fn as_i64(&self) -> Result<Vec<i64>> {
        self.values
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(v as i64)
                } else {
                    Err(ModelError::new(format!("{v} is not an integer")))
                }
            })
            .collect()
    }

    /// The single value of a one-element constant.
    pub fn scalar(&self) -> Option<f64> {
        match self.values.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }

    /// The one value every element shares, if they all do.
    pub fn uniform(&self) -> Option<f64> {
        let first = *self.values.first()?;
        self.values
            .iter()
            .all(|&v| v.to_bits() == first.to_bits())
            .then_some(first)
    }
}

/// One elementwise float32 operation with a broadcast parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// x · p.
    Mul,
    /// x + p.
    Add,
    /// x / p.
    Div,
}

impl Arith {
    /// The operation in float32.
    pub fn apply(self, x: f32, p: f32) -> f32 {
        match self {
            Arith::Mul => x * p,
            Arith::Add => x + p,
            Arith::Div => x / p,
        }
    }
}

/// The graph's float input after elementwise steps, before any quantizer.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatIn {
    /// The current ONNX shape (batch included).
    pub shape: Vec<usize>,
    /// Steps so far, each parameter one value or one per element (row-major; reshapes keep
    /// that order, so per-element parameters survive them).
    pub steps: Vec<(Arith, Vec<f32>)>,
}

/// A float32 step waiting on an integer tensor, per channel (one value, or one per channel).
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// An elementwise operation.
    Arith(Arith, Vec<f32>),
    /// ONNX BatchNormalization: (x − mean) / sqrt(var + ε) · scale + B.
    BatchNorm {
        /// scale (γ).
        gamma: Vec<f32>,
        /// B (β).
        beta: Vec<f32>,
        /// Running mean.
        mean: Vec<f32>,
        /// Running variance.
        var: Vec<f32>,
        /// ε.
        eps: f32,
    },
    /// ONNX `PRelu` (x < 0 ? slope·x : x) with slopes ≥ 0, and `Relu` (slope 0): monotone, but
    /// not affine, so only quantizers (thresholds) and max-pools take it.
    PRelu {
        /// The slope where x < 0.
        slope: Vec<f32>,
    },
}

/// Channel `c`'s value of a parameter that holds one value for all channels or one per channel.
fn channel_value(v: &[f32], c: usize) -> f32 {
    if v.len() == 1 {
        v[0]
    } else {
        v[c]
    }
}

impl Pending {
    /// `· s`, or no step when every scale is 1.
    pub fn scale(s: Vec<f32>) -> Option<Pending> {
        s.iter()
            .any(|&v| v != 1.0)
            .then_some(Pending::Arith(Arith::Mul, s))
    }

    /// `+ d`, or no step when every offset is 0.
    pub fn offset(d: Vec<f32>) -> Option<Pending> {
        d.iter()
            .any(|&v| v != 0.0)
            .then_some(Pending::Arith(Arith::Add, d))
    }

    /// (x + k) · 0.5: a ±1 sum over k bits as the count of +1s, which is how a binary tensor
    /// (k = 1) reads as {0, 1} and an XNOR-popcount counts agreeing bits.
    pub fn half_sum(k: f32) -> [Pending; 2] {
        [
            Pending::Arith(Arith::Add, vec![k]),
            Pending::Arith(Arith::Mul, vec![0.5]),
        ]
    }

    /// The step in float32 for channel `c`.
    pub fn apply(&self, c: usize, x: f32) -> f32 {
        let at = |v: &[f32]| channel_value(v, c);
        match self {
            Pending::Arith(op, p) => op.apply(x, at(p)),
            Pending::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => (x - at(mean)) / (at(var) + eps).sqrt() * at(gamma) + at(beta),
            Pending::PRelu { slope } => {
                if x < 0.0 {
                    at(slope) * x
                } else {
                    x
                }
            }
        }
    }

    /// The sign of the step's slope for channel `c` (+1, −1, or 0 for a constant).
    pub fn slope_sign(&self, c: usize) -> i32 {
        let at = |v: &[f32]| channel_value(v, c);
        let sign = |v: f32| (v > 0.0) as i32 - (v < 0.0) as i32;
        match self {
            Pending::Arith(Arith::Add, _) => 1,
            Pending::Arith(_, p) => sign(at(p)),
            Pending::BatchNorm { gamma, .. } => sign(at(gamma)),
            // Non-decreasing: the slopes are ≥ 0 (checked when the node is read).
            Pending::PRelu { .. } => 1,
        }
    }

    /// True for the steps the model format's float steps hold (all but `PRelu`).
    pub fn is_affine(&self) -> bool {
        !matches!(self, Pending::PRelu { .. })
    }

    /// The step with every per-channel parameter repeated `each` times (a C×H×W map flattened
    /// to a vector: element i belongs to channel i / (H·W)).
    pub fn spread(&self, each: usize) -> Pending {
        let spread = |v: &[f32]| -> Vec<f32> {
            if v.len() == 1 {
                v.to_vec()
            } else {
                v.iter()
                    .flat_map(|&x| std::iter::repeat_n(x, each))
                    .collect()
            }
        };
        match self {
            Pending::Arith(op, p) => Pending::Arith(*op, spread(p)),
            Pending::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => Pending::BatchNorm {
                gamma: spread(gamma),
                beta: spread(beta),
                mean: spread(mean),
                var: spread(var),
                eps: *eps,
            },
            Pending::PRelu { slope } => Pending::PRelu {
                slope: spread(slope),
            },
        }
    }

    /// The step in the model format (float32 tensors `[C]` or `[1]`); `None` for `PRelu`,
    /// which the format's float steps do not hold.
    pub fn to_step(&self) -> Option<StepDef> {
        let t = |v: &[f32]| TensorDef::from_f32(vec![v.len()], v);
        Some(match self {
            Pending::Arith(Arith::Mul, p) => StepDef::Mul(t(p)),
            Pending::Arith(Arith::Add, p) => StepDef::Add(t(p)),
            Pending::Arith(Arith::Div, p) => StepDef::Div(t(p)),
            Pending::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => StepDef::Batchnorm(BatchNormDef {
                gamma: t(gamma),
                beta: t(beta),
                mean: t(mean),
                var: t(var),
                eps: *eps as f64,
            }),
            Pending::PRelu { .. } => return None,
        })
    }
}

/// The integer values an xnorc node produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// Binary: the integer ±1.
    Bits,
    /// Integers in [min, max] (a bound: accumulators may not reach it).
    Int {
        /// Smallest.
        min: i64,
        /// Largest.
        max: i64,
    },
}

impl Codes {
    /// The largest magnitude.
    pub fn max_abs(self) -> i64 {
        match self {
            Codes::Bits => 1,
            Codes::Int { min, max } => min.abs().max(max.abs()),
        }
    }
}

/// An ONNX tensor that is an xnorc node's integer output u seen through float32 steps: the
/// ONNX value is steps(f32(u)), per channel (axis 1 of the ONNX shape).
#[derive(Debug, Clone, PartialEq)]
pub struct IntVal {
    /// The xnorc node producing u.
    pub node: String,
    /// The ONNX shape (batch of 1 included): `[1, n]` or `[1, C, H, W]`.
    pub shape: Vec<usize>,
    /// What u is.
    pub codes: Codes,
    /// The float32 steps from u to the ONNX value, in order.
    pub steps: Vec<Pending>,
}

impl IntVal {
    /// Channels (axis 1).
    pub fn channels(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(1)
    }

    /// The ONNX value of integer `u` in channel `c`.
    pub fn value(&self, c: usize, u: i64) -> f32 {
        self.steps.iter().fold(u as f32, |x, s| s.apply(c, x))
    }
}

/// What the importer knows about one ONNX tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// A constant.
    Const(Const),
    /// The float input before quantization.
    Float(FloatIn),
    /// An integer tensor of the xnorc graph through float steps.
    Int(IntVal),
}

impl Val {
    /// The ONNX shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            Val::Const(c) => &c.shape,
            Val::Float(f) => &f.shape,
            Val::Int(i) => &i.shape,
        }
    }

    /// What kind of tensor this is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Val::Const(_) => "a constant",
            Val::Float(_) => "the float input (not yet quantized)",
            Val::Int(i) => match i.codes {
                Codes::Bits => "a binary activation",
                Codes::Int { .. } => "an integer tensor (accumulator or integer activation)",
            },
        }
    }
}

/// NumPy broadcasting of a constant of shape `from` against a tensor of shape `to`: for every
/// element of `to` (row-major), the index of the constant's element it uses. `None` when the
/// shapes do not broadcast to `to` (the constant would enlarge the tensor).
pub fn broadcast_index(from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    if from.len() > to.len() {
        // Leading ones may be dropped; anything else enlarges the tensor.
        let extra = from.len() - to.len();
        if from[..extra].iter().any(|&d| d != 1) {
            return None;
        }
        return broadcast_index(&from[extra..], to);
    }
    let pad = to.len() - from.len();
    let dims: Vec<usize> = std::iter::repeat_n(1, pad)
        .chain(from.iter().copied())
        .collect();
    if dims.iter().zip(to).any(|(&f, &t)| f != 1 && f != t) {
        return None;
    }
    let numel: usize = to.iter().product();
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0usize; to.len()];
    for _ in 0..numel {
        let mut flat = 0;
        for (axis, &d) in dims.iter().enumerate() {
            flat = flat * d + if d == 1 { 0 } else { index[axis] };
        }
        out.push(flat);
        for axis in (0..to.len()).rev() {
            index[axis] += 1;
            if index[axis] < to[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        // [2] against [1, 2, 2]: the last axis varies.
        assert_eq!(broadcast_index(&[2], &[1, 2, 2]).unwrap(), [0, 1, 0, 1]);
        // [2, 1] against [2, 3]: the first axis varies.
        assert_eq!(
            broadcast_index(&[2, 1], &[2, 3]).unwrap(),
            [0, 0, 0, 1, 1, 1]
        );
        // [1, 1, 1, 1] against [2]: leading ones drop.
        assert_eq!(broadcast_index(&[1, 1, 1], &[2]).unwrap(), [0, 0]);
        assert!(broadcast_index(&[3], &[1, 2]).is_none());
        assert!(broadcast_index(&[2, 2], &[2]).is_none());
    }
}
