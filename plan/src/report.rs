//! plan.json: the plan as a report, with per-stage cycles and memory figures. The field order of
//! these structs is the key order of the file.

use crate::folding::MemoryStyle;
use crate::lane::Lane;
use crate::layer_estimate::PlanEstimate;
use crate::memories::{self, Memory};
use crate::pipeline::HardwarePlan;
use crate::schedule::Component;
use crate::stage::{CodebookDecode, Stage, StageKind};
use crate::stream::Stream;
use serde::Serialize;
use xnorc_boards::board::Board;

/// The whole of plan.json.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport<'a> {
    /// Sanitized model name.
    pub model: &'a str,
    /// Adder-tree levels per pipeline register.
    pub tree_pipeline: u32,
    /// A second operand/weight register behind the weight memories.
    pub memory_output_register: bool,
    /// Cycles from a frame's first input beat to its output beat.
    pub latency_cycles: u64,
    /// Cycles per frame at steady state.
    pub ii_cycles: u64,
    /// Every stage with its figures.
    pub stages: Vec<StageReport<'a>>,
    /// The core's components in stream order.
    pub pipeline: &'a [Component],
    /// Where each component's inputs read from, when the core forks and joins (absent for a
    /// chain, where each reads the one before).
    #[serde(skip_serializing_if = "crate::schedule::is_chain")]
    pub sources: &'a [Vec<crate::schedule::Source>],
    /// Every memory and where it lives (buffers unplaced, `null`, without a board).
    pub memories: Vec<Memory>,
    /// Output cycles of the stall-free sizing run.
    pub predicted_output_cycles: &'a [u64],
    /// Estimated resources on a board, per pipeline component (only with a board).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<PlanEstimate>,
}

/// One stage of plan.json.
#[derive(Debug, Clone, Serialize)]
pub struct StageReport<'a> {
    /// Stage name (the Verilog instance's).
    pub name: &'a str,
    /// The model's layer it computes, as the model and folding files spell it.
    pub layer: &'a str,
    /// What kind of stage, with its own figures.
    #[serde(flatten)]
    pub detail: StageDetail<'a>,
    /// Stream it reads.
    pub input: Stream,
    /// Stream it writes.
    pub output: Stream,
    /// First input beat → first output beat in the stall-free model run.
    pub latency_cycles: Option<u64>,
    /// Cycles the stage is busy per frame ([`Stage::cycles_per_frame`]).
    pub cycles_per_frame: usize,
    /// `cycles_per_frame` / the plan's II: how much of the frame interval the stage takes.
    pub share_of_ii: f64,
    /// The stage with the most cycles per frame (the first, on a tie): the one to unfold first.
    pub bottleneck: bool,
}

