//! Split partial sums in hardware: the channels of a `binarize` after a tiled layer whose filter
//! spans two chunks of different scales α (docs/semantics.md, "Sub-bit weights";
//! docs/hardware.md, "Split partial sums").
//!
//! Such a channel decides on y = α₁·S₁ + α₂·S₂ (f64), which no threshold on S = S₁ + S₂ alone
//! expresses. The MVU computes one extra row per split channel, a **probe** of the filter's
//! shorter run r: the filter with r's taps negated (±1 weights, giving D = S − 2·S_r) or masked
//! to r ({0, 1} weights, giving S_r). The probe's accumulator u and the channel's own v give a
//! **key** — v − u, (v − u) ≫ 1 or u, by the lane's accumulator domain — that is S_r up to a
//! fixed affine map. For a fixed key the decision is monotone in v (S_other = S − S_r grows with
//! S, α > 0, and the steps are monotone), so it is a threshold on v: a table indexed by the key
//! holds it, computed here from the exact f64 rule ([`SplitRule::fires`]).

use crate::lane::Lane;
use serde::Serialize;
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{ChannelRule, SplitRule, Threshold, WeightValues};
use xnorc_compiler::passes::fold::{bisect, direction};

/// How a split channel's table key comes from its accumulator v and its probe's u.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKey {
    /// key = v − u: popcount lanes with the run negated (P − P_D = S_r).
    Difference,
    /// key = (v − u) ≫ 1 (arithmetic): lanes accumulating S with the run negated
    /// ((S − D) / 2 = S_r, always even before the shift).
    HalfDifference,
    /// key = u: the probe masked to the run ({0, 1} weights).
    Probe,
}

impl ProbeKey {
    /// The key of lane `lane`: a difference for ±1 weights (the probe negates the run), the
    /// probe itself for {0, 1} weights (it masks the run).
    pub fn of_lane(lane: Lane) -> ProbeKey {
        match lane {
            Lane::Xnor => ProbeKey::Difference,
            Lane::XnorMasked | Lane::AddSub => ProbeKey::HalfDifference,
            Lane::And | Lane::AndMasked | Lane::AddZero => ProbeKey::Probe,
            Lane::Select { .. } | Lane::Mul { .. } => {
                unreachable!("only tiled binary layers have chunk scales")
            }
        }
    }
}

/// One split channel of a [`SplitThreshold`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitChannel {
    /// The channel (output position of the layer).
    pub channel: usize,
    /// The unit's row computing its probe (≥ the layer's outputs).
    pub probe_row: usize,
    /// The probed run's taps (flat filter indices, (c, ky, kx) row-major).
    pub run: (usize, usize),
    /// How the key comes from v and u.
    pub key: ProbeKey,
    /// The key of table entry 0.
    pub key_min: i64,
    /// Compare v with ≥ (true) or ≤ (false) against the entry.
    pub ge: bool,
    /// Per key − key_min, the threshold on v (accumulator domain, clamped to one past the
    /// accumulator's range so it keeps the decision).
    #[serde(skip)]
    pub table: Vec<i64>,
}

/// The threshold stage of a layer with split channels: the MVU streams its accumulators
/// (the layer's outputs, then the probe rows, then unused rows up to a whole pass), one per
/// beat here; plain channels compare with their threshold, split channels with the table entry
/// their key selects. One output beat per vector: every channel's bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SplitThreshold {
    /// The threshold node.
    #[serde(skip)]
    pub node: xnorc_compiler::ir::NodeId,
    /// Output channels.
    pub o: usize,
    /// Accumulators in per vector (the unit's rows).
    pub rows: usize,
    /// Accumulator bits (two's complement).
    pub acc_bits: u32,
    /// Per channel: compare with ≥ or ≤ (split channels: their table's direction).
    pub ge: Vec<bool>,
    /// Per channel threshold in the accumulator domain (split channels: unused, 0).
    #[serde(skip)]
    pub thresholds: Vec<i64>,
    /// The split channels, by channel.
    pub split: Vec<SplitChannel>,
}

