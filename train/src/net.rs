//! The network's parameters and its forward pass on burn tensors.
//!
//! Parameters live on the host as plain `f32` vectors ([`Params`]); each step lifts them into
//! fresh autodiff leaves, runs the forward pass and the backward pass on burn's `flex` CPU
//! backend, and hands the gradients back as vectors. The optimizers (`optim`) then update the
//! vectors elementwise. Keeping the state on the host is why a flip optimizer, a checkpoint and
//! the export are plain Rust over `Vec<f32>`: burn's module and optimizer records would add a
//! layer per method without computing anything the methods need (burn does the differentiation,
//! conv and pool backward — the part worth a library).
//!
//! Semantics are the exported model's: sign(x) = +1 for x ≥ 0, padded taps add 0, a max-pool of
//! ±1 values is the OR of their bits, and the class layer's scores are integers multiplied by
//! one positive temperature (argmax unchanged).

use crate::arch::{Arch, Layer, PadMode, Precision, StreamFormat};
use crate::scheme;
use burn_tensor::activation::log_softmax;
use burn_tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn_tensor::ops::PadMode as TensorPad;
use burn_tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn_tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// BatchNorm's ε (PyTorch's default), used in training and written into the model.
pub const BN_EPS: f32 = 1e-5;
/// BatchNorm's running-statistics momentum (PyTorch's default).
pub const BN_MOMENTUM: f32 = 0.1;

/// A host tensor: its shape and values, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

impl HostTensor {
    fn filled(shape: Vec<usize>, value: f32) -> Self {
        let n = shape.iter().product();
        HostTensor {
            shape,
            data: vec![value; n],
        }
    }
}

/// BatchNorm of one layer: learned γ and β, running mean and variance.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNorm {
    /// Scale γ (trained).
    pub gamma: HostTensor,
    /// Shift β (trained).
    pub beta: HostTensor,
    /// Running mean (tracked).
    pub mean: Vec<f32>,
    /// Running variance (tracked, unbiased as PyTorch keeps it).
    pub var: Vec<f32>,
}

/// The parameters of a matrix layer.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixParams {
    /// Index of the layer in the architecture.
    pub layer: usize,
    /// The weight the method trains: latent reals for straight-through methods, ±1 values for
    /// flip optimizers. Shape `[out, in]` or `[out, in, k, k]`.
    pub weight: HostTensor,
    /// Whether a binary activation follows (every layer but the class layer).
    pub hidden: bool,
    /// BatchNorm before the sign; `None` for the class layer and for SiMaN, whose sign
    /// centres each frame's outputs on their mean instead.
    pub bn: Option<BatchNorm>,
    /// Per-output-channel scale: ReBNN/RBONN's s (the weights are 0.02·|s|·sign(W)). Hidden
    /// layers only: a scale on the class scores would change the
    /// argmax, and the model's scores are integers.
    pub scale: Option<HostTensor>,
    /// RBONN's recurrent factor u per output channel (init 0.2).
    pub recurrent: Option<HostTensor>,
    /// RBONN's previous step's gradient of the latent weights (state, not trained).
    pub prev_grad: Option<Vec<f32>>,
    /// ReBNN/RBONN's learnable activation bias (RSign), added after the BatchNorm.
    pub act_bias: Option<HostTensor>,
    /// SNN's codebook, for a 3×3 convolution stored as kernel indices.
    pub codebook: Option<CodebookParams>,
    /// TBN's tiling: how many times one tile repeats over the layer's flattened weights
    /// (1: not tiled).
    pub tiles: usize,
    /// Whether the BatchNorm's output goes into the residual stream (a stem or a block's
    /// convolution) rather than through a sign.
    pub stream: bool,
    /// A residual block's own parameters (its convolution is this layer).
    pub block: Option<BlockParams>,
    /// 8-bit integer weights (`Precision::Int8`) instead of the method's binary ones.
    pub int8: bool,
}

/// The parameters of a residual block besides its convolution and BatchNorm.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockParams {
    /// RSign's learned bias per input channel, added to the stream before its sign; `None`
    /// for SiMaN, whose sign is against the frame's mean.
    pub sign_bias: Option<HostTensor>,
    /// RPReLU's shift before, per output channel (rounded to the stream's step).
    pub shift: HostTensor,
    /// RPReLU's slope for negative values (init 0.25, PyTorch's PReLU).
    pub slope: HostTensor,
    /// RPReLU's shift after.
    pub after: HostTensor,
}

impl BlockParams {
    fn tensors(&self) -> impl Iterator<Item = &HostTensor> {
        self.sign_bias
            .iter()
            .chain([&self.shift, &self.slope, &self.after])
    }

    fn tensors_mut(&mut self) -> impl Iterator<Item = &mut HostTensor> {
        self.sign_bias
            .iter_mut()
            .chain([&mut self.shift, &mut self.slope, &mut self.after])
    }
}

/// A learned codebook of 3×3 binary kernels (SNN).
#[derive(Debug, Clone, PartialEq)]
pub struct CodebookParams {
    /// Index width τ: the codebook has 2^τ entries.
    pub tau: u32,
    /// The real patterns P `[2^τ, 9]` (trained).
    pub patterns: HostTensor,
    /// The binary memory M `[2^τ, 9]`, ±1: sign(P) where |P| ≥ 1e-3, else its previous entry
    /// (state, not trained).
    pub memory: Vec<f32>,
}

/// Every parameter of a network.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// One entry per matrix layer, in order.
    pub matrices: Vec<MatrixParams>,
    /// The class scores' temperature, as its natural logarithm (trained).
    pub log_temperature: HostTensor,
}

/// Which parameters a trained tensor is, for the method to choose its optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A binary layer's weight.
    BinaryWeight,
    /// An 8-bit layer's latent weight (Adam, whatever the method).
    IntWeight,
    /// A real parameter: BatchNorm γ and β, scales, biases, codebook patterns, the temperature.
    Real,
    /// RBONN's recurrent factor, which its code trains at a tenth of the learning rate.
    Recurrent,
}

