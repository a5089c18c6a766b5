//! The model file's schema: what each node of a `.xnm` file may contain.
//!
//! These types are the file's vocabulary, not the IR: they hold what the user wrote (float
//! parameters included). `passes::graph` checks them against each other and lowers them to the IR.

pub use super::stream::{
    AddDef, AffineDef, MeanSignDef, PadChannelsDef, ShiftRounding, SumPoolDef,
};
use super::tensor::TensorDef;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` field every model file starts with.
pub const FORMAT_NAME: &str = "xnorc-model";
/// The newest format version this build reads and writes. Version 2 added the residual stream
/// (`add`, `affine`, `sumpool`) and integer weights; a file is written with the oldest version
/// that holds it ([`ModelFile::version`]), so plain models stay readable by older builds.
pub const FORMAT_VERSION: u64 = 2;
/// The oldest format version this build reads.
pub const OLDEST_FORMAT_VERSION: u64 = 1;

/// A whole model file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelFile {
    /// The model's name (untrusted text).
    pub name: String,
    /// Free-form provenance: dataset, training tool, accuracy, … (documented keys in
    /// docs/model-format.md; unknown keys are kept).
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// The graph's nodes, in any order; edges are the `inputs` names.
    pub nodes: Vec<NodeDef>,
}

impl ModelFile {
    /// The oldest format version that holds every node of the model: what [`super::to_json`]
    /// writes.
    pub fn version(&self) -> u64 {
        self.nodes
            .iter()
            .map(|n| n.op.version())
            .max()
            .unwrap_or(OLDEST_FORMAT_VERSION)
    }
}

/// One node: its name, the names of the nodes it reads, and what it computes.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeDef {
    /// Unique name (untrusted text).
    pub name: String,
    /// Names of the producer nodes, in operand order.
    pub inputs: Vec<String>,
    /// The operation and its parameters.
    pub op: OpDef,
}

/// The operations a model file may contain.
#[derive(Debug, Clone, PartialEq)]
pub enum OpDef {
    /// The graph input.
    Input(InputDef),
    /// Fully connected binary-weight layer.
    Dense(DenseDef),
    /// 2-D convolution with binary weights.
    Conv2d(ConvDef),
    /// Sign activation after a float epilogue (scale, bias, BatchNorm, …); folded to `threshold`.
    Binarize(BinarizeDef),
    /// Per-channel integer thresholds (one or several levels).
    Threshold(ThresholdDef),
    /// Max-pool (OR on binary data).
    MaxPool(MaxPoolDef),
    /// Flatten a C×H×W map to a vector in C, H, W order.
    Flatten(FlattenDef),
    /// Class scores (optional integer affine) and argmax.
    Output(OutputDef),
    /// Saturating sum of two integer streams (a residual join). Version 2.
    Add(AddDef),
    /// Per-channel fixed-point affine, PReLU/ReLU and saturation. Version 2.
    Affine(AffineDef),
    /// Window or global sum (average pooling). Version 2.
    SumPool(SumPoolDef),
    /// Sign against the frame's mean (SiMaN). Version 2.
    MeanSign(MeanSignDef),
    /// Zero channels around a map (option-A shortcut). Version 2.
    PadChannels(PadChannelsDef),
}

impl OpDef {
    /// The `op` string of this operation.
    pub fn name(&self) -> &'static str {
        match self {
            OpDef::Input(_) => "input",
            OpDef::Dense(_) => "dense",
            OpDef::Conv2d(_) => "conv2d",
            OpDef::Binarize(_) => "binarize",
            OpDef::Threshold(_) => "threshold",
            OpDef::MaxPool(_) => "maxpool",
            OpDef::Flatten(_) => "flatten",
            OpDef::Output(_) => "output",
            OpDef::Add(_) => "add",
            OpDef::Affine(_) => "affine",
            OpDef::SumPool(_) => "sumpool",
            OpDef::MeanSign(_) => "meansign",
            OpDef::PadChannels(_) => "pad_channels",
        }
    }

    /// The oldest format version that has this node (its op and weight storage).
    pub fn version(&self) -> u64 {
        let int_weights = |w: &WeightsDef| matches!(w, WeightsDef::Int { .. });
        match self {
            OpDef::Add(_)
            | OpDef::Affine(_)
            | OpDef::SumPool(_)
            | OpDef::MeanSign(_)
            | OpDef::PadChannels(_) => 2,
            OpDef::Dense(d) if int_weights(&d.weights) => 2,
            OpDef::Conv2d(d) if int_weights(&d.weights) => 2,
            _ => 1,
        }
    }

    /// Every `op` string the format knows.
    pub const ALL: &'static [&'static str] = &[
        "input",
        "dense",
        "conv2d",
        "binarize",
        "threshold",
        "maxpool",
        "flatten",
        "output",
        "add",
        "affine",
        "sumpool",
        "meansign",
        "pad_channels",
    ];
}

/// Element type of the graph input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    /// Binary values (bit 1 = +1, bit 0 = −1).
    Bits,
    /// Unsigned 8-bit integers (e.g. pixels).
    Uint8,
    /// Signed 8-bit integers.
    Int8,
}

/// `op: input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputDef {
    /// `[n]` for a vector or `[c, h, w]` for a feature map.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: InputType,
    /// How an imported model's float input becomes these codes (absent: the input is given as
    /// codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_float: Option<FromFloatDef>,
}

