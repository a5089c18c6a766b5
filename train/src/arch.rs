//! Architectures a network trains with: the input encoding and the layer list, as presets.
//!
//! Every matrix layer but the last is followed by BatchNorm and a sign (the BinaryNet block);
//! the last layer's integer scores are the class scores. Residual networks (Bi-Real /
//! ReActNet, SiMaN's ResNets) add a multi-bit *stream*: a `stem` brings the input into it,
//! `block`s compute on its sign and add their result to it, and a `sign` or a `global_pool`
//! leaves it. Shapes come from the dataset's frame shape, so one preset serves MNIST's 28×28
//! and the 8×8 digits alike.

use crate::error::TrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a float frame (pixels in [0, 1]) becomes the network's integer input. The model file
/// records the same map (`input.from_float`), so `xnorc simulate` takes the float frames too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputCoding {
    /// One bit per pixel: 2x − 1 ≥ 0 (Brevitas bnn_pynq's 1-bit input), ±1 to the first layer.
    /// `"bits"` in a spec file.
    #[serde(rename = "bits")]
    Bipolar,
    /// 8-bit codes: round(x · 255), 0..=255 to the first layer (FINN CNV's 8-bit input).
    Uint8,
}

/// What a padded tap of a convolution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// 0: the tap adds nothing (PyTorch, Larq).
    #[default]
    Zero,
    /// −1 (FINN's padding of binary maps); the layer's input must be binary.
    MinusOne,
}

fn one() -> usize {
    1
}

/// One layer of an architecture; in a spec file `{"dense": {"out": 64}}`,
/// `{"conv": {"out": 16, "kernel": 3, "stride": 1, "pad": 1, "pad_mode": "zero"}}` (stride 1,
/// pad 0 and zero padding by default) or `{"max_pool": {"kernel": 2}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Layer {
    /// Fully connected binary layer with `out` outputs (a map input is flattened first).
    Dense {
        /// Output features.
        out: usize,
    },
    /// Square binary convolution, padded with zeros (a padded tap adds 0).
    Conv {
        /// Output channels.
        out: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Padding on every side.
        #[serde(default)]
        pad: usize,
        /// What a padded tap is.
        #[serde(default)]
        pad_mode: PadMode,
    },
    /// Max-pool of the preceding sign activations (square window, stride = window).
    MaxPool {
        /// Window size.
        kernel: usize,
    },
    /// Into the residual stream: a convolution, its BatchNorm, rounded to the stream's fixed
    /// point and saturated to its width (`{"stem": {"out": 16, "kernel": 3, "stride": 2,
    /// "pad": 1}}`; `"weights": "int8"` for 8-bit weights, as the seeds keep their stems).
    Stem {
        /// Output channels.
        out: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding on every side.
        #[serde(default)]
        pad: usize,
        /// Binary weights (the method's) or 8-bit integers.
        #[serde(default, skip_serializing_if = "Precision::is_binary")]
        weights: Precision,
    },
    /// A residual block on the stream (`{"block": {"out": 32, "stride": 2}}`): the sign of the
    /// stream plus a learned per-channel bias (ReActNet's RSign; SiMaN: the sign against the
    /// frame's mean), a binary 3×3 convolution (padding 1) and its BatchNorm into the stream,
    /// added to the shortcut, then RPReLU (a learned shift, slope and shift after). The
    /// shortcut is the block's input, downsampled when `stride` is 2 (Bi-Real's 2×2 average;
    /// SiMaN: every other pixel) and followed by zero channels when `out` is wider.
    Block {
        /// Output channels (at least the input's).
        out: usize,
        /// Stride, 1 or 2.
        #[serde(default = "one")]
        stride: usize,
    },
    /// The stream's sign as binary activations (SiMaN: the sign against the frame's mean).
    Sign,
    /// Global average pooling of the stream per channel (a vector of C stream values); the
    /// class layer follows it.
    GlobalPool,
}

/// A matrix layer's weights: the method's binary ones, or 8-bit integers (a residual
/// network's stem and class layer, which the seeds keep in higher precision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// The method's binary weights.
    #[default]
    Binary,
    /// Integers in [−127, 127] times a scale: per output channel for a stem (its BatchNorm
    /// takes it), one for the class layer (its argmax does not see it).
    Int8,
}

impl Precision {
    fn is_binary(&self) -> bool {
        *self == Precision::Binary
    }
}

