//! Lowered graph → hardware plan: which stages, how folded, with what memory images and widths.
//!
//! The graph is read as a chain ([`chain`]); each dense or conv layer becomes its stages in
//! [`matrix`], which takes the layer's decisions in order through its siblings: the input taps
//! and the window generator ([`window`]), the codebook way of computing ([`sharing`]), the
//! accumulator domain and thresholds ([`thresholds`]), the weight memory ([`weights`]).

mod chain;
mod layer;
mod matrix;
mod sharing;
mod stream_ops;
mod thresholds;
mod weights;
mod window;

use chain::{takes_accumulator, walk, Step};
use layer::{Fold, Input};
use matrix::matrix_stages;
pub(crate) use window::padding_masked;
use xnorc_compiler::sanitize::printable;

use crate::folding::{auto_fold, FoldingFile, LayerFolding, LayerShape, DEFAULT_LANE_BUDGET};
use crate::pipeline::{components, gcd, HardwarePlan};
use crate::schedule::{buffers, size_fifos};
use crate::stage::{Pool, ScoresStage, Stage, StageKind};
use crate::stream::{stream_to_logical, Stream};
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{
    int_bits, ChannelRule, Geometry, Graph, NodeId, Op, Shape, SumPool, ValueType, WeightStore,
};
use xnorc_compiler::progress::{Progress, Silent};

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
        .at_field(format!("layers.{}.fanout", printable(&graph.node(id).name)))),
    }
}

/// Builds the plan for a lowered graph.
pub fn plan(graph: &Graph, folding: &FoldingFile) -> Result<HardwarePlan> {
    let (stages, tree_pipeline, input_order) = plan_stages(graph, folding)?;
    let memory_output_register = folding.memory_output_register.unwrap_or(false);
    let mut plan = plan_from_stages(
        graph,
        stages,
        tree_pipeline,
        input_order,
        memory_output_register,
    );
    plan.reset_copies = folding.reset_copies.unwrap_or(false);
    Ok(plan)
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
    plan_with_progress(
        graph,
        stages,
        tree_pipeline,
        input_order,
        memory_output_register,
        (&Silent, ""),
    )
}

/// [`plan_from_stages`], the FIFO sizing (minutes for a deep serial pipeline) told to
/// `progress` as a step counted in buffers, named after `what`.
pub fn plan_with_progress(
    graph: &Graph,
    stages: Vec<Stage>,
    tree_pipeline: u32,
    input_order: Vec<usize>,
    memory_output_register: bool,
    (progress, what): (&dyn Progress, &str),
) -> HardwarePlan {
    let mut stages = stages;
    choose_argmax(&mut stages);
    let (mut pipeline, sources) = components(
        &stages,
        tree_pipeline,
        1 + usize::from(memory_output_register),
    );
    let n = buffers(&pipeline);
    progress.step(
        &format!("{what}: sizing {n} buffers with the cycle model"),
        Some(n as u64),
    );
    let timing = size_fifos(&mut pipeline, &sources, stages[0].input.beats, progress);
    progress.done();
    HardwarePlan {
        model: graph.ident.clone(),
        tree_pipeline,
        memory_output_register,
        // Set by the caller from the folding: the cycle model does not depend on it.
        reset_copies: false,
        latency_cycles: timing.latency(),
        ii_cycles: timing.ii(),
        timing,
        buffer_styles: Default::default(),
        pipeline,
        sources,
        stages,
        input_order,
    }
}

/// Lets the scores stage scan its classes ([`ScoresStage::scan`]) when another stage is busy
/// at least a scan's period per frame.
fn choose_argmax(stages: &mut [Stage]) {
    let busiest = stages
        .iter()
        .filter(|s| !matches!(s.kind, StageKind::Scores(_)))
        .map(Stage::cycles_per_frame)
        .max()
        .unwrap_or(0);
    for s in stages {
        if let StageKind::Scores(sc) = &mut s.kind {
            sc.scan = busiest >= crate::schedule::scan_period(sc.classes);
        }
    }
}

