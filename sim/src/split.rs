//! Split partial sums: the channels of a `binarize` after a tiled layer whose filters span chunks
//! of different scales α (docs/semantics.md, "Sub-bit weights"). Their decision needs each run's
//! partial sum S_run, not S alone.
//!
//! The partial sums come from probe rows, ordinary weight rows run on the layer's input by the
//! same popcount code as every layer (so padding and integer inputs behave identically):
//! - ±1 weights: the filter with the run's taps negated gives D = S − 2·S_run, so
//!   S_run = (S − D) / 2;
//! - {0, 1} weights: the filter masked to the run (0 elsewhere) gives S_run itself.

use crate::layout::{Buf, Geometry};
use crate::matmul::MatMulPlan;
use xnorc_compiler::bits::BitVec;
use xnorc_compiler::ir::{
    ChannelRule, MatMul, Node, Shape, SplitRule, Threshold, WeightStore, WeightValues, Weights,
};

/// One split channel: its rule and the probe row of its first run.
struct SplitChannel {
    channel: usize,
    rule: SplitRule,
    first_row: usize,
}

/// The split channels of one threshold node and the probe that yields their partial sums.
pub(crate) struct SplitPlan {
    probe: MatMulPlan,
    rows: usize,
    negated: bool,
    channels: Vec<SplitChannel>,
}

impl SplitPlan {
    /// `None` when no channel of `t` is split; else the plan for `t` reading `layer`'s output,
    /// where `input` is the layer's input node and `output_shape` its output shape.
    pub fn new(t: &Threshold, layer: &MatMul, input: &Node, output_shape: Shape) -> Option<Self> {
        let w = &layer.weights;
        let taps = w.taps();
        let negated = w.values == WeightValues::Pm1;
        let mut bits = Vec::new();
        let mut channels = Vec::new();
        for (c, rule) in t.channels.iter().enumerate() {
            let ChannelRule::Split(rule) = rule else {
                continue;
            };
            channels.push(SplitChannel {
                channel: c,
                rule: (**rule).clone(),
                first_row: bits.len() / taps,
            });
            let filter: Vec<bool> = (0..taps)
                .map(|i| w.bit(c, i / (w.kh * w.kw), i / w.kw % w.kh, i % w.kw))
                .collect();
            for run in &rule.runs {
                let inside = |i: usize| (run.start..run.end).contains(&i);
                bits.extend(
                    filter
                        .iter()
                        .enumerate()
                        .map(|(i, &b)| match (negated, inside(i)) {
                            (true, true) => !b,
                            (true, false) => b,
                            (false, true) => b,
                            (false, false) => false,
                        }),
                );
            }
        }
        if channels.is_empty() {
            return None;
        }
        let rows = bits.len() / taps;
        let probe = MatMul {
            weights: Weights {
                out_channels: rows,
                store: WeightStore::Dense(BitVec::from_bools(&bits)),
                ..w.clone()
            },
            geometry: layer.geometry,
        };
        let probe_shape = match output_shape {
            Shape::Flat(_) => Shape::Flat(rows),
            Shape::Map { h, w, .. } => Shape::Map { c: rows, h, w },
        };
        Some(SplitPlan {
            probe: MatMulPlan::new(&probe, input, probe_shape),
            rows,
            negated,
            channels,
        })
    }

    /// Rewrites the split channels' bits in `out` (the threshold's packed output, `g` its
    /// geometry) from the layer's sums `s` and its input `x`.
    pub fn apply(&self, frames: usize, g: Geometry, s: &[i64], x: &Buf, out: &mut [u64]) {
        let Buf::Int(d) = self.probe.run(frames, x) else {
            unreachable!("matrix layers produce integers")
        };
        let words = g.words();
        let mut partial = Vec::new();
        for pixel in 0..frames * g.pixels {
            let probe = &d[pixel * self.rows..][..self.rows];
            for ch in &self.channels {
                let total = s[pixel * g.channels + ch.channel];
                let rows = &probe[ch.first_row..ch.first_row + ch.rule.runs.len()];
                partial.clear();
                partial.extend(rows.iter().map(
                    |&r| {
                        if self.negated {
                            (total - r) / 2
                        } else {
                            r
                        }
                    },
                ));
                let word = &mut out[pixel * words + ch.channel / 64];
                let bit = 1u64 << (ch.channel % 64);
                if ch.rule.fires(&partial) {
                    *word |= bit;
                } else {
                    *word &= !bit;
                }
            }
        }
    }
}
