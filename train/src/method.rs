//! The training methods and their hyper-parameters, with each paper's defaults and schedules.

use crate::arch::MatrixLayer;
use crate::error::TrainError;
use crate::net::{Layout, WeightForm};
use crate::optim::{BopOrder, BopRates};
use serde::{Deserialize, Serialize};

/// A training method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// BinaryNet (Courbariaux, Hubara et al. 2016) as Brevitas' bnn_pynq trains it: latent real
    /// weights clipped to [−1, 1], sign forward, straight-through backward, BatchNorm, Adam with
    /// a cosine schedule, cross-entropy.
    Binarynet,
    /// Bop (Helwegen et al. 2019): the ±1 weights themselves, flipped when the gradient's
    /// moving average exceeds τ against their sign; Adam for BatchNorm.
    Bop,
    /// Bop2ndOrder (Suarez-Ramirez et al. 2021), biased: the moving average normalized by the
    /// root of the squared gradient's.
    Bop2,
    /// Bop2ndOrder with the moments divided by γ and σ ("unbiased").
    Bop2Unbiased,
    /// ReBNN (Xu et al. 2023): weights 0.02·|s|·sign(W) with a learned scale s per output
    /// channel, the weighted reconstruction term λ = 2e-4, learnable activation biases
    /// (RSign) and ApproxSign's gradient.
    Rebnn,
    /// RBONN (Xu et al. 2022): ReBNN's layer (λ = 1e-4) with the recurrent bilinear update of
    /// the 40% smallest-scale channels' latent weights.
    Rbonn,
    /// SiMaN (Lin et al. 2022): {0, +1} weights, the upper half of each filter by standardized
    /// magnitude, a learned scale per channel, no ℓ2 on the latent weights.
    Siman,
    /// Tiled Bit Networks (Gorbett et al. 2024): one binary tile per layer repeated p times,
    /// with p positive scales.
    Tiled,
    /// Sub-bit Neural Networks (Wang et al. 2021): every 3×3 kernel from a learned codebook of
    /// 2^τ binary kernels.
    Codebook,
}

/// Every method, in the order `--help` lists them.
pub const METHODS: &[(Method, &str, &str)] = &[
    (
        Method::Binarynet,
        "binarynet",
        "±1 weights and activations, straight-through estimator, BatchNorm, Adam (Brevitas bnn_pynq)",
    ),
    (
        Method::Bop,
        "bop",
        "Bop flip optimizer for the ±1 weights, Adam for the rest",
    ),
    (
        Method::Bop2,
        "bop2",
        "Bop2ndOrder (biased) flip optimizer for the ±1 weights, Adam for the rest",
    ),
    (
        Method::Bop2Unbiased,
        "bop2-unbiased",
        "Bop2ndOrder (bias-corrected) flip optimizer for the ±1 weights, Adam for the rest",
    ),
    (
        Method::Rebnn,
        "rebnn",
        "ReBNN: learned per-channel weight scales, reconstruction term, activation biases",
    ),
    (
        Method::Rbonn,
        "rbonn",
        "RBONN: ReBNN's layer with the recurrent bilinear update",
    ),
    (
        Method::Siman,
        "siman",
        "SiMaN: {0,+1} weights by magnitude per filter, sign around each frame's mean",
    ),
    (
        Method::Tiled,
        "tiled",
        "Tiled Bit Networks: one binary tile per layer repeated p times (--tiles), p scales",
    ),
    (
        Method::Codebook,
        "codebook",
        "Sub-bit Neural Networks: 3x3 kernels from a learned codebook of 2^tau (--tau)",
    ),
];

