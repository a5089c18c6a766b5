//! Folding float epilogues into integer thresholds, exactly.
//!
//! A `binarize` node outputs [f(S) ≥ 0] where f applies its float steps to the integer S in f64.
//! Every step is monotone in its argument, and so is its f64 evaluation (IEEE rounding is
//! monotone), so the decision is monotone in S: a suffix {S ≥ T} when the steps' slopes multiply
//! to a positive sign, a prefix {S ≤ T} when negative, constant when a slope is zero. We find T
//! by binary search over the accumulator range, evaluating f exactly as the float model does, so
//! the integer threshold makes the same decision as the f64 float model for every reachable S —
//! ties included (f(S) = 0 gives +1, like `x >= 0`). Closed forms such as T = ⌈−B/A⌉ can be off
//! by one after rounding; the search cannot.

use crate::error::{ModelError, Result};
use crate::ir::{Arithmetic, Binarize, ChannelRule, FloatStep, Graph, Op, SplitRule, Threshold};

/// α of channel `c` when its filter is one run of the tiled producer's scales (else `None`:
/// no scales, or a split filter).
fn single_alpha(b: &Binarize, c: usize) -> Option<f64> {
    match b.scale.as_ref().map(|runs| runs[c].as_slice()) {
        Some([run]) => Some(run.alpha),
        _ => None,
    }
}

/// f(S) of a whole `binarize` for channel `c`: the tiled producer's α (if any), then the steps.
/// A split channel (runs of different α) has no f(S); see [`SplitRule`].
pub fn eval_binarize(b: &Binarize, c: usize, s: i64) -> f64 {
    if b.arithmetic == Arithmetic::Float32 {
        // Validation keeps float32 epilogues off tiled layers and |S| ≤ 2^24 (exact in f32).
        return FloatStep::apply_all_f32(&b.steps, c, s as f32) as f64;
    }
    let mut y = s as f64;
    if let Some(a) = single_alpha(b, c) {
        y *= a;
    }
    for step in &b.steps {
        y = step.apply(c, y);
    }
    y
}