/// The residual stream's fixed-point format: signed `bits`-bit integers counting
/// 2^−`frac`, saturating at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamFormat {
    /// Width in bits, 2 to 16.
    pub bits: u32,
    /// Fraction bits: one step of the stream is 2^−frac (0 to 12).
    pub frac: u32,
}

impl Default for StreamFormat {
    /// 8 bits (the seeds' int8 activations) with 4 fraction bits: BatchNorm's outputs, of
    /// order one, keep 16 levels per unit and room up to ±8.
    fn default() -> Self {
        StreamFormat { bits: 8, frac: 4 }
    }
}

impl StreamFormat {
    /// The smallest and largest stream value, in stream steps.
    pub fn range(&self) -> (i64, i64) {
        (-(1i64 << (self.bits - 1)), (1i64 << (self.bits - 1)) - 1)
    }

    /// One step's value, 2^−frac.
    pub fn step(&self) -> f64 {
        (-(self.frac as f64)).exp2()
    }
}

/// What flows between two layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The network's input (binary or 8-bit codes).
    Input,
    /// Hidden activations: signs, or counts of `act_bits` bits.
    Bits,
    /// The residual stream.
    Stream,
}

/// A named architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    /// Preset name, written into the model's provenance.
    pub name: String,
    /// Input encoding.
    pub input: InputCoding,
    /// Layers in order; the last is a `Dense` whose outputs are the classes.
    pub layers: Vec<Layer>,
    /// The residual stream's format (unused without stems).
    pub stream: StreamFormat,
    /// Bits of the hidden activations (1: signs).
    pub act_bits: u32,
    /// The class layer's weights.
    pub head: Precision,
}

/// A matrix layer as the export names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixLayer {
    /// `fc1`…, `conv1`…, as the model file names the layer.
    pub name: String,
    /// Its weight count.
    pub weights: usize,
    /// Whether it is a binary 3×3 convolution (a codebook's kernel shape).
    pub is_3x3: bool,
    /// Whether its weights are 8-bit integers (never tiled or a codebook).
    pub int8: bool,
}

/// A preset: name, what it is, and its layers before the class layer.
struct Preset {
    name: &'static str,
    description: &'static str,
    input: InputCoding,
    hidden: fn() -> Vec<Layer>,
    stream: StreamFormat,
}

fn dense(widths: &[usize]) -> Vec<Layer> {
    widths.iter().map(|&out| Layer::Dense { out }).collect()
}

fn conv(out: usize, pad: usize) -> Layer {
    Layer::Conv {
        out,
        kernel: 3,
        stride: 1,
        pad,
        pad_mode: PadMode::Zero,
    }
}

/// An architecture without its class layer: a preset, or a spec file's
/// `{"name": "…", "input": "bits" | "uint8", "layers": [...]}`. The class layer (a dense layer
/// with one output per class of the data) is appended to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    /// Name, written into the model.
    pub name: String,
    /// Input encoding.
    pub input: InputCoding,
    /// Layers before the class layer.
    pub layers: Vec<Layer>,
    /// The residual stream's format (`{"bits": 8, "frac": 4}` unless given).
    #[serde(default)]
    pub stream: StreamFormat,
    /// Bits of every hidden activation (1, the default: signs; 2 to 4: 2^b levels, a
    /// `threshold` with 2^b − 1 thresholds in the model).
    #[serde(default = "one_bit", skip_serializing_if = "is_one_bit")]
    pub act_bits: u32,
    /// The class layer's weights (`"head": "int8"`: 8-bit, on a `global_pool`'s integer
    /// sums).
    #[serde(default, skip_serializing_if = "Precision::is_binary")]
    pub head: Precision,
}

fn one_bit() -> u32 {
    1
}

fn is_one_bit(bits: &u32) -> bool {
    *bits == 1
}

/// The widest activation: 15 thresholds per channel.
pub const MAX_ACT_BITS: u32 = 4;

/// What is wrong with `bits` as an activation width, if anything: a spec file's (named by
/// its path) and an architecture's from the API (named by its name) are checked alike.
fn act_bits_problem(bits: u32) -> Option<String> {
    (!(1..=MAX_ACT_BITS).contains(&bits))
        .then(|| format!("act_bits {bits} must be 1 to {MAX_ACT_BITS}"))
}