/// How each matrix layer stores and trains its weights: the method's weight form, with the
/// tiling of every matrix layer (TBN) and the codebook index width (SNN).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The weight form.
    pub form: WeightForm,
    /// Tiles p per matrix layer, in order (all 1 unless the form is tiled).
    pub tiles: Vec<usize>,
    /// Codebook index width τ for every 3×3 convolution (codebook form only).
    pub tau: Option<u32>,
}

impl Params {
    /// Fresh parameters for `arch` on frames shaped `frame`: weights uniform in
    /// ±1/√fan-in (PyTorch's default for linear and conv layers), γ = 1, β = 0, temperature
    /// 1/√fan-in of a binary class layer and 1 of an 8-bit one (so the first logits are of
    /// order one: ±1 weights sum to √fan-in, latent ones to 1).
    /// Per `layout`, the methods' extra tensors: ReBNN's s ~ N(0, 1), RBONN's u = 0.2, zero
    /// activation biases, SNN's 2^τ distinct random patterns.
    pub fn init(arch: &Arch, frame: &[usize], layout: &Layout, rng: &mut ChaCha8Rng) -> Params {
        let shapes = arch
            .shapes(frame)
            .expect("the trainer checks the architecture against the frames first");
        let mut matrices = Vec::new();
        let last = arch.layers.len() - 1;
        let mut class_fan_in = 1;
        for (i, layer) in arch.layers.iter().enumerate() {
            let input = if i == 0 { frame } else { &shapes[i - 1] };
            let wshape = match *layer {
                Layer::Dense { out } => vec![out, input.iter().product()],
                Layer::Conv { out, kernel, .. } | Layer::Stem { out, kernel, .. } => {
                    vec![out, input[0], kernel, kernel]
                }
                Layer::Block { out, .. } => vec![out, input[0], 3, 3],
                Layer::MaxPool { .. } | Layer::Sign | Layer::GlobalPool => continue,
            };
            let stream = matches!(layer, Layer::Stem { .. } | Layer::Block { .. });
            let fan_in: usize = wshape[1..].iter().product();
            let bound = 1.0 / (fan_in as f32).sqrt();
            let n: usize = wshape.iter().product();
            let data: Vec<f32> = (0..n).map(|_| rng.gen_range(-bound..bound)).collect();
            let out = wshape[0];
            let hidden = i != last;
            let tiles = layout.tiles[matrices.len()];
            let int8 = arch.precision(i) == Precision::Int8;
            // An 8-bit layer takes none of the method's binary machinery.
            let binary = !int8;
            // SiMaN's flat layers centre on the frame's mean instead; into the stream, every
            // method keeps its BatchNorm (SiMaN's ResNets do).
            let bn =
                (hidden && (stream || layout.form != WeightForm::Magnitude)).then(|| BatchNorm {
                    gamma: HostTensor::filled(vec![out], 1.0),
                    beta: HostTensor::filled(vec![out], 0.0),
                    mean: vec![0.0; out],
                    var: vec![1.0; out],
                });
            if i == last && !int8 {
                class_fan_in = fan_in;
            }
            let per_channel = |values: Vec<f32>| HostTensor {
                shape: vec![out],
                data: values,
            };
            let form = &layout.form;
            let scale = match form {
                WeightForm::Scaled { .. } if hidden && binary => {
                    Some(per_channel((0..out).map(|_| normal(rng)).collect()))
                }
                _ => None,
            };
            let rbonn = matches!(
                form,
                WeightForm::Scaled {
                    recurrent: true,
                    ..
                }
            ) && hidden
                && binary;
            let is_3x3 = binary
                && matches!(
                    layer,
                    Layer::Conv { kernel: 3, .. }
                        | Layer::Stem { kernel: 3, .. }
                        | Layer::Block { .. }
                );
            let block = matches!(layer, Layer::Block { .. }).then(|| BlockParams {
                sign_bias: (*form != WeightForm::Magnitude)
                    .then(|| HostTensor::filled(vec![input[0]], 0.0)),
                shift: HostTensor::filled(vec![out], 0.0),
                slope: HostTensor::filled(vec![out], 0.25),
                after: HostTensor::filled(vec![out], 0.0),
            });
            let codebook = match (form, is_3x3, layout.tau) {
                (WeightForm::Codebook, true, Some(tau)) => {
                    let patterns = scheme::initial_patterns(1 << tau, rng);
                    Some(CodebookParams {
                        tau,
                        memory: patterns.clone(),
                        patterns: HostTensor {
                            shape: vec![1 << tau, scheme::KERNEL],
                            data: patterns,
                        },
                    })
                }
                _ => None,
            };
            matrices.push(MatrixParams {
                layer: i,
                hidden,
                bn,
                scale,
                recurrent: rbonn.then(|| per_channel(vec![0.2; out])),
                prev_grad: rbonn.then(|| vec![0.0; n]),
                act_bias: (matches!(form, WeightForm::Scaled { .. }) && hidden && !stream)
                    .then(|| per_channel(vec![0.0; out])),
                codebook,
                tiles,
                stream,
                block,
                int8,
                weight: HostTensor {
                    shape: wshape,
                    data,
                },
            });
        }
        Params {
            matrices,
            log_temperature: HostTensor {
                shape: vec![1],
                data: vec![-0.5 * (class_fan_in as f32).ln()],
            },
        }
    }

    /// The trained tensors in a fixed order, with their roles.
    pub fn trained(&self) -> Vec<(&HostTensor, Role)> {
        let mut out = Vec::new();
        for m in &self.matrices {
            let role = match m.int8 {
                true => Role::IntWeight,
                false => Role::BinaryWeight,
            };
            out.push((&m.weight, role));
            out.extend(m.scale.iter().map(|t| (t, Role::Real)));
            out.extend(m.recurrent.iter().map(|t| (t, Role::Recurrent)));
            out.extend(m.codebook.iter().map(|c| (&c.patterns, Role::Real)));
            if let Some(bn) = &m.bn {
                out.push((&bn.gamma, Role::Real));
                out.push((&bn.beta, Role::Real));
            }
            out.extend(m.act_bias.iter().map(|t| (t, Role::Real)));
            out.extend(
                m.block
                    .iter()
                    .flat_map(|b| b.tensors().map(|t| (t, Role::Real))),
            );
        }
        out.push((&self.log_temperature, Role::Real));
        out
    }

