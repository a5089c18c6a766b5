//! xnorc's hardware plan: the lowered graph as a chain of streaming stages with their folding,
//! memory images, widths and the analytical cycle model.
//!
//! Owns: stages and their decisions (`stages`: folding choice, lane kind, thresholds in the
//! accumulator's domain, memories), the folding file and its automatic rule (`folding`), the
//! codebook cost rule (`codebook`), split-channel tables (`split`), the memory inventory
//! (`memories`), the cycle model and FIFO sizing (`schedule`), the resource estimate on a
//! device family (`estimate`, reading `xnorc_boards::costs`), the automatic fit to a board
//! (`fit`), a plan from files (`load`) and plan.json (`report`).
//! Must not touch: model semantics (crate `xnorc-compiler`: the plan reads the lowered graph and
//! never changes what it computes), Verilog (crate `xnorc-rtl`), tool flows (crate
//! `xnorc-boards`, of which it reads only board data and family costs).
//!
//! Passes → **plan** → Verilog. The plan decides everything about the hardware that is not
//! Verilog syntax (the `rtl` crate only renders it), so reports (`plan.json`) and the generator
//! can never disagree. Stages today: one MVU per matrix layer (fused with the threshold that
//! follows it), width converters and FIFOs between them, sliding-window generators, max-pools,
//! the responses stage of a codebook convolution that shares its kernels' responses, and the
//! scores/argmax stage.

pub mod codebook;
pub mod estimate;
pub mod fit;
pub mod folding;
pub mod load;
pub mod memories;
pub mod report;
pub mod schedule;
pub mod split;
mod stages;

pub use load::build_plan;
pub use report::PlanReport;
pub use stages::{plan, plan_from_stages, plan_stages};

use folding::MemoryStyle;
use schedule::{Component, Timing};
use serde::Serialize;
use xnorc_compiler::ir::NodeId;

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
    /// Each beat also carries a valid flag above the elements (0: every element is a padded
    /// tap that must not count).
    pub valid_bit: bool,
}

impl Stream {
    /// Bits per beat.
    pub fn width(&self) -> usize {
        self.elems * self.bits as usize + usize::from(self.valid_bit)
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
    /// Binary input with a per-beat valid flag (zero padding), ±1 weights: +1 if w == x, −1 if
    /// not, 0 for padded beats; accumulates S itself.
    XnorMasked,
    /// As `XnorMasked` for {0,1} weights: x (±1) if w, else 0; 0 for padded beats.
    AndMasked,
    /// A codebook convolution sharing its kernels' responses: each input element is one
    /// channel's vector of `entries` responses (`response_bits` each, two's complement when
    /// `signed`, entry j at bits [j·response_bits, +response_bits)); the weight is a `tau`-bit
    /// index and the lane adds the response it selects.
    Select {
        /// Index width.
        tau: u32,
        /// Codebook entries (responses per channel).
        entries: usize,
        /// Bits of one response.
        response_bits: u32,
        /// Responses are two's complement.
        signed: bool,
        /// Kernel positions summed into one response.
        taps: usize,
    },
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
    /// The threshold node fused into it, if any.
    #[serde(skip)]
    pub threshold: Option<NodeId>,
    /// Input vectors per frame (output pixels of a convolution, 1 for a dense layer).
    pub vectors: usize,
    /// Inputs per output (K).
    pub k: usize,
    /// Outputs (O).
    pub o: usize,
    /// Rows the unit computes after the O outputs: the probe rows of split channels
    /// ([`split`]), then unused rows to a whole pass; 0 for every layer without split channels.
    pub probes: usize,
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
    /// Outputs computed once and sent to `fanout` channel groups (a tiled layer whose groups
    /// of O/fanout output channels have the same filters): the unit computes O/fanout filters,
    /// PE per pass, and each beat carries PE·fanout outputs, element i·PE + pe being output
    /// channel i·O/fanout + nf·PE + pe. 1 for every other layer.
    pub fanout: usize,
    /// Weight memory, address row·SF + sf for dense bits: `rows()` rows of SF words of PE·SIMD
    /// bits, bit pe·SIMD + s = weight bit of filter nf·PE + pe, input sf·SIMD + s. Pass nf reads
    /// row nf mod rows (a tiled layer's repeats are stored once). With a codebook, words hold
    /// PE·SIMD τ-bit indices instead (see `codebook`).
    #[serde(skip)]
    pub weight_words: Vec<Vec<bool>>,
    /// Codebook decode: the weight memory holds kernel indices, decoded per op.
    pub codebook: Option<CodebookDecode>,
    /// The model layer's weight storage (`dense`, `codebook`, `tiled`).
    pub storage: &'static str,
    /// Where the weights live.
    pub memory: MemoryStyle,
    /// Where the thresholds live (chosen by their own size).
    pub threshold_memory: MemoryStyle,
}

/// How a codebook layer's MVU turns the indices it reads into weight bits.
///
/// The stream brings a window's taps kernel position by kernel position (SF = kh·kw·CB beats,
/// CB = C/SIMD channel blocks innermost), so op sf is kernel position sf / CB of channel block
/// sf mod CB. The index memory holds `rows × CB` words (address row·CB + cb) of PE·SIMD τ-bit
/// indices (lane pe·SIMD + s at bits [(pe·SIMD + s)·τ, +τ)); the plane of the op's kernel
/// position — bit j is codebook entry j's bit there — selects each lane's weight bit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodebookDecode {
    /// Index width.
    pub tau: u32,
    /// Codebook entries.
    pub entries: usize,
    /// Channel blocks per kernel position: C / SIMD.
    pub channel_blocks: usize,
    /// One plane per kernel position (ky·kw + kx), 2^τ bits each (entries beyond the codebook
    /// are 0, never selected).
    #[serde(skip)]
    pub planes: Vec<Vec<bool>>,
}