impl ArchSpec {
    /// The preset `name`.
    pub fn preset(name: &str) -> Result<ArchSpec, TrainError> {
        let preset = PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
            TrainError::Input(format!(
                "unknown architecture `{name}`; the presets are {}, or give a spec file \
                 (name.json, docs/training.md)",
                Arch::names().join(", ")
            ))
        })?;
        Ok(ArchSpec {
            name: preset.name.to_string(),
            input: preset.input,
            layers: (preset.hidden)(),
            stream: preset.stream,
            act_bits: 1,
            head: Precision::Binary,
        })
    }

    /// `--arch`: a preset's name, or the path of a spec file (one ending in `.json`).
    pub fn resolve(arg: &str) -> Result<ArchSpec, TrainError> {
        if arg.ends_with(".json") {
            Self::read(Path::new(arg))
        } else {
            Self::preset(arg)
        }
    }

    /// Reads and checks a spec file.
    pub fn read(path: &Path) -> Result<ArchSpec, TrainError> {
        let bad = |why: String| TrainError::Input(format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let spec: ArchSpec = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not an architecture spec ({e}); see docs/training.md"
            ))
        })?;
        for (i, layer) in spec.layers.iter().enumerate() {
            let zero = match *layer {
                Layer::Dense { out } => (out == 0).then_some("dense.out"),
                Layer::Conv {
                    out,
                    kernel,
                    stride,
                    ..
                } => [
                    (out, "conv.out"),
                    (kernel, "conv.kernel"),
                    (stride, "conv.stride"),
                ]
                .into_iter()
                .find(|(v, _)| *v == 0)
                .map(|(_, f)| f),
                Layer::MaxPool { kernel } => (kernel == 0).then_some("max_pool.kernel"),
                Layer::Stem {
                    out,
                    kernel,
                    stride,
                    ..
                } => [
                    (out, "stem.out"),
                    (kernel, "stem.kernel"),
                    (stride, "stem.stride"),
                ]
                .into_iter()
                .find(|(v, _)| *v == 0)
                .map(|(_, f)| f),
                Layer::Block { out, stride } => {
                    if !(1..=2).contains(&stride) {
                        return Err(bad(format!("layers[{i}]: block.stride must be 1 or 2")));
                    }
                    (out == 0).then_some("block.out")
                }
                Layer::Sign | Layer::GlobalPool => None,
            };
            if let Some(field) = zero {
                return Err(bad(format!("layers[{i}]: {field} must be at least 1")));
            }
            let minus_one = matches!(
                layer,
                Layer::Conv {
                    pad_mode: PadMode::MinusOne,
                    pad: 1..,
                    ..
                }
            );
            if minus_one && i == 0 && spec.input == InputCoding::Uint8 {
                return Err(bad(format!(
                    "layers[{i}]: pad_mode minus_one pads binary maps only, and this layer \
                     takes the 8-bit input; use \"zero\""
                )));
            }
        }
        if let Some(why) = act_bits_problem(spec.act_bits) {
            return Err(bad(why));
        }
        let StreamFormat { bits, frac } = spec.stream;
        if !(2..=16).contains(&bits) || frac > 12 {
            return Err(bad(format!(
                "stream: bits {bits}, frac {frac}; bits must be 2 to 16 and frac 0 to 12"
            )));
        }
        Ok(spec)
    }
}