impl Method {
    /// The method called `name` on the command line.
    pub fn parse(name: &str) -> Result<Method, TrainError> {
        METHODS
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(m, _, _)| *m)
            .ok_or_else(|| {
                let names: Vec<&str> = METHODS.iter().map(|(_, n, _)| *n).collect();
                TrainError::Input(format!(
                    "unknown method `{name}`; the methods are {}",
                    names.join(", ")
                ))
            })
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        METHODS
            .iter()
            .find(|(m, _, _)| *m == self)
            .map(|(_, n, _)| *n)
            .expect("every method is listed")
    }

    /// How the binary weights enter the forward pass.
    pub fn weight_form(self) -> WeightForm {
        match self {
            Method::Binarynet => WeightForm::SignOfLatent,
            Method::Bop | Method::Bop2 | Method::Bop2Unbiased => WeightForm::PlusMinusOne,
            Method::Rebnn => WeightForm::Scaled {
                lambda: 2e-4,
                recurrent: false,
            },
            Method::Rbonn => WeightForm::Scaled {
                lambda: 1e-4,
                recurrent: true,
            },
            Method::Siman => WeightForm::Magnitude,
            Method::Tiled => WeightForm::Tiled,
            Method::Codebook => WeightForm::Codebook,
        }
    }

    /// Whether the method keeps its latent weights in [−1, 1] after each step (BinaryNet's
    /// clip; the others' code does not clip).
    pub fn clips_latents(self) -> bool {
        self == Method::Binarynet
    }

    /// The flip rule, for flip optimizers.
    pub fn bop_order(self) -> Option<BopOrder> {
        match self {
            Method::Bop => Some(BopOrder::First),
            Method::Bop2 => Some(BopOrder::Second),
            Method::Bop2Unbiased => Some(BopOrder::SecondUnbiased),
            _ => None,
        }
    }
}

/// Hyper-parameters of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyper {
    /// Epochs.
    pub epochs: usize,
    /// Frames per batch.
    pub batch: usize,
    /// Adam's learning rate at the first epoch.
    pub lr: f32,
    /// Adam's learning rate at the last epoch (linear from `lr`); `None`: cosine to 0 over the
    /// run, stepped per epoch (PyTorch's CosineAnnealingLR).
    pub lr_end: Option<f32>,
    /// Dropout probability (training only); `None`: the architecture's default (0.2 for the
    /// binary MLPs, as Brevitas' bnn_pynq FC, 0 for the convolutional networks).
    pub dropout: Option<f32>,
    /// Bop's γ, τ, σ at the first epoch.
    pub bop_start: Option<Rates>,
    /// Bop's γ, τ, σ at the last epoch (linear from the start), or `None` for constant rates.
    pub bop_end: Option<Rates>,
    /// TBN's tiling (tiled method only).
    pub tiles: Option<Tiles>,
    /// SNN's codebook index width τ (codebook method only).
    pub tau: Option<u32>,
}

/// How a tiled network tiles its layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tiles {
    /// One p for every hidden layer of at least `min_weights` weights, or one p per matrix
    /// layer (class layer included).
    pub p: Vec<usize>,
    /// With one global p: layers with fewer weights stay untiled, as TBN's
    /// `min_compress_size`. The class layer always stays untiled then (TBN's MNIST network).
    pub min_weights: usize,
}

/// TBN's global p unless told otherwise (its ImageNet and MNIST settings use 4).
pub const DEFAULT_TILES: usize = 4;
/// Layers below this many weights stay untiled with a global p (TBN's ImageNet uses 150,000
/// and CIFAR 64,000 on networks 100× larger; MNIST's hidden 64×64 layers have 4,096).
pub const DEFAULT_TILE_MIN: usize = 2048;
/// SNN's default index width (its `--bit-num`).
pub const DEFAULT_TAU: u32 = 5;

/// Bop's rates, serializable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// γ.
    pub gamma: f32,
    /// τ.
    pub tau: f32,
    /// σ.
    pub sigma: f32,
}

