//! Format version 2: the nodes of residual networks' multi-bit stream — `add` (a join of two
//! branches), `affine` (per-channel fixed-point scale, bias, PReLU slope and saturation) and
//! `sumpool` (average pooling's window sum). docs/semantics.md, "The residual stream", defines
//! what each computes.

use super::tensor::TensorDef;
use serde::{Deserialize, Serialize};

/// `op: add` — y = sat((a << shift[0]) + (b << shift[1])) of two integer operands of one shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddDef {
    /// Left shifts `[a, b]` aligning the operands' fixed-point scales (default `[0, 0]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<Vec<u32>>,
    /// Signed width the sum saturates to (absent: the exact sum, never clipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
}

/// `op: affine` — per channel c, t = x + pre; u = (t ≥ 0 ? mul : neg_mul)·t + bias;
/// y = sat(⌊u / 2^shift⌋), or with `rounding: half_even` the nearest integer to u / 2^shift,
/// ties to even. Integer tensors `[C]` or `[1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AffineDef {
    /// Multiplier where t ≥ 0.
    pub mul: TensorDef,
    /// Multiplier where t < 0 (PReLU's slope; 0 is ReLU). Absent: `mul`, a plain affine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_mul: Option<TensorDef>,
    /// Added to x before the multiply (RPReLU's shift γ). Absent: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre: Option<TensorDef>,
    /// Added after the multiply, before the shift (a BatchNorm's bias; 2^(shift−1) more rounds
    /// half up). Absent: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bias: Option<TensorDef>,
    /// Arithmetic right shift (floor division by 2^shift). Default 0.
    #[serde(default)]
    pub shift: u32,
    /// How the shift rounds (default `floor`; `half_even` is the round-to-nearest-even of
    /// PyTorch's and Brevitas' `round`, which a floor cannot express at exact ties).
    #[serde(default, skip_serializing_if = "ShiftRounding::is_floor")]
    pub rounding: ShiftRounding,
    /// Signed width the result saturates to (absent: never clipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
}

/// How an `affine` rounds u / 2^shift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShiftRounding {
    /// ⌊u / 2^shift⌋: an arithmetic right shift.
    #[default]
    Floor,
    /// The nearest integer, ties to the even one.
    HalfEven,
}

impl ShiftRounding {
    /// True for the default, `floor` (not written to files).
    pub fn is_floor(&self) -> bool {
        *self == ShiftRounding::Floor
    }
}

/// `op: meansign` — SiMaN's per-sample sign against the mean of the whole input (every
/// element of the frame's map or vector): bit = [N·x_i ≥ Σ_j x_j]. No fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeanSignDef {}

/// `op: pad_channels` — a map with `before` zero channels in front of its own and `after`
/// behind (the channel half of the CIFAR ResNet "option A" shortcut).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadChannelsDef {
    /// Zero channels before the input's.
    #[serde(default)]
    pub before: usize,
    /// Zero channels after the input's.
    #[serde(default)]
    pub after: usize,
}

/// `op: sumpool` — the sum over each window (average pooling whose 1/n the consumer absorbs):
/// a `kernel`×`kernel` window moved by `stride`, or the whole map (`global`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumPoolDef {
    /// Window size (square); not with `global`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<usize>,
    /// Stride; defaults to `kernel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
    /// Sum the whole H×W map per channel (global average pooling); the output is C×1×1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub global: bool,
}