    /// The state that is not trained but carried between steps, in a fixed order: BatchNorm
    /// running statistics, codebook memories, RBONN's previous gradients.
    pub fn state(&self) -> Vec<&Vec<f32>> {
        let mut out = Vec::new();
        for m in &self.matrices {
            if let Some(bn) = &m.bn {
                out.extend([&bn.mean, &bn.var]);
            }
            out.extend(m.codebook.iter().map(|c| &c.memory));
            out.extend(m.prev_grad.iter());
        }
        out
    }

    /// [`Params::state`], mutable.
    pub fn state_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut out = Vec::new();
        for m in &mut self.matrices {
            if let Some(bn) = &mut m.bn {
                out.extend([&mut bn.mean, &mut bn.var]);
            }
            out.extend(m.codebook.iter_mut().map(|c| &mut c.memory));
            out.extend(m.prev_grad.iter_mut());
        }
        out
    }

    /// The trained tensors on `device`, in [`Params::trained`]'s order: the forward pass's
    /// leaves.
    fn leaves(&self, device: &Device) -> Vec<Tensor<1>> {
        self.trained()
            .iter()
            .map(|(t, _)| tensor1(&t.data, device))
            .collect()
    }

    /// The trained tensors, mutable, in [`Params::trained`]'s order.
    pub fn trained_mut(&mut self) -> Vec<&mut HostTensor> {
        let mut out = Vec::new();
        for m in &mut self.matrices {
            out.push(&mut m.weight);
            out.extend(m.scale.iter_mut());
            out.extend(m.recurrent.iter_mut());
            out.extend(m.codebook.iter_mut().map(|c| &mut c.patterns));
            if let Some(bn) = &mut m.bn {
                out.push(&mut bn.gamma);
                out.push(&mut bn.beta);
            }
            out.extend(m.act_bias.iter_mut());
            out.extend(m.block.iter_mut().flat_map(|b| b.tensors_mut()));
        }
        out.push(&mut self.log_temperature);
        out
    }
}

/// How a binary layer's weight enters the forward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WeightForm {
    /// Latent reals: sign(w) forward, gradient straight through to w (BinaryNet).
    SignOfLatent,
    /// The stored ±1 values themselves (flip optimizers own them).
    PlusMinusOne,
    /// ReBNN / RBONN: Ŵ = 0.02·|s|·sign(W) per output channel, W's gradient |s|·g plus the
    /// reconstruction term λ(W − 0.02|s|·sign W); RBONN also feeds W − u·m·G (G the previous
    /// step's gradient, m the 40% smallest-scale channels) to the binarizer while training.
    Scaled {
        /// The reconstruction weight λ (ReBNN 2e-4, RBONN 1e-4).
        lambda: f32,
        /// RBONN's recurrent update.
        recurrent: bool,
    },
    /// SiMaN: {0, +1} weights, 1 where the standardized |w| exceeds the filter's median,
    /// gradient straight through to the standardized magnitude; each hidden layer's sign
    /// centres the frame's outputs on their mean (SiMaN's per-sample standardization), which
    /// cancels the Σx a {0, +1} weight leaves in every output.
    Magnitude,
    /// TBN: one tile of ±1 bits per layer (the sign of the latent scores summed over the p
    /// copies) repeated p times, each chunk scaled by its latents' mean magnitude.
    Tiled,
    /// SNN: every 3×3 kernel the nearest entry of a learned codebook of 2^τ ±1 kernels,
    /// scaled per channel by the latent's mean magnitude; other layers as BinaryNet.
    Codebook,
}

/// 8-bit weights: w rounded to the nearest multiple of s = max|w| / 127, per output channel
/// (`per_channel`: a stem, whose BatchNorm takes s) or over the whole layer (the class layer,
/// whose argmax a common factor leaves alone); the gradient straight through to w. The
/// export stores round(w / s) (`int8_codes`), the same numbers.
fn int8_weight(w: Tensor<2>, per_channel: bool) -> Tensor<2> {
    let magnitude = w.clone().abs();
    let peak = match per_channel {
        true => magnitude.max_dim(1),
        false => magnitude.max().reshape([1, 1]),
    };
    let s = (peak / 127.0).clamp_min(1e-12).detach();
    let q = (w.clone() / s.clone()).round() * s;
    straight_through(q, w)
}

/// The integer codes and the scale of `int8_weight` (`[out]`, or `[1]` over the layer), from
/// the latent weights `[out, fan_in]`: round half to even, as burn's `round`.
pub fn int8_codes(w: &[f32], out: usize, per_channel: bool) -> (Vec<i64>, Vec<f32>) {
    let peak = |v: &[f32]| v.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scales: Vec<f32> = match per_channel {
        true => w
            .chunks(w.len() / out)
            .map(|r| (peak(r) / 127.0).max(1e-12))
            .collect(),
        false => vec![(peak(w) / 127.0).max(1e-12)],
    };
    let per = w.len() / scales.len();
    let codes = w
        .iter()
        .enumerate()
        .map(|(i, &x)| (x / scales[i / per]).round_ties_even() as i64)
        .collect();
    (codes, scales)
}

/// One standard normal value (Box–Muller), from `rng`.
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.gen_range(f32::EPSILON..1.0);
    let u2: f32 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// What one training step's forward pass produced.
pub struct StepOutput {
    /// The batch's mean cross-entropy.
    pub loss: f32,
    /// Correct predictions of the float network on the batch.
    pub correct: usize,
    /// Gradients of the trained tensors, in [`Params::trained`]'s order.
    pub grads: Vec<Vec<f32>>,
    /// Per BatchNorm layer (matrix order): the batch mean and biased variance per channel, and
    /// how many values each channel's statistics averaged (batch × map positions).
    pub batch_stats: Vec<(Vec<f32>, Vec<f32>, usize)>,
}