/// Checks that no intermediate value overflows to infinity for S in [lo, hi]. Monotone steps
/// take their extremes at the ends, so checking S = lo and S = hi covers the range; with every
/// value finite, no NaN (∞ − ∞, ∞ · 0) can arise and f64 evaluation stays monotone.
fn check_finite(b: &Binarize, c: usize, lo: i64, hi: i64) -> Result<()> {
    if b.arithmetic == Arithmetic::Float32 {
        return check_finite_f32(&b.steps, c, lo, hi);
    }
    let steps = &b.steps;
    let runs = b.scale.as_ref().map_or(&[][..], |r| r[c].as_slice());
    for s in [lo, hi] {
        let mut y = s as f64;
        if !runs.is_empty() {
            // Every run's |S_run| ≤ max(|lo|, |hi|): the ends of Σ α_run · S_run, a superset of
            // the reachable ones, are all runs at the same end.
            let bound = lo.abs().max(hi.abs()) as f64 * s.signum() as f64;
            y = match runs {
                [run] => run.alpha * s as f64,
                _ => runs.iter().map(|r| r.alpha * bound).sum(),
            };
            if !y.is_finite() {
                return Err(ModelError::new(format!(
                    "channel {c}: the tiled input's scales α ({}) overflow f64 for S = {s}",
                    runs.iter()
                        .map(|r| r.alpha.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .at_field("inputs"));
            }
        }
        for (i, step) in steps.iter().enumerate() {
            y = step.apply(c, y);
            if !y.is_finite() {
                return Err(ModelError::new(format!(
                    "channel {c}: the float epilogue overflows f64 (value {y} after step {i} \
                     for S = {s}); the parameters are out of any trained range"
                ))
                .at_field(format!("steps[{i}]")));
            }
        }
    }
    Ok(())
}

/// [`check_finite`] for a float32 epilogue: S itself must be a float32 integer (|S| ≤ 2^24, so
/// the conversion is exact) and no step may overflow binary32.
pub fn check_finite_f32(steps: &[FloatStep], c: usize, lo: i64, hi: i64) -> Result<()> {
    const EXACT: i64 = 1 << 24;
    if lo < -EXACT || hi > EXACT {
        return Err(ModelError::new(format!(
            "the input's range [{lo}, {hi}] is not exact in float32 (|S| ≤ 2^24), which this \
             float32 epilogue starts from"
        ))
        .at_field("inputs"));
    }
    for s in [lo, hi] {
        let mut y = s as f32;
        for (i, step) in steps.iter().enumerate() {
            y = step.apply_f32(c, y);
            if !y.is_finite() {
                return Err(ModelError::new(format!(
                    "channel {c}: the float epilogue overflows float32 (value {y} after step {i} \
                     for S = {s}); the parameters are out of any trained range"
                ))
                .at_field(format!("steps[{i}]")));
            }
        }
    }
    Ok(())
}

/// +1 if the steps are non-decreasing in S for channel `c`, −1 if non-increasing, 0 if constant.
pub fn direction(steps: &[FloatStep], c: usize) -> i32 {
    let sign = |v: f64| -> i32 {
        if v > 0.0 {
            1
        } else if v < 0.0 {
            -1
        } else {
            0
        }
    };
    steps
        .iter()
        .map(|step| match step {
            FloatStep::Mul(a) => sign(a[c]),
            FloatStep::Div(d) => sign(d[c]),
            FloatStep::BatchNorm { gamma, .. } => sign(gamma[c]),
            // Validation guarantees slope >= 0: non-decreasing even when it is 0 (ReLU).
            FloatStep::Add(_) | FloatStep::Prelu(_) => 1,
        })
        .product()
}

/// The threshold rule equivalent to `binarize` channel `c` over S ∈ [lo, hi]; a channel whose
/// filter spans chunks of different α keeps its float decision as a [`SplitRule`].
pub fn fold_channel(b: &Binarize, c: usize, lo: i64, hi: i64) -> Result<ChannelRule> {
    check_finite(b, c, lo, hi)?;
    if let Some(runs) = b.scale.as_ref().filter(|r| r[c].len() > 1) {
        return Ok(ChannelRule::Split(Box::new(SplitRule {
            runs: runs[c].clone(),
            steps: b.steps.iter().map(|s| s.of_channel(c)).collect(),
        })));
    }
    let fires = |s: i64| eval_binarize(b, c, s) >= 0.0;
    Ok(match direction(&b.steps, c) {
        0 => ChannelRule::Const(fires(lo) as u32),
        d => channel_rule(d > 0, vec![bisect(d, lo, hi, fires)], lo, hi),
    })
}

/// The threshold of a decision `fires` monotone over [lo, hi] in direction `d` (±1): rising,
/// the smallest S in [lo, hi + 1] that fires (hi + 1: none does); falling, the largest S in
/// [lo − 1, hi] that fires (lo − 1: none does).
pub fn bisect(d: i32, lo: i64, hi: i64, fires: impl Fn(i64) -> bool) -> i64 {
    if d > 0 {
        let (mut a, mut z) = (lo, hi + 1);
        while a < z {
            let mid = a + (z - a) / 2;
            if fires(mid) {
                z = mid;
            } else {
                a = mid + 1;
            }
        }
        a
    } else {
        let (mut a, mut z) = (lo - 1, hi);
        while a < z {
            let mid = z - (z - a) / 2;
            if fires(mid) {
                a = mid;
            } else {
                z = mid - 1;
            }
        }
        a
    }
}

/// Builds one channel's rule, reducing it to a constant when it cannot change over `[lo, hi]`.
pub fn channel_rule(ge: bool, mut thresholds: Vec<i64>, lo: i64, hi: i64) -> ChannelRule {
    thresholds.sort_unstable();
    let rule = if ge {
        ChannelRule::Ge(thresholds)
    } else {
        ChannelRule::Le(thresholds)
    };
    let (at_lo, at_hi) = (rule.apply(lo), rule.apply(hi));
    // Counting rules are monotone in S, so equal ends mean constant over the range.
    if at_lo == at_hi {
        ChannelRule::Const(at_lo)
    } else {
        rule
    }
}

/// Replaces every `binarize` node with the equivalent one-level `threshold` node.
pub fn fold(graph: &mut Graph) -> Result<()> {
    for i in 0..graph.nodes.len() {
        let Op::Binarize(b) = &graph.nodes[i].op else {
            continue;
        };
        let producer = graph.nodes[i].inputs[0];
        let (lo, hi) = graph.node(producer).vtype.range();
        let channels = (0..graph.nodes[i].shape.channels())
            .map(|c| fold_channel(b, c, lo, hi))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| e.at_node(&graph.nodes[i].name))?;
        graph.nodes[i].op = Op::Threshold(Threshold {
            levels: 1,
            channels,
        });
    }
    Ok(())
}
