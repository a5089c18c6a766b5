//! The stages of a plan: what each is (MVU, window generator, responses, split threshold,
//! max-pool, scores) with its own decisions, and the streams it reads and writes.

use crate::folding::MemoryStyle;
use crate::lane::Lane;
use crate::schedule::WindowGeometry;
use crate::split::SplitThreshold;
use crate::stream::Stream;
use serde::Serialize;
use xnorc_compiler::ir::NodeId;

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
    /// Its threshold is the one the model applies after the max-pool that follows: the pool
    /// stage's output is that node's value, and this unit's is no node's (the model pools
    /// before thresholding; the plan thresholds first, which is exact, docs/hardware.md).
    #[serde(skip)]
    pub threshold_before_pool: bool,
    /// A third operand/weight register: the operand and weight address pass a tree of
    /// register copies (`LayerFolding::broadcast_register`).
    pub broadcast_register: bool,
}

/// How a codebook layer's MVU turns the indices it reads into weight bits.
///
/// Tap by tap: the stream brings a window's taps kernel position by kernel position (SF =
/// kh·kw·CB beats, CB = C/SIMD channel blocks innermost), so op sf is kernel position sf / CB
/// of channel block sf mod CB. The index memory holds `rows × CB` words (address row·CB + cb)
/// of PE·SIMD τ-bit indices (lane pe·SIMD + s at bits [(pe·SIMD + s)·τ, +τ)); the plane of
/// the op's kernel position — bit j is codebook entry j's bit there — selects each lane's
/// weight bit.
///
/// Whole kernels (`whole_kernels`, [`crate::folding::CodebookCompute::Kernels`]): op sf is
/// channel block sf (SF = CB), its beat holds the block's C/CB channels at every kernel
/// position, position-major (element t·C/CB + s), and the unit's SIMD counts those kh·kw·C/CB
/// lanes. Index word row·CB + cb holds PE·C/CB indices (index pe·C/CB + s at bits
/// [(pe·C/CB + s)·τ, +τ)); each becomes its whole kernel through the planes, a constant.
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
    /// Each op decodes whole kernels (see above); false: one kernel position per op.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub whole_kernels: bool,
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

    /// The folding's SIMD: input elements per op, or a whole-kernel unit's channels per op
    /// (its lanes take each at every kernel position).
    pub fn folding_simd(&self) -> usize {
        match &self.codebook {
            Some(cb) if cb.whole_kernels => self.simd / cb.planes.len(),
            _ => self.simd,
        }
    }

    /// Extra operand register stages of this unit: the codebook decode register.
    pub fn decode_registers(&self) -> usize {
        usize::from(self.codebook.is_some())
    }

    /// Register stages the broadcast tree adds (`broadcast_register`).
    pub fn broadcast_registers(&self) -> usize {
        usize::from(self.broadcast_register)
    }

    /// Register stages integer-multiplier lanes add between the lanes and the adder tree: the
    /// products' register (`xnorc_mvu`).
    pub fn product_registers(&self) -> usize {
        usize::from(matches!(self.lane, Lane::Mul { .. }))
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
    /// The argmax looks at one class every two cycles instead of comparing through a tree
    /// ([`crate::schedule::scan_period`]): set when another stage is busy at least that long
    /// per frame, so the scan costs no throughput. A tree level's compare and select in one
    /// cycle was the UP5K's critical path, and the scan needs one comparator, not a tree with
    /// a copy of every score per level.
    pub scan: bool,
}

/// The responses stage of a codebook convolution that shares its kernels' responses
/// ([`crate::folding::CodebookCompute::Share`]): from a window stream whose taps come kernel position
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
    pub window: WindowGeometry,
}

impl Swg {
    /// Beats per input pixel.
    pub fn beats_per_pixel(&self) -> usize {
        self.window.cb
    }
}

/// Max-pool (or sum-pool) with a k×k window and stride k on a stream of pixels (C/elems beats
/// each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// The node whose values the stage streams: the max-pool, or for a max-pool moved after
    /// the threshold that followed it (`minimum`), that threshold.
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
    /// Per channel position of the stream (element e of the pixel's beat cb is position
    /// cb·elems + e): take the minimum instead of the maximum. Empty for a max-pool of the
    /// model's; for a max-pool moved after the threshold that followed it, set where that
    /// threshold's count falls as its input rises (`le`): max then threshold equals threshold
    /// then max where the count rises with the input, threshold then min where it falls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub minimum: Vec<bool>,
    /// The window's sum instead of its maximum (the model's `sumpool`; k = h = w for the
    /// global sum), in the output stream's width.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sum: bool,
}

/// The residual stream's per-channel affine (the model's `affine`, docs/semantics.md) on an
/// integer stream: t = (x << in_shift) + pre; u = (t ≥ 0 ? mul : neg_mul)·t + bias;
/// y = sat(⌊u / 2^shift⌋) (or rounded to the nearest, ties to even). An MVU's accumulator enters the stream through one: `in_shift` and
/// `pre` then also carry its domain (S = 2^in_shift·acc + offset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AffineStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// Channels.
    pub c: usize,
    /// Left shift of the input (1 for a binary unit's popcount domain, else 0).
    pub in_shift: u32,
    /// Per stream channel position: multiplier where t ≥ 0.
    pub mul: Vec<i64>,
    /// Per stream channel position: multiplier where t < 0.
    pub neg_mul: Vec<i64>,
    /// Per stream channel position: added before the multiply.
    pub pre: Vec<i64>,
    /// Per stream channel position: added after the multiply.
    pub bias: Vec<i64>,
    /// Arithmetic right shift.
    pub shift: u32,
    /// The shift rounds to the nearest, ties to even, instead of down.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub round_half_even: bool,
    /// Signed width the result saturates to, if any.
    pub saturate: Option<u32>,
    /// Bits of the multipliers (two's complement).
    pub param_bits: u32,
    /// Bits of t and u (two's complement), from their exact ranges.
    pub acc_bits: u32,
}