fn sign_ge(x: Tensor<2>) -> Tensor<2> {
    x.greater_equal_elem(0.0).float() * 2.0 - 1.0
}

fn sign_ge4(x: Tensor<4>) -> Tensor<4> {
    x.greater_equal_elem(0.0).float() * 2.0 - 1.0
}

/// A value flowing through the network: a batch of vectors or of maps.
enum Value {
    Flat(Tensor<2>),
    Map(Tensor<4>),
}

impl Value {
    fn map(self) -> Tensor<4> {
        match self {
            Value::Map(x) => x,
            Value::Flat(_) => unreachable!("Arch::shapes checked a map"),
        }
    }

    fn flat(self) -> Tensor<2> {
        match self {
            Value::Flat(x) => x,
            Value::Map(x) => {
                let [b, c, h, w] = x.dims();
                x.reshape([b, c * h * w])
            }
        }
    }
}

/// The gradient a binary activation passes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surrogate {
    /// Hardtanh's: 1 where |x| ≤ 1 (BinaryNet, Bop, TBN, SNN's binarized layers).
    Hardtanh,
    /// ApproxSign's piecewise quadratic: 2 − 2|x| where |x| ≤ 1 (ReActNet's, in ReBNN, RBONN
    /// and SiMaN).
    ApproxSign,
}

/// `value` in the forward pass, exactly, with the gradient of `grad_of` (a straight-through
/// estimator). The zero grad_of − grad_of.detach() is taken first: the usual
/// grad_of + (value − grad_of).detach() rounds twice in f32 and can miss `value` by an ulp,
/// which moved stream values off their exact ties (the model's half-up roundings and SiMaN's
/// N·x ≥ Σx) and made the float network disagree with its model on a few frames.
fn straight_through<const D: usize>(value: Tensor<D>, grad_of: Tensor<D>) -> Tensor<D> {
    value.detach() + (grad_of.clone() - grad_of.detach())
}

/// The surrogate whose gradient `surrogate` names, as a differentiable function of `x`.
fn surrogate_of<const D: usize>(x: Tensor<D>, surrogate: Surrogate) -> Tensor<D> {
    let h = x.clamp(-1.0, 1.0);
    match surrogate {
        Surrogate::Hardtanh => h,
        // x(2 − |x|) on [−1, 1]: derivative 2 − 2|x|, value ±1 at the ends.
        Surrogate::ApproxSign => h.clone() * (-h.abs() + 2.0),
    }
}

/// Binary activation: sign forward (x ≥ 0 → +1), the surrogate's gradient backward.
fn binary_activation(x: Value, surrogate: Surrogate) -> Value {
    match x {
        Value::Flat(x) => {
            let h = surrogate_of(x.clone(), surrogate);
            Value::Flat(straight_through(sign_ge(x), h))
        }
        Value::Map(x) => {
            let h = surrogate_of(x.clone(), surrogate);
            Value::Map(straight_through(sign_ge4(x), h))
        }
    }
}

/// A multi-bit activation with `n` + 1 levels: the count c = ⌊(clamp(x, −1, 1) + 1)·n/2 + ½⌋
/// in [0, n], hardtanh's value on evenly spaced levels, so c ≥ k exactly where
/// x ≥ (2k − 1)/n − 1 (the thresholds the export writes; n = 1 would be the sign at 0). The
/// next layer takes the count itself, as the hardware does, so a padded tap (0) is the
/// lowest level. Backward: the straight-through estimator of the count, hardtanh's gradient
/// times n/2.
fn levels_activation(x: Value, n: u32) -> Value {
    fn count<const D: usize>(x: Tensor<D>, n: u32) -> Tensor<D> {
        let soft = (x.clamp(-1.0, 1.0) + 1.0) * (n as f32 / 2.0);
        let hard = (soft.clone() + 0.5).floor().clamp(0.0, n as f32);
        straight_through(hard, soft)
    }
    match x {
        Value::Flat(x) => Value::Flat(count(x, n)),
        Value::Map(x) => Value::Map(count(x, n)),
    }
}

/// SiMaN's activation: the sign of each value against its frame's mean (`meansign`), decided
/// exactly as the model does, [N·x_i ≥ Σx] (integers below 2^24, exact in f32, where the
/// mean itself would round and flip ties); the gradient is the surrogate's of the frame
/// standardized over its C·H·W values (unbiased variance, ε 1e-5).
fn mean_sign(y: Value, surrogate: Surrogate) -> Value {
    fn flat(y: Tensor<2>, surrogate: Surrogate) -> Tensor<2> {
        let n = y.dims()[1];
        let c = y.clone() - y.clone().mean_dim(1);
        let var = c.clone().square().sum_dim(1) / (n.max(2) - 1) as f32;
        let h = surrogate_of(c / (var + 1e-5).sqrt(), surrogate);
        let decision = sign_ge(y.clone() * n as f32 - y.sum_dim(1));
        straight_through(decision, h)
    }
    match y {
        Value::Flat(y) => Value::Flat(flat(y, surrogate)),
        Value::Map(y) => {
            let [b, c, h, w] = y.dims();
            Value::Map(flat(y.reshape([b, c * h * w]), surrogate).reshape([b, c, h, w]))
        }
    }
}

/// Adds a per-channel bias (RSign's learnable threshold shift).
fn add_channel_bias(x: Value, bias: Tensor<1>) -> Value {
    match x {
        Value::Flat(x) => {
            let c = x.dims()[1];
            Value::Flat(x + bias.reshape([1, c]))
        }
        Value::Map(x) => {
            let c = x.dims()[1];
            Value::Map(x + bias.reshape([1, c, 1, 1]))
        }
    }
}

/// The stream's rounding of `x`: saturated to the stream's range, then to the nearest step
/// (halves up, as the exported affines' `bias + 2^(k−1)` floors); the gradient passes
/// straight through inside the range.
fn to_stream(x: Tensor<4>, fmt: StreamFormat) -> Tensor<4> {
    let step = fmt.step() as f32;
    let (lo, hi) = fmt.range();
    let h = x.clamp(lo as f32 * step, hi as f32 * step);
    let q = (h.clone() / step + 0.5).floor() * step;
    straight_through(q, h)
}

