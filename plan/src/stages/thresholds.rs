//! The unit's accumulator and what follows it: the accumulator's range and width, the
//! thresholds fused into the unit (in the accumulator's domain, in stream order), or — for a
//! layer with split channels — a split threshold stage deciding them from probe rows; and where
//! the thresholds live.

use super::window::RowBits;
use crate::folding::{LayerFolding, MemoryStyle, LUT_MEMORY_BITS};
use crate::lane::Lane;
use crate::split::{self, AccDomain, ProbeKey, SplitChannel, SplitThreshold};
use crate::stage::{MvuOutput, Stage, StageKind};
use crate::stream::Stream;
use xnorc_compiler::ir::{int_bits, ChannelRule, Graph, Node, NodeId, Op};

/// The accumulator's domain: popcount P ∈ [0, K] for unmasked binary lanes, S itself otherwise;
/// S = scale·acc + offset[row].
pub(super) struct AccRange {
    /// Least accumulator value.
    pub min: i64,
    /// Greatest accumulator value.
    pub max: i64,
    /// 2 for binary lanes, 1 for integer lanes.
    pub scale: i64,
    /// Per row.
    pub offset: Vec<i64>,
    /// Signed width with room for thresholds one past either end (min − 1 and max + 1).
    pub bits: u32,
}

/// The accumulator of a unit with lane `lane`, `k` inputs per output and `rows` rows, computing
/// node `node`.
pub(super) fn acc_range(
    lane: Lane,
    k: usize,
    rows: usize,
    node: &Node,
    bits: &RowBits,
) -> AccRange {
    let (min, max, scale, offset): (i64, i64, i64, Vec<i64>) = match lane {
        Lane::Xnor => (0, k as i64, 2, vec![-(k as i64); rows]),
        Lane::And => {
            let ones = (0..rows)
                .map(|oc| -((0..k).filter(|&i| bits.bit(oc, i)).count() as i64))
                .collect();
            (0, k as i64, 2, ones)
        }
        _ => {
            let (lo, hi) = node.vtype.range();
            (lo, hi, 1, vec![0; rows])
        }
    };
    AccRange {
        min,
        max,
        scale,
        offset,
        bits: int_bits(min.min(0) - 1, max + 1),
    }
}

/// Converts a threshold rule on S = scale·acc + c into the accumulator's domain, clamped to
/// [lo, hi] (a threshold past an end becomes lo or hi + 1, which keeps the count).
fn rule_in_acc_domain(
    rule: &ChannelRule,
    levels: usize,
    scale: i64,
    c: i64,
    lo: i64,
    hi: i64,
) -> (bool, Vec<i64>) {
    // S ≥ T ⇔ scale·acc ≥ T − c ⇔ acc ≥ ⌈(T − c)/scale⌉ (scale > 0); S ≤ T ⇔ acc ≤ ⌊(T − c)/scale⌋.
    let ceil = |t: i64| (t - c).div_euclid(scale) + i64::from((t - c).rem_euclid(scale) != 0);
    let floor = |t: i64| (t - c).div_euclid(scale);
    match rule {
        ChannelRule::Ge(t) => (true, t.iter().map(|&t| ceil(t).clamp(lo, hi + 1)).collect()),
        ChannelRule::Le(t) => (
            false,
            t.iter().map(|&t| floor(t).clamp(lo - 1, hi)).collect(),
        ),
        ChannelRule::Const(v) => {
            // v thresholds always met (lo), the rest never (hi + 1).
            let mut t = vec![lo; *v as usize];
            t.resize(levels, hi + 1);
            (true, t)
        }
        ChannelRule::Split(_) => unreachable!("split channels go to a split threshold stage"),
    }
}

