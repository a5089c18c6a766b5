//! The whole plan: its stages, the pipeline of components between them (FIFOs, width
//! converters), the cycle model's timing and the buffers' placement.

use crate::folding::BufferStyle;
use crate::schedule::{scores_depth, Component, Timing};
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

/// The components of a plan's stages, FIFOs unsized.
/// `operand_registers` counts the operand/weight registers every MVU has; a codebook MVU adds
/// its decode register.
pub fn components(
    stages: &[Stage],
    tree_pipeline: u32,
    operand_registers: usize,
) -> Vec<Component> {
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
                operand_registers: operand_registers + m.decode_registers(),
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
            StageKind::Scores(sc) => Component::Scores {
                stage: i,
                depth: scores_depth(sc.classes),
            },
            StageKind::Affine(_) | StageKind::Threshold(_) => Component::Elementwise { stage: i },
            StageKind::Add(_) => Component::Add { stage: i },
        });
    }
    out
}