impl Mvu {
    /// Neuron folds: passes per input vector, (O + probes) / (PE · fanout).
    pub fn nf(&self) -> usize {
        (self.o + self.probes) / (self.pe * self.fanout)
    }

    /// Rows of the weight memory (each SF words, or CB index words): a divisor of NF.
    pub fn rows(&self) -> usize {
        match &self.codebook {
            None => self.weight_words.len() / self.sf(),
            Some(cb) => self.weight_words.len() / cb.channel_blocks,
        }
    }

    /// Bits of one weight memory word.
    pub fn word_bits(&self) -> usize {
        self.weight_words.first().map_or(0, Vec::len)
    }

    /// Extra operand register stages of this unit: the codebook decode register.
    pub fn decode_registers(&self) -> usize {
        usize::from(self.codebook.is_some())
    }

    /// Bits of the layer's weights as a dense binary layer (K·O; a sharing codebook unit's
    /// K counts channels, each standing for its kernel positions).
    pub fn dense_weight_bits(&self) -> usize {
        match self.lane {
            Lane::Select { taps, .. } => self.k * self.o * taps,
            _ => self.k * self.o,
        }
    }

    /// Synapse folds: K / SIMD.
    pub fn sf(&self) -> usize {
        self.k / self.simd
    }

    /// Bits of the weight memories the hardware holds: the weight (or index) memory, plus the
    /// codebook planes.
    pub fn weight_bits(&self) -> usize {
        let planes = self
            .codebook
            .as_ref()
            .map_or(0, |cb| cb.planes.len() << cb.tau);
        self.weight_words.len() * self.word_bits() + planes
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

/// The responses stage of a codebook convolution that shares its kernels' responses
/// ([`folding::CodebookCompute::Share`]): from a window stream whose taps come kernel position
/// innermost (kh·kw beats per channel block), one beat per channel block holding, for each of
/// its SIMD channels, the response of every codebook kernel — Σ over the taps of the lane
/// function `lane` of the tap and the kernel's bit there. The MVU after it selects responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Responses {
    /// Channels.
    pub c: usize,
    /// Channels per beat.
    pub simd: usize,
    /// Kernel positions: input beats per output beat.
    pub taps: usize,
    /// Codebook entries.
    pub entries: usize,
    /// The per-tap lane function summed into a response (XNOR, AND, masked or integer).
    pub lane: Lane,
    /// Bits of one response.
    pub response_bits: u32,
    /// Responses are two's complement.
    pub signed: bool,
    /// One plane per kernel position (ky·kw + kx), `entries` bits: bit j is entry j's bit.
    #[serde(skip)]
    pub planes: Vec<Vec<bool>>,
}

/// Sliding-window generator: turns a C×H×W map (pixels in raster order, C/SIMD beats each)
/// into one window per output pixel, taps in (ky, kx, c) order — or, with the geometry's
/// `channel_blocks_outer`, in (channel block, ky, kx) order — from a line buffer of `rows`
/// input rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Swg {
    /// Channels.
    pub c: usize,
    /// Channels per beat.
    pub simd: usize,
    /// Padded beats are marked invalid (zero padding of binary data) rather than sent as the
    /// stored value 0 (−1 for `minus_one`, 0 for integers).
    pub masked: bool,
    /// Map, kernel, stride, padding and line-buffer rows (`rows`: a power of two ≥ kh + stride).
    #[serde(flatten)]
    pub window: schedule::WindowGeometry,
}