/// A stage's own figures, by kind (`"kind"` in the file).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageDetail<'a> {
    /// A matrix-vector unit.
    Mvu {
        /// Output channels in parallel.
        pe: usize,
        /// Input elements per cycle.
        simd: usize,
        /// Output passes.
        nf: usize,
        /// Ops per pass.
        sf: usize,
        /// Lane function.
        lane: Lane,
        /// Input vectors per frame.
        vectors: usize,
        /// Accumulator bits.
        accumulator_bits: u32,
        /// Bits of the weight memory.
        memory_bits: usize,
        /// Where the weights live.
        memory_style: MemoryStyle,
        /// `dense`, `codebook` or `tiled`.
        weight_storage: &'a str,
        /// Bits the weights take stored dense.
        dense_weight_bits: usize,
        /// Rows of the weight memory.
        weight_rows: usize,
        /// Channel groups one computed filter is sent to.
        fanout: usize,
        /// Probe rows of split channels.
        probe_rows: usize,
        /// Codebook decode, if the weights are codebook indices.
        codebook: &'a Option<CodebookDecode>,
    },
    /// A sliding-window generator.
    Swg {
        /// [kh, kw].
        window: [usize; 2],
        /// Stride.
        stride: usize,
        /// Rows of the line buffer.
        line_buffer_rows: usize,
        /// Padded taps masked.
        masked_padding: bool,
        /// Bits of the line buffer.
        memory_bits: usize,
    },
    /// A codebook responses stage.
    Responses {
        /// Taps per window.
        taps: usize,
        /// Codebook entries.
        entries: usize,
        /// Lane function.
        lane: Lane,
        /// Bits of one response.
        response_bits: u32,
        /// Bits of the plane memory.
        memory_bits: usize,
    },
    /// A split threshold stage.
    SplitThreshold {
        /// Output channels.
        channels: usize,
        /// Rows per pass.
        rows: usize,
        /// The split channels.
        split_channels: &'a [crate::split::SplitChannel],
        /// Bits of its tables.
        memory_bits: usize,
    },
    /// A max-pool.
    Maxpool {
        /// Pool window.
        window: usize,
        /// Bits of the pool row.
        memory_bits: usize,
        /// A max-pool moved after the threshold that followed it: the stream positions pooled
        /// with the minimum (the threshold's count falls there as its input rises).
        #[serde(skip_serializing_if = "Option::is_none")]
        minimum_channels: Option<Vec<usize>>,
        /// The window's sum (a sumpool) instead of its maximum.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        sum: bool,
    },
    /// The scores/argmax stage.
    Scores {
        /// Classes.
        classes: usize,
        /// Bits per score.
        score_bits: u32,
        /// The argmax scans the classes (two cycles each) rather than comparing in a tree.
        scan: bool,
    },
    /// The residual stream's affine.
    Affine {
        /// The input's left shift (an accumulator's domain).
        in_shift: u32,
        /// The right shift.
        shift: u32,
        /// Saturating width, if any.
        saturate: Option<u32>,
        /// Multiplier bits.
        multiplier_bits: u32,
        /// Bits of the products.
        accumulator_bits: u32,
        /// With a PReLU slope (the multipliers differ by sign).
        piecewise: bool,
    },
    /// Thresholds on an integer stream.
    Threshold {
        /// Thresholds per channel.
        levels: usize,
    },
    /// Every stride-th pixel.
    Subsample {
        /// The stride.
        stride: usize,
    },
    /// Zero beats around each pixel's.
    PadChannels {
        /// Zero beats before.
        before: usize,
        /// Zero beats after.
        after: usize,
    },
    /// SiMaN's sign against the frame's mean.
    MeanSign {
        /// Elements per frame.
        elements: usize,
        /// Bits of the frame's sum.
        sum_bits: u32,
    },
    /// The join of two streams.
    Add {
        /// Left shifts of the operands.
        shift: [u32; 2],
        /// Saturating width, if any.
        saturate: Option<u32>,
        /// Bits of the exact sum.
        sum_bits: u32,
    },
}

impl<'a> PlanReport<'a> {
    /// The report of `plan`.
    pub fn of(plan: &'a HardwarePlan) -> Self {
        // Per stage: first input beat → first output beat in the stall-free model run.
        let stage_latency = |i: usize| {
            plan.pipeline
                .iter()
                .position(|c| c.stage() == Some(i))
                .and_then(|c| plan.timing.component_latency(c))
        };
        let cycles: Vec<usize> = plan.stages.iter().map(Stage::cycles_per_frame).collect();
        let slowest = (0..cycles.len()).max_by_key(|&i| (cycles[i], std::cmp::Reverse(i)));
        PlanReport {
            model: &plan.model,
            tree_pipeline: plan.tree_pipeline,
            memory_output_register: plan.memory_output_register,
            latency_cycles: plan.latency_cycles,
            ii_cycles: plan.ii_cycles,
            stages: plan
                .stages
                .iter()
                .enumerate()
                .map(|(i, s)| StageReport {
                    name: &s.name,
                    layer: &s.layer,
                    detail: StageDetail::of(s),
                    input: s.input,
                    output: s.output,
                    latency_cycles: stage_latency(i),
                    cycles_per_frame: cycles[i],
                    share_of_ii: cycles[i] as f64 / plan.ii_cycles.max(1) as f64,
                    bottleneck: slowest == Some(i),
                })
                .collect(),
            pipeline: &plan.pipeline,
            sources: &plan.sources,
            memories: memories::plan_memories(plan),
            predicted_output_cycles: &plan.timing.output_cycles,
            estimate: None,
        }
    }

