//! What follows a hidden matrix layer: its float epilogue (the weight scale, BatchNorm with the
//! running statistics, the activation bias), written as a `binarize` for signs or as a
//! multi-level `threshold` for multi-bit activations.
//!
//! A multi-bit activation's count reaches level k exactly where the epilogue's value y reaches
//! θ_k = (2k − 1)/n − 1 (`net::levels_activation`). y is monotone in the layer's integer S, so
//! each level is one threshold on S, found by bisection over the accumulator's range with the
//! compiler's own f64 steps (the `binarize` steps, lowered by the compiler) — the same search
//! the compiler folds a `binarize` with, once per level. The model then holds integers only:
//! the hardware compares, nothing rounds.

use crate::error::TrainError;
use crate::net::{BatchNorm, BN_EPS};
use xnorc_compiler::format::tensor::TensorDef;
use xnorc_compiler::format::{Arithmetic, BatchNormDef, BinarizeDef, OpDef, StepDef, ThresholdDef};
use xnorc_compiler::passes::fold::{bisect, direction};
use xnorc_compiler::passes::lower_steps;

/// One hidden layer's float epilogue, in the order it applies.
pub(super) struct Epilogue<'a> {
    /// The weights' scale, per channel or `[1]` for the layer.
    pub scale: Option<&'a [f32]>,
    /// BatchNorm with the running statistics.
    pub bn: &'a BatchNorm,
    /// RSign's learned activation bias.
    pub act_bias: Option<&'a [f32]>,
}

impl Epilogue<'_> {
    fn channels(&self) -> usize {
        self.bn.mean.len()
    }

    /// The steps in the model file's terms: the scale, BatchNorm, the bias.
    fn steps(&self) -> Vec<StepDef> {
        let c = self.channels();
        let bn = self.bn;
        let mut steps = Vec::new();
        if let Some(scale) = self.scale {
            steps.push(StepDef::Mul(TensorDef::from_f32(vec![scale.len()], scale)));
        }
        steps.push(StepDef::Batchnorm(BatchNormDef {
            gamma: TensorDef::from_f32(vec![c], &bn.gamma.data),
            beta: TensorDef::from_f32(vec![c], &bn.beta.data),
            mean: TensorDef::from_f32(vec![c], &bn.mean),
            var: TensorDef::from_f32(vec![c], &bn.var),
            eps: BN_EPS as f64,
        }));
        if let Some(bias) = self.act_bias {
            steps.push(StepDef::Add(TensorDef::from_f32(vec![c], bias)));
        }
        steps
    }

    /// The sign of the epilogue: a `binarize`, which the compiler folds.
    pub fn binarize(&self) -> OpDef {
        OpDef::Binarize(BinarizeDef {
            steps: self.steps(),
            arithmetic: Default::default(),
        })
    }

    /// The count of `n` levels as a `threshold` `[C, n]` over the layer's S in `range` (any
    /// range holding every reachable S: thresholds outside it only say "always" or "never").
    /// The steps are the ones `binarize` writes, lowered by the compiler itself; parameters it
    /// would refuse there (a diverged run's NaN) are refused here.
    pub fn levels(&self, n: u32, (lo, hi): (i64, i64)) -> Result<OpDef, TrainError> {
        let c = self.channels();
        let steps = lower_steps(&self.steps(), c, Arithmetic::Float64, "steps")
            .map_err(|e| TrainError::Export(format!("a multi-bit activation's epilogue: {e}")))?;
        let mut thresholds = Vec::with_capacity(c * n as usize);
        let mut directions = Vec::with_capacity(c);
        for ch in 0..c {
            let y = |s: i64| steps.iter().fold(s as f64, |y, step| step.apply(ch, y));
            let d = direction(&steps, ch);
            directions.push(if d < 0 { -1 } else { 1 });
            for k in 1..=n {
                let theta = level_threshold(k, n);
                let reaches = |s: i64| y(s) >= theta;
                thresholds.push(match d {
                    // Constant: reached everywhere (S ≥ lo) or nowhere (S ≥ hi + 1).
                    0 if reaches(lo) => lo,
                    0 => hi + 1,
                    d => bisect(d, lo, hi, reaches),
                });
            }
        }
        Ok(OpDef::Threshold(ThresholdDef {
            thresholds: TensorDef::from_i64(vec![c, n as usize], &thresholds),
            direction: Some(TensorDef::from_i64(vec![c], &directions)),
        }))
    }
}

/// θ_k = (2k − 1)/n − 1: where the count of n levels reaches k.
pub fn level_threshold(k: u32, n: u32) -> f64 {
    (2 * k - 1) as f64 / n as f64 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::HostTensor;

    fn tensor(v: &[f32]) -> HostTensor {
        HostTensor {
            shape: vec![v.len()],
            data: v.to_vec(),
        }
    }

    #[test]
    fn thresholds_count_the_levels_the_epilogue_reaches_at_every_s() {
        // Two channels: a rising one, a falling one (γ < 0), a scale and a bias; 3 bits.
        let bn = BatchNorm {
            gamma: tensor(&[0.8, -1.3]),
            beta: tensor(&[0.1, 0.05]),
            mean: vec![3.0, -2.0],
            var: vec![40.0, 9.0],
        };
        let scale = [0.5f32, 2.0];
        let bias = [0.02f32, -0.3];
        let e = Epilogue {
            scale: Some(&scale),
            bn: &bn,
            act_bias: Some(&bias),
        };
        let n = 7;
        let (lo, hi) = (-60, 60);
        let OpDef::Threshold(t) = e.levels(n, (lo, hi)).unwrap() else {
            panic!("a threshold")
        };
        let thresholds = t.thresholds.to_i64().unwrap();
        let directions = t.direction.unwrap().to_i64().unwrap();
        assert_eq!(directions, [1, -1]);
        for c in 0..2 {
            for s in lo..=hi {
                // The forward pass's count, written out: y in f64, then clamp and round up.
                let sd = s as f64 * scale[c] as f64;
                let y = (sd - bn.mean[c] as f64) / (bn.var[c] as f64 + BN_EPS as f64).sqrt()
                    * bn.gamma.data[c] as f64
                    + bn.beta.data[c] as f64
                    + bias[c] as f64;
                let count = ((y.clamp(-1.0, 1.0) + 1.0) * n as f64 / 2.0 + 0.5).floor() as i64;
                let row = &thresholds[c * n as usize..(c + 1) * n as usize];
                let counted = row
                    .iter()
                    .filter(|&&t| if directions[c] > 0 { s >= t } else { s <= t })
                    .count() as i64;
                assert_eq!(counted, count, "channel {c}, S = {s}");
            }
        }
    }
}