impl Hyper {
    /// The method's defaults for `epochs` epochs. BinaryNet: models/train_tfc_w1a1.py's Brevitas
    /// recipe (batch 100, Adam 0.02 cosine). Bop: batch 50, Adam 0.01 constant, γ 1e-4, τ 1e-8
    /// (Helwegen et al.'s CIFAR-10 setting; their ×0.1 decays of γ are left to --bop-end).
    /// Bop2ndOrder: batch 50, and linear over the run from γ 1e-2, τ 1e-5, σ 1e-7 to γ 1e-5,
    /// τ 1e-8, σ 1e-2 with Adam 0.01 → 0.001 (the paper's CIFAR-10 schedules).
    /// ReBNN/RBONN: batch 100, Adam 0.01 falling linearly to 0 (their lr·(1 − e/E)); SiMaN,
    /// TBN and SNN: batch 100, Adam 0.01 cosine (SiMaN's and TBN's SGD recipes are for
    /// CIFAR-scale runs of hundreds of epochs; Adam is what ReActNet-style code uses).
    pub fn defaults(method: Method, epochs: usize) -> Hyper {
        let adam = |lr: f32, lr_end: Option<f32>| Hyper {
            epochs,
            batch: 100,
            lr,
            lr_end,
            dropout: None,
            bop_start: None,
            bop_end: None,
            tiles: None,
            tau: None,
        };
        match method {
            Method::Binarynet => adam(0.02, None),
            Method::Rebnn | Method::Rbonn => adam(0.01, Some(0.01 / epochs.max(1) as f32)),
            Method::Siman => adam(0.01, None),
            Method::Tiled => Hyper {
                tiles: Some(Tiles {
                    p: vec![DEFAULT_TILES],
                    min_weights: DEFAULT_TILE_MIN,
                }),
                ..adam(0.01, None)
            },
            Method::Codebook => Hyper {
                tau: Some(DEFAULT_TAU),
                ..adam(0.01, None)
            },
            Method::Bop => Hyper {
                epochs,
                batch: 50,
                lr: 0.01,
                lr_end: Some(0.01),
                dropout: None,
                bop_start: Some(Rates {
                    gamma: 1e-4,
                    tau: 1e-8,
                    sigma: 0.0,
                }),
                bop_end: None,
                tiles: None,
                tau: None,
            },
            Method::Bop2 | Method::Bop2Unbiased => Hyper {
                epochs,
                batch: 50,
                lr: 0.01,
                lr_end: Some(0.001),
                dropout: None,
                bop_start: Some(Rates {
                    gamma: 1e-2,
                    tau: 1e-5,
                    sigma: 1e-7,
                }),
                bop_end: Some(Rates {
                    gamma: 1e-5,
                    tau: 1e-8,
                    sigma: 1e-2,
                }),
                tiles: None,
                tau: None,
            },
        }
    }