/// A per-channel value `v` `[C]` rounded to the stream's step (halves up), straight through.
fn stream_constant(v: Tensor<1>, fmt: StreamFormat) -> Tensor<1> {
    let step = fmt.step() as f32;
    let q = (v.clone() / step + 0.5).floor() * step;
    straight_through(q, v)
}

/// Fraction bits of RPReLU's slope and shift after, in steps of the stream: the exported
/// affine's (`export::stream`, `SLOPE_SHIFT`).
pub const RPRELU_FRACTION_BITS: u32 = 12;

/// `v` rounded to a multiple of `unit` (half to even, as burn rounds), straight through.
fn on_grid(v: Tensor<1>, unit: f64) -> Tensor<1> {
    let q = (v.clone() / unit as f32).round() * unit as f32;
    straight_through(q, v)
}

/// ReActNet's RPReLU on the stream: PReLU(x − γ) + ζ per channel, rounded into the stream
/// (γ is a whole number of steps, so x − γ is exact; the exported affine's `pre`). The slope
/// and ζ take the exported affine's 12 fraction bits (of a unit, and of a stream step): with
/// the real ones, the float network's rounding into the stream fell the other way from the
/// model's on some values, and resnet-mini with SiMaN disagreed with its model on up to 14
/// of 360 held-out digits.
fn rprelu(
    x: Tensor<4>,
    shift: Tensor<1>,
    slope: Tensor<1>,
    after: Tensor<1>,
    fmt: StreamFormat,
) -> Tensor<4> {
    let c = x.dims()[1];
    let per = |t: Tensor<1>| t.reshape([1, c, 1, 1]);
    let fine = (-(RPRELU_FRACTION_BITS as f64)).exp2();
    let t = x - per(stream_constant(shift, fmt));
    let prelu = t.clone().clamp_min(0.0) + t.clamp_max(0.0) * per(on_grid(slope, fine));
    to_stream(prelu + per(on_grid(after, fine * fmt.step())), fmt)
}

/// A block's shortcut: its input, downsampled with stride 2 (Bi-Real's 2×2 average rounded
/// into the stream; SiMaN's option A: every other pixel), with zero channels after its own up
/// to `out` channels. (CIFAR's option A pads half before and half after; both train alike, and
/// padding after only keeps the hardware's padding whole beats of the stream.)
fn shortcut(
    x: Tensor<4>,
    stride: usize,
    out: usize,
    subsample: bool,
    fmt: StreamFormat,
) -> Tensor<4> {
    let x = match (stride, subsample) {
        (1, _) => x,
        (_, true) => avg_pool2d(x, AvgPoolOptions::new([1, 1]).with_stride([stride, stride])),
        (_, false) => to_stream(avg_pool2d(x, AvgPoolOptions::new([stride, stride])), fmt),
    };
    let [b, c, h, w] = x.dims();
    if out == c {
        return x;
    }
    let zeros = Tensor::<4>::zeros([b, out - c, h, w], &x.device());
    Tensor::cat(vec![x, zeros], 1)
}

/// sign(w) forward, the identity backward.
fn straight_sign(w: Tensor<2>) -> Tensor<2> {
    straight_through(sign_ge(w.clone()), w)
}

/// The forward pass's outputs: logits, BatchNorm batch statistics, the method's extra loss.
type Ran = (
    Tensor<2>,
    Vec<(Tensor<1>, Tensor<1>, usize)>,
    Option<Tensor<1>>,
);

fn tensor1(values: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

/// Which BatchNorms of a training-mode pass take the batch's statistics.
#[derive(Debug, Clone, Copy)]
enum Norms {
    /// All of them: a training step.
    Batch,
    /// Those before BatchNorm `k` take their running statistics, and the pass stops once
    /// BatchNorm `k` has measured its batch: one step of the precise statistics.
    Measure(usize),
}

/// Everything a forward pass needs besides the parameters.
pub struct Forward<'a> {
    /// The architecture.
    pub arch: &'a Arch,
    /// The frame shape `[c, h, w]`.
    pub frame: &'a [usize],
    /// How each layer's weights are stored and enter.
    pub layout: &'a Layout,
    /// Dropout probability on the input and after every binary activation of a vector (the
    /// regularizer of Brevitas' bnn_pynq FC networks); 0 for none. Training only.
    pub dropout: f32,
}

/// Drops each value of `x` with probability `p` and scales the rest by 1/(1 − p), with the
/// mask drawn from `rng` (so a seed gives the same masks).
fn dropout(x: Tensor<2>, p: f32, rng: &mut ChaCha8Rng) -> Tensor<2> {
    let [b, c] = x.dims();
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..b * c)
        .map(|_| if rng.gen::<f32>() < p { 0.0 } else { keep })
        .collect();
    let mask = Tensor::<2>::from_data(TensorData::new(mask, [b, c]), &x.device());
    x * mask
}