/// The plan's stages (folding, widths, memories) without the cycle model and FIFO sizing:
/// cheap, for resource estimates over many candidate foldings. Also returns the tree
/// pipelining and the input order.
pub fn plan_stages(graph: &Graph, folding: &FoldingFile) -> Result<(Vec<Stage>, u32, Vec<usize>)> {
    let steps = walk(graph)?;
    let matrices: Vec<(NodeId, Option<NodeId>)> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Matrix(m, t) => Some((*m, *t)),
            _ => None,
        })
        .collect();
    for name in folding.layers.keys() {
        if !matrices.iter().any(|(m, _)| graph.node(*m).name == *name) {
            let layers: Vec<String> = matrices
                .iter()
                .map(|(m, _)| format!("\"{}\"", printable(&graph.node(*m).name)))
                .collect();
            return Err(ModelError::new(format!(
                "names no dense/conv layer of the model (\"{}\")",
                printable(name)
            ))
            .at_field(format!("layers.{}", printable(name)))
            .with_hint(format!(
                "the model's dense/conv layers, as a folding names them: {}",
                layers.join(", ")
            )));
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
    let input_value = Value {
        stage: None,
        stream: Stream {
            elems: 1,
            bits,
            signed,
            beats: input.shape.numel(),
            valid_bit: false,
        },
        map: match input.shape {
            Shape::Map { c, h, w } => Some((c, h, w)),
            Shape::Flat(_) => None,
        },
        flattened: None,
        order: None,
    };
    let input_order = match input.shape {
        Shape::Map { c, h, w } => stream_to_logical(c, h, w, None),
        Shape::Flat(n) => (0..n).collect(),
    };
    // The stream carrying each node's value, as the stages so far compute it.
    let mut values: std::collections::HashMap<NodeId, Value> = Default::default();
    values.insert(graph.input, input_value);
    let mut stages: Vec<Stage> = Vec::new();
    // Appends `new` stages, the first reading `from` (the rest each the one before); returns
    // the last one's index.
    let append = |stages: &mut Vec<Stage>, mut new: Vec<Stage>, from: Vec<Option<usize>>| {
        new[0].sources = from;
        stages.extend(new);
        stages.len() - 1
    };
    let mut layer = 0;
    for step in &steps {
        match *step {
            Step::Flatten(id) => {
                let mut v = values[&graph.node(id).inputs[0]].clone();
                if let Some(m) = v.map.take() {
                    v.flattened = Some(m);
                }
                values.insert(id, v);
            }
            Step::Pool(id, moved) => {
                // A pool after a matrix layer whose threshold moved before it reads the unit,
                // which streams that threshold's counts.
                let read = moved.unwrap_or(graph.node(id).inputs[0]);
                let from = values[&read].clone();
                let (c, h, w) = from.map.expect("pool on a map");
                let (k, sum) = match &graph.node(id).op {
                    Op::MaxPool(p) => (p.kernel, false),
                    Op::SumPool(SumPool::Window { kernel, .. }) => (*kernel, true),
                    Op::SumPool(SumPool::Global) => (h, true),
                    _ => unreachable!("pool steps are max- and sum-pools"),
                };
                let Shape::Map { h: oh, w: ow, .. } = graph.node(id).shape else {
                    unreachable!()
                };
                let minimum = match moved {
                    Some(t) => {
                        // The threshold now sits in the unit before: mark it, and take the
                        // minimum where its count falls as S rises.
                        if let Some(StageKind::Mvu(m)) = from.stage.map(|s| &mut stages[s].kind) {
                            m.threshold_before_pool = true;
                        }
                        falling_channels(graph, t, c, from.order.as_deref())
                    }
                    None => Vec::new(),
                };
                let pool = Pool {
                    node: moved.unwrap_or(id),
                    c,
                    h,
                    w,
                    k,
                    out_h: oh,
                    out_w: ow,
                    elems: from.stream.elems,
                    minimum,
                    sum,
                };
                let mut out = Stream {
                    beats: oh * ow * c / from.stream.elems,
                    ..from.stream
                };
                if sum {
                    // The window sum's own range.
                    let (min, max) = graph.node(id).vtype.range();
                    out.bits = int_bits(min, max).max(from.stream.bits + 1);
                    out.signed = min < 0;
                }
                let stage = Stage {
                    name: graph.node(id).ident.clone(),
                    layer: graph.node(id).name.clone(),
                    kind: StageKind::Pool(pool),
                    input: from.stream,
                    output: out,
                    channel_order: from.order.clone(),
                    sources: Vec::new(),
                };
                let at = append(&mut stages, vec![stage], vec![from.stage]);
                let value = Value {
                    stage: Some(at),
                    stream: out,
                    map: Some((c, oh, ow)),
                    ..from
                };
                values.insert(moved.unwrap_or(id), value.clone());
                values.insert(id, value);
            }
            Step::Matrix(id, t) => {
                let from = values[&graph.node(id).inputs[0]].clone();
                let fold = Fold {
                    shape: shapes[layer].0,
                    fanout: shapes[layer].1,
                    auto: auto[layer],
                };
                layer += 1;
                let input = Input {
                    stream: from.stream,
                    map: from.map,
                    flattened: from.flattened,
                    order: from.order,
                };
                let (stage_list, out, out_map) = matrix_stages(graph, folding, id, t, fold, input)?;
                let order = stage_list.last().and_then(|s| s.channel_order.clone());
                let at = append(&mut stages, stage_list, vec![from.stage]);
                values.insert(
                    t.unwrap_or(id),
                    Value {
                        stage: Some(at),
                        stream: out,
                        map: out_map,
                        flattened: None,
                        order,
                    },
                );
            }
            Step::Convert(id) => {
                let v = values[&id].clone();
                let stage = stream_ops::convert(graph, id, &stages, &v)?;
                follow(&mut stages, &mut values, id, stage, vec![v.stage], v);
            }
            Step::Affine(id) => {
                let v = values[&graph.node(id).inputs[0]].clone();
                let merged = takes_accumulator(graph, id);
                let stage = stream_ops::affine(graph, id, &stages, &v, merged)?;
                follow(&mut stages, &mut values, id, stage, vec![v.stage], v);
            }
            Step::Threshold(id) => {
                let v = values[&graph.node(id).inputs[0]].clone();
                let stage = stream_ops::threshold(graph, id, &v)?;
                follow(&mut stages, &mut values, id, stage, vec![v.stage], v);
            }
            Step::Subsample(id) | Step::PadChannels(id) => {
                let v = values[&graph.node(id).inputs[0]].clone();
                let stage = match *step {
                    Step::Subsample(_) => stream_ops::subsample(graph, id, &v)?,
                    _ => stream_ops::pad_channels(graph, id, &v)?,
                };
                // The map changes shape: the readers' windows see the new one.
                let map = match graph.node(id).shape {
                    Shape::Map { c, h, w } => Some((c, h, w)),
                    _ => None,
                };
                follow(
                    &mut stages,
                    &mut values,
                    id,
                    stage,
                    vec![v.stage],
                    Value { map, ..v },
                );
            }
            Step::MeanSign(id) => {
                let v = values[&graph.node(id).inputs[0]].clone();
                let stage = stream_ops::mean_sign(graph, id, &v)?;
                follow(&mut stages, &mut values, id, stage, vec![v.stage], v);
            }
            Step::Add(id) => {
                let inputs = &graph.node(id).inputs;
                let (a, b) = (values[&inputs[0]].clone(), values[&inputs[1]].clone());
                let stage = stream_ops::add(graph, id, &a, &b)?;
                let sources = vec![a.stage, b.stage];
                follow(&mut stages, &mut values, id, stage, sources, a);
            }
        }
    }
    let classifier = &values[&graph.node(graph.output).inputs[0]];
    let head = classifier.stage.expect("a dense layer feeds the output");
    let mut scores = scores_stage(graph, &stages[head], &classifier.stream);
    scores.sources = vec![Some(head)];
    stages.push(scores);
    Ok((stages, tree_pipeline, input_order))
}

/// Appends `stage` (reading `sources`) as the computation of node `id`, whose value is then
/// that stage's output stream, with the map and channel order of `like` (the stream it read).
fn follow(
    stages: &mut Vec<Stage>,
    values: &mut std::collections::HashMap<NodeId, Value>,
    id: NodeId,
    mut stage: Stage,
    sources: Vec<Option<usize>>,
    like: Value,
) {
    stage.sources = sources;
    let output = stage.output;
    stages.push(stage);
    let value = Value {
        stage: Some(stages.len() - 1),
        stream: output,
        ..like
    };
    values.insert(id, value);
}

/// The stream carrying a node's value: the stage computing it (`None`: the core's input), the
/// stream, the map it carries (or the map a flatten turned into this vector) and its channel
/// order when a fanned-out layer permuted it.
#[derive(Clone)]
pub(super) struct Value {
    pub stage: Option<usize>,
    pub stream: Stream,
    pub map: layer::Map,
    pub flattened: layer::Map,
    pub order: Option<Vec<usize>>,
}

/// Per channel position of a `c`-channel stream (logical channel `order[j]` at position j, or
/// j), whether threshold `t`'s count falls as its input rises (`le`).
fn falling_channels(graph: &Graph, t: NodeId, c: usize, order: Option<&[usize]>) -> Vec<bool> {
    let Op::Threshold(th) = &graph.node(t).op else {
        unreachable!("chain() moves only thresholds")
    };
    (0..c)
        .map(|j| {
            let channel = order.map_or(j, |o| o[j]);
            matches!(th.channels[channel], ChannelRule::Le(_))
        })
        .collect()
}

/// Scores: score = scale·S + offset with S = s_scale·acc + s_offset.
fn scores_stage(graph: &Graph, head: &Stage, input: &Stream) -> Stage {
    let output_id = graph.output;
    let Op::Output(scores) = &graph.node(output_id).op else {
        unreachable!()
    };
    let StageKind::Mvu(last) = &head.kind else {
        unreachable!("walk() has a dense layer feed the output")
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
        sources: Vec::new(),
        name: graph.node(output_id).ident.clone(),
        layer: graph.node(output_id).name.clone(),
        kind: StageKind::Scores(ScoresStage {
            classes,
            mul,
            add,
            score_bits,
            // Decided once every stage is final (`choose_argmax`).
            scan: false,
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