const PRESETS: &[Preset] = &[
    Preset {
        name: "tfc",
        description: "FINN TFC-w1a1: binary MLP 64-64-64 on 1-bit input, then the classes",
        input: InputCoding::Bipolar,
        hidden: || dense(&[64, 64, 64]),
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "sfc",
        description: "FINN SFC-w1a1: binary MLP 256-256-256 on 1-bit input",
        input: InputCoding::Bipolar,
        hidden: || dense(&[256, 256, 256]),
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "lfc",
        description: "FINN LFC-w1a1: binary MLP 1024-1024-1024 on 1-bit input",
        input: InputCoding::Bipolar,
        hidden: || dense(&[1024, 1024, 1024]),
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "cnv-small",
        description: "8-bit input, 3x3 convs 16 (padded), 16 (padded), pool, 32, pool, dense 64 \
                      (xnorc's cnv-small shape)",
        input: InputCoding::Uint8,
        hidden: || {
            vec![
                conv(16, 1),
                conv(16, 1),
                Layer::MaxPool { kernel: 2 },
                conv(32, 0),
                Layer::MaxPool { kernel: 2 },
                Layer::Dense { out: 64 },
            ]
        },
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "cnv",
        description: "FINN CNV-w1a1: 8-bit input, unpadded 3x3 convs 64-64-pool-128-128-pool-\
                      256-256, dense 512-512 (needs frames of 32x32 pixels or more, as CIFAR-10's)",
        input: InputCoding::Uint8,
        hidden: || {
            let mut layers = vec![conv(64, 0), conv(64, 0), Layer::MaxPool { kernel: 2 }];
            layers.extend([conv(128, 0), conv(128, 0), Layer::MaxPool { kernel: 2 }]);
            layers.extend([conv(256, 0), conv(256, 0)]);
            layers.extend(dense(&[512, 512]));
            layers
        },
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "resnet-mini",
        description: "residual, iCE40-sized: 8-bit input, stem 8 (3x3, stride 2) into a 6-bit \
                      stream, one block, sign, pool (xnorc's resnet-mini shape)",
        input: InputCoding::Uint8,
        hidden: || {
            vec![
                stem(8, 2),
                Layer::Block { out: 8, stride: 1 },
                Layer::Sign,
                Layer::MaxPool { kernel: 2 },
            ]
        },
        stream: StreamFormat { bits: 6, frac: 3 },
    },
    Preset {
        name: "resnet-small",
        description: "residual (ReActNet blocks): 8-bit input, stem 16 (3x3, stride 2), blocks \
                      16, 32 (stride 2), 32 on an 8-bit stream, global average pool",
        input: InputCoding::Uint8,
        hidden: || {
            vec![
                stem(16, 2),
                Layer::Block { out: 16, stride: 1 },
                Layer::Block { out: 32, stride: 2 },
                Layer::Block { out: 32, stride: 1 },
                Layer::GlobalPool,
            ]
        },
        stream: StreamFormat { bits: 8, frac: 4 },
    },
    Preset {
        name: "resnet20",
        description: "CIFAR ResNet-20 as the binary methods train it (IR-Net, SiMaN): 8-bit \
                      input, stem 16 (3x3), 18 binary 3x3 convs each with its own shortcut \
                      (Bi-Real), 6 each of 16, 32 and 64 channels (the first of a wider stage \
                      stride 2, its shortcut pooled and padded with zero channels), global \
                      average pool",
        input: InputCoding::Uint8,
        hidden: resnet20,
        stream: StreamFormat { bits: 8, frac: 4 },
    },
];

/// ResNet-20's nine basic blocks of two convs, with a shortcut around each conv: 18 blocks.
fn resnet20() -> Vec<Layer> {
    let mut layers = vec![stem(16, 1)];
    for (stage, out) in [16, 32, 64].into_iter().enumerate() {
        for conv in 0..6 {
            let stride = if stage > 0 && conv == 0 { 2 } else { 1 };
            layers.push(Layer::Block { out, stride });
        }
    }
    layers.push(Layer::GlobalPool);
    layers
}

fn stem(out: usize, stride: usize) -> Layer {
    Layer::Stem {
        out,
        kernel: 3,
        stride,
        pad: 1,
        weights: Precision::Binary,
    }
}

impl Arch {
    /// The preset `name` with `classes` outputs.
    pub fn preset(name: &str, classes: usize) -> Result<Arch, TrainError> {
        Ok(Self::new(&ArchSpec::preset(name)?, classes))
    }

    /// `spec` with its class layer of `classes` outputs.
    pub fn new(spec: &ArchSpec, classes: usize) -> Arch {
        let mut layers = spec.layers.clone();
        layers.push(Layer::Dense { out: classes });
        Arch {
            name: spec.name.clone(),
            input: spec.input,
            layers,
            stream: spec.stream,
            act_bits: spec.act_bits,
            head: spec.head,
        }
    }

    /// The weights of every layer (`Binary` for those without a matrix).
    pub fn precision(&self, i: usize) -> Precision {
        match self.layers[i] {
            Layer::Stem { weights, .. } => weights,
            _ if i == self.layers.len() - 1 => self.head,
            _ => Precision::Binary,
        }
    }

    /// The largest count a hidden activation outputs: 2^act_bits − 1 (1 for signs).
    pub fn levels(&self) -> u32 {
        (1 << self.act_bits) - 1
    }

    /// The dropout the architecture trains with unless told otherwise: 0.2 for the binary
    /// MLPs (Brevitas' bnn_pynq FC), none for the convolutional networks (bnn_pynq's CNV has
    /// none).
    pub fn default_dropout(&self) -> f32 {
        match self.layers[0] {
            Layer::Dense { .. } => 0.2,
            _ => 0.0,
        }
    }

