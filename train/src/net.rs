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

use crate::arch::{Arch, Layer};
use burn::tensor::activation::log_softmax;
use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::Rng;
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
    /// BatchNorm before the sign; `None` for the class layer.
    pub bn: Option<BatchNorm>,
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
    /// A real parameter: BatchNorm γ and β, the temperature.
    Real,
}

impl Params {
    /// Fresh parameters for `arch` on frames shaped `frame`: weights uniform in
    /// ±1/√fan-in (PyTorch's default for linear and conv layers), γ = 1, β = 0, temperature
    /// 1/√fan-in of the class layer (so the first logits are of order one).
    pub fn init(arch: &Arch, frame: &[usize], rng: &mut ChaCha8Rng) -> Params {
        let mut shape = frame.to_vec();
        let mut matrices = Vec::new();
        let last = arch.layers.len() - 1;
        let mut class_fan_in = 1;
        for (i, layer) in arch.layers.iter().enumerate() {
            let (wshape, next) = match *layer {
                Layer::Dense { out } => {
                    let fan_in: usize = shape.iter().product();
                    (vec![out, fan_in], vec![out])
                }
                Layer::Conv {
                    out,
                    kernel,
                    stride,
                    pad,
                } => {
                    let side = |d: usize| (d + 2 * pad - kernel) / stride + 1;
                    (
                        vec![out, shape[0], kernel, kernel],
                        vec![out, side(shape[1]), side(shape[2])],
                    )
                }
                Layer::MaxPool { kernel } => {
                    shape = vec![shape[0], shape[1] / kernel, shape[2] / kernel];
                    continue;
                }
            };
            let fan_in: usize = wshape[1..].iter().product();
            let bound = 1.0 / (fan_in as f32).sqrt();
            let n: usize = wshape.iter().product();
            let data = (0..n).map(|_| rng.gen_range(-bound..bound)).collect();
            let out = wshape[0];
            let bn = (i != last).then(|| BatchNorm {
                gamma: HostTensor::filled(vec![out], 1.0),
                beta: HostTensor::filled(vec![out], 0.0),
                mean: vec![0.0; out],
                var: vec![1.0; out],
            });
            if i == last {
                class_fan_in = fan_in;
            }
            matrices.push(MatrixParams {
                layer: i,
                weight: HostTensor {
                    shape: wshape,
                    data,
                },
                bn,
            });
            shape = next;
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
            out.push((&m.weight, Role::BinaryWeight));
            if let Some(bn) = &m.bn {
                out.push((&bn.gamma, Role::Real));
                out.push((&bn.beta, Role::Real));
            }
        }
        out.push((&self.log_temperature, Role::Real));
        out
    }

    /// The trained tensors, mutable, in [`Params::trained`]'s order.
    pub fn trained_mut(&mut self) -> Vec<&mut HostTensor> {
        let mut out = Vec::new();
        for m in &mut self.matrices {
            out.push(&mut m.weight);
            if let Some(bn) = &mut m.bn {
                out.push(&mut bn.gamma);
                out.push(&mut bn.beta);
            }
        }
        out.push(&mut self.log_temperature);
        out
    }
}

/// How a binary layer's weight enters the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightForm {
    /// Latent reals: sign(w) forward, gradient straight through to w (BinaryNet).
    SignOfLatent,
    /// The stored ±1 values themselves (flip optimizers own them).
    PlusMinusOne,
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

/// Binary activation: sign forward, hardtanh's gradient (1 where |x| ≤ 1) backward.
fn binary_activation(x: Value) -> Value {
    match x {
        Value::Flat(x) => {
            let h = x.clone().clamp(-1.0, 1.0);
            Value::Flat(h.clone() + (sign_ge(x) - h).detach())
        }
        Value::Map(x) => {
            let h = x.clone().clamp(-1.0, 1.0);
            Value::Map(h.clone() + (sign_ge4(x) - h).detach())
        }
    }
}

fn tensor1(values: &[f32], device: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

/// Everything a forward pass needs besides the parameters.
pub struct Forward<'a> {
    /// The architecture.
    pub arch: &'a Arch,
    /// The frame shape `[c, h, w]`.
    pub frame: &'a [usize],
    /// How binary weights enter.
    pub form: WeightForm,
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
    fn run(
        &self,
        params: &Params,
        leaves: &[Tensor<1>],
        x: Value,
        mut train: Option<&mut ChaCha8Rng>,
    ) -> (Tensor<2>, Vec<(Tensor<1>, Tensor<1>, usize)>) {
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
        let mut matrices = params.matrices.iter();
        for layer in &self.arch.layers {
            if let Layer::MaxPool { kernel } = *layer {
                let Value::Map(m) = x else {
                    unreachable!("Arch::shapes checked a map")
                };
                x = Value::Map(max_pool2d(m, MaxPoolOptions::new([kernel, kernel])));
                continue;
            }
            let m = matrices.next().expect("one parameter set per matrix layer");
            let w = take();
            let w = match self.form {
                WeightForm::SignOfLatent => {
                    let s = w.clone().greater_equal_elem(0.0).float() * 2.0 - 1.0;
                    w.clone() + (s - w).detach()
                }
                WeightForm::PlusMinusOne => w,
            };
            let s = m.weight.shape.clone();
            let y = match *layer {
                Layer::Dense { out } => {
                    let x = x.flat();
                    let w = w.reshape([out, s[1]]);
                    Value::Flat(x.matmul(w.transpose()))
                }
                Layer::Conv { stride, pad, .. } => {
                    let Value::Map(mx) = x else {
                        unreachable!("Arch::shapes checked a map")
                    };
                    let w = w.reshape([s[0], s[1], s[2], s[3]]);
                    let options = ConvOptions::new([stride, stride], [pad, pad], [1, 1], 1);
                    Value::Map(conv2d(mx, w, None, options))
                }
                Layer::MaxPool { .. } => unreachable!("handled above"),
            };
            x = match &m.bn {
                None => y,
                Some(bn) => {
                    let gamma = take();
                    let beta = take();
                    let (normed, batch) = batch_norm(y, bn, gamma, beta, is_training);
                    stats.extend(batch);
                    drop(binary_activation(normed), &mut train)
                }
            };
        }
        let scores = x.flat();
        let temperature = take().exp();
        let logits = scores * temperature.unsqueeze_dim::<2>(0);
        (logits, stats)
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
            .trained()
            .iter()
            .map(|(t, _)| tensor1(&t.data, device).require_grad())
            .collect();
        let x = self.input(values, batch, device);
        let (logits, stats) = self.run(params, &leaves, x, Some(rng));
        let classes = logits.dims()[1];
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [batch]), device);
        let one_hot: Tensor<2> = targets.one_hot::<2>(classes).float();
        let correct = count_correct(logits.clone(), labels);
        let loss = -(log_softmax(logits, 1) * one_hot).sum() / batch as f32;
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

    /// The float network's predicted class of every frame (BatchNorm on running statistics).
    pub fn predict(
        &self,
        params: &Params,
        values: &[f32],
        frames: usize,
        device: &Device,
    ) -> Vec<usize> {
        let per: usize = self.frame.iter().product();
        let leaves: Vec<Tensor<1>> = params
            .trained()
            .iter()
            .map(|(t, _)| tensor1(&t.data, device))
            .collect();
        let mut out = Vec::with_capacity(frames);
        // Chunks keep the activations of a large held-out set small.
        for start in (0..frames).step_by(500) {
            let n = (frames - start).min(500);
            let x = self.input(&values[start * per..(start + n) * per], n, device);
            let (logits, _) = self.run(params, &leaves, x, None);
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
