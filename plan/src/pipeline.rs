//! The whole plan: its stages, the pipeline of components between them (FIFOs, width
//! converters), the cycle model's timing and the buffers' placement.

use crate::folding::BufferStyle;
use crate::schedule::{scores_depth, Component, Source, Timing};
use crate::stage::{Stage, StageKind};
use serde::Serialize;

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HardwarePlan {
    /// Sanitized model name.
    pub model: String,
    /// Adder-tree levels per pipeline register (0 = unpipelined).
    pub tree_pipeline: u32,
    /// A second operand/weight register behind the weight memories.
    pub memory_output_register: bool,
    /// A copy of the reset per instance ([`crate::folding::FoldingFile::reset_copies`]).
    pub reset_copies: bool,
    /// Stages in stream order.
    pub stages: Vec<Stage>,
    /// The core's components in stream order: FIFOs, width converters and the stages.
    pub pipeline: Vec<Component>,
    /// Per component, where each input port reads from: a chain (each component reads the one
    /// before) unless the model forks and joins (then shown in plan.json).
    #[serde(skip_serializing_if = "crate::schedule::is_chain")]
    pub sources: Vec<Vec<crate::schedule::Source>>,
    /// Cycles from a frame's first input beat to its output beat (idle pipeline).
    pub latency_cycles: u64,
    /// Cycles per frame at steady state.
    pub ii_cycles: u64,
    /// Predicted output cycles of the stall-free sizing run (what Verilator must reproduce).
    pub timing: Timing,
    /// Where each writable buffer lives, by [`crate::memories::buffer_key`]: set by the build from
    /// the device family's costs ([`crate::memories::place_buffers`]); empty without a board.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub buffer_styles: std::collections::BTreeMap<String, BufferStyle>,
    /// For each element of the core's input stream, its index in the model input's logical
    /// (C, H, W) order: maps stream pixel by pixel, channels innermost.
    #[serde(skip)]
    pub input_order: Vec<usize>,
}

impl HardwarePlan {
    /// The cycle model's stall-free run of `frames` frames through this plan's pipeline.
    pub fn simulate(&self, frames: usize) -> crate::schedule::Timing {
        crate::schedule::simulate_graph(
            &self.pipeline,
            &self.sources,
            self.stages[0].input.beats,
            frames,
        )
    }
}

/// Register stages of an affine (`xnorc_affine`): the shifted input and the parameters, the
/// product, the product plus bias, the shifted and clamped result.
pub const AFFINE_DEPTH: usize = 4;

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

/// Greatest common divisor.
pub fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A residual stream stage: affine, threshold or join (one or a few registers, no memory).
fn is_register_stage(s: &Stage) -> bool {
    matches!(
        s.kind,
        StageKind::Affine(_) | StageKind::Threshold(_) | StageKind::Add(_)
    )
}

/// The stages each stage reads, resolved: `None` is the core's input (an empty `sources`
/// means the stage before).
pub fn stage_sources(stages: &[Stage]) -> Vec<Vec<Option<usize>>> {
    stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if s.sources.is_empty() {
                vec![i.checked_sub(1)]
            } else {
                s.sources.clone()
            }
        })
        .collect()
}

