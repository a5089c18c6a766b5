//! The residual stream's nodes: float parameters → the integer `affine`, `add`, `sumpool` and
//! `pad_channels` ops of docs/semantics.md.
//!
//! The forward pass rounds every value entering the stream to its step, halves up, and
//! saturates it (`net::to_stream`); an affine's `bias + 2^(k−1)` then floor by 2^k is the same
//! rounding. Sums, averages of 2×2 windows and RPReLU's shift are exact in both. A BatchNorm's
//! multiplier and bias are reals: they are written with k fraction bits (k up to 24, the
//! multiplier below 2^16), so the model rounds differently only where a value lands within
//! 2^−k of a step's half — the held-out accuracy the trainer reports is the written model's,
//! from the reference simulator, so such a difference is measured, never hidden.

use super::Graph;
use crate::arch::StreamFormat;
use crate::net::{BatchNorm, MatrixParams, BN_EPS};
use xnorc_compiler::format::tensor::TensorDef;
use xnorc_compiler::format::{
    AddDef, AffineDef, BinarizeDef, MeanSignDef, OpDef, PadChannelsDef, StepDef, SumPoolDef,
};

/// Largest multiplier magnitude an exported affine is given (the plan's multiplier lanes
/// cost grows with its width; 16 bits keeps a BatchNorm's scale to 5 significant digits).
const MUL_LIMIT: f64 = 65_536.0;
/// Most fraction bits of an exported affine.
const MAX_SHIFT: u32 = 24;
/// Fraction bits of RPReLU's slope.
const SLOPE_SHIFT: u32 = crate::net::RPRELU_FRACTION_BITS;

/// The stream's sign as binary activations: [x ≥ 0], or SiMaN's sign against the frame's mean.
pub fn sign(siman: bool) -> OpDef {
    if siman {
        OpDef::MeanSign(MeanSignDef {})
    } else {
        OpDef::Binarize(BinarizeDef {
            steps: vec![],
            arithmetic: Default::default(),
        })
    }
}

/// Global average pooling as the sum of each channel's map.
pub fn global_sum() -> OpDef {
    OpDef::SumPool(SumPoolDef {
        kernel: None,
        stride: None,
        global: true,
    })
}

/// The shift k for multipliers `a`: as many fraction bits as keep every |a|·2^k below
/// [`MUL_LIMIT`], at most [`MAX_SHIFT`].
fn shift_for(a: &[f64]) -> u32 {
    let widest = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (0..=MAX_SHIFT)
        .rev()
        .find(|&k| widest * (k as f64).exp2() < MUL_LIMIT)
        .unwrap_or(0)
}

/// `v` rounded half up, as the forward pass rounds into the stream.
fn half_up(v: f64) -> i64 {
    (v + 0.5).floor() as i64
}

/// Half of 2^k, which turns the affine's floor into rounding half up (0 for k = 0).
fn half(k: u32) -> i64 {
    if k == 0 {
        0
    } else {
        1 << (k - 1)
    }
}

fn ints(values: &[i64]) -> TensorDef {
    TensorDef::from_i64(vec![values.len()], values)
}

/// BatchNorm (after the layer's per-channel `scale`, if any) into the stream: y = a·S + b in
/// stream steps, a = scale·γ/√(σ² + ε)·2^frac, b = (β − μ·γ/√(σ² + ε))·2^frac, rounded half
/// up and saturated.
pub fn bn_affine(bn: &BatchNorm, scale: Option<&[f32]>, fmt: StreamFormat) -> OpDef {
    let unit = (fmt.frac as f64).exp2();
    let c = bn.mean.len();
    let scale_of = |ch: usize| match scale {
        Some([one]) => *one as f64,
        Some(per) => per[ch] as f64,
        None => 1.0,
    };
    let inv: Vec<f64> = (0..c)
        .map(|ch| bn.gamma.data[ch] as f64 / (bn.var[ch] as f64 + BN_EPS as f64).sqrt())
        .collect();
    let a: Vec<f64> = (0..c).map(|ch| scale_of(ch) * inv[ch] * unit).collect();
    let b: Vec<f64> = (0..c)
        .map(|ch| (bn.beta.data[ch] as f64 - bn.mean[ch] as f64 * inv[ch]) * unit)
        .collect();
    let k = shift_for(&a);
    let scaled = |v: f64| (v * (k as f64).exp2()).round() as i64;
    let mul: Vec<i64> = a.iter().map(|&v| scaled(v)).collect();
    let bias: Vec<i64> = b.iter().map(|&v| scaled(v) + half(k)).collect();
    OpDef::Affine(AffineDef {
        mul: ints(&mul),
        neg_mul: None,
        pre: None,
        bias: Some(ints(&bias)),
        shift: k,
        rounding: Default::default(),
        bits: Some(fmt.bits),
    })
}