impl Forward<'_> {
    /// The input batch as the first layer takes it: vectors for a dense first layer, maps
    /// otherwise.
    fn input(&self, values: &[f32], batch: usize, device: &Device) -> Value {
        let per: usize = self.frame.iter().product();
        let data = TensorData::new(values.to_vec(), [batch, per]);
        let x = Tensor::<2>::from_data(data, device);
        match self.arch.layers[0] {
            Layer::Dense { .. } => Value::Flat(x),
            _ => Value::Map(x.reshape([batch, self.frame[0], self.frame[1], self.frame[2]])),
        }
    }

    /// Runs the network on `batch` frames. With `train`, BatchNorm uses the batch's statistics
    /// and the result carries the gradients; otherwise the running statistics, no autodiff.
    /// `norms` says which BatchNorms take the batch's statistics with `train`.
    fn run(
        &self,
        params: &Params,
        leaves: &[Tensor<1>],
        x: Value,
        mut train: Option<&mut ChaCha8Rng>,
        norms: Norms,
    ) -> Ran {
        let p = self.dropout;
        let drop = |x: Value, rng: &mut Option<&mut ChaCha8Rng>| match (x, rng) {
            (Value::Flat(x), Some(rng)) if p > 0.0 => Value::Flat(dropout(x, p, rng)),
            (x, _) => x,
        };
        let mut x = drop(x, &mut train);
        let is_training = train.is_some();
        let mut next_leaf = 0;
        let mut take = || {
            next_leaf += 1;
            leaves[next_leaf - 1].clone()
        };
        let mut stats = Vec::new();
        let (settled, measure) = match norms {
            Norms::Batch => (0, false),
            Norms::Measure(k) => (k, true),
        };
        let mut seen = 0;
        let mut batch_stats = || {
            seen += 1;
            is_training && seen > settled
        };
        let mut extra_loss: Option<Tensor<1>> = None;
        let mut matrices = params.matrices.iter();
        let fmt = self.arch.stream;
        let siman = self.layout.form == WeightForm::Magnitude;
        for layer in &self.arch.layers {
            if measure && !stats.is_empty() {
                // The statistics asked for are in: the rest of the pass would be discarded.
                let device = leaves[0].device();
                return (Tensor::zeros([1, 1], &device), stats, None);
            }
            match *layer {
                Layer::MaxPool { kernel } => {
                    x = Value::Map(max_pool2d(x.map(), MaxPoolOptions::new([kernel, kernel])));
                    continue;
                }
                Layer::Sign => {
                    x = if siman {
                        mean_sign(x, self.surrogate())
                    } else {
                        binary_activation(x, self.surrogate())
                    };
                    continue;
                }
                Layer::GlobalPool => {
                    // The mean: the exported sum differs by the positive factor H·W, which the
                    // class layer's argmax does not see.
                    let m = x.map();
                    let [b, c, _, _] = m.dims();
                    x = Value::Flat(m.mean_dim(2).mean_dim(3).reshape([b, c]));
                    continue;
                }
                _ => {}
            }
            let m = matrices.next().expect("one parameter set per matrix layer");
            let (w, penalty) = self.weight(m, &mut take, is_training);
            if let Some(p) = penalty {
                extra_loss = Some(match extra_loss {
                    Some(l) => l + p,
                    None => p,
                });
            }
            let s = m.weight.shape.clone();
            let conv = |mx: Tensor<4>, w: Tensor<2>, stride: usize, pad: usize| {
                let w = w.reshape([s[0], s[1], s[2], s[3]]);
                let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
                conv2d(mx, w, None, options)
            };
            let y = match *layer {
                Layer::Dense { .. } => Value::Flat(x.flat().matmul(w.transpose())),
                Layer::Conv {
                    stride,
                    pad,
                    pad_mode,
                    ..
                } => {
                    // Zero padding is the convolution's own; −1 is padded onto the map first.
                    let (mx, pad) = match pad_mode {
                        PadMode::Zero => (x.map(), pad),
                        PadMode::MinusOne => (
                            x.map().pad((pad, pad, pad, pad), TensorPad::Constant(-1.0)),
                            0,
                        ),
                    };
                    Value::Map(conv(mx, w, stride, pad))
                }
                Layer::Stem { stride, pad, .. } => Value::Map(conv(x.map(), w, stride, pad)),
                Layer::Block { out, stride } => {
                    let input = x.map();
                    let bn = m.bn.as_ref().expect("a block has its BatchNorm");
                    // The leaves in `Params::trained`'s order: γ, β, then RSign's bias.
                    let (gamma, beta) = (take(), take());
                    let signed = Value::Map(input.clone());
                    let bits = match m.block.as_ref().and_then(|b| b.sign_bias.as_ref()) {
                        Some(_) => {
                            binary_activation(add_channel_bias(signed, take()), self.surrogate())
                        }
                        None => mean_sign(signed, self.surrogate()),
                    };
                    let y = Value::Map(conv(bits.map(), w, stride, 1));
                    let (normed, batch) = batch_norm(y, bn, gamma, beta, batch_stats());
                    stats.extend(batch);
                    let main = to_stream(normed.map(), fmt);
                    let short = shortcut(input, stride, out, siman, fmt);
                    let joined = to_stream(main + short, fmt);
                    let (shift, slope, after) = (take(), take(), take());
                    x = Value::Map(rprelu(joined, shift, slope, after, fmt));
                    continue;
                }
                Layer::MaxPool { .. } | Layer::Sign | Layer::GlobalPool => {
                    unreachable!("handled above")
                }
            };
            x = match &m.bn {
                None if m.hidden => drop(mean_sign(y, self.surrogate()), &mut train),
                None => y,
                Some(bn) => {
                    let gamma = take();
                    let beta = take();
                    let (normed, batch) = batch_norm(y, bn, gamma, beta, batch_stats());
                    stats.extend(batch);
                    if m.stream {
                        Value::Map(to_stream(normed.map(), fmt))
                    } else {
                        let shifted = match &m.act_bias {
                            Some(_) => add_channel_bias(normed, take()),
                            None => normed,
                        };
                        let activation = match self.arch.levels() {
                            1 => binary_activation(shifted, self.surrogate()),
                            n => levels_activation(shifted, n),
                        };
                        drop(activation, &mut train)
                    }
                }
            };
        }
        let scores = x.flat();
        let temperature = take().exp();
        let logits = scores * temperature.unsqueeze_dim::<2>(0);
        (logits, stats, extra_loss)
    }

    fn surrogate(&self) -> Surrogate {
        match self.layout.form {
            WeightForm::Scaled { .. } | WeightForm::Magnitude => Surrogate::ApproxSign,
            _ => Surrogate::Hardtanh,
        }
    }

    /// The weight matrix `[out, fan-in]` a layer computes with, from its trained tensors (taken
    /// in [`Params::trained`]'s order), and the method's extra loss term if any.
    fn weight(
        &self,
        m: &MatrixParams,
        take: &mut dyn FnMut() -> Tensor<1>,
        training: bool,
    ) -> (Tensor<2>, Option<Tensor<1>>) {
        let out = m.weight.shape[0];
        let n = m.weight.data.len();
        let fan_in = n / out;
        let w = take().reshape([out, fan_in]);
        let scale = m.scale.as_ref().map(|_| take());
        let recurrent = m.recurrent.as_ref().map(|_| take());
        let patterns = m.codebook.as_ref().map(|_| take());
        if m.int8 {
            return (int8_weight(w, m.hidden), None);
        }
        let device = w.device();
        let constant = |values: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(values, shape), &device)
        };
        let ones = |bits: Vec<bool>| bits.into_iter().map(f32::from).collect::<Vec<f32>>();
        match self.layout.form {
            WeightForm::PlusMinusOne => (w, None),
            WeightForm::Scaled { lambda, .. } => {
                let Some(s) = scale else {
                    return (straight_sign(w), None);
                };
                let w = match (&m.recurrent, recurrent, &m.prev_grad) {
                    (Some(_), Some(u), Some(prev)) if training => {
                        let s_host = &m.scale.as_ref().expect("scaled").data;
                        let mask = ones(scheme::smallest_scale_mask(s_host));
                        let um = u.reshape([out, 1]) * constant(mask, [out, 1]);
                        w - constant(prev.clone(), [out, fan_in]) * um
                    }
                    _ => w,
                };
                let a = s.abs().reshape([out, 1]);
                let b = sign_ge(w.clone()).detach();
                let alpha_b = a.clone() * b * 0.02;
                let aw = a * w.clone();
                let used = straight_through(alpha_b.clone(), aw);
                let penalty = training.then(|| (w - alpha_b).square().sum() * (lambda / 2.0));
                (used, penalty)
            }
            WeightForm::Magnitude => {
                let mask: Vec<bool> = m
                    .weight
                    .data
                    .chunks(fan_in)
                    .flat_map(scheme::magnitude_mask)
                    .collect();
                let centred = w.clone() - w.mean_dim(1);
                let var = centred.clone().square().sum_dim(1) / (fan_in.max(2) - 1) as f32;
                let x = (centred / (var + 1e-5).sqrt()).abs();
                let used = straight_through(constant(ones(mask), [out, fan_in]), x);
                match scale {
                    Some(alpha) => (used * alpha.reshape([out, 1]), None),
                    None => (used, None),
                }
            }
            WeightForm::Tiled => {
                let p = m.tiles;
                let l = n / p;
                let tile = scheme::tile_bits(&m.weight.data, p);
                let pm1: Vec<f32> = tile.iter().map(|&b| if b { 1.0 } else { -1.0 }).collect();
                let w = w.reshape([p, l]);
                let used = straight_through(constant(pm1.repeat(p), [p, l]), w.clone());
                let used = if m.hidden {
                    used * w.abs().mean_dim(1)
                } else {
                    used
                };
                (used.reshape([out, fan_in]), None)
            }
            WeightForm::Codebook => {
                let (Some(cb), Some(p)) = (&m.codebook, patterns) else {
                    return (straight_sign(w), None);
                };
                let k = scheme::KERNEL;
                let rows = n / k;
                let idx = scheme::assign(&m.weight.data, &cb.memory);
                let chosen: Vec<f32> = idx
                    .iter()
                    .flat_map(|&e| cb.memory[e * k..(e + 1) * k].iter().copied())
                    .collect();
                let alpha = scheme::filter_mean_magnitude(&m.weight.data, out);
                let ids: Vec<i64> = idx.iter().map(|&e| e as i64).collect();
                let ids = Tensor::<1, Int>::from_data(TensorData::new(ids, [rows]), &device);
                let picked = p.reshape([1 << cb.tau, k]).select(0, ids);
                let h = w.reshape([rows, k]).clamp(-1.0, 1.0);
                let used = straight_through(constant(chosen, [rows, k]), h + picked);
                (
                    used.reshape([out, fan_in]) * constant(alpha, [out, 1]),
                    None,
                )
            }
            WeightForm::SignOfLatent => (straight_sign(w), None),
        }
    }

    /// One training step's forward and backward pass on `batch` frames.
    pub fn step(
        &self,
        params: &Params,
        values: &[f32],
        labels: &[i64],
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> StepOutput {
        let batch = labels.len();
        let leaves: Vec<Tensor<1>> = params
            .leaves(device)
            .into_iter()
            .map(|t| t.require_grad())
            .collect();
        let x = self.input(values, batch, device);
        let (logits, stats, extra_loss) = self.run(params, &leaves, x, Some(rng), Norms::Batch);
        let classes = logits.dims()[1];
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [batch]), device);
        let one_hot: Tensor<2> = targets.one_hot::<2>(classes).float();
        let correct = count_correct(logits.clone(), labels);
        let loss = -(log_softmax(logits, 1) * one_hot).sum() / batch as f32;
        let loss = match extra_loss {
            Some(extra) => loss + extra,
            None => loss,
        };
        let grads = loss.backward();
        let loss_value = loss.into_data().try_into_vec::<f32>().expect("f32 loss")[0];
        let grads = leaves
            .iter()
            .map(|leaf| {
                leaf.grad(&grads)
                    .map(|g| g.into_data().try_into_vec::<f32>().expect("f32 gradient"))
                    .unwrap_or_else(|| vec![0.0; leaf.dims()[0]])
            })
            .collect();
        let batch_stats = stats
            .into_iter()
            .map(|(m, v, n)| (host(m), host(v), n))
            .collect();
        StepOutput {
            loss: loss_value,
            correct,
            grads,
            batch_stats,
        }
    }

    /// Every BatchNorm's population statistics over `frames` frames in batches of `batch`, as
    /// "precise BatchNorm" computes them (Wu & Johnson, 2021): per channel the mean of the batch
    /// means and of the unbiased batch variances, no gradient. One BatchNorm at a time, in
    /// order, each measured with those before it already on their population statistics, so
    /// every layer's statistics are those of the inputs it sees when evaluated.
    pub fn precise_statistics(
        &self,
        params: &Params,
        values: &[f32],
        frames: usize,
        batch: usize,
        device: &Device,
    ) -> Vec<(Vec<f32>, Vec<f32>)> {
        let mut settled = params.clone();
        let count = params.matrices.iter().filter(|m| m.bn.is_some()).count();
        let mut out = Vec::with_capacity(count);
        for k in 0..count {
            let (mean, var) = self.batch_statistics(&settled, k, values, frames, batch, device);
            let bn = settled
                .matrices
                .iter_mut()
                .filter_map(|m| m.bn.as_mut())
                .nth(k)
                .expect("k counts the BatchNorms");
            (bn.mean, bn.var) = (mean.clone(), var.clone());
            out.push((mean, var));
        }
        out
    }

    /// BatchNorm `k`'s population statistics over the frames, the BatchNorms before it on
    /// their running statistics.
    fn batch_statistics(
        &self,
        params: &Params,
        k: usize,
        values: &[f32],
        frames: usize,
        batch: usize,
        device: &Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let per: usize = self.frame.iter().product();
        let leaves = params.leaves(device);
        // Dropout off: the statistics of the network as it is evaluated.
        let quiet = Forward {
            dropout: 0.0,
            ..*self
        };
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (mut means, mut vars): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        let mut batches = 0usize;
        for start in (0..frames).step_by(batch) {
            let n = (frames - start).min(batch);
            let x = quiet.input(&values[start * per..(start + n) * per], n, device);
            let (_, stats, _) = quiet.run(params, &leaves, x, Some(&mut rng), Norms::Measure(k));
            let (mean, var, count) = stats.into_iter().next().expect("BatchNorm k ran on batch");
            let (mean, var) = (host(mean), host(var));
            means.resize(mean.len(), 0.0);
            vars.resize(var.len(), 0.0);
            let unbias = count as f64 / (count.max(2) - 1) as f64;
            for c in 0..mean.len() {
                means[c] += mean[c] as f64;
                vars[c] += var[c] as f64 * unbias;
            }
            batches += 1;
        }
        let avg = |v: Vec<f64>| v.into_iter().map(|x| (x / batches as f64) as f32).collect();
        (avg(means), avg(vars))
    }

    /// The float network's predicted class of every frame (BatchNorm on running statistics).
    pub fn predict(
        &self,
        params: &Params,
        values: &[f32],
        frames: usize,
        device: &Device,
    ) -> Vec<usize> {
        let per: usize = self.frame.iter().product();
        let leaves = params.leaves(device);
        let mut out = Vec::with_capacity(frames);
        // Chunks keep the activations of a large held-out set small.
        for start in (0..frames).step_by(500) {
            let n = (frames - start).min(500);
            let x = self.input(&values[start * per..(start + n) * per], n, device);
            let (logits, _, _) = self.run(params, &leaves, x, None, Norms::Batch);
            let classes = logits.dims()[1];
            let v = host2(logits);
            out.extend(v.chunks(classes).map(argmax_first));
        }
        out
    }
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("f32 tensor")
}

