//! The IR's operations, with everything resolved: shapes known, parameters decoded, accumulator
//! ranges derived.

use crate::bits::BitVec;
pub use crate::format::{Arithmetic, PadMode, WeightValues};
use serde::Serialize;

/// Binary weights of a matrix layer, logically `[out, in, kh, kw]` (dense: kh = kw = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Meaning of a stored bit.
    pub values: WeightValues,
    /// Output channels (dense: output features).
    pub out_channels: usize,
    /// Input channels (dense: input features).
    pub in_channels: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// How the bits are stored.
    pub store: WeightStore,
}

/// Storage of weight bits. Every consumer that needs single weights reads them through
/// [`Weights::bit`] / [`Weights::expand`]; the hardware plan also reads the compressed form.
#[derive(Debug, Clone, PartialEq)]
pub enum WeightStore {
    /// One bit per weight, row-major over (out, in, kh, kw).
    Dense(BitVec),
    /// Kernel codebook: kernel (o, c) is entry `indices[o · in + c]`.
    Codebook(Codebook),
    /// One tile repeated: weight f (row-major over (out, in, kh, kw)) is `tile[f mod L]`.
    Tiled(Tiled),
    /// One integer per weight, row-major over (out, in, kh, kw) (values `Int`).
    Int(Vec<i8>),
}

/// A kernel codebook and the index of every kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codebook {
    /// Index width in bits.
    pub tau: u32,
    /// Entries in the codebook (≤ 2^τ).
    pub entries: usize,
    /// `entries × kh × kw` bits, entry-major, each entry row-major over (kh, kw).
    pub bits: BitVec,
    /// Entry of kernel (o, c) at `o · in + c`; every index < `entries`.
    pub indices: Vec<u32>,
}

/// A tile and its repeat count.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiled {
    /// The tile (L bits).
    pub tile: BitVec,
    /// Repeats p: L · p is the weight count.
    pub p: usize,
    /// Scale α of each chunk (p values), if the model gave them; `passes::graph` hands them to
    /// the `binarize` that consumes the layer.
    pub alpha: Option<Vec<f64>>,
}

impl Tiled {
    /// Chunk indices (of L weights each) that output channel `o`'s `taps` weights touch.
    pub fn chunks_of(&self, o: usize, taps: usize) -> std::ops::RangeInclusive<usize> {
        let l = self.tile.len();
        (o * taps) / l..=(o * taps + taps - 1) / l
    }
}

impl Weights {
    /// Taps per output channel: in_channels · kh · kw.
    pub fn taps(&self) -> usize {
        self.in_channels * self.kh * self.kw
    }

    /// Total number of weights.
    pub fn count(&self) -> usize {
        self.out_channels * self.taps()
    }

    /// Bits actually stored: the dense bits, the codebook and its indices, or the tile.
    pub fn stored_bits(&self) -> usize {
        match &self.store {
            WeightStore::Dense(bits) => bits.len(),
            WeightStore::Codebook(cb) => cb.indices.len() * cb.tau as usize + cb.bits.len(),
            WeightStore::Tiled(t) => t.tile.len(),
            WeightStore::Int(w) => w.len() * 8,
        }
    }

    /// True for multi-bit integer weights (which have no single stored bit).
    pub fn is_int(&self) -> bool {
        matches!(self.store, WeightStore::Int(_))
    }

