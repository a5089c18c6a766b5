//! The hardware plan: the lowered graph as a chain of streaming stages with their folding,
//! memory images, widths and the analytical cycle model.
//!
//! Passes → **plan** → Verilog. The plan decides everything about the hardware that is not
//! Verilog syntax (the `rtl` crate only renders it), so reports (`plan.json`) and the generator
//! can never disagree. Stages today: one MVU per matrix layer (fused with the threshold that
//! follows it), width converters and FIFOs between them, and the scores/argmax stage.

pub mod folding;
pub mod schedule;

use crate::error::{ModelError, Result};
use crate::ir::{
    int_bits, ChannelRule, Geometry, Graph, NodeId, Op, Shape, ValueType, WeightValues,
};
use folding::{auto_fold, FoldingFile, MemoryStyle, DEFAULT_LANE_BUDGET, LUT_MEMORY_BITS};
use schedule::{size_fifos, Component, Timing};
use serde::Serialize;

/// One stream between stages: `elems` elements of `bits` bits per beat (element i at bits
/// [i·bits, (i+1)·bits)), `beats` beats per frame, elements in logical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stream {
    /// Elements per beat.
    pub elems: usize,
    /// Bits per element.
    pub bits: u32,
    /// Elements are two's complement.
    pub signed: bool,
    /// Beats per frame.
    pub beats: usize,
}

impl Stream {
    /// Bits per beat.
    pub fn width(&self) -> usize {
        self.elems * self.bits as usize
    }
}

/// What an MVU lane computes per input element and weight bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Binary input, ±1 weights: count of w == x (XNOR).
    Xnor,
    /// Binary input, {0,1} weights: count of w ∧ x (AND).
    And,
    /// Integer input, ±1 weights: +x if w else −x.
    AddSub,
    /// Integer input, {0,1} weights: x if w else 0.
    AddZero,
}

/// What an MVU emits per output channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MvuOutput {
    /// Threshold counts: per channel, `ge` (acc ≥ t) or not (acc ≤ t) against `levels`
    /// thresholds in the accumulator's domain, clamped to its range. Constants are encoded as
    /// thresholds at the ends of the range.
    Threshold {
        /// Thresholds per channel.
        levels: usize,
        /// Per channel: compare with ≥ (true) or ≤ (false).
        ge: Vec<bool>,
        /// `out × levels` thresholds.
        thresholds: Vec<i64>,
    },
    /// The accumulator itself (the layer feeding the scores stage).
    Accumulator,
}

/// A matrix-vector unit: `pe` output channels × `simd` input elements per cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mvu {
    /// The matrix node.
    #[serde(skip)]
    pub node: NodeId,
    /// Inputs per output (K).
    pub k: usize,
    /// Outputs (O).
    pub o: usize,
    /// Output channels in parallel.
    pub pe: usize,
    /// Input elements per cycle.
    pub simd: usize,
    /// Lane function.
    pub lane: Lane,
    /// Accumulator range (count domain for binary inputs: P ∈ [0, K]).
    pub acc_min: i64,
    /// Upper end of the accumulator range.
    pub acc_max: i64,
    /// Accumulator and threshold bits (two's complement, room for lo − 1 and hi + 1).
    pub acc_bits: u32,
    /// The integer S of the model is `s_scale[c]·acc + s_offset[c]` (for reports and scores).
    #[serde(skip)]
    pub s_offset: Vec<i64>,
    /// `2` for binary lanes (S = 2P − c), `1` for integer lanes.
    pub s_scale: i64,
    /// Fused threshold or raw accumulator.
    pub output: MvuOutput,
    /// Weight memory: NF·SF words (address nf·SF + sf) of PE·SIMD bits, bit pe·SIMD + s =
    /// weight bit of output nf·PE + pe, input sf·SIMD + s.
    #[serde(skip)]
    pub weight_words: Vec<Vec<bool>>,
    /// Where weights (and thresholds) live.
    pub memory: MemoryStyle,
}

impl Mvu {
    /// Neuron folds: O / PE.
    pub fn nf(&self) -> usize {
        self.o / self.pe
    }

    /// Synapse folds: K / SIMD.
    pub fn sf(&self) -> usize {
        self.k / self.simd
    }

    /// Weight memory bits.
    pub fn weight_bits(&self) -> usize {
        self.k * self.o
    }
}

/// The final stage: per class score = mul[c]·acc + add[c], then argmax (lowest index on ties).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScoresStage {
    /// Classes.
    pub classes: usize,
    /// Accumulator → score multiplier per class.
    pub mul: Vec<i64>,
    /// Accumulator → score offset per class.
    pub add: Vec<i64>,
    /// Bits of one score (two's complement).
    pub score_bits: u32,
}

/// A stage of the dataflow pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StageKind {
    /// Matrix-vector unit.
    Mvu(Mvu),
    /// Scores and argmax.
    Scores(ScoresStage),
}