/// The components of a plan's stages, FIFOs unsized, and where each reads from.
/// `operand_registers` counts the operand/weight registers every MVU has; a codebook MVU adds
/// its decode register.
///
/// The core's input enters a FIFO; between a stage and each reader come width converters and
/// a FIFO; a stream read by several stages is copied by forks first (a chain of them, one
/// per extra reader), so every reader has its own FIFO — the shortcut's, which the cycle
/// model sizes so the join never waits on a full one.
pub fn components(
    stages: &[Stage],
    tree_pipeline: u32,
    operand_registers: usize,
) -> (Vec<Component>, Vec<Vec<Source>>) {
    let sources = stage_sources(stages);
    // Readers of each producer (`stages.len()` stands for the core's input), in stage order.
    let key = |p: Option<usize>| p.unwrap_or(stages.len());
    let mut readers = vec![0usize; stages.len() + 1];
    for ps in &sources {
        for &p in ps {
            readers[key(p)] += 1;
        }
    }
    let mut out: Vec<Component> = Vec::new();
    let mut wires: Vec<Vec<Source>> = Vec::new();
    let mut push = |c: Component, from: Vec<Source>| -> Source {
        out.push(c);
        wires.push(from);
        Source::Component {
            index: out.len() - 1,
            port: 0,
        }
    };
    // The taps of each producer's stream still to hand out, one per reader.
    let mut taps: Vec<Vec<Source>> = vec![Vec::new(); stages.len() + 1];
    let fan_out = |push: &mut dyn FnMut(Component, Vec<Source>) -> Source,
                   from: Source,
                   n: usize|
     -> Vec<Source> {
        let mut taps = Vec::new();
        let mut at = from;
        for _ in 1..n {
            let Source::Component { index, .. } = push(Component::Fork, vec![at]) else {
                unreachable!()
            };
            taps.push(Source::Component { index, port: 0 });
            at = Source::Component { index, port: 1 };
        }
        taps.push(at);
        taps.reverse();
        taps
    };
    let input = push(
        Component::Fifo {
            depth: 2,
            beats: stages[0].input.beats,
        },
        vec![Source::Input],
    );
    taps[stages.len()] = fan_out(&mut push, input, readers[stages.len()].max(1));
    for (i, stage) in stages.iter().enumerate() {
        let mut ins = Vec::new();
        for (k, &p) in sources[i].iter().enumerate() {
            let mut at = taps[key(p)].pop().expect("a tap per reader");
            // The core's input reaches its first reader straight from the input FIFO.
            if let Some(p) = p {
                let elems = if k == 0 {
                    stage.input.elems
                } else {
                    match &stage.kind {
                        StageKind::Add(a) => a.b.elems,
                        _ => unreachable!("only a join reads two streams"),
                    }
                };
                let converted = converters(stages[p].output.elems, elems);
                let direct = converted.is_empty()
                    && readers[p] == 1
                    && is_register_stage(stage)
                    && (is_register_stage(&stages[p])
                        || matches!(stages[p].kind, StageKind::Mvu(_)));
                for c in converted {
                    at = push(c, vec![at]);
                }
                // A join's operands arrive as beats of its own width. A register stage of the
                // residual stream needs no FIFO after another or after a matrix unit's output
                // queue: each holds its beat in a register, and the short ready chain through
                // them stays in one cycle.
                if !direct {
                    at = push(
                        Component::Fifo {
                            depth: 2,
                            beats: stage.input.beats,
                        },
                        vec![at],
                    );
                }
            }
            ins.push(at);
        }
        let component = match &stage.kind {
            StageKind::Mvu(m) => Component::Mvu {
                nf: m.nf(),
                sf: m.sf(),
                tree_registers: tree_registers(m.simd, tree_pipeline),
                operand_registers: operand_registers
                    + m.decode_registers()
                    + m.broadcast_registers()
                    + m.product_registers(),
                stage: i,
                queue: 1,
            },
            StageKind::Swg(g) => Component::Swg {
                stage: i,
                geometry: g.window,
            },
            StageKind::Responses(r) => Component::Responses {
                stage: i,
                ratio: r.taps,
            },
            StageKind::SplitThreshold(t) => Component::SplitThreshold {
                stage: i,
                ratio: t.rows,
            },
            StageKind::Pool(p) => Component::Pool {
                stage: i,
                cb: p.c / p.elems,
                h: p.h,
                w: p.w,
                k: p.k,
                out_h: p.out_h,
                out_w: p.out_w,
            },
            StageKind::Scores(sc) if sc.scan => Component::Scores {
                stage: i,
                depth: 1,
                scan: Some(sc.classes),
            },
            StageKind::Scores(sc) => Component::Scores {
                stage: i,
                depth: scores_depth(sc.classes),
                scan: None,
            },
            StageKind::Affine(_) => Component::Elementwise {
                stage: i,
                depth: AFFINE_DEPTH,
            },
            StageKind::Threshold(_) => Component::Elementwise { stage: i, depth: 1 },
            StageKind::Add(_) => Component::Add { stage: i },
            StageKind::Subsample(p) => Component::Subsample {
                stage: i,
                cb: p.cb,
                h: p.h,
                w: p.w,
                stride: p.stride,
            },
            StageKind::PadChannels(p) => Component::PadChannels {
                stage: i,
                before: p.before,
                own: p.own,
                after: p.after,
            },
            StageKind::MeanSign(_) => Component::MeanSign {
                stage: i,
                beats: stage.input.beats,
            },
        };
        let done = push(component, ins);
        taps[i] = fan_out(&mut push, done, readers[i]);
    }
    (out, wires)
}