    /// The storage kind (the model format's `storage` string).
    pub fn storage(&self) -> &'static str {
        match &self.store {
            WeightStore::Dense(_) => "dense",
            WeightStore::Codebook(_) => "codebook",
            WeightStore::Tiled(_) => "tiled",
            WeightStore::Int(_) => "int",
        }
    }

    /// The stored bit of weight (o, c, ky, kx). Integer weights have none: their consumers read
    /// [`Weights::value`].
    pub fn bit(&self, o: usize, c: usize, ky: usize, kx: usize) -> bool {
        let index = ((o * self.in_channels + c) * self.kh + ky) * self.kw + kx;
        match &self.store {
            WeightStore::Int(_) => panic!("integer weights have no stored bit; read value()"),
            WeightStore::Dense(bits) => bits.get(index),
            WeightStore::Codebook(cb) => {
                let entry = cb.indices[o * self.in_channels + c] as usize;
                cb.bits.get((entry * self.kh + ky) * self.kw + kx)
            }
            WeightStore::Tiled(t) => t.tile.get(index % t.tile.len()),
        }
    }

    /// The integer weight value of (o, c, ky, kx): ±1, 0/1 or the integer, by the encoding.
    pub fn value(&self, o: usize, c: usize, ky: usize, kx: usize) -> i64 {
        if let WeightStore::Int(w) = &self.store {
            return w[((o * self.in_channels + c) * self.kh + ky) * self.kw + kx] as i64;
        }
        let b = self.bit(o, c, ky, kx) as i64;
        match self.values {
            WeightValues::Pm1 => 2 * b - 1,
            WeightValues::ZeroOne => b,
            WeightValues::Int => unreachable!("integer values are stored as integers"),
        }
    }

    /// Every weight bit, row-major over (out, in, kh, kw) (not for integer weights).
    pub fn expand(&self) -> BitVec {
        match &self.store {
            WeightStore::Dense(bits) => bits.clone(),
            _ => {
                let mut out = BitVec::zeros(self.count());
                let mut i = 0;
                for o in 0..self.out_channels {
                    for c in 0..self.in_channels {
                        for ky in 0..self.kh {
                            for kx in 0..self.kw {
                                out.set(i, self.bit(o, c, ky, kx));
                                i += 1;
                            }
                        }
                    }
                }
                out
            }
        }
    }
}

/// Padding in pixels per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Padding {
    /// Rows above.
    pub top: usize,
    /// Columns on the left.
    pub left: usize,
    /// Rows below.
    pub bottom: usize,
    /// Columns on the right.
    pub right: usize,
}

impl Padding {
    /// True when no side is padded.
    pub fn is_none(&self) -> bool {
        *self == Padding::default()
    }
}

/// Spatial arrangement of a matrix layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geometry {
    /// Fully connected: a vector in, a vector out.
    Dense,
    /// 2-D convolution over a C×H×W map.
    Conv {
        /// Stride in both directions.
        stride: usize,
        /// Padding per side.
        padding: Padding,
        /// What padded taps are.
        pad_mode: PadMode,
    },
}

/// A binary matrix layer: S[o] = Σ w·x over its taps.
#[derive(Debug, Clone, PartialEq)]
pub struct MatMul {
    /// Weights.
    pub weights: Weights,
    /// Dense or convolution.
    pub geometry: Geometry,
}

/// One float step of a not-yet-folded `binarize` epilogue, expanded to one value per channel.
#[derive(Debug, Clone, PartialEq)]
pub enum FloatStep {
    /// y ← y · a.
    Mul(Vec<f64>),
    /// y ← y + b.
    Add(Vec<f64>),
    /// y ← y / d.
    Div(Vec<f64>),
    /// y ← (y − mean) / sqrt(var + eps) · gamma + beta.
    BatchNorm {
        /// γ.
        gamma: Vec<f64>,
        /// β.
        beta: Vec<f64>,
        /// μ.
        mean: Vec<f64>,
        /// σ².
        var: Vec<f64>,
        /// ε.
        eps: f64,
    },
    /// y ← y if y ≥ 0 else y · slope.
    Prelu(Vec<f64>),
}

/// Taps `start..end` of one filter (flat (c, ky, kx) order) that share one chunk scale α.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScaledRun {
    /// First tap of the run.
    pub start: usize,
    /// One past the last tap.
    pub end: usize,
    /// The chunks' scale.
    pub alpha: f64,
}

impl FloatStep {
    /// The step applied to y with channel `c`'s parameters.
    pub fn apply(&self, c: usize, y: f64) -> f64 {
        match self {
            FloatStep::Mul(a) => y * a[c],
            FloatStep::Add(b) => y + b[c],
            FloatStep::Div(d) => y / d[c],
            FloatStep::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => (y - mean[c]) / (var[c] + eps).sqrt() * gamma[c] + beta[c],
            FloatStep::Prelu(slope) => {
                if y >= 0.0 {
                    y
                } else {
                    y * slope[c]
                }
            }
        }
    }