fn host2(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().expect("f32 tensor")
}

/// The lowest index of the largest value (the simulator's rule on ties).
pub fn argmax_first(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn count_correct(logits: Tensor<2>, labels: &[i64]) -> usize {
    let classes = logits.dims()[1];
    let v = host2(logits.detach());
    v.chunks(classes)
        .zip(labels)
        .filter(|(row, &l)| argmax_first(row) == l as usize)
        .count()
}

/// BatchNorm over the batch (and the map's positions) when training, over the running
/// statistics otherwise; returns the batch mean and biased variance when training.
fn batch_norm(
    y: Value,
    bn: &BatchNorm,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    train: bool,
) -> (Value, Option<(Tensor<1>, Tensor<1>, usize)>) {
    let device = gamma.device();
    match y {
        Value::Flat(y) => {
            let [b, c] = y.dims();
            let (mean, var) = if train {
                let mean = y.clone().mean_dim(0);
                let var = (y.clone() - mean.clone()).square().mean_dim(0);
                (mean, var)
            } else {
                (
                    tensor1(&bn.mean, &device).reshape([1, c]),
                    tensor1(&bn.var, &device).reshape([1, c]),
                )
            };
            let normed = (y - mean.clone()) / (var.clone() + BN_EPS).sqrt();
            let out = normed * gamma.reshape([1, c]) + beta.reshape([1, c]);
            let stats = train.then(|| (mean.detach().reshape([c]), var.detach().reshape([c]), b));
            (Value::Flat(out), stats)
        }
        Value::Map(y) => {
            let [b, c, h, w] = y.dims();
            let (mean, var) = if train {
                let mean = y.clone().mean_dim(0).mean_dim(2).mean_dim(3);
                let var = (y.clone() - mean.clone())
                    .square()
                    .mean_dim(0)
                    .mean_dim(2)
                    .mean_dim(3);
                (mean, var)
            } else {
                (
                    tensor1(&bn.mean, &device).reshape([1, c, 1, 1]),
                    tensor1(&bn.var, &device).reshape([1, c, 1, 1]),
                )
            };
            let normed = (y - mean.clone()) / (var.clone() + BN_EPS).sqrt();
            let out = normed * gamma.reshape([1, c, 1, 1]) + beta.reshape([1, c, 1, 1]);
            let stats = train.then(|| {
                (
                    mean.detach().reshape([c]),
                    var.detach().reshape([c]),
                    b * h * w,
                )
            });
            (Value::Map(out), stats)
        }
    }
}

/// Folds a batch's statistics into the running ones, as PyTorch does: the mean and the
/// unbiased variance of the `n` values per channel, with momentum [`BN_MOMENTUM`].
pub fn update_running(bn: &mut BatchNorm, mean: &[f32], biased_var: &[f32], n: usize) {
    let unbias = n as f32 / (n.max(2) - 1) as f32;
    for c in 0..bn.mean.len() {
        bn.mean[c] = (1.0 - BN_MOMENTUM) * bn.mean[c] + BN_MOMENTUM * mean[c];
        bn.var[c] = (1.0 - BN_MOMENTUM) * bn.var[c] + BN_MOMENTUM * biased_var[c] * unbias;
    }
}
