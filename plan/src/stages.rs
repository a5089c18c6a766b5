//! Lowered graph → hardware plan: which stages, how folded, with what memory images and widths.

use super::codebook::{self, CodebookLayer};
use super::folding::{
    auto_fold, CodebookCompute, FoldingFile, LayerFolding, LayerShape, MemoryStyle,
    DEFAULT_LANE_BUDGET,
};
use super::schedule::{size_fifos, WindowGeometry};
use super::split::{self, AccDomain, ProbeKey, SplitChannel, SplitThreshold};
use super::{
    components, gcd, stream_to_logical, CodebookDecode, HardwarePlan, Lane, Mvu, MvuOutput, Pool,
    Responses, ScoresStage, Stage, StageKind, Stream, Swg,
};
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{
    int_bits, ChannelRule, Geometry, Graph, NodeId, Op, PadMode, Shape, ValueType, WeightStore,
    WeightValues,
};

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported: chains of dense and \
         conv2d layers with fused thresholds, max-pool with stride = window, flatten)"
    ))
    .at_node(&graph.node(id).name)
}

/// How many channel groups of a layer share their filters and get them computed once: the
/// copies of a tiled layer's tile that start at a filter boundary, gcd(O, p) — when a
/// threshold follows (the scores stage reads the classes in order) and the folding allows it.
fn fanout(
    graph: &Graph,
    id: NodeId,
    threshold: Option<NodeId>,
    cfg: &LayerFolding,
) -> Result<usize> {
    let Op::MatMul(mm) = &graph.node(id).op else {
        unreachable!()
    };
    let copies = match &mm.weights.store {
        WeightStore::Tiled(t) => gcd(mm.weights.out_channels, t.p),
        _ => 1,
    };
    // Channel groups with split partial sums differ in more than their thresholds.
    let split = threshold.is_some_and(|t| {
        matches!(&graph.node(t).op, Op::Threshold(th)
            if th.channels.iter().any(|r| matches!(r, ChannelRule::Split(_))))
    });
    match cfg.fanout {
        Some(false) => Ok(1),
        None => Ok(if threshold.is_some() && !split {
            copies
        } else {
            1
        }),
        Some(true) if threshold.is_some() && copies > 1 && !split => Ok(copies),
        Some(true) => Err(ModelError::new(
            "fan-out needs a tiled layer whose tile repeats at a filter boundary (gcd(outputs, \
             p) > 1) and a threshold after it whose channels all fold to thresholds (none on \
             split partial sums)",
        )
        .at_field(format!(
            "layers.{}.fanout",
            graph.node(id).name.escape_debug()
        ))),
    }
}

/// The smallest number of rows (a divisor of `words.len() / row_len`) whose repetition gives
/// every row: a tiled layer's repeated filters are stored once.
fn distinct_rows(words: &[Vec<bool>], row_len: usize) -> usize {
    let rows = words.len() / row_len;
    (1..=rows)
        .filter(|r| rows.is_multiple_of(*r))
        .find(|&r| (r * row_len..words.len()).all(|i| words[i] == words[i - r * row_len]))
        .unwrap_or(rows)
}