    /// The step applied to y in binary32, one rounding per operation, in the order ONNX
    /// defines (BatchNormalization: (y − mean) / sqrt(var + ε) · scale + B). Validation keeps
    /// every parameter of a float32 epilogue exactly representable, so the casts are exact.
    pub fn apply_f32(&self, c: usize, y: f32) -> f32 {
        match self {
            FloatStep::Mul(a) => y * a[c] as f32,
            FloatStep::Add(b) => y + b[c] as f32,
            FloatStep::Div(d) => y / d[c] as f32,
            FloatStep::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => {
                (y - mean[c] as f32) / (var[c] as f32 + *eps as f32).sqrt() * gamma[c] as f32
                    + beta[c] as f32
            }
            FloatStep::Prelu(slope) => {
                if y >= 0.0 {
                    y
                } else {
                    y * slope[c] as f32
                }
            }
        }
    }

    /// `steps` applied to y in turn with channel `c`'s parameters, in binary32.
    pub fn apply_all_f32(steps: &[FloatStep], c: usize, y: f32) -> f32 {
        steps.iter().fold(y, |y, step| step.apply_f32(c, y))
    }

    /// Every parameter value of the step (for checks that apply to all of them).
    pub fn parameters(&self) -> Vec<f64> {
        match self {
            FloatStep::Mul(v) | FloatStep::Add(v) | FloatStep::Div(v) | FloatStep::Prelu(v) => {
                v.clone()
            }
            FloatStep::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => [gamma, beta, mean, var]
                .into_iter()
                .flatten()
                .copied()
                .chain([*eps])
                .collect(),
        }
    }

    /// The step with only channel `c`'s parameters (as channel 0).
    pub fn of_channel(&self, c: usize) -> FloatStep {
        match self {
            FloatStep::Mul(a) => FloatStep::Mul(vec![a[c]]),
            FloatStep::Add(b) => FloatStep::Add(vec![b[c]]),
            FloatStep::Div(d) => FloatStep::Div(vec![d[c]]),
            FloatStep::BatchNorm {
                gamma,
                beta,
                mean,
                var,
                eps,
            } => FloatStep::BatchNorm {
                gamma: vec![gamma[c]],
                beta: vec![beta[c]],
                mean: vec![mean[c]],
                var: vec![var[c]],
                eps: *eps,
            },
            FloatStep::Prelu(slope) => FloatStep::Prelu(vec![slope[c]]),
        }
    }
}

/// Sign of a float epilogue: out = [f(S) ≥ 0]. Removed by `passes::fold`.
#[derive(Debug, Clone, PartialEq)]
pub struct Binarize {
    /// Per channel, the runs of its filter's taps by chunk scale α of a tiled producer, in tap
    /// order: y = Σ α_run · S_run (one run: y = α · S), then the steps. Kept apart from `steps`
    /// so errors name the file's steps by their own index.
    pub scale: Option<Vec<Vec<ScaledRun>>>,
    /// Steps in the order they apply.
    pub steps: Vec<FloatStep>,
    /// The arithmetic the steps are evaluated in.
    pub arithmetic: Arithmetic,
}

/// Decision rule of one threshold channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelRule {
    /// out = #{k : S ≥ T[k]}; thresholds sorted ascending.
    Ge(Vec<i64>),
    /// out = #{k : S ≤ T[k]}; thresholds sorted ascending.
    Le(Vec<i64>),
    /// The output does not depend on S over its whole range.
    Const(u32),
    /// A filter spanning chunks of different α: a decision on its runs' partial sums, which no
    /// threshold on S alone expresses (one level only).
    Split(Box<SplitRule>),
}

/// out = [f(Σ α_run · S_run) ≥ 0] for one channel of a `binarize` after a tiled layer whose
/// filter spans chunks of different scales (docs/semantics.md, "Sub-bit weights").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitRule {
    /// The filter's runs and their α, in tap order.
    pub runs: Vec<ScaledRun>,
    /// The `binarize` steps with this channel's parameters (one value per step field).
    #[serde(skip)]
    pub steps: Vec<FloatStep>,
}