/// The graph's float input mapped to the input codes, evaluated in float32 as the source graph
/// does: elementwise steps, then a quantizer (docs/semantics.md, "Imported models").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromFloatDef {
    /// Shape of one float frame (the source graph's input without its batch dimension); it has
    /// as many elements as the input, in the same (row-major) order.
    pub shape: Vec<usize>,
    /// Elementwise float32 steps, each parameter a float tensor `[1]` or one value per element.
    #[serde(default)]
    pub steps: Vec<ElementStepDef>,
    /// The quantizer that makes the codes.
    pub quant: QuantDef,
}

/// One elementwise float32 step of [`FromFloatDef`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ElementStepDef {
    /// x ← x · a.
    Mul(TensorDef),
    /// x ← x + b.
    Add(TensorDef),
    /// x ← x / d.
    Div(TensorDef),
}

/// How float values become input codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum QuantDef {
    /// QONNX `BipolarQuant`: bit 1 (+1) when x ≥ 0, else bit 0 (−1). Input dtype `bits`.
    Bipolar {},
    /// QONNX `Quant` with zero point 0: q = round(clamp(x / scale)) in float32 (clamped before
    /// rounding, as QONNX does). Input dtype `int8` (signed) or `uint8`.
    Int(IntQuantDef),
    /// The float values are the codes themselves (a FINN graph whose input is annotated with an
    /// integer datatype): `bits` takes 0/1 (min 0) or −1/+1 (min −1), `uint8`/`int8` take
    /// integers in [min, max]. Any other value is an error.
    Codes(CodesDef),
    /// FINN `MultiThreshold`: the code is the number of the element's channel's thresholds x
    /// reaches (x ≥ T). Input dtype `bits` for one threshold, else `uint8`.
    Thresholds(ThresholdQuantDef),
}

/// Float values that are codes already.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodesDef {
    /// Smallest code value (for bits: 0, or −1 when bipolar).
    pub min: i64,
    /// Largest code value (for bits: 1).
    pub max: i64,
}

/// Thresholds of an input quantizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdQuantDef {
    /// Float thresholds `[C, n]` (one row per channel) or `[1, n]` (shared).
    pub thresholds: TensorDef,
    /// Elements per channel in the frame's row-major order: element i is in channel
    /// (i / channel_stride) mod C.
    pub channel_stride: usize,
}

/// Parameters of an integer quantizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntQuantDef {
    /// Bit width, 2..=8.
    pub bits: u32,
    /// Signed range [−2^(b−1), 2^(b−1) − 1] instead of [0, 2^b − 1].
    pub signed: bool,
    /// Drop the most negative code (signed) or the largest (unsigned).
    pub narrow: bool,
    /// The scale, a positive float32 value.
    pub scale: f64,
    /// Rounding mode.
    pub rounding: RoundingMode,
}