/// Does a layer's window flag padded taps invalid (binary data zero-padded, which is neither
/// +1 nor −1)? Checked for binary inputs only.
fn padding_masked(mm: &xnorc_compiler::ir::MatMul) -> bool {
    matches!(mm.geometry, Geometry::Conv { padding, pad_mode, .. }
        if pad_mode == PadMode::Zero && !padding.is_none())
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

/// One step of the chain from the input to the output.
enum Step {
    /// A dense or conv layer, with the threshold fused into it.
    Matrix(NodeId, Option<NodeId>),
    /// Max-pool.
    Pool(NodeId),
    /// Flatten (a no-op on vectors).
    Flatten,
}

fn chain(graph: &Graph) -> Result<Vec<Step>> {
    let users = |id: NodeId| -> Vec<NodeId> {
        graph
            .ids()
            .filter(|u| graph.node(*u).inputs.contains(&id))
            .collect()
    };
    let mut steps = Vec::new();
    let mut at = graph.input;
    loop {
        let next = users(at);
        let [next] = next[..] else {
            return Err(unsupported(graph, at, "a node with several consumers"));
        };
        match &graph.node(next).op {
            Op::Flatten => steps.push(Step::Flatten),
            Op::MaxPool(p) if p.stride == p.kernel => steps.push(Step::Pool(next)),
            Op::MatMul(_) => match users(next)[..] {
                [t] if matches!(graph.node(t).op, Op::Threshold(_)) => {
                    steps.push(Step::Matrix(next, Some(t)));
                    at = t;
                    continue;
                }
                _ => steps.push(Step::Matrix(next, None)),
            },
            Op::Output(_) => break,
            Op::MaxPool(_) => {
                return Err(unsupported(graph, next, "max-pool with stride ≠ window"))
            }
            other => {
                return Err(unsupported(
                    graph,
                    next,
                    &format!("`{}` here", other.kind()),
                ))
            }
        }
        at = next;
    }
    match steps.last() {
        Some(Step::Matrix(m, None)) if graph.node(*m).shape.channels() == graph.classes() => {
            Ok(steps)
        }
        _ => Err(unsupported(
            graph,
            graph.output,
            "an output not fed directly by a dense layer",
        )),
    }
}

/// Builds the plan for a lowered graph.
pub fn plan(graph: &Graph, folding: &FoldingFile) -> Result<HardwarePlan> {
    let (stages, tree_pipeline, input_order) = plan_stages(graph, folding)?;
    let memory_output_register = folding.memory_output_register.unwrap_or(false);
    Ok(plan_from_stages(
        graph,
        stages,
        tree_pipeline,
        input_order,
        memory_output_register,
    ))
}

/// Completes [`plan_stages`]' result (possibly with memories moved since) into the plan: the
/// pipeline's components, the cycle model and the FIFO sizing.
pub fn plan_from_stages(
    graph: &Graph,
    stages: Vec<Stage>,
    tree_pipeline: u32,
    input_order: Vec<usize>,
    memory_output_register: bool,
) -> HardwarePlan {
    let mut pipeline = components(
        &stages,
        tree_pipeline,
        1 + usize::from(memory_output_register),
    );
    let timing = size_fifos(&mut pipeline, stages[0].input.beats);
    HardwarePlan {
        model: graph.ident.clone(),
        tree_pipeline,
        memory_output_register,
        latency_cycles: timing.latency(),
        ii_cycles: timing.ii(),
        timing,
        buffer_styles: Default::default(),
        pipeline,
        stages,
        input_order,
    }
}

/// The plan's stages (folding, widths, memories) without the cycle model and FIFO sizing:
/// cheap, for resource estimates over many candidate foldings. Also returns the tree
/// pipelining and the input order.
pub fn plan_stages(graph: &Graph, folding: &FoldingFile) -> Result<(Vec<Stage>, u32, Vec<usize>)> {
    let steps = chain(graph)?;
    let matrices: Vec<(NodeId, Option<NodeId>)> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Matrix(m, t) => Some((*m, *t)),
            _ => None,
        })
        .collect();
    for name in folding.layers.keys() {
        if !matrices.iter().any(|(m, _)| graph.node(*m).name == *name) {
            return Err(ModelError::new(format!(
                "names no dense/conv layer of the model (\"{}\")",
                name.escape_debug()
            ))
            .at_field(format!("layers.{}", name.escape_debug())));
        }
    }
    let shapes: Vec<(LayerShape, usize)> = matrices
        .iter()
        .map(|&(m, t)| {
            let Op::MatMul(mm) = &graph.node(m).op else {
                unreachable!()
            };
            let cfg = folding.layers.get(&graph.node(m).name).cloned();
            let fan = fanout(graph, m, t, &cfg.unwrap_or_default())?;
            let out = graph.node(m).shape;
            let (vectors, simd_unit) = match mm.geometry {
                Geometry::Dense => (1, mm.weights.taps()),
                Geometry::Conv { .. } => (out.numel() / out.channels(), mm.weights.in_channels),
            };
            let shape = LayerShape {
                k: mm.weights.taps(),
                // The filters the unit computes.
                o: mm.weights.out_channels / fan,
                vectors,
                simd_unit,
            };
            Ok((shape, fan))
        })
        .collect::<Result<_>>()?;
    let auto = auto_fold(
        &shapes.iter().map(|s| s.0).collect::<Vec<_>>(),
        folding.lane_budget.unwrap_or(DEFAULT_LANE_BUDGET),
    );
    let tree_pipeline = folding.tree_pipeline.unwrap_or(1);
    let input = graph.input_node();
    let (bits, signed) = match input.vtype {
        ValueType::Bits => (1, false),
        ValueType::Int { min, max } => (int_bits(min, max), min < 0),
    };
    let mut cur = Stream {
        elems: 1,
        bits,
        signed,
        beats: input.shape.numel(),
        valid_bit: false,
    };
    let (mut map, input_order) = match input.shape {
        Shape::Map { c, h, w } => (Some((c, h, w)), stream_to_logical(c, h, w, None)),
        Shape::Flat(n) => (None, (0..n).collect()),
    };
    // The map a flatten turned into the current vector (its stream order is H, W, C).
    let mut flattened: Option<(usize, usize, usize)> = None;
    // The current stream's channel order, when a fanned-out layer permuted it.
    let mut order: Option<Vec<usize>> = None;
    let mut stages = Vec::new();
    let mut layer = 0;
    for step in &steps {
        match *step {
            Step::Flatten => {
                if let Some(m) = map.take() {
                    flattened = Some(m);
                }
            }
            Step::Pool(id) => {
                let Op::MaxPool(p) = &graph.node(id).op else {
                    unreachable!()
                };
                let (c, h, w) = map.expect("pool on a map");
                let Shape::Map { h: oh, w: ow, .. } = graph.node(id).shape else {
                    unreachable!()
                };
                let pool = Pool {
                    node: id,
                    c,
                    h,
                    w,
                    k: p.kernel,
                    out_h: oh,
                    out_w: ow,
                    elems: cur.elems,
                };
                let out = Stream {
                    beats: oh * ow * c / cur.elems,
                    ..cur
                };
                stages.push(Stage {
                    name: graph.node(id).ident.clone(),
                    kind: StageKind::Pool(pool),
                    input: cur,
                    output: out,
                    channel_order: order.clone(),
                });
                cur = out;
                map = Some((c, oh, ow));
            }
            Step::Matrix(id, t) => {
                let fold = Fold {
                    shape: shapes[layer].0,
                    fanout: shapes[layer].1,
                    auto: auto[layer],
                };
                layer += 1;
                let input = Input {
                    stream: cur,
                    map,
                    flattened: flattened.take(),
                    order: order.take(),
                };
                let (stage_list, out, out_map) = matrix_stages(graph, folding, id, t, fold, input)?;
                order = stage_list.last().and_then(|s| s.channel_order.clone());
                stages.extend(stage_list);
                cur = out;
                map = out_map;
            }
        }
    }
    stages.push(scores_stage(graph, &stages, &cur));
    Ok((stages, tree_pipeline, input_order))
}

