//! The optimizers, elementwise over host vectors: Adam for real parameters and straight-through
//! latent weights, and the Bop flip rules for binary weights.
//!
//! Each optimizer's state is plain vectors, so a checkpoint holds it exactly and a resumed run
//! continues bit for bit.

use serde::{Deserialize, Serialize};

/// Adam (Kingma & Ba) with bias correction, β = (0.9, 0.999), ε = 1e-8, as PyTorch's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// First moments.
    pub m: Vec<f32>,
    /// Second moments.
    pub v: Vec<f32>,
    /// Steps taken.
    pub t: u64,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const ADAM_EPS: f32 = 1e-8;

impl Adam {
    /// A fresh state for `n` values.
    pub fn new(n: usize) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// One step of size `lr` on `x` with gradient `g`.
    pub fn step(&mut self, x: &mut [f32], g: &[f32], lr: f32) {
        self.t += 1;
        let c1 = 1.0 - BETA1.powi(self.t as i32);
        let c2 = 1.0 - BETA2.powi(self.t as i32);
        for i in 0..x.len() {
            self.m[i] = BETA1 * self.m[i] + (1.0 - BETA1) * g[i];
            self.v[i] = BETA2 * self.v[i] + (1.0 - BETA2) * g[i] * g[i];
            let m = self.m[i] / c1;
            let v = self.v[i] / c2;
            x[i] -= lr * m / (v.sqrt() + ADAM_EPS);
        }
    }
}

/// Bop's state for one binary weight tensor (Helwegen et al. 2019; the second-order variant of
/// Suarez-Ramirez et al. 2021).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bop {
    /// Exponential moving average of the gradient (biased: m₀ = 0, no correction).
    pub m: Vec<f32>,
    /// Exponential moving average of the squared gradient (second order only).
    pub v: Vec<f32>,
}

/// Which Bop rule flips a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BopOrder {
    /// Flip iff w·m > τ.
    First,
    /// Flip iff w·m/(√v + 1e-10) > τ.
    Second,
    /// Flip iff w·(m/γ)/(√(v/σ) + 1e-10) > τ: the moments divided by the current γ and σ.
    SecondUnbiased,
}

/// Bop's hyper-parameters at one step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BopRates {
    /// Adaptivity rate γ of the first moment.
    pub gamma: f32,
    /// Threshold τ.
    pub tau: f32,
    /// Adaptivity rate σ of the second moment (second order only).
    pub sigma: f32,
}

impl Bop {
    /// A fresh state for `n` weights.
    pub fn new(n: usize) -> Self {
        Bop {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// One step on the ±1 weights `w` with gradient `g`; returns how many weights flipped.
    /// A weight flips when w times the (normalized) moment exceeds τ — it has pushed against
    /// its own sign long and strongly enough.
    pub fn step(&mut self, w: &mut [f32], g: &[f32], order: BopOrder, r: BopRates) -> usize {
        let mut flips = 0;
        for i in 0..w.len() {
            self.m[i] += r.gamma * (g[i] - self.m[i]);
            let signal = match order {
                BopOrder::First => self.m[i],
                BopOrder::Second | BopOrder::SecondUnbiased => {
                    self.v[i] += r.sigma * (g[i] * g[i] - self.v[i]);
                    if order == BopOrder::Second {
                        self.m[i] / (self.v[i].sqrt() + 1e-10)
                    } else {
                        (self.m[i] / r.gamma) / ((self.v[i] / r.sigma).sqrt() + 1e-10)
                    }
                }
            };
            if w[i] * signal > r.tau {
                w[i] = -w[i];
                flips += 1;
            }
        }
        flips
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_first_step_moves_by_the_learning_rate() {
        // With bias correction the first step is lr·g/|g| whatever the gradient's size.
        let mut adam = Adam::new(2);
        let mut x = [1.0f32, -1.0];
        adam.step(&mut x, &[0.5, -3.0], 0.1);
        assert!(
            (x[0] - 0.9).abs() < 1e-6 && (x[1] + 0.9).abs() < 1e-6,
            "{x:?}"
        );
    }

    #[test]
    fn bop_flips_a_weight_its_gradient_pushes_against() {
        // w = +1 and a positive gradient (the loss falls as w falls): m = γ·g = 0.5·2 = 1 > τ.
        let mut bop = Bop::new(2);
        let mut w = [1.0f32, 1.0];
        let rates = BopRates {
            gamma: 0.5,
            tau: 0.9,
            sigma: 0.0,
        };
        let flips = bop.step(&mut w, &[2.0, -2.0], BopOrder::First, rates);
        assert_eq!((flips, w), (1, [-1.0, 1.0]));
    }

    #[test]
    fn bop_at_the_threshold_keeps_the_weight() {
        // w·m = τ exactly: Bop flips only strictly above τ.
        let mut bop = Bop::new(1);
        let mut w = [1.0f32];
        let rates = BopRates {
            gamma: 0.5,
            tau: 1.0,
            sigma: 0.0,
        };
        assert_eq!(bop.step(&mut w, &[2.0], BopOrder::First, rates), 0);
        assert_eq!(w, [1.0]);
    }

    #[test]
    fn second_order_normalizes_by_the_gradients_size() {
        // One step from zero: m = γg, v = σg², r = γg/(√σ·|g|) = (γ/√σ)·sign(g), whatever |g|.
        let rates = BopRates {
            gamma: 0.1,
            tau: 0.5,
            sigma: 0.01,
        };
        for g in [1e-3f32, 10.0] {
            let mut bop = Bop::new(1);
            let mut w = [1.0f32];
            // r = 0.1/0.1 = 1 > 0.5: flips for a tiny and a huge gradient alike.
            assert_eq!(
                bop.step(&mut w, &[g], BopOrder::Second, rates),
                1,
                "g = {g}"
            );
        }
    }
}
