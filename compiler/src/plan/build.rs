//! Lowered graph → hardware plan: which stages, how folded, with what memory images and widths.

use super::folding::{auto_fold, FoldingFile, LayerShape, MemoryStyle, DEFAULT_LANE_BUDGET};
use super::schedule::{size_fifos, WindowGeometry};
use super::{
    components, hwc_to_chw, HardwarePlan, Lane, Mvu, MvuOutput, Pool, ScoresStage, Stage,
    StageKind, Stream, Swg,
};
use crate::error::{ModelError, Result};
use crate::ir::{
    int_bits, ChannelRule, Geometry, Graph, NodeId, Op, PadMode, Shape, ValueType, WeightValues,
};

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported: chains of dense and \
         conv2d layers with fused thresholds, max-pool with stride = window, flatten)"
    ))
    .at_node(&graph.node(id).name)
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
    let mut pipeline = components(
        &stages,
        tree_pipeline,
        1 + usize::from(memory_output_register),
    );
    let timing = size_fifos(&mut pipeline, stages[0].input.beats);
    Ok(HardwarePlan {
        model: graph.ident.clone(),
        tree_pipeline,
        memory_output_register,
        latency_cycles: timing.latency(),
        ii_cycles: timing.ii(),
        timing,
        pipeline,
        stages,
        input_order,
    })
}