/// Rounding modes of QONNX `Quant` (`rounding_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundingMode {
    /// To nearest, ties to even (`ROUND`, `HALF_EVEN`).
    HalfEven,
    /// Towards +∞.
    Ceil,
    /// Towards −∞.
    Floor,
    /// Away from zero.
    Up,
    /// Towards zero.
    Down,
    /// To nearest, ties away from zero: sign(x)·floor(|x| + 0.5).
    HalfUp,
    /// To nearest, ties towards zero: sign(x)·ceil(|x| − 0.5).
    HalfDown,
}

/// The arithmetic a `binarize` epilogue (or a float tail) is evaluated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arithmetic {
    /// IEEE binary64 (trained parameters given directly).
    #[default]
    Float64,
    /// IEEE binary32, one rounding per operation (imported ONNX graphs compute in float32).
    Float32,
}

impl Arithmetic {
    fn is_float64(&self) -> bool {
        *self == Arithmetic::Float64
    }
}

/// What the stored weight bits mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightValues {
    /// Bit b is the weight 2b−1 (±1, XNOR-popcount).
    Pm1,
    /// Bit b is the weight b ({0,+1}, AND-popcount; SiMaN's encoding).
    ZeroOne,
    /// Multi-bit signed integers (storage `int` only): a stem, head or shortcut layer kept in
    /// higher precision.
    Int,
}

/// How a layer's weights are stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "storage", rename_all = "snake_case", deny_unknown_fields)]
pub enum WeightsDef {
    /// Every weight stored as one bit: a `bits` tensor `[O, I]` (dense) or `[O, C, kh, kw]` (conv).
    Dense {
        /// Meaning of a stored bit.
        values: WeightValues,
        /// The bits.
        bits: TensorDef,
    },
    /// Sub-bit kernel codebook (conv2d only; SNN, Sparse Kernel Selection): kernel (o, c) is
    /// codebook entry `indices[o][c]`, so each k×k kernel costs τ bits.
    Codebook {
        /// Meaning of a stored bit.
        values: WeightValues,
        /// Index width τ in bits, 1..=16; the codebook has at most 2^τ entries.
        tau: u32,
        /// The entries: a `bits` tensor `[n, kh, kw]`, each entry row-major over (kh, kw).
        codebook: TensorDef,
        /// An integer tensor `[out, in]`: the entry of every (output, input channel) kernel.
        indices: TensorDef,
    },
    /// Tiled bit network (TBN): the weights flattened row-major over (out, in, kh, kw) are one
    /// tile of L bits repeated `p` times, W_flat[f] = tile[f mod L], with one positive scale α
    /// per chunk of L consecutive weights.
    Tiled {
        /// Meaning of a stored bit.
        values: WeightValues,
        /// The layer's full weight shape: `[out, in]` (dense) or `[out, in, kh, kw]` (conv).
        shape: Vec<usize>,
        /// How many times the tile repeats (≥ 1); L · p must equal the weight count.
        p: usize,
        /// The tile: a `bits` tensor `[L]`.
        tile: TensorDef,
        /// Scale per chunk: a float tensor `[p]` or `[1]`, every value finite and > 0. Only a
        /// `binarize` epilogue can apply it (y = Σ α_i · S_i); absent means 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alpha: Option<TensorDef>,
    },
    /// Multi-bit integer weights, one integer per weight (version 2): an integer tensor
    /// `[O, I]` (dense) or `[O, C, kh, kw]` (conv), every value in [−128, 127].
    Int {
        /// The weights.
        ints: TensorDef,
    },
}

impl WeightsDef {
    /// Meaning of a stored bit.
    pub fn values(&self) -> WeightValues {
        match self {
            WeightsDef::Dense { values, .. }
            | WeightsDef::Codebook { values, .. }
            | WeightsDef::Tiled { values, .. } => *values,
            WeightsDef::Int { .. } => WeightValues::Int,
        }
    }
}

/// `op: dense`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseDef {
    /// Weights `[out_features, in_features]`.
    pub weights: WeightsDef,
}

/// How padded taps of a convolution count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// Padded taps contribute 0 (PyTorch, Larq).
    Zero,
    /// Padded taps are the value −1 (FINN; binary inputs only).
    MinusOne,
}

/// Padding: one number for all four sides, or `[top, left, bottom, right]` (ONNX order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PaddingDef {
    /// The same on every side.
    Same(usize),
    /// `[top, left, bottom, right]`.
    Sides(Vec<usize>),
}