type Map = Option<(usize, usize, usize)>;

/// A matrix layer's folding inputs: its shape as the automatic rule saw it, its fan-out and
/// the automatic (PE, SIMD).
struct Fold {
    shape: LayerShape,
    fanout: usize,
    auto: (usize, usize),
}

/// What arrives at a matrix layer: the stream, the map it carries (or the map a flatten turned
/// into this vector) and its channel order.
struct Input {
    stream: Stream,
    map: Map,
    flattened: Map,
    order: Option<Vec<usize>>,
}

/// The stages of one dense or conv layer (an SWG first for a conv), its output stream and map.
fn matrix_stages(
    graph: &Graph,
    folding: &FoldingFile,
    id: NodeId,
    threshold: Option<NodeId>,
    fold: Fold,
    input: Input,
) -> Result<(Vec<Stage>, Stream, Map)> {
    let node = graph.node(id);
    let Op::MatMul(mm) = &node.op else {
        unreachable!()
    };
    let w = &mm.weights;
    let cfg = folding.layers.get(&node.name).cloned().unwrap_or_default();
    let (k, filters, fan) = (fold.shape.k, fold.shape.o, fold.fanout);
    let o = w.out_channels;
    let pe = cfg.pe.unwrap_or(fold.auto.0);
    let simd = cfg.simd.unwrap_or(fold.auto.1);
    let field = |f: &str| format!("layers.{}.{f}", node.name.escape_debug());
    let choices = |n: usize| (1..=n).filter(|d| n.is_multiple_of(*d)).collect::<Vec<_>>();
    if pe == 0 || filters % pe != 0 {
        let what = if fan > 1 {
            format!(
                "the layer's {filters} distinct filters (its {o} outputs are {fan} copies of \
                 them, computed once)"
            )
        } else {
            format!("the layer's {o} outputs")
        };
        return Err(ModelError::new(format!(
            "PE {pe} does not divide {what}; use one of {:?}",
            choices(filters)
        ))
        .at_field(field("pe")));
    }
    let unit = fold.shape.simd_unit;
    if simd == 0 || !unit.is_multiple_of(simd) {
        let what = if unit == k {
            format!("the layer's {k} inputs")
        } else {
            format!("the layer's {unit} input channels (a beat holds channels of one pixel)")
        };
        return Err(ModelError::new(format!(
            "SIMD {simd} does not divide {what}; use one of {:?}",
            choices(unit)
        ))
        .at_field(field("simd")));
    }
    let x = graph.operand(id, 0);
    let binary = x.vtype == ValueType::Bits;
    let lane = match (binary, w.values, binary && padding_masked(mm)) {
        (true, WeightValues::Pm1, false) => Lane::Xnor,
        (true, WeightValues::ZeroOne, false) => Lane::And,
        (true, WeightValues::Pm1, true) => Lane::XnorMasked,
        (true, WeightValues::ZeroOne, true) => Lane::AndMasked,
        (false, WeightValues::Pm1, _) => Lane::AddSub,
        (false, WeightValues::ZeroOne, _) => Lane::AddZero,
    };
    // A codebook convolution decodes its indices or shares its kernels' responses.
    let taps = w.kh * w.kw;
    let share = match (&w.store, mm.geometry) {
        (WeightStore::Codebook(cb), Geometry::Conv { .. }) => {
            let range =
                codebook::response_range(lane, taps, input.stream.bits, input.stream.signed);
            let layer = CodebookLayer {
                o,
                c: w.in_channels,
                taps,
                tau: cb.tau,
                entries: cb.entries,
                response_bits: codebook::response_bits(range),
                index_in_block_ram: cfg.memory.map_or(
                    o * w.in_channels * cb.tau as usize > super::folding::LUT_MEMORY_BITS,
                    |m| m == MemoryStyle::Block,
                ),
            };
            let choice = codebook::choose(&layer, pe, simd, cfg.compute);
            (choice.compute == CodebookCompute::Share).then_some((
                choice.pe,
                choice.simd,
                range,
                layer,
            ))
        }
        _ if cfg.compute.is_some() => {
            return Err(ModelError::new(
                "`compute` applies to kernel-codebook convolutions only; this layer is not one",
            )
            .at_field(field("compute")))
        }
        _ => None,
    };
    let (pe, simd) = share.map_or((pe, simd), |s| (s.0, s.1));
    let mut stages = Vec::new();
    let mut mvu_in = Stream {
        elems: simd,
        beats: fold.shape.vectors * k / simd,
        ..input.stream
    };
    let in_order = input.order.clone();
    let logical = move |j: usize| in_order.as_ref().map_or(j, |o| o[j]);
    // Stream position i of the layer's input → (input channel, ky, kx) of the weights.
    let tap: Box<dyn Fn(usize) -> (usize, usize, usize)> = match mm.geometry {
        Geometry::Dense => match input.flattened {
            // The stream brings the flattened map pixel by pixel (H, W, C); the weights are
            // indexed in the model's (C, H, W) order.
            Some((c, h, wd)) => {
                let order = stream_to_logical(c, h, wd, input.order.as_deref());
                Box::new(move |i| (order[i], 0, 0))
            }
            None => Box::new(move |i| (logical(i), 0, 0)),
        },
        Geometry::Conv {
            stride, padding, ..
        } => {
            let (c, h, wd) = input.map.expect("conv on a map");
            let Shape::Map { h: oh, w: ow, .. } = node.shape else {
                unreachable!()
            };
            let masked = binary && padding_masked(mm);
            let swg = Swg {
                c,
                simd,
                masked,
                window: WindowGeometry {
                    cb: c / simd,
                    h,
                    w: wd,
                    kh: w.kh,
                    kw: w.kw,
                    stride,
                    pad_top: padding.top,
                    pad_left: padding.left,
                    out_h: oh,
                    out_w: ow,
                    rows: (w.kh + stride).next_power_of_two(),
                    channel_blocks_outer: share.is_some(),
                },
            };
            let swg_in = Stream {
                elems: simd,
                beats: h * wd * c / simd,
                ..input.stream
            };
            mvu_in.valid_bit = masked;
            stages.push(Stage {
                name: format!("{}_swg", node.ident),
                kind: StageKind::Swg(swg),
                input: swg_in,
                output: mvu_in,
                channel_order: input.order.clone(),
            });
            let (kw, c) = (w.kw, w.in_channels);
            Box::new(move |i| (logical(i % c), i / c / kw, i / c % kw))
        }
    };
    // Split channels (filters spanning tiled chunks of different α): the unit computes a
    // probe row for each after the outputs, up to a whole pass, and a split threshold stage
    // decides them (plan::split).
    let splits = match threshold.map(|t| (t, &graph.node(t).op)) {
        Some((t, Op::Threshold(th))) => {
            split::split_rules(th).map_err(|e| e.at_node(&graph.node(t).name))?
        }
        _ => Vec::new(),
    };
    let probes = splits.len().div_ceil(pe) * pe;
    let flat = |c: usize, ky: usize, kx: usize| (c * w.kh + ky) * w.kw + kx;
    // Weight bit of the unit's row `row` (output channel, or probe row) at input position i.
    let bit = |row: usize, i: usize| {
        let (c, ky, kx) = tap(i);
        match row.checked_sub(o) {
            None => w.bit(row, c, ky, kx),
            Some(q) => splits.get(q).is_some_and(|&(ch, rule, j)| {
                let run = (rule.runs[j].start, rule.runs[j].end);
                split::probe_bit(w.values, run, flat(c, ky, kx), w.bit(ch, c, ky, kx))
            }),
        }
    };
    let rows = o + probes;
    // Accumulator domain: popcount P ∈ [0, K] for unmasked binary lanes, S itself otherwise.
    let (acc_min, acc_max, s_scale, s_offset): (i64, i64, i64, Vec<i64>) = match lane {
        Lane::Xnor => (0, k as i64, 2, vec![-(k as i64); rows]),
        Lane::And => {
            let ones = (0..rows)
                .map(|oc| -((0..k).filter(|&i| bit(oc, i)).count() as i64))
                .collect();
            (0, k as i64, 2, ones)
        }
        _ => {
            let (lo, hi) = node.vtype.range();
            (lo, hi, 1, vec![0; rows])
        }
    };
    // Signed, with room for thresholds one past either end (lo − 1 and hi + 1).
    let acc_bits = int_bits(acc_min.min(0) - 1, acc_max + 1);
    // A sharing unit's inputs are the C channels' response vectors.
    let unit_k = if share.is_some() { w.in_channels } else { k };
    let (nf, sf) = ((filters + probes) / pe, unit_k / simd);
    // Output channel of beat element e in pass f: group e / PE, filter f·PE + e mod PE.
    let channel = |f: usize, e: usize| (e / pe) * filters + f * pe + e % pe;
    let output = match threshold {
        Some(t) => {
            let Op::Threshold(th) = &graph.node(t).op else {
                unreachable!()
            };
            let mut ge = Vec::with_capacity(o);
            let mut thresholds = Vec::with_capacity(o * th.levels);
            // In stream order: pass by pass, PE·fanout channels each. Probe rows and split
            // channels have none (the split stage decides them).
            for f in 0..nf {
                for e in 0..pe * fan {
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
                        s_scale,
                        s_offset[c],
                        acc_min,
                        acc_max,
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
        None => MvuOutput::Accumulator,
    };
    // With split channels the unit streams accumulators and the split stage thresholds them.
    let split_stage = match (&output, splits.is_empty()) {
        (MvuOutput::Threshold { ge, thresholds, .. }, false) => {
            let key = ProbeKey::of_lane(lane);
            let (lo, hi) = node.vtype.range();
            let per_tap = (lo / k as i64, hi / k as i64);
            let acc = AccDomain {
                min: acc_min,
                max: acc_max,
                scale: s_scale,
                offset: &s_offset,
            };
            let channels = splits
                .iter()
                .enumerate()
                .map(|(q, &(ch, rule, j))| {
                    let run = (rule.runs[j].start, rule.runs[j].end);
                    let ones = (0..k)
                        .filter(|&i| {
                            let (c, ky, kx) = tap(i);
                            (run.0..run.1).contains(&flat(c, ky, kx)) && w.bit(ch, c, ky, kx)
                        })
                        .count() as i64;
                    let (key_min, ge, table) =
                        split::channel_table(rule, ch, j, key, &acc, per_tap, ones);
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
                acc_bits,
                ge,
                thresholds,
                split: channels,
            })
        }
        _ => None,
    };
    let (output, threshold) = match split_stage {
        Some(_) => (MvuOutput::Accumulator, None),
        None => (output, threshold),
    };
    let index_layout = match (&w.store, mm.geometry) {
        (WeightStore::Codebook(cb), Geometry::Conv { .. }) => Some(CodebookDecode {
            tau: cb.tau,
            entries: cb.entries,
            channel_blocks: w.in_channels / simd,
            planes: (0..w.kh * w.kw)
                .map(|t| {
                    (0..1usize << cb.tau)
                        .map(|j| j < cb.entries && cb.bits.get(j * w.kh * w.kw + t))
                        .collect()
                })
                .collect(),
        }),
        _ => None,
    };
    let (weight_words, row_len) = match (&index_layout, &w.store) {
        (Some(d), WeightStore::Codebook(cb)) => {
            // Row nf, channel block b: the τ-bit index of filter nf·PE + pe, channel b·SIMD + s.
            let tau = cb.tau as usize;
            let words = (0..nf * d.channel_blocks)
                .map(|addr| {
                    let (f, b) = (addr / d.channel_blocks, addr % d.channel_blocks);
                    (0..pe * simd)
                        .flat_map(|l| {
                            let (oc, (c, _, _)) = (f * pe + l / simd, tap(b * simd + l % simd));
                            let index = cb.indices[oc * w.in_channels + c];
                            (0..tau).map(move |i| (index >> i) & 1 == 1)
                        })
                        .collect()
                })
                .collect::<Vec<Vec<bool>>>();
            (words, d.channel_blocks)
        }
        _ => {
            let words = (0..nf * sf)
                .map(|addr| {
                    let (f, s) = (addr / sf, addr % sf);
                    (0..pe * simd)
                        .map(|b| bit(f * pe + b / simd, s * simd + b % simd))
                        .collect()
                })
                .collect::<Vec<Vec<bool>>>();
            (words, sf)
        }
    };
    // Store each distinct row once: a tiled layer's passes repeat its tile's filters.
    let rows = distinct_rows(&weight_words, row_len);
    let mut weight_words = weight_words;
    weight_words.truncate(rows * row_len);
    let memory_bits = weight_words.len() * weight_words[0].len();
    let memory = cfg
        .memory
        .unwrap_or(if memory_bits <= super::folding::LUT_MEMORY_BITS {
            MemoryStyle::Lut
        } else {
            MemoryStyle::Block
        });
    let threshold_bits = match &output {
        MvuOutput::Threshold { levels, .. } => o * (levels * acc_bits as usize + 1),
        MvuOutput::Accumulator => 0,
    };
    let threshold_memory =
        cfg.thresholds
            .unwrap_or(if threshold_bits > super::folding::LUT_MEMORY_BITS {
                MemoryStyle::Block
            } else {
                MemoryStyle::Lut
            });
    let out = Stream {
        elems: pe * fan,
        bits: match &output {
            MvuOutput::Threshold { levels, .. } => int_bits(0, *levels as i64),
            MvuOutput::Accumulator => acc_bits,
        },
        signed: matches!(output, MvuOutput::Accumulator),
        beats: fold.shape.vectors * nf,
        valid_bit: false,
    };
    // Sharing: the responses stage turns the window stream into one beat of SIMD response
    // vectors per channel block, and the unit selects from them.
    let (codebook, lane, mvu_in) = match (share, &index_layout) {
        (Some((_, _, range, layer)), Some(d)) => {
            let signed = range.0 < 0;
            let responses = Responses {
                c: w.in_channels,
                simd,
                taps,
                entries: layer.entries,
                lane,
                response_bits: layer.response_bits,
                signed,
                planes: d
                    .planes
                    .iter()
                    .map(|p| p[..layer.entries].to_vec())
                    .collect(),
            };
            let out = Stream {
                elems: simd,
                bits: layer.entries as u32 * layer.response_bits,
                signed: false,
                beats: mvu_in.beats / taps,
                valid_bit: false,
            };
            stages.push(Stage {
                name: format!("{}_responses", node.ident),
                kind: StageKind::Responses(responses),
                input: mvu_in,
                output: out,
                channel_order: input.order.clone(),
            });
            let select = Lane::Select {
                tau: layer.tau,
                entries: layer.entries,
                response_bits: layer.response_bits,
                signed,
                taps,
            };
            (None, select, out)
        }
        _ => (index_layout, lane, mvu_in),
    };
    let channel_order = (fan > 1).then(|| {
        (0..o)
            .map(|j| channel(j / (pe * fan), j % (pe * fan)))
            .collect()
    });
    stages.push(Stage {
        name: node.ident.clone(),
        kind: StageKind::Mvu(Mvu {
            node: id,
            threshold,
            vectors: fold.shape.vectors,
            k: unit_k,
            o,
            probes,
            pe,
            simd,
            lane,
            acc_min,
            acc_max,
            acc_bits,
            s_offset,
            s_scale,
            output,
            fanout: fan,
            weight_words,
            codebook,
            storage: w.storage(),
            memory,
            threshold_memory,
        }),
        input: mvu_in,
        output: out,
        channel_order,
    });
    // The split stage reads the accumulators one per beat and emits every channel's bit.
    let out = match split_stage {
        Some(st) => {
            let input = Stream {
                elems: 1,
                beats: fold.shape.vectors * rows,
                ..out
            };
            let output = Stream {
                elems: o,
                bits: 1,
                signed: false,
                beats: fold.shape.vectors,
                valid_bit: false,
            };
            stages.push(Stage {
                name: format!("{}_split", node.ident),
                kind: StageKind::SplitThreshold(st),
                input,
                output,
                channel_order: None,
            });
            output
        }
        None => out,
    };
    let out_map = match node.shape {
        Shape::Map { c, h, w } => Some((c, h, w)),
        Shape::Flat(_) => None,
    };
    Ok((stages, out, out_map))
}

/// Scores: score = scale·S + offset with S = s_scale·acc + s_offset.
fn scores_stage(graph: &Graph, stages: &[Stage], input: &Stream) -> Stage {
    let output_id = graph.output;
    let Op::Output(scores) = &graph.node(output_id).op else {
        unreachable!()
    };
    let StageKind::Mvu(last) = &stages.last().expect("a dense layer").kind else {
        unreachable!("chain() ends with a dense layer")
    };
    let classes = last.o;
    let mul: Vec<i64> = scores.scale.iter().map(|&a| a * last.s_scale).collect();
    let add: Vec<i64> = (0..classes)
        .map(|c| scores.scale[c] * last.s_offset[c] + scores.offset[c])
        .collect();
    let (smin, smax) = graph.node(output_id).vtype.range();
    let score_bits = int_bits(smin.min(-1), smax);
    Stage {
        channel_order: None,
        name: graph.node(output_id).ident.clone(),
        kind: StageKind::Scores(ScoresStage {
            classes,
            mul,
            add,
            score_bits,
        }),
        input: Stream {
            elems: classes,
            beats: 1,
            ..*input
        },
        output: Stream {
            elems: classes,
            bits: score_bits,
            signed: true,
            beats: 1,
            valid_bit: false,
        },
    }
}