/// The unit's output: the threshold node fused in, as (≥ or ≤, thresholds) per output channel in
/// stream order — `nf` passes of `lanes` channels, `channel(f, e)` the channel of lane e in pass
/// f — or the raw accumulator. Probe rows and split channels get none (the split stage decides
/// them).
pub(super) fn fused_output(
    graph: &Graph,
    threshold: Option<NodeId>,
    (nf, lanes): (usize, usize),
    o: usize,
    acc: &AccRange,
    channel: &dyn Fn(usize, usize) -> usize,
) -> MvuOutput {
    let Some(t) = threshold else {
        return MvuOutput::Accumulator;
    };
    let Op::Threshold(th) = &graph.node(t).op else {
        unreachable!()
    };
    let mut ge = Vec::with_capacity(o);
    let mut thresholds = Vec::with_capacity(o * th.levels);
    // In stream order: pass by pass, PE·fanout channels each.
    for f in 0..nf {
        for e in 0..lanes {
            let c = channel(f, e);
            if c >= o {
                continue;
            }
            if let ChannelRule::Split(_) = th.channels[c] {
                ge.push(true);
                thresholds.extend(std::iter::repeat_n(0, th.levels));
                continue;
            }
            let (g, ts) = rule_in_acc_domain(
                &th.channels[c],
                th.levels,
                acc.scale,
                acc.offset[c],
                acc.min,
                acc.max,
            );
            ge.push(g);
            thresholds.extend(ts);
        }
    }
    MvuOutput::Threshold {
        levels: th.levels,
        ge,
        thresholds,
    }
}

/// With split channels the unit streams accumulators and a split threshold stage thresholds
/// them: its tables, or `None` for a layer without split channels.
pub(super) fn split_stage(
    node: &Node,
    threshold: Option<NodeId>,
    output: &MvuOutput,
    bits: &RowBits,
    lane: Lane,
    acc: &AccRange,
    (o, rows): (usize, usize),
) -> Option<SplitThreshold> {
    let (MvuOutput::Threshold { ge, thresholds, .. }, false) = (output, bits.splits.is_empty())
    else {
        return None;
    };
    let key = ProbeKey::of_lane(lane);
    let k = bits.inputs();
    let (lo, hi) = node.vtype.range();
    let per_tap = (lo / k as i64, hi / k as i64);
    let domain = AccDomain {
        min: acc.min,
        max: acc.max,
        scale: acc.scale,
        offset: &acc.offset,
    };
    let channels = bits
        .splits
        .iter()
        .enumerate()
        .map(|(q, &(ch, rule, j))| {
            let run = (rule.runs[j].start, rule.runs[j].end);
            let ones = (0..k)
                .filter(|&i| {
                    let (c, ky, kx) = bits.tap(i);
                    (run.0..run.1).contains(&bits.flat(c, ky, kx)) && bits.weight(ch, c, ky, kx)
                })
                .count() as i64;
            let (key_min, ge, table) =
                split::channel_table(rule, ch, j, key, &domain, per_tap, ones);
            SplitChannel {
                channel: ch,
                probe_row: o + q,
                run,
                key,
                key_min,
                ge,
                table,
            }
        })
        .collect::<Vec<_>>();
    let mut ge = ge[..o].to_vec();
    let mut thresholds = thresholds[..o].to_vec();
    for s in &channels {
        ge[s.channel] = s.ge;
        thresholds[s.channel] = 0;
    }
    Some(SplitThreshold {
        node: threshold.expect("a threshold follows"),
        o,
        rows,
        acc_bits: acc.bits,
        ge,
        thresholds,
        split: channels,
    })
}

/// The split threshold stage after a unit whose output beats `unit_out` carry accumulators:
/// it reads them one per beat (`vectors` × rows per frame) and emits every channel's bit.
pub(super) fn split_threshold_stage(
    node: &Node,
    st: SplitThreshold,
    unit_out: Stream,
    vectors: usize,
) -> Stage {
    let input = Stream {
        elems: 1,
        beats: vectors * st.rows,
        ..unit_out
    };
    let output = Stream {
        elems: st.o,
        bits: 1,
        signed: false,
        beats: vectors,
        valid_bit: false,
    };
    Stage {
        name: format!("{}_split", node.ident),
        layer: node.name.clone(),
        kind: StageKind::SplitThreshold(st),
        input,
        output,
        channel_order: None,
        sources: Vec::new(),
    }
}

/// Where the fused thresholds of `o` channels live: as the folding says, else in logic up to
/// `LUT_MEMORY_BITS`.
pub(super) fn threshold_memory(
    cfg: &LayerFolding,
    output: &MvuOutput,
    o: usize,
    acc_bits: u32,
) -> MemoryStyle {
    let threshold_bits = match output {
        MvuOutput::Threshold { levels, .. } => o * (levels * acc_bits as usize + 1),
        MvuOutput::Accumulator => 0,
    };
    cfg.thresholds
        .unwrap_or(if threshold_bits > LUT_MEMORY_BITS {
            MemoryStyle::Block
        } else {
            MemoryStyle::Lut
        })
}