impl AffineStage {
    /// Bits of the `pre` and `bias` fields: two's complement wide enough for each's values.
    pub fn field_bits(&self) -> (u32, u32) {
        let bits = |v: &[i64]| crate::stream::signed_bits(v.iter().map(|&x| x as i128));
        (bits(&self.pre), bits(&self.bias))
    }
}

/// Thresholds on an integer stream (RSign: the sign of the residual stream): per channel
/// position, the count of `levels` thresholds passed (≥, or ≤ where `ge` is false).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThresholdStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// Channels.
    pub c: usize,
    /// Thresholds per channel.
    pub levels: usize,
    /// Per stream channel position: compare with ≥ (true) or ≤.
    pub ge: Vec<bool>,
    /// `c × levels` thresholds, stream channel position major.
    pub thresholds: Vec<i64>,
}

/// SiMaN's `meansign` on an integer stream: the whole frame (`beats` beats of N elements in
/// all) into a buffer while its sum accumulates, then out of it as bits [N·x ≥ Σ].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeanSignStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// Elements per frame (N).
    pub n: usize,
    /// Bits of the sum and of N·x (two's complement), from the input's range.
    pub sum_bits: u32,
}

/// A 1×1 window moved by `stride`: pixel (oy, ox) of the output is (oy·stride, ox·stride) of
/// the input; the other beats are consumed and dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubsampleStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// Beats per pixel.
    pub cb: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// The stride.
    pub stride: usize,
}

/// Zero channels before and after each pixel's own, in beats of the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PadChannelsStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// Zero beats before each pixel's.
    pub before: usize,
    /// The pixel's own beats.
    pub own: usize,
    /// Zero beats after.
    pub after: usize,
}

/// The join of two streams of one shape: y = sat((a << shift[0]) + (b << shift[1])).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddStage {
    /// The node whose values the stage streams.
    #[serde(skip)]
    pub node: NodeId,
    /// The second operand's stream (the first is the stage's input).
    pub b: Stream,
    /// Left shift of each operand.
    pub shift: [u32; 2],
    /// Signed width the sum saturates to, if any.
    pub saturate: Option<u32>,
    /// Bits of the exact sum (two's complement).
    pub sum_bits: u32,
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
    SplitThreshold(SplitThreshold),
    /// Max-pool.
    Pool(Pool),
    /// Scores and argmax.
    Scores(ScoresStage),
    /// Per-channel affine on the residual stream.
    Affine(AffineStage),
    /// Thresholds on an integer stream.
    Threshold(ThresholdStage),
    /// The join of two streams.
    Add(AddStage),
    /// SiMaN's sign against the frame's mean.
    MeanSign(MeanSignStage),
    /// Every stride-th pixel of every stride-th row (the option-A shortcut's spatial half).
    Subsample(SubsampleStage),
    /// Zero channels around each pixel's (the option-A shortcut's channel half).
    PadChannels(PadChannelsStage),
}

impl Stage {
    /// Cycles the stage is busy per frame: an MVU's vectors · NF · SF, a sliding window's
    /// beats (the more of in and out), one beat a cycle for every other stage but the scores
    /// (one cycle, or its scan's period).
    pub fn cycles_per_frame(&self) -> usize {
        match &self.kind {
            StageKind::Mvu(m) => m.vectors * m.nf() * m.sf(),
            StageKind::Swg(_) => self.output.beats.max(self.input.beats),
            StageKind::Responses(_)
            | StageKind::SplitThreshold(_)
            | StageKind::Pool(_)
            | StageKind::Affine(_)
            | StageKind::Threshold(_)
            | StageKind::Add(_) => self.input.beats,
            // The frame goes into the buffer, then out of it.
            StageKind::MeanSign(_) => 2 * self.input.beats,
            StageKind::Subsample(_) => self.input.beats,
            StageKind::PadChannels(_) => self.output.beats,
            StageKind::Scores(sc) if sc.scan => crate::schedule::scan_period(sc.classes),
            StageKind::Scores(_) => 1,
        }
    }
}

/// A stage with its name and streams.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// Sanitized identifier (from the model's node name).
    pub name: String,
    /// The model's name of the layer the stage computes (or belongs to: a convolution's sliding
    /// window), as the model file spells it: folding files key layers by it.
    pub layer: String,
    /// What it is.
    #[serde(flatten)]
    pub kind: StageKind,
    /// Stream it reads.
    pub input: Stream,
    /// Stream it writes.
    pub output: Stream,
    /// The stages it reads, per input (`None`: the core's input); empty means the stage just
    /// before it in the plan (the core's input for the first), as in every chain. A join
    /// reads two.
    #[serde(skip)]
    pub sources: Vec<Option<usize>>,
    /// The logical channel at each channel position of the output stream (per pixel of a map,
    /// per element of a vector) when that is not the identity: a fanned-out MVU interleaves
    /// its channel groups, and the layers after it read their inputs in that order.
    #[serde(skip)]
    pub channel_order: Option<Vec<usize>>,
}