/// A residual block as the forward pass computes it (`net`'s `Layer::Block` branch).
pub struct Block<'a> {
    /// Its name (`block1`), the prefix of its nodes.
    pub name: &'a str,
    /// The node it reads (the stream).
    pub input: &'a str,
    /// Channels of its input.
    pub in_channels: usize,
    /// Channels of its output.
    pub out: usize,
    /// Its convolution's stride (1 or 2).
    pub stride: usize,
    /// SiMaN's block: sign against the frame's mean, option-A shortcut.
    pub siman: bool,
    /// The stream's format.
    pub fmt: StreamFormat,
}

impl Block<'_> {
    /// Appends the block's nodes: `_sign`, `_conv`, `_bn`, the shortcut's `_down_pool`
    /// (`_down_round`) and `_pad`, `_add`, `_prelu`.
    pub fn write(&self, g: &mut Graph, m: &MatrixParams, conv: OpDef, scale: Option<Vec<f32>>) {
        let name = self.name;
        let params = m.block.as_ref().expect("a block has its parameters");
        let bn = m.bn.as_ref().expect("a block has its BatchNorm");
        let step = self.fmt.step();
        let sign = match &params.sign_bias {
            // RSign: [x·2^−frac + β ≥ 0], folded by the compiler into exact thresholds.
            Some(bias) => OpDef::Binarize(BinarizeDef {
                steps: vec![
                    StepDef::Mul(TensorDef::from_f32(vec![1], &[step as f32])),
                    StepDef::Add(TensorDef::from_f32(vec![bias.data.len()], &bias.data)),
                ],
                arithmetic: Default::default(),
            }),
            None => sign(true),
        };
        g.push_from(format!("{name}_sign"), vec![self.input.to_string()], sign);
        g.push(format!("{name}_conv"), conv);
        g.push(
            format!("{name}_bn"),
            bn_affine(bn, scale.as_deref(), self.fmt),
        );
        let main = g.prev.clone();
        g.prev = self.input.to_string();
        if self.stride > 1 {
            let kernel = if self.siman { 1 } else { self.stride };
            let pool = OpDef::SumPool(SumPoolDef {
                kernel: Some(kernel),
                stride: Some(self.stride),
                global: false,
            });
            g.push(format!("{name}_down_pool"), pool);
            if kernel > 1 {
                // The window's average rounded half up: ⌊(Σ + n/2) / n⌋ with n = 4.
                let k = (kernel * kernel).trailing_zeros();
                let round = OpDef::Affine(AffineDef {
                    mul: ints(&[1]),
                    neg_mul: None,
                    pre: None,
                    bias: Some(ints(&[half(k)])),
                    shift: k,
                    rounding: Default::default(),
                    bits: Some(self.fmt.bits),
                });
                g.push(format!("{name}_down_round"), round);
            }
        }
        if self.out > self.in_channels {
            let pad = OpDef::PadChannels(PadChannelsDef {
                before: 0,
                after: self.out - self.in_channels,
            });
            g.push(format!("{name}_pad"), pad);
        }
        let add = OpDef::Add(AddDef {
            shift: None,
            bits: Some(self.fmt.bits),
        });
        let shortcut = g.prev.clone();
        g.push_from(format!("{name}_add"), vec![main, shortcut], add);
        g.push(format!("{name}_prelu"), self.rprelu(m));
    }

    /// RPReLU: t = x − γ (γ in whole steps), slope 1 above 0 and p below (12 fraction bits),
    /// plus ζ, rounded half up into the stream. p and ζ go onto their grids half to even, as
    /// the forward pass puts them there (`net::rprelu`).
    fn rprelu(&self, m: &MatrixParams) -> OpDef {
        let params = m.block.as_ref().expect("a block has its parameters");
        let unit = (self.fmt.frac as f64).exp2();
        let k = SLOPE_SHIFT;
        let scale = (k as f64).exp2();
        let pre: Vec<i64> = params
            .shift
            .data
            .iter()
            .map(|&v| -half_up(v as f64 * unit))
            .collect();
        let neg_mul: Vec<i64> = params
            .slope
            .data
            .iter()
            .map(|&v| (v as f64 * scale).round_ties_even() as i64)
            .collect();
        let bias: Vec<i64> = params
            .after
            .data
            .iter()
            .map(|&v| (v as f64 * unit * scale).round_ties_even() as i64 + half(k))
            .collect();
        OpDef::Affine(AffineDef {
            mul: ints(&vec![1 << k; pre.len()]),
            neg_mul: Some(ints(&neg_mul)),
            pre: Some(ints(&pre)),
            bias: Some(ints(&bias)),
            shift: k,
            rounding: Default::default(),
            bits: Some(self.fmt.bits),
        })
    }
}