/// The plan's stages (folding, widths, memories) without the cycle model and FIFO sizing:
/// cheap, for resource estimates over many candidate foldings. Also returns the tree
/// pipelining and the input order.
pub fn plan_stages(graph: &Graph, folding: &FoldingFile) -> Result<(Vec<Stage>, u32, Vec<usize>)> {
    let steps = chain(graph)?;
    let matrices: Vec<NodeId> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Matrix(m, _) => Some(*m),
            _ => None,
        })
        .collect();
    for name in folding.layers.keys() {
        if !matrices.iter().any(|m| graph.node(*m).name == *name) {
            return Err(ModelError::new(format!(
                "names no dense/conv layer of the model (\"{}\")",
                name.escape_debug()
            ))
            .at_field(format!("layers.{}", name.escape_debug())));
        }
    }
    let shapes: Vec<LayerShape> = matrices
        .iter()
        .map(|&m| {
            let Op::MatMul(mm) = &graph.node(m).op else {
                unreachable!()
            };
            let out = graph.node(m).shape;
            let (vectors, simd_unit) = match mm.geometry {
                Geometry::Dense => (1, mm.weights.taps()),
                Geometry::Conv { .. } => (out.numel() / out.channels(), mm.weights.in_channels),
            };
            LayerShape {
                k: mm.weights.taps(),
                o: mm.weights.out_channels,
                vectors,
                simd_unit,
            }
        })
        .collect();
    let auto = auto_fold(&shapes, folding.lane_budget.unwrap_or(DEFAULT_LANE_BUDGET));
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
        Shape::Map { c, h, w } => (Some((c, h, w)), hwc_to_chw(c, h, w)),
        Shape::Flat(n) => (None, (0..n).collect()),
    };
    // The map a flatten turned into the current vector (its stream order is H, W, C).
    let mut flattened: Option<(usize, usize, usize)> = None;
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
                });
                cur = out;
                map = Some((c, oh, ow));
            }
            Step::Matrix(id, t) => {
                let fold = (shapes[layer], auto[layer]);
                layer += 1;
                let (stage_list, out, out_map) =
                    matrix_stages(graph, folding, id, t, fold, &cur, map, flattened.take())?;
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

/// The stages of one dense or conv layer (an SWG first for a conv), its output stream and map.
#[allow(clippy::too_many_arguments)]
fn matrix_stages(
    graph: &Graph,
    folding: &FoldingFile,
    id: NodeId,
    threshold: Option<NodeId>,
    (shape, auto): (LayerShape, (usize, usize)),
    input: &Stream,
    map: Map,
    flattened: Map,
) -> Result<(Vec<Stage>, Stream, Map)> {
    let node = graph.node(id);
    let Op::MatMul(mm) = &node.op else {
        unreachable!()
    };
    let w = &mm.weights;
    let cfg = folding.layers.get(&node.name).cloned().unwrap_or_default();
    let (k, o) = (shape.k, shape.o);
    let pe = cfg.pe.unwrap_or(auto.0);
    let simd = cfg.simd.unwrap_or(auto.1);
    let field = |f: &str| format!("layers.{}.{f}", node.name.escape_debug());
    let choices = |n: usize| (1..=n).filter(|d| n.is_multiple_of(*d)).collect::<Vec<_>>();
    if pe == 0 || o % pe != 0 {
        return Err(ModelError::new(format!(
            "PE {pe} does not divide the layer's {o} outputs; use one of {:?}",
            choices(o)
        ))
        .at_field(field("pe")));
    }
    if simd == 0 || shape.simd_unit % simd != 0 {
        let what = if shape.simd_unit == k {
            format!("the layer's {k} inputs")
        } else {
            format!(
                "the layer's {} input channels (a beat holds channels of one pixel)",
                shape.simd_unit
            )
        };
        return Err(ModelError::new(format!(
            "SIMD {simd} does not divide {what}; use one of {:?}",
            choices(shape.simd_unit)
        ))
        .at_field(field("simd")));
    }
    let x = graph.operand(id, 0);
    let binary = x.vtype == ValueType::Bits;
    let mut stages = Vec::new();
    let mut mvu_in = Stream {
        elems: simd,
        beats: shape.vectors * k / simd,
        ..*input
    };
    // Stream position i of the layer's input → (input channel, ky, kx) of the weights.
    let tap: Box<dyn Fn(usize) -> (usize, usize, usize)> = match mm.geometry {
        Geometry::Dense => match flattened {
            // The stream brings the flattened map pixel by pixel (H, W, C); the weights are
            // indexed in the model's (C, H, W) order.
            Some((c, h, wd)) => {
                let order = hwc_to_chw(c, h, wd);
                Box::new(move |i| (order[i], 0, 0))
            }
            None => Box::new(|i| (i, 0, 0)),
        },
        Geometry::Conv {
            stride,
            padding,
            pad_mode,
        } => {
            let (c, h, wd) = map.expect("conv on a map");
            let Shape::Map { h: oh, w: ow, .. } = node.shape else {
                unreachable!()
            };
            let masked = binary && pad_mode == PadMode::Zero && !padding.is_none();
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
                },
            };
            let swg_in = Stream {
                elems: simd,
                beats: h * wd * c / simd,
                ..*input
            };
            mvu_in.valid_bit = masked;
            stages.push(Stage {
                name: format!("{}_swg", node.ident),
                kind: StageKind::Swg(swg),
                input: swg_in,
                output: mvu_in,
            });
            let (kw, c) = (w.kw, w.in_channels);
            Box::new(move |i| (i % c, i / c / kw, i / c % kw))
        }
    };
    let lane = match (binary, w.values, mvu_in.valid_bit) {
        (true, WeightValues::Pm1, false) => Lane::Xnor,
        (true, WeightValues::ZeroOne, false) => Lane::And,
        (true, WeightValues::Pm1, true) => Lane::XnorMasked,
        (true, WeightValues::ZeroOne, true) => Lane::AndMasked,
        (false, WeightValues::Pm1, _) => Lane::AddSub,
        (false, WeightValues::ZeroOne, _) => Lane::AddZero,
    };
    let bit = |oc: usize, i: usize| {
        let (c, ky, kx) = tap(i);
        w.bit(oc, c, ky, kx)
    };
    // Accumulator domain: popcount P ∈ [0, K] for unmasked binary lanes, S itself otherwise.
    let (acc_min, acc_max, s_scale, s_offset): (i64, i64, i64, Vec<i64>) = match lane {
        Lane::Xnor => (0, k as i64, 2, vec![-(k as i64); o]),
        Lane::And => {
            let ones = (0..o)
                .map(|oc| -((0..k).filter(|&i| bit(oc, i)).count() as i64))
                .collect();
            (0, k as i64, 2, ones)
        }
        _ => {
            let (lo, hi) = node.vtype.range();
            (lo, hi, 1, vec![0; o])
        }
    };
    // Signed, with room for thresholds one past either end (lo − 1 and hi + 1).
    let acc_bits = int_bits(acc_min.min(0) - 1, acc_max + 1);
    let output = match threshold {
        Some(t) => {
            let Op::Threshold(th) = &graph.node(t).op else {
                unreachable!()
            };
            let mut ge = Vec::with_capacity(o);
            let mut thresholds = Vec::with_capacity(o * th.levels);
            for (c, rule) in th.channels.iter().enumerate() {
                let (g, ts) =
                    rule_in_acc_domain(rule, th.levels, s_scale, s_offset[c], acc_min, acc_max);
                ge.push(g);
                thresholds.extend(ts);
            }
            MvuOutput::Threshold {
                levels: th.levels,
                ge,
                thresholds,
            }
        }
        None => MvuOutput::Accumulator,
    };
    let (nf, sf) = (o / pe, k / simd);
    let weight_words = (0..nf * sf)
        .map(|addr| {
            let (f, s) = (addr / sf, addr % sf);
            (0..pe * simd)
                .map(|b| bit(f * pe + b / simd, s * simd + b % simd))
                .collect()
        })
        .collect();
    let memory = cfg
        .memory
        .unwrap_or(if k * o <= super::folding::LUT_MEMORY_BITS {
            MemoryStyle::Lut
        } else {
            MemoryStyle::Block
        });
    let threshold_bits = match &output {
        MvuOutput::Threshold { levels, .. } => o * (levels * acc_bits as usize + 1),
        MvuOutput::Accumulator => 0,
    };
    let threshold_memory = if threshold_bits > super::folding::LUT_MEMORY_BITS {
        MemoryStyle::Block
    } else {
        MemoryStyle::Lut
    };
    let out = Stream {
        elems: pe,
        bits: match &output {
            MvuOutput::Threshold { levels, .. } => int_bits(0, *levels as i64),
            MvuOutput::Accumulator => acc_bits,
        },
        signed: matches!(output, MvuOutput::Accumulator),
        beats: shape.vectors * nf,
        valid_bit: false,
    };
    stages.push(Stage {
        name: node.ident.clone(),
        kind: StageKind::Mvu(Mvu {
            node: id,
            threshold,
            vectors: shape.vectors,
            k,
            o,
            pe,
            simd,
            lane,
            acc_min,
            acc_max,
            acc_bits,
            s_offset,
            s_scale,
            output,
            weight_words,
            memory,
            threshold_memory,
        }),
        input: mvu_in,
        output: out,
    });
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