impl SplitThreshold {
    /// Entries of all tables (one memory, table after table).
    pub fn table_entries(&self) -> usize {
        self.split.iter().map(|s| s.table.len()).sum()
    }
}

/// The accumulator domain of a unit: acc ∈ [min, max], S = scale·acc + offset[row].
pub struct AccDomain<'a> {
    /// Lowest accumulator value.
    pub min: i64,
    /// Highest accumulator value.
    pub max: i64,
    /// S per accumulator step.
    pub scale: i64,
    /// S at acc = 0, per row.
    pub offset: &'a [i64],
}

/// The probed run of a split rule: its index among the runs (the shorter one).
fn probed_run(rule: &SplitRule) -> usize {
    let len = |i: usize| rule.runs[i].end - rule.runs[i].start;
    usize::from(len(1) < len(0))
}

/// The split channels of `th`: (channel, its rule, the probed run's index). A filter spanning
/// more than two runs is an error (only a layer with more chunks than outputs has one).
pub fn split_rules(th: &Threshold) -> Result<Vec<(usize, &SplitRule, usize)>> {
    let mut out = Vec::new();
    for (c, rule) in th.channels.iter().enumerate() {
        let ChannelRule::Split(rule) = rule else {
            continue;
        };
        if rule.runs.len() != 2 {
            return Err(ModelError::new(format!(
                "channel {c}'s filter spans {} chunks of different scales α; the hardware \
                 computes split partial sums of filters spanning two (the reference simulator \
                 computes any number)",
                rule.runs.len()
            ))
            .with_hint("use at most as many chunks p as the layer has outputs"));
        }
        out.push((c, &**rule, probed_run(rule)));
    }
    Ok(out)
}

/// The table of one split channel: for every key its probe can give, the threshold on v.
/// `taps_range` is the per-tap product range (c_min, c_max) of the layer, `ones` the probed
/// run's weights equal to 1 ({0, 1} weights only).
pub fn channel_table(
    rule: &SplitRule,
    channel: usize,
    probed: usize,
    key: ProbeKey,
    acc: &AccDomain,
    taps_range: (i64, i64),
    ones: i64,
) -> (i64, bool, Vec<i64>) {
    let run = &rule.runs[probed];
    let r = (run.end - run.start) as i64;
    // The keys the probe can give, and the run's partial sum S_r for each.
    let (key_min, key_max) = match key {
        ProbeKey::Probe if acc.scale == 2 => (0, ones),
        _ => (r * taps_range.0, r * taps_range.1),
    };
    let s_run = |k: i64| match key {
        // Popcount of the masked probe: S_r = 2u − ones.
        ProbeKey::Probe if acc.scale == 2 => 2 * k - ones,
        _ => k,
    };
    let d = direction(&rule.steps, 0);
    let fires = |k: i64, v: i64| {
        let s = acc.scale * v + acc.offset[channel];
        let (sr, so) = (s_run(k), s - s_run(k));
        let partial = if probed == 0 { [sr, so] } else { [so, sr] };
        rule.fires(&partial)
    };
    let (lo, hi) = (acc.min, acc.max);
    // A constant decision (d = 0) is a ≥ threshold at either end.
    let table = (key_min..=key_max)
        .map(|k| match d {
            0 if fires(k, lo) => lo,
            0 => hi + 1,
            _ => bisect(d, lo, hi, |v| fires(k, v)),
        })
        .collect();
    (key_min, d >= 0, table)
}