    /// Checks the values, naming the first bad one.
    pub fn check(&self) -> Result<(), TrainError> {
        let bad = |what: &str, why: &str| Err(TrainError::Input(format!("{what}: {why}")));
        if self.epochs == 0 {
            return bad("--epochs", "must be at least 1");
        }
        if self.batch == 0 {
            return bad("--batch", "must be at least 1");
        }
        for (what, v) in [("--lr", Some(self.lr)), ("--lr-end", self.lr_end)] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return bad(what, "must be a finite number ≥ 0");
                }
            }
        }
        if let Some(p) = self.dropout {
            if !(0.0..1.0).contains(&p) {
                return bad("--dropout", "must be at least 0 and below 1");
            }
        }
        for rates in self.bop_start.iter().chain(&self.bop_end) {
            for (what, v) in [("γ", rates.gamma), ("τ", rates.tau), ("σ", rates.sigma)] {
                if !(v.is_finite() && v >= 0.0) {
                    return bad("Bop rates", &format!("{what} must be a finite number ≥ 0"));
                }
            }
        }
        if let Some(tiles) = &self.tiles {
            if tiles.p.is_empty() || tiles.p.contains(&0) {
                return bad("--tiles", "every p must be at least 1");
            }
        }
        if let Some(tau) = self.tau {
            if !(1..=9).contains(&tau) {
                return bad(
                    "--tau",
                    "must be 1 to 9 (a 3x3 binary kernel has 2^9 patterns)",
                );
            }
        }
        Ok(())
    }

    /// Each matrix layer's storage for `method` on `layers` (`Arch::matrices`): the tiles p
    /// per layer and the codebook width, or an error naming the layer that cannot take them.
    pub fn layout(&self, method: Method, layers: &[MatrixLayer]) -> Result<Layout, TrainError> {
        let mut tiles = vec![1; layers.len()];
        if let (Method::Tiled, Some(t)) = (method, &self.tiles) {
            if let [p] = t.p[..] {
                let hidden = &layers[..layers.len() - 1];
                for (i, layer) in hidden.iter().enumerate() {
                    if layer.weights >= t.min_weights && !layer.int8 {
                        tiles[i] = p;
                    }
                }
                if p > 1 && tiles.iter().all(|&t| t == 1) {
                    return Err(TrainError::Input(format!(
                        "--tiles {p}: no hidden layer has --tile-min {} weights or more ({}), so \
                         nothing would be tiled; lower --tile-min or give p per layer",
                        t.min_weights,
                        names(layers)
                    )));
                }
            } else if t.p.len() == layers.len() {
                tiles.clone_from(&t.p);
            } else {
                return Err(TrainError::Input(format!(
                    "--tiles: {} values for {} matrix layers ({}); give one p, or one per layer",
                    t.p.len(),
                    layers.len(),
                    names(layers)
                )));
            }
            for (layer, &p) in layers.iter().zip(&tiles) {
                if layer.int8 && p > 1 {
                    return Err(TrainError::Input(format!(
                        "--tiles: {} has int8 weights, which are not tiled; give it p = 1",
                        layer.name
                    )));
                }
                if layer.weights % p != 0 {
                    return Err(TrainError::Input(format!(
                        "--tiles: p = {p} does not divide {}'s {} weights (a tile repeats a \
                         whole number of times)",
                        layer.name, layer.weights
                    )));
                }
            }
        }
        let tau = (method == Method::Codebook).then_some(self.tau).flatten();
        if tau.is_some() && !layers.iter().any(|l| l.is_3x3) {
            return Err(TrainError::Input(format!(
                "--method codebook: no 3x3 convolution to store as codebook indices among {}; \
                 use a convolutional architecture (cnv-small, cnv)",
                names(layers)
            )));
        }
        Ok(Layout {
            form: method.weight_form(),
            tiles,
            tau,
        })
    }

    /// Position of epoch `e` (0-based) in the run: 0 at the first epoch, 1 at the last.
    fn progress(&self, e: usize) -> f32 {
        if self.epochs <= 1 {
            0.0
        } else {
            e as f32 / (self.epochs - 1) as f32
        }
    }

    /// Adam's learning rate in epoch `e` (0-based).
    pub fn lr_at(&self, e: usize) -> f32 {
        match self.lr_end {
            Some(end) => self.lr + (end - self.lr) * self.progress(e),
            None => {
                let angle = std::f32::consts::PI * e as f32 / self.epochs as f32;
                0.5 * self.lr * (1.0 + angle.cos())
            }
        }
    }

    /// Bop's rates in epoch `e` (0-based).
    pub fn bop_at(&self, e: usize) -> Option<BopRates> {
        let start = self.bop_start?;
        let r = match self.bop_end {
            None => start,
            Some(end) => {
                let p = self.progress(e);
                let lerp = |a: f32, b: f32| a + (b - a) * p;
                Rates {
                    gamma: lerp(start.gamma, end.gamma),
                    tau: lerp(start.tau, end.tau),
                    sigma: lerp(start.sigma, end.sigma),
                }
            }
        };
        Some(BopRates {
            gamma: r.gamma,
            tau: r.tau,
            sigma: r.sigma,
        })
    }
}

fn names(layers: &[MatrixLayer]) -> String {
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_starts_at_lr_and_halves_midway() {
        let h = Hyper::defaults(Method::Binarynet, 40);
        assert_eq!(h.lr_at(0), 0.02);
        assert!((h.lr_at(20) - 0.01).abs() < 1e-7);
    }

    #[test]
    fn bop2_schedule_reaches_its_end_at_the_last_epoch() {
        let h = Hyper::defaults(Method::Bop2, 11);
        let last = h.bop_at(10).unwrap();
        assert!((last.gamma - 1e-5).abs() < 1e-9 && (last.sigma - 1e-2).abs() < 1e-9);
        assert!((h.lr_at(10) - 0.001).abs() < 1e-7);
    }

    #[test]
    fn names_round_trip() {
        for (m, name, _) in METHODS {
            assert_eq!(Method::parse(name).unwrap(), *m);
        }
    }
}