impl Swg {
    /// Beats per input pixel.
    pub fn beats_per_pixel(&self) -> usize {
        self.window.cb
    }
}

/// Max-pool with a k×k window and stride k on a stream of pixels (C/elems beats each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// The max-pool node.
    #[serde(skip)]
    pub node: NodeId,
    /// Channels.
    pub c: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Window and stride.
    pub k: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// Channels per beat.
    pub elems: usize,
}

/// A stage of the dataflow pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum StageKind {
    /// Matrix-vector unit.
    Mvu(Mvu),
    /// Sliding-window generator (before a convolution's MVU).
    Swg(Swg),
    /// Codebook responses (between a sharing codebook convolution's SWG and MVU).
    Responses(Responses),
    /// Thresholds of a layer with split channels (after its MVU).
    SplitThreshold(split::SplitThreshold),
    /// Max-pool.
    Pool(Pool),
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
    /// The logical channel at each channel position of the output stream (per pixel of a map,
    /// per element of a vector) when that is not the identity: a fanned-out MVU interleaves
    /// its channel groups, and the layers after it read their inputs in that order.
    #[serde(skip)]
    pub channel_order: Option<Vec<usize>>,
}

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
    /// Cycles from a frame's first input beat to its output beat (idle pipeline).
    pub latency_cycles: u64,
    /// Cycles per frame at steady state.
    pub ii_cycles: u64,
    /// Predicted output cycles of the stall-free sizing run (what Verilator must reproduce).
    pub timing: Timing,
    /// Where each writable buffer lives, by [`memories::buffer_key`]: set by the build from
    /// the device family's costs ([`memories::place_buffers`]); empty without a board.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub buffer_styles: std::collections::BTreeMap<String, memories::BufferStyle>,
    /// For each element of the core's input stream, its index in the model input's logical
    /// (C, H, W) order: maps stream pixel by pixel, channels innermost.
    #[serde(skip)]
    pub input_order: Vec<usize>,
}

/// Stream position → logical (C, H, W) index for a map of `c`×`h`×`w` streamed pixel by pixel
/// with channel position j holding logical channel `order[j]` (the identity when `None`).
pub fn stream_to_logical(c: usize, h: usize, w: usize, order: Option<&[usize]>) -> Vec<usize> {
    let mut out = Vec::with_capacity(c * h * w);
    for y in 0..h {
        for x in 0..w {
            for j in 0..c {
                let ch = order.map_or(j, |o| o[j]);
                out.push((ch * h + y) * w + x);
            }
        }
    }
    out
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
pub(crate) fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The components of a plan's stages, FIFOs unsized.
/// `operand_registers` counts the operand/weight registers every MVU has; a codebook MVU adds
/// its decode register.
pub(crate) fn components(
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
                depth: schedule::scores_depth(sc.classes),
            },
        });
    }
    out
}