/// The probe row's weight bit for filter bit `bit` at flat tap `flat` of a channel whose
/// probed run is `run`: negated inside the run (±1) or kept only inside it ({0, 1}).
pub fn probe_bit(values: WeightValues, run: (usize, usize), flat: usize, bit: bool) -> bool {
    let inside = (run.0..run.1).contains(&flat);
    match values {
        WeightValues::Pm1 => bit ^ inside,
        WeightValues::ZeroOne => bit && inside,
        WeightValues::Int => unreachable!("only tiled (binary) layers split"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xnorc_compiler::ir::{FloatStep, ScaledRun};

    fn rule(runs: &[(usize, usize, f64)], steps: Vec<FloatStep>) -> SplitRule {
        SplitRule {
            runs: runs
                .iter()
                .map(|&(start, end, alpha)| ScaledRun { start, end, alpha })
                .collect(),
            steps,
        }
    }

    /// Every reachable (S₁, S₂) of a ±1 popcount layer: the table decides as y = α₁S₁ + α₂S₂
    /// + b ≥ 0 computed by hand here.
    #[test]
    fn popcount_table_matches_the_rule_everywhere() {
        // 5 taps: run 0 = taps 0..3 (α 0.5), run 1 = taps 3..5 (α 2), bias −0.75.
        let rule = rule(
            &[(0, 3, 0.5), (3, 5, 2.0)],
            vec![FloatStep::Add(vec![-0.75])],
        );
        let offset = [-5];
        let acc = AccDomain {
            min: 0,
            max: 5,
            scale: 2,
            offset: &offset,
        };
        let probed = probed_run(&rule);
        assert_eq!(probed, 1, "the shorter run is probed");
        let (key_min, ge, table) =
            channel_table(&rule, 0, probed, ProbeKey::Difference, &acc, (-1, 1), 0);
        assert!(ge);
        assert_eq!(key_min, -2);
        // Every input: m0 matches in run 0 (0..=3), m1 in run 1 (0..=2).
        for m0 in 0..=3i64 {
            for m1 in 0..=2i64 {
                let (s1, s2) = (2 * m0 - 3, 2 * m1 - 2);
                let want = 0.5 * s1 as f64 + 2.0 * s2 as f64 - 0.75 >= 0.0;
                // v = P (matches over the filter); u = P_D (run 1 negated: 2 − m1 there).
                let v = m0 + m1;
                let u = m0 + (2 - m1);
                let got = v >= table[(v - u - key_min) as usize];
                assert_eq!(got, want, "S1 {s1}, S2 {s2}");
            }
        }
    }

    /// A {0, 1} layer with a negative scale step (≤ compare) and S accumulated directly.
    #[test]
    fn masked_probe_table_with_a_falling_epilogue() {
        // 4 taps of weights 1,0,1,1: run 0 = taps 0..1 (α 3), run 1 = taps 1..4 (α 1);
        // inputs ±1 or 0 (zero padding), so per tap [−1, 1]. y = −(3·S₁ + S₂) + 0.5.
        let rule = rule(
            &[(0, 1, 3.0), (1, 4, 1.0)],
            vec![FloatStep::Mul(vec![-1.0]), FloatStep::Add(vec![0.5])],
        );
        let offset = [0];
        let acc = AccDomain {
            min: -4,
            max: 4,
            scale: 1,
            offset: &offset,
        };
        let probed = probed_run(&rule);
        assert_eq!(probed, 0);
        let (key_min, ge, table) =
            channel_table(&rule, 0, probed, ProbeKey::Probe, &acc, (-1, 1), 1);
        assert!(!ge);
        let w = [1, 0, 1, 1];
        // Every input in {−1, 0, 1}^4.
        for code in 0..81 {
            let x: Vec<i64> = (0..4).map(|i| (code / 3i64.pow(i)) % 3 - 1).collect();
            let s1 = w[0] * x[0];
            let s2: i64 = (1..4).map(|i| w[i] * x[i]).sum();
            let want = -(3.0 * s1 as f64 + s2 as f64) + 0.5 >= 0.0;
            let (v, u) = (s1 + s2, s1);
            let got = v <= table[(u - key_min) as usize];
            assert_eq!(got, want, "x {x:?}");
        }
    }
}