// Validation keeps α and every step parameter finite, so no NaN ever compares unequal to itself.
impl Eq for SplitRule {}

impl SplitRule {
    /// y = Σ α_run · S_run in f64, run after run in tap order (one run: y = α · S).
    pub fn scaled_sum(&self, partial_sums: &[i64]) -> f64 {
        let mut terms = self.runs.iter().zip(partial_sums);
        let (first, s) = terms.next().expect("a split rule has runs");
        let mut y = first.alpha * *s as f64;
        for (run, &s) in terms {
            y += run.alpha * s as f64;
        }
        y
    }

    /// The output bit for the runs' partial sums (in run order).
    pub fn fires(&self, partial_sums: &[i64]) -> bool {
        let mut y = self.scaled_sum(partial_sums);
        for step in &self.steps {
            y = step.apply(0, y);
        }
        y >= 0.0
    }
}

impl ChannelRule {
    /// The channel's output for accumulator value `s`.
    pub fn apply(&self, s: i64) -> u32 {
        match self {
            ChannelRule::Ge(t) => t.partition_point(|&t| t <= s) as u32,
            ChannelRule::Le(t) => (t.len() - t.partition_point(|&t| t < s)) as u32,
            ChannelRule::Const(v) => *v,
            ChannelRule::Split(_) => {
                panic!("a split rule decides on partial sums, not S: use SplitRule::fires")
            }
        }
    }
}

/// Per-channel integer thresholds with `levels` thresholds each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    /// Thresholds per channel (1: binary output; n: output 0..=n).
    pub levels: usize,
    /// One rule per channel.
    pub channels: Vec<ChannelRule>,
}

/// Max-pool window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxPool {
    /// Window size (square).
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
}

/// The output node's integer affine: score[c] = scale[c] · S[c] + offset[c].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scores {
    /// Multiplier per class.
    pub scale: Vec<i64>,
    /// Offset per class.
    pub offset: Vec<i64>,
}

/// What a node computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// The graph input.
    Input,
    /// Dense or conv binary matrix layer.
    MatMul(MatMul),
    /// Float epilogue + sign, before folding.
    Binarize(Binarize),
    /// Integer thresholds.
    Threshold(Threshold),
    /// Max-pool.
    MaxPool(MaxPool),
    /// C×H×W → vector in C, H, W order.
    Flatten,
    /// Class scores and argmax.
    Output(Scores),
    /// Saturating sum of two integer streams (inputs: the two operands).
    Add(super::Add),
    /// Per-channel fixed-point affine / PReLU with saturation.
    Affine(super::Affine),
    /// Window or global sum.
    SumPool(super::SumPool),
    /// Bit = [N·x_i ≥ Σ x] over the whole frame (SiMaN).
    MeanSign,
    /// Zero channels before and after a map's own.
    PadChannels {
        /// Zero channels in front.
        before: usize,
        /// Zero channels behind.
        after: usize,
    },
}

impl Op {
    /// Short name for tables (the model format's `op` strings).
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::MatMul(m) => match m.geometry {
                Geometry::Dense => "dense",
                Geometry::Conv { .. } => "conv2d",
            },
            Op::Binarize(_) => "binarize",
            Op::Threshold(_) => "threshold",
            Op::MaxPool(_) => "maxpool",
            Op::Flatten => "flatten",
            Op::Output(_) => "output",
            Op::Add(_) => "add",
            Op::Affine(_) => "affine",
            Op::SumPool(_) => "sumpool",
            Op::MeanSign => "meansign",
            Op::PadChannels { .. } => "pad_channels",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_thresholds() {
        let ge = ChannelRule::Ge(vec![-1, 3, 3]);
        assert_eq!([-2, -1, 2, 3, 9].map(|s| ge.apply(s)), [0, 1, 1, 3, 3]);
        let le = ChannelRule::Le(vec![-1, 3, 3]);
        assert_eq!([-2, -1, 2, 3, 9].map(|s| le.apply(s)), [3, 3, 2, 2, 0]);
        assert_eq!(ChannelRule::Const(2).apply(100), 2);
    }
}