    /// The report of `plan` with its estimate on `board`.
    pub fn on_board(plan: &'a HardwarePlan, board: &Board) -> Self {
        PlanReport {
            estimate: Some(PlanEstimate::of(plan, board)),
            ..PlanReport::of(plan)
        }
    }

    /// plan.json's text: pretty JSON and a final newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plan report serializes") + "\n"
    }
}

impl<'a> StageDetail<'a> {
    /// The figures of stage `s`.
    pub fn of(s: &'a Stage) -> Self {
        match &s.kind {
            StageKind::Mvu(m) => StageDetail::Mvu {
                pe: m.pe,
                simd: m.simd,
                nf: m.nf(),
                sf: m.sf(),
                lane: m.lane,
                vectors: m.vectors,
                accumulator_bits: m.acc_bits,
                memory_bits: m.weight_bits(),
                memory_style: m.memory,
                weight_storage: m.storage,
                dense_weight_bits: m.dense_weight_bits(),
                weight_rows: m.rows(),
                fanout: m.fanout,
                probe_rows: m.probes,
                codebook: &m.codebook,
            },
            StageKind::Swg(g) => StageDetail::Swg {
                window: [g.window.kh, g.window.kw],
                stride: g.window.stride,
                line_buffer_rows: g.window.rows,
                masked_padding: g.masked,
                memory_bits: g.window.rows * g.window.w * g.c * s.input.bits as usize,
            },
            StageKind::Responses(r) => StageDetail::Responses {
                taps: r.taps,
                entries: r.entries,
                lane: r.lane,
                response_bits: r.response_bits,
                memory_bits: r.taps * r.entries,
            },
            StageKind::SplitThreshold(t) => StageDetail::SplitThreshold {
                channels: t.o,
                rows: t.rows,
                split_channels: &t.split,
                memory_bits: t.o * (t.acc_bits as usize + 1)
                    + t.table_entries() * t.acc_bits as usize,
            },
            StageKind::Pool(p) => StageDetail::Maxpool {
                window: p.k,
                memory_bits: p.out_w * p.c * s.output.bits as usize,
                minimum_channels: (!p.minimum.is_empty())
                    .then(|| (0..p.c).filter(|&j| p.minimum[j]).collect()),
                sum: p.sum,
            },
            StageKind::Scores(sc) => StageDetail::Scores {
                classes: sc.classes,
                score_bits: sc.score_bits,
                scan: sc.scan,
            },
            StageKind::Affine(a) => StageDetail::Affine {
                in_shift: a.in_shift,
                shift: a.shift,
                saturate: a.saturate,
                multiplier_bits: a.param_bits,
                accumulator_bits: a.acc_bits,
                piecewise: a.mul != a.neg_mul,
            },
            StageKind::Threshold(t) => StageDetail::Threshold { levels: t.levels },
            StageKind::Subsample(p) => StageDetail::Subsample { stride: p.stride },
            StageKind::PadChannels(p) => StageDetail::PadChannels {
                before: p.before,
                after: p.after,
            },
            StageKind::MeanSign(m) => StageDetail::MeanSign {
                elements: m.n,
                sum_bits: m.sum_bits,
            },
            StageKind::Add(a) => StageDetail::Add {
                shift: a.shift,
                saturate: a.saturate,
                sum_bits: a.sum_bits,
            },
        }
    }
}