    /// The preset names, in the order `--help` lists them.
    pub fn names() -> Vec<&'static str> {
        PRESETS.iter().map(|p| p.name).collect()
    }

    /// Each preset's name and description.
    pub fn descriptions() -> Vec<(&'static str, &'static str)> {
        PRESETS.iter().map(|p| (p.name, p.description)).collect()
    }

    /// Every matrix layer for frames of `frame`, in order: its name in the exported model
    /// (`fc1`…, `conv1`…, `stem`, `block1_conv`…), its weight count and whether it is a 3×3
    /// convolution.
    pub fn matrices(&self, frame: &[usize]) -> Result<Vec<MatrixLayer>, TrainError> {
        let shapes = self.shapes(frame)?;
        let names = self.matrix_names();
        let mut names = names.into_iter();
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let input = if i == 0 { frame } else { &shapes[i - 1] };
            let (weights, is_3x3) = match *layer {
                Layer::Dense { out } => (out * input.iter().product::<usize>(), false),
                Layer::Conv { out, kernel, .. } | Layer::Stem { out, kernel, .. } => {
                    (out * input[0] * kernel * kernel, kernel == 3)
                }
                Layer::Block { out, .. } => (out * input[0] * 9, true),
                Layer::MaxPool { .. } | Layer::Sign | Layer::GlobalPool => continue,
            };
            let int8 = self.precision(i) == Precision::Int8;
            out.push(MatrixLayer {
                name: names.next().expect("a name per matrix layer"),
                weights,
                is_3x3: is_3x3 && !int8,
                int8,
            });
        }
        Ok(out)
    }

    /// The exported names of the matrix layers, in order: `fc1`…, `conv1`…, `stem` (`stem2`…),
    /// `block1_conv`….
    pub fn matrix_names(&self) -> Vec<String> {
        let (mut fcs, mut convs, mut stems, mut blocks) = (0, 0, 0, 0);
        let mut names = Vec::new();
        for layer in &self.layers {
            let count = |n: &mut usize| {
                *n += 1;
                *n
            };
            match layer {
                Layer::Dense { .. } => names.push(format!("fc{}", count(&mut fcs))),
                Layer::Conv { .. } => names.push(format!("conv{}", count(&mut convs))),
                Layer::Stem { .. } => match count(&mut stems) {
                    1 => names.push("stem".into()),
                    n => names.push(format!("stem{n}")),
                },
                Layer::Block { .. } => names.push(format!("block{}_conv", count(&mut blocks))),
                Layer::MaxPool { .. } | Layer::Sign | Layer::GlobalPool => {}
            }
        }
        names
    }

    /// Whether the architecture carries a residual stream.
    pub fn is_residual(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, Layer::Stem { .. }))
    }

    /// The shape after every layer for a frame of `frame` (`[c, h, w]`), or an error naming the
    /// layer whose output would be empty or whose input is of the wrong kind.
    pub fn shapes(&self, frame: &[usize]) -> Result<Vec<Vec<usize>>, TrainError> {
        Ok(self.walk(frame)?.into_iter().map(|(s, _)| s).collect())
    }

    /// What flows out of every layer: [`Arch::shapes`] with the kind of each value.
    pub fn kinds(&self, frame: &[usize]) -> Result<Vec<Kind>, TrainError> {
        Ok(self.walk(frame)?.into_iter().map(|(_, k)| k).collect())
    }

    fn walk(&self, frame: &[usize]) -> Result<Vec<(Vec<usize>, Kind)>, TrainError> {
        if let Some(why) = act_bits_problem(self.act_bits) {
            return Err(TrainError::Input(format!(
                "architecture `{}`: {why}",
                self.name
            )));
        }
        let mut shape = frame.to_vec();
        let mut kind = Kind::Input;
        let mut out = Vec::with_capacity(self.layers.len());
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            let wrong = |what: &str| {
                Err(TrainError::Input(format!(
                    "architecture `{}`: layer {} ({:?}) {what}",
                    self.name,
                    i + 1,
                    layer
                )))
            };
            let on_stream = kind == Kind::Stream;
            let multi_bit = self.act_bits > 1;
            let integer_input =
                on_stream || (kind == Kind::Input && self.input == InputCoding::Uint8);
            if self.precision(i) == Precision::Int8 && !integer_input {
                return wrong(
                    "has int8 weights on binary input, which the hardware has no stage for; \
                     int8 weights take the 8-bit input (a stem) or the stream's integers (a \
                     class layer after a `global_pool`)",
                );
            }
            match layer {
                Layer::Stem { .. } if multi_bit => {
                    return wrong(&format!(
                        "starts a residual stream, which takes binary activations only; \
                         act_bits {} is for networks of dense and conv layers",
                        self.act_bits
                    ))
                }
                Layer::Conv {
                    pad: 1..,
                    pad_mode: PadMode::MinusOne,
                    ..
                } if multi_bit && kind == Kind::Bits => {
                    return wrong(&format!(
                        "pads with -1, a value {}-bit activations do not have; use pad_mode \
                         \"zero\" (a padded tap is the lowest level, as in the hardware)",
                        self.act_bits
                    ))
                }
                Layer::Dense { .. } if on_stream && i != last => {
                    return wrong(
                        "takes the residual stream; only the class layer may, so put a \
                         `sign` (or a `global_pool`) before it",
                    )
                }
                Layer::Conv { .. } | Layer::Stem { .. } if on_stream => {
                    return wrong("takes the residual stream; put a `sign` before it")
                }
                Layer::Block { .. } | Layer::Sign | Layer::GlobalPool if !on_stream => {
                    return wrong("needs the residual stream: put a `stem` before it")
                }
                _ => {}
            }
            (shape, kind) = match *layer {
                Layer::Dense { out } => (vec![out], Kind::Bits),
                Layer::Conv {
                    out,
                    kernel,
                    stride,
                    pad,
                    ..
                }
                | Layer::Stem {
                    out,
                    kernel,
                    stride,
                    pad,
                    ..
                } => {
                    let [_, h, w] = map_dims(&shape, self, i)?;
                    let side = |d: usize| (d + 2 * pad).checked_sub(kernel).map(|s| s / stride + 1);
                    let kind = match layer {
                        Layer::Stem { .. } => Kind::Stream,
                        _ => Kind::Bits,
                    };
                    match (side(h), side(w)) {
                        (Some(h), Some(w)) if h > 0 && w > 0 => (vec![out, h, w], kind),
                        _ => return Err(too_small(self, i, &shape)),
                    }
                }
                Layer::Block { out, stride } => {
                    let [c, h, w] = map_dims(&shape, self, i)?;
                    if out < c {
                        return wrong(&format!(
                            "has {out} output channels, fewer than its input's {c}; a block \
                             widens (its shortcut pads zero channels) or keeps the width"
                        ));
                    }
                    if stride == 2 && (h % 2 == 1 || w % 2 == 1) {
                        return wrong(&format!(
                            "downsamples a {h}x{w} map; its 2x2 average shortcut needs even \
                             sides (change the stem's stride or padding)"
                        ));
                    }
                    (
                        vec![out, h.div_ceil(stride), w.div_ceil(stride)],
                        Kind::Stream,
                    )
                }
                Layer::MaxPool { kernel } => {
                    let [c, h, w] = map_dims(&shape, self, i)?;
                    if h < kernel || w < kernel {
                        return Err(too_small(self, i, &shape));
                    }
                    (vec![c, h / kernel, w / kernel], kind)
                }
                Layer::Sign => (shape, Kind::Bits),
                Layer::GlobalPool => {
                    let [c, _, _] = map_dims(&shape, self, i)?;
                    (vec![c], Kind::Stream)
                }
            };
            out.push((shape.clone(), kind));
        }
        Ok(out)
    }
}