/// A stage with its name and streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Sanitized identifier (from the model's node name).
    pub name: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: StageKind,
    /// Stream it reads.
    pub input: Stream,
    /// Stream it writes.
    pub output: Stream,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardwarePlan {
    /// Sanitized model name.
    pub model: String,
    /// Adder-tree levels per pipeline register (0 = unpipelined).
    pub tree_pipeline: u32,
    /// Stages in stream order.
    pub stages: Vec<Stage>,
    /// The core's components in stream order: FIFOs, width converters and the stages.
    pub pipeline: Vec<Component>,
    /// Cycles from a frame's first input beat to its output beat (idle pipeline).
    pub latency_cycles: u64,
    /// Cycles per frame at steady state.
    pub ii_cycles: u64,
    /// Predicted output cycles of the stall-free sizing run (what Verilator must reproduce).
    pub timing: Timing,
}

/// Pipeline registers of a SIMD-input adder tree with a register every `every` levels.
pub fn tree_registers(simd: usize, every: u32) -> usize {
    let levels = usize::BITS - (simd.max(1) - 1).leading_zeros();
    if every == 0 {
        0
    } else {
        levels.div_ceil(every) as usize
    }
}

/// Width converters turning beats of `from` elements into beats of `to` elements.
fn converters(from: usize, to: usize) -> Vec<Component> {
    let g = gcd(from, to);
    let mut out = Vec::new();
    if from != g {
        out.push(Component::DwcDown { ratio: from / g });
    }
    if to != g {
        out.push(Component::DwcUp { ratio: to / g });
    }
    out
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The components of a plan's stages, FIFOs unsized.
fn components(stages: &[Stage], tree_pipeline: u32) -> Vec<Component> {
    let mut out = vec![Component::Fifo {
        depth: 2,
        beats: stages[0].input.beats,
    }];
    for (i, stage) in stages.iter().enumerate() {
        if i > 0 {
            out.extend(converters(stages[i - 1].output.elems, stage.input.elems));
            out.push(Component::Fifo {
                depth: 2,
                beats: stage.input.beats,
            });
        }
        out.push(match &stage.kind {
            StageKind::Mvu(m) => Component::Mvu {
                nf: m.nf(),
                sf: m.sf(),
                tree_registers: tree_registers(m.simd, tree_pipeline),
                stage: i,
            },
            StageKind::Scores(_) => Component::Scores { stage: i },
        });
    }
    out
}

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported today: dense layers \
         with fused thresholds on vector inputs)"
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
    let clamp = |t: i64| t.clamp(lo, hi + 1);
    match rule {
        ChannelRule::Ge(t) => (true, t.iter().map(|&t| clamp(ceil(t))).collect()),
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

/// Builds the plan for a lowered graph.
pub fn plan(graph: &Graph, folding: &FoldingFile) -> Result<HardwarePlan> {
    // The chain: input → (matmul → threshold?)* → output; flattens of vectors are no-ops.
    let mut chain: Vec<(NodeId, Option<NodeId>)> = Vec::new();
    let users = |id: NodeId| -> Vec<NodeId> {
        graph
            .ids()
            .filter(|u| graph.node(*u).inputs.contains(&id))
            .collect()
    };
    let mut at = graph.input;
    if !matches!(graph.input_node().shape, Shape::Flat(_)) {
        return Err(unsupported(graph, graph.input, "a feature-map input"));
    }
    loop {
        let next = users(at);
        let [next] = next[..] else {
            return Err(unsupported(graph, at, "a node with several consumers"));
        };
        match &graph.node(next).op {
            Op::Flatten => at = next,
            Op::MatMul(m) => {
                if m.geometry != Geometry::Dense {
                    return Err(unsupported(graph, next, "conv2d"));
                }
                let after = users(next);
                match after[..] {
                    [t] if matches!(graph.node(t).op, Op::Threshold(_)) => {
                        chain.push((next, Some(t)));
                        at = t;
                    }
                    _ => {
                        chain.push((next, None));
                        at = next;
                    }
                }
            }
            Op::Output(_) => break,
            other => return Err(unsupported(graph, next, other.kind())),
        }
    }
    let output_id = graph.output;
    if chain.last().is_none_or(|(_, t)| t.is_some()) {
        return Err(unsupported(
            graph,
            output_id,
            "an output not fed by a dense layer",
        ));
    }
    let tree_pipeline = folding.tree_pipeline.unwrap_or(1);
    let dims: Vec<(usize, usize)> = chain
        .iter()
        .map(|(m, _)| match &graph.node(*m).op {
            Op::MatMul(mm) => (mm.weights.taps(), mm.weights.out_channels),
            _ => unreachable!(),
        })
        .collect();
    let auto = auto_fold(&dims, folding.lane_budget.unwrap_or(DEFAULT_LANE_BUDGET));
    for name in folding.layers.keys() {
        if !chain.iter().any(|(m, _)| graph.node(*m).name == *name) {
            return Err(ModelError::new(format!(
                "names no dense/conv layer of the model (\"{}\")",
                name.escape_debug()
            ))
            .at_field(format!("layers.{}", name.escape_debug())));
        }
    }
    let mut stages = Vec::new();
    let mut input = {
        let node = graph.input_node();
        let (bits, signed) = match node.vtype {
            ValueType::Bits => (1, false),
            ValueType::Int { min, max } => (int_bits(min, max), min < 0),
        };
        Stream {
            elems: 1,
            bits,
            signed,
            beats: node.shape.numel(),
        }
    };
    for (i, &(m, t)) in chain.iter().enumerate() {
        let node = graph.node(m);
        let Op::MatMul(mm) = &node.op else {
            unreachable!()
        };
        let cfg = folding.layers.get(&node.name).cloned().unwrap_or_default();
        let (k, o) = dims[i];
        let pe = cfg.pe.unwrap_or(auto[i].0);
        let simd = cfg.simd.unwrap_or(auto[i].1);
        let field = |f: &str| format!("layers.{}.{f}", node.name.escape_debug());
        if pe == 0 || o % pe != 0 {
            return Err(ModelError::new(format!(
                "PE {pe} does not divide the layer's {o} outputs; use one of {:?}",
                (1..=o).filter(|d| o % d == 0).collect::<Vec<_>>()
            ))
            .at_field(field("pe")));
        }
        if simd == 0 || k % simd != 0 {
            return Err(ModelError::new(format!(
                "SIMD {simd} does not divide the layer's {k} inputs; use one of {:?}",
                (1..=k).filter(|d| k % d == 0).collect::<Vec<_>>()
            ))
            .at_field(field("simd")));
        }
        let x = graph.operand(m, 0);
        let w = &mm.weights;
        let lane = match (x.vtype, w.values) {
            (ValueType::Bits, WeightValues::Pm1) => Lane::Xnor,
            (ValueType::Bits, WeightValues::ZeroOne) => Lane::And,
            (_, WeightValues::Pm1) => Lane::AddSub,
            (_, WeightValues::ZeroOne) => Lane::AddZero,
        };
        // Accumulator domain: popcount P ∈ [0, K] for binary lanes, S itself otherwise.
        let (acc_min, acc_max, s_scale, s_offset): (i64, i64, i64, Vec<i64>) = match lane {
            Lane::Xnor => (0, k as i64, 2, vec![-(k as i64); o]),
            Lane::And => {
                let ones = (0..o)
                    .map(|oc| -((0..k).filter(|&i| w.bit(oc, i, 0, 0)).count() as i64))
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
        let output = match t {
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
                    .map(|b| w.bit(f * pe + b / simd, s * simd + b % simd, 0, 0))
                    .collect()
            })
            .collect();
        let memory = cfg.memory.unwrap_or(if k * o <= LUT_MEMORY_BITS {
            MemoryStyle::Lut
        } else {
            MemoryStyle::Block
        });
        let out_stream = match &output {
            MvuOutput::Threshold { levels, .. } => Stream {
                elems: pe,
                bits: int_bits(0, *levels as i64),
                signed: false,
                beats: nf,
            },
            MvuOutput::Accumulator => Stream {
                elems: pe,
                bits: acc_bits,
                signed: true,
                beats: nf,
            },
        };
        let in_stream = Stream {
            elems: simd,
            bits: input.bits,
            signed: input.signed,
            beats: sf,
        };
        stages.push(Stage {
            name: node.ident.clone(),
            kind: StageKind::Mvu(Mvu {
                node: m,
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
            }),
            input: in_stream,
            output: out_stream,
        });
        input = out_stream;
    }
    // Scores: score = scale·S + offset with S = s_scale·acc + s_offset.
    let Op::Output(scores) = &graph.node(output_id).op else {
        unreachable!()
    };
    let StageKind::Mvu(last) = &stages.last().expect("a dense layer").kind else {
        unreachable!()
    };
    let classes = last.o;
    let mul: Vec<i64> = scores.scale.iter().map(|&a| a * last.s_scale).collect();
    let add: Vec<i64> = (0..classes)
        .map(|c| scores.scale[c] * last.s_offset[c] + scores.offset[c])
        .collect();
    let (smin, smax) = graph.node(output_id).vtype.range();
    let score_bits = int_bits(smin.min(-1), smax);
    let out = Stream {
        elems: classes,
        bits: score_bits,
        signed: true,
        beats: 1,
    };
    stages.push(Stage {
        name: graph.node(output_id).ident.clone(),
        kind: StageKind::Scores(ScoresStage {
            classes,
            mul,
            add,
            score_bits,
        }),
        input: Stream {
            elems: classes,
            ..input
        }
        .with_beats(1),
        output: out,
    });
    let mut pipeline = components(&stages, tree_pipeline);
    let timing = size_fifos(&mut pipeline, stages[0].input.beats);
    Ok(HardwarePlan {
        model: graph.ident.clone(),
        tree_pipeline,
        latency_cycles: timing.latency(),
        ii_cycles: timing.ii(),
        timing,
        pipeline,
        stages,
    })
}

impl Stream {
    fn with_beats(self, beats: usize) -> Stream {
        Stream { beats, ..self }
    }
}