/// Written by hand rather than derived untagged, whose only error is "data did not match any
/// variant of untagged enum PaddingDef": this one says what a padding may be.
impl<'de> Deserialize<'de> for PaddingDef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Padding;
        impl<'de> serde::de::Visitor<'de> for Padding {
            type Value = PaddingDef;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("pixels on every side (a number ≥ 0) or [top, left, bottom, right]")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PaddingDef, E> {
                usize::try_from(v)
                    .map(PaddingDef::Same)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<PaddingDef, A::Error> {
                let mut sides = Vec::new();
                while let Some(v) = seq.next_element::<usize>()? {
                    sides.push(v);
                }
                Ok(PaddingDef::Sides(sides))
            }
        }
        d.deserialize_any(Padding)
    }
}

/// `op: conv2d`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvDef {
    /// Weights `[out_channels, in_channels, kh, kw]`.
    pub weights: WeightsDef,
    /// Stride (the same in both directions). Default 1.
    #[serde(default = "one")]
    pub stride: usize,
    /// Padding. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub padding: Option<PaddingDef>,
    /// Required when any padding is non-zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pad_mode: Option<PadMode>,
}

fn one() -> usize {
    1
}

/// BatchNorm parameters, per channel (each tensor `[C]` or `[1]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormDef {
    /// Scale γ.
    pub gamma: TensorDef,
    /// Shift β.
    pub beta: TensorDef,
    /// Running mean μ.
    pub mean: TensorDef,
    /// Running variance σ².
    pub var: TensorDef,
    /// ε added to the variance.
    pub eps: f64,
}

/// One float step of a `binarize` epilogue, applied per channel in f64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StepDef {
    /// y ← y · a (per-channel scale α: XNOR-Net mean|W|, ReBNN's 0.02·|s|, SiMaN's α).
    Mul(TensorDef),
    /// y ← y + b (bias, or an RSign/LearnableBias activation shift).
    Add(TensorDef),
    /// y ← y / d (d ≠ 0; an imported graph's `Div`, which float32 does not round like a `mul`).
    Div(TensorDef),
    /// y ← (y − μ) / sqrt(σ² + ε) · γ + β.
    Batchnorm(BatchNormDef),
    /// y ← y if y ≥ 0 else y · slope (slope ≥ 0).
    Prelu(TensorDef),
}

/// `op: binarize` — out bit = [f(S) ≥ 0] where f applies `steps` in order in f64 (or f32).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinarizeDef {
    /// The float epilogue; may be empty (plain sign).
    #[serde(default)]
    pub steps: Vec<StepDef>,
    /// The arithmetic the steps are evaluated in (default `float64`).
    #[serde(default, skip_serializing_if = "Arithmetic::is_float64")]
    pub arithmetic: Arithmetic,
}

/// `op: threshold` — out = #{k : S ≥ T[c][k]} (or ≤ for channels with direction −1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdDef {
    /// Integer thresholds `[C]` (one level, binary output) or `[C, n]` (n levels).
    pub thresholds: TensorDef,
    /// Optional integer `[C]` of +1 (S ≥ T, the default) or −1 (S ≤ T, negative scale).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<TensorDef>,
}

/// `op: maxpool`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPoolDef {
    /// Window size (square).
    pub kernel: usize,
    /// Stride; defaults to `kernel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
}

/// `op: flatten`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlattenDef {}

/// `op: output` — score[c] = scale[c] · S[c] + offset[c]; argmax picks the lowest index on ties.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputDef {
    /// Optional integer `[classes]` multiplier (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<TensorDef>,
    /// Optional integer `[classes]` offset (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<TensorDef>,
    /// An imported graph's float output computed from the integer scores (its float tail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_float: Option<ToFloatDef>,
}

/// The float tail of an imported graph: y = f(score) per class, in float32.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToFloatDef {
    /// Shape of one output frame of the source graph (without its batch dimension); as many
    /// elements as classes.
    pub shape: Vec<usize>,
    /// Float32 steps applied to each class's score, parameters `[classes]` or `[1]`.
    #[serde(default)]
    pub steps: Vec<StepDef>,
}