fn map_dims(shape: &[usize], arch: &Arch, i: usize) -> Result<[usize; 3], TrainError> {
    match *shape {
        [c, h, w] => Ok([c, h, w]),
        _ => Err(TrainError::Input(format!(
            "architecture `{}`: layer {} needs a C x H x W map but follows a dense layer",
            arch.name,
            i + 1
        ))),
    }
}

fn too_small(arch: &Arch, i: usize, shape: &[usize]) -> TrainError {
    TrainError::Input(format!(
        "architecture `{}`: layer {} ({:?}) leaves nothing of its {:?} input; the frames are \
         too small for this architecture (try tfc, or cnv-small)",
        arch.name,
        i + 1,
        arch.layers[i],
        shape
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnv_small_on_mnist_ends_in_32_by_5_by_5() {
        let arch = Arch::preset("cnv-small", 10).unwrap();
        let shapes = arch.shapes(&[1, 28, 28]).unwrap();
        // Padded convs keep 28; pool 14; the unpadded conv (14 − 3) + 1 = 12; pool 6.
        assert_eq!(shapes[4], vec![32, 6, 6]);
        assert_eq!(shapes.last().unwrap(), &vec![10]);
    }

    #[test]
    fn resnet_small_on_mnist_downsamples_widens_and_pools() {
        let arch = Arch::preset("resnet-small", 10).unwrap();
        let shapes = arch.shapes(&[1, 28, 28]).unwrap();
        // Stem stride 2: (28 + 2 − 3)/2 + 1 = 14; the stride-2 block halves to 7 and widens.
        assert_eq!(shapes[0], vec![16, 14, 14]);
        assert_eq!(shapes[2], vec![32, 7, 7]);
        assert_eq!(shapes[4], vec![32]);
        let kinds = arch.kinds(&[1, 28, 28]).unwrap();
        assert_eq!(kinds[..5], [Kind::Stream; 5]);
        assert_eq!(
            arch.matrix_names(),
            ["stem", "block1_conv", "block2_conv", "block3_conv", "fc1"]
        );
        let weights: Vec<usize> = arch
            .matrices(&[1, 28, 28])
            .unwrap()
            .iter()
            .map(|m| m.weights)
            .collect();
        assert_eq!(
            weights,
            [16 * 9, 16 * 16 * 9, 32 * 16 * 9, 32 * 32 * 9, 10 * 32]
        );
    }

    #[test]
    fn resnet20_has_eighteen_binary_convs_in_three_stages() {
        let arch = Arch::preset("resnet20", 10).unwrap();
        let shapes = arch.shapes(&[3, 32, 32]).unwrap();
        // CIFAR frames: stages at 32, 16 and 8 pixels; the pool leaves 64 features.
        assert_eq!(shapes[6], vec![16, 32, 32]);
        assert_eq!(shapes[7], vec![32, 16, 16]);
        assert_eq!(shapes[13], vec![64, 8, 8]);
        assert_eq!(shapes[19], vec![64]);
        let weights: usize = arch
            .matrices(&[3, 32, 32])
            .unwrap()
            .iter()
            .map(|m| m.weights)
            .sum();
        // ResNet-20's 0.27 M weights: stem 3·16·9, convs 9·(6·16·16 + 32·16 + 5·32·32 +
        // 64·32 + 5·64·64), class layer 64·10.
        let convs = 9 * (6 * 16 * 16 + 32 * 16 + 5 * 32 * 32 + 64 * 32 + 5 * 64 * 64);
        assert_eq!(weights, 3 * 16 * 9 + convs + 64 * 10);
        assert_eq!(convs, 267_264);
    }

    #[test]
    fn cnv_refuses_digits_frames() {
        let arch = Arch::preset("cnv", 10).unwrap();
        let err = arch.shapes(&[1, 8, 8]).unwrap_err().to_string();
        assert!(err.contains("too small"), "{err}");
    }

    #[test]
    fn a_spec_file_reads_with_its_defaults_and_refuses_bad_fields() {
        let dir = std::env::temp_dir().join(format!("xnorc-arch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.json");
        let spec = r#"{"name": "mine", "input": "bits", "layers": [
            {"conv": {"out": 8, "kernel": 3, "pad": 1, "pad_mode": "minus_one"}},
            {"max_pool": {"kernel": 2}}, {"dense": {"out": 32}}]}"#;
        std::fs::write(&path, spec).unwrap();
        let read = ArchSpec::resolve(path.to_str().unwrap()).unwrap();
        assert_eq!(
            read.layers[0],
            Layer::Conv {
                out: 8,
                kernel: 3,
                stride: 1,
                pad: 1,
                pad_mode: PadMode::MinusOne
            }
        );
        std::fs::write(&path, spec.replace("\"bits\"", "\"uint8\"")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("net.json") && err.contains("minus_one"),
            "{err}"
        );
        std::fs::write(&path, spec.replace("\"out\": 32", "\"out\": 0")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("layers[2]") && err.contains("dense.out"),
            "{err}"
        );
        std::fs::write(&path, spec.replace("kernel\": 2", "kernal\": 2")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(err.contains("kernal"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = Arch::preset("resnet-99", 10).unwrap_err().to_string();
        assert!(err.contains("tfc") && err.contains("cnv-small"), "{err}");
    }
}
