//! The components of a pipeline as the cycle model sees them, and the rules of a sliding-window
//! generator's control that the model and the generated RTL share.

use serde::Serialize;

/// One component of the pipeline, in stream order (between the core's input and output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Component {
    /// First-word-fall-through FIFO: a beat written in cycle t is visible in t + 1.
    Fifo {
        /// Entries.
        depth: usize,
        /// Beats per frame through it (for the initial sizing).
        beats: usize,
    },
    /// Collects `ratio` beats into one (first beat in the low bits).
    DwcUp {
        /// Input beats per output beat.
        ratio: usize,
    },
    /// Splits a beat into `ratio` beats (low bits first).
    DwcDown {
        /// Output beats per input beat.
        ratio: usize,
    },
    /// Matrix-vector unit: NF passes of SF ops; input read during pass 0; output beat at the
    /// end of each pass: its last op goes through `operand_registers` operand/weight registers
    /// (1, or 2 so no lane starts at a block RAM output), `tree_registers` tree registers and
    /// the accumulator, then the compare stage registers the thresholded total, which enters
    /// the output queue a cycle later (`2 + operand_registers + tree_registers` stages, so no
    /// cycle adds and compares, and the route to the queue starts at a register).
    ///
    /// The datapath never stalls: an op, once issued, reaches the queue. Instead the last op
    /// of a pass issues only with a credit — a queue slot nobody has claimed — taken at issue
    /// and returned the cycle after the queue's beat leaves (through a register beside the
    /// queue, so no route spans the unit from its output handshake to its issue). So no
    /// enable fans out from the next stage's `ready` over the unit; the unit's `in_ready` is
    /// a function of its own registers.
    Mvu {
        /// Neuron folds.
        nf: usize,
        /// Synapse folds.
        sf: usize,
        /// Pipeline registers in the adder tree.
        tree_registers: usize,
        /// Operand/weight registers in front of the lanes (1 or 2).
        operand_registers: usize,
        /// Index into the plan's stages.
        stage: usize,
        /// Output queue entries (= credits), at least 1.
        queue: usize,
    },
    /// Sliding-window generator over a line buffer (see [`swg_write_ok`], [`swg_available`]);
    /// output registered.
    Swg {
        /// Index into the plan's stages.
        stage: usize,
        /// Its window geometry.
        #[serde(flatten)]
        geometry: WindowGeometry,
    },
    /// A codebook convolution's responses stage: `ratio` (kh·kw) input beats in, one beat out,
    /// with the handshake and timing of [`Component::DwcUp`] (the beat completing a group is
    /// registered as the output; a full output register takes an input only as it leaves).
    Responses {
        /// Index into the plan's stages.
        stage: usize,
        /// Input beats per output beat (kernel positions).
        ratio: usize,
    },
    /// The split threshold stage of a layer with split channels: `ratio` accumulators (one per
    /// beat) in, one beat of channel bits out, with [`Component::DwcUp`]'s handshake and timing.
    SplitThreshold {
        /// Index into the plan's stages.
        stage: usize,
        /// Input beats per output beat (the unit's rows).
        ratio: usize,
    },
    /// Max-pool (window = stride = k): an input beat completing a window emits the output beat
    /// (registered); beats outside the pooled area are consumed and dropped.
    Pool {
        /// Index into the plan's stages.
        stage: usize,
        /// Beats per pixel.
        cb: usize,
        /// Input rows.
        h: usize,
        /// Input columns.
        w: usize,
        /// Window and stride.
        k: usize,
        /// Output rows.
        out_h: usize,
        /// Output columns.
        out_w: usize,
    },
    /// Scores: one input beat → affine (registered) → a registered argmax tree: `depth`
    /// register stages in all, stalled together ([`scores_depth`]). With `scan`, the argmax
    /// instead looks at one class every two cycles after the scores are registered and class
    /// 0 fetched: a frame taken in cycle t has its output beat from t + 2·classes + 3 on, and
    /// the next frame is taken once that beat has left.
    Scores {
        /// Index into the plan's stages.
        stage: usize,
        /// Register stages from input to output (1 with a scan: the scores' register).
        depth: usize,
        /// `Some(classes)`: the argmax scans the classes ([`scan_period`]).
        #[serde(skip_serializing_if = "Option::is_none")]
        scan: Option<usize>,
    },
    /// One stream to two consumers (output ports 0 and 1), unregistered: an output shows the
    /// input beat until it has taken it; the input moves when both have.
    Fork,
    /// A stage computing each beat on its own through `depth` register stages stalled
    /// together (affine: 3, threshold: 1), as [`Component::Scores`].
    Elementwise {
        /// Index into the plan's stages.
        stage: usize,
        /// Register stages from input to output.
        depth: usize,
    },
    /// The join of two streams (input ports 0 and 1) through one output register: a pair
    /// moves when both inputs are valid and the register is free.
    Add {
        /// Index into the plan's stages.
        stage: usize,
    },
    /// A subsample: pixel (y, x) with y and x multiples of `stride` is registered as the
    /// output beat, the others consumed and dropped; handshake as [`Component::Pool`].
    Subsample {
        /// Index into the plan's stages.
        stage: usize,
        /// Beats per pixel.
        cb: usize,
        /// Input rows.
        h: usize,
        /// Input columns.
        w: usize,
        /// The stride.
        stride: usize,
    },
    /// Channel padding: per pixel `before` zero beats, the `own` input beats, `after` zero
    /// beats, each through the output register; a zero beat loads whenever the register is
    /// free (no input), an own beat when the input has one.
    PadChannels {
        /// Index into the plan's stages.
        stage: usize,
        /// Zero beats before.
        before: usize,
        /// Input beats per pixel.
        own: usize,
        /// Zero beats after.
        after: usize,
    },
    /// SiMaN's meansign over a frame buffer: it fills (input ready, one beat a cycle, the
    /// sum accumulating) until the frame's `beats` are in, then drains: a read issued in each
    /// cycle its two-stage pipeline moves (the registered read, then the compare into the
    /// output register, stalled together as [`Component::Elementwise`]), and fills again as
    /// soon as the last read is issued.
    MeanSign {
        /// Index into the plan's stages.
        stage: usize,
        /// Beats per frame.
        beats: usize,
    },
}

/// Where a component's input port reads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The core's input stream.
    Input,
    /// Output `port` of component `index` (port 1 only for a fork's second output).
    Component {
        /// The producing component.
        index: usize,
        /// Its output port.
        port: usize,
    },
}

/// The sources of a chain of `n` components: each reads the one before, the first the input.
pub fn chain_sources(n: usize) -> Vec<Vec<Source>> {
    (0..n)
        .map(|i| match i {
            0 => vec![Source::Input],
            _ => vec![Source::Component {
                index: i - 1,
                port: 0,
            }],
        })
        .collect()
}

/// True when `sources` are those of a chain ([`chain_sources`]).
pub fn is_chain(sources: &[Vec<Source>]) -> bool {
    sources == chain_sources(sources.len()).as_slice()
}

impl Component {
    /// The plan stage this component is (`None` for FIFOs and width converters).
    pub fn stage(&self) -> Option<usize> {
        match *self {
            Component::Mvu { stage, .. }
            | Component::Swg { stage, .. }
            | Component::Responses { stage, .. }
            | Component::SplitThreshold { stage, .. }
            | Component::Pool { stage, .. }
            | Component::Scores { stage, .. }
            | Component::Elementwise { stage, .. }
            | Component::Add { stage }
            | Component::MeanSign { stage, .. }
            | Component::Subsample { stage, .. }
            | Component::PadChannels { stage, .. } => Some(stage),
            Component::Fifo { .. }
            | Component::DwcUp { .. }
            | Component::DwcDown { .. }
            | Component::Fork => None,
        }
    }
}

/// What the control of a sliding-window generator depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WindowGeometry {
    /// Beats per input pixel.
    pub cb: usize,
    /// Input rows.
    pub h: usize,
    /// Input columns.
    pub w: usize,
    /// Kernel rows.
    pub kh: usize,
    /// Kernel columns.
    pub kw: usize,
    /// Stride.
    pub stride: usize,
    /// Padding above.
    pub pad_top: usize,
    /// Padding on the left.
    pub pad_left: usize,
    /// Output rows.
    pub out_h: usize,
    /// Output columns.
    pub out_w: usize,
    /// Line-buffer rows.
    pub rows: usize,
    /// Taps leave channel block by channel block, each block's kernel positions innermost
    /// (for a codebook convolution that shares responses); otherwise kernel position by
    /// kernel position, channel blocks innermost.
    pub channel_blocks_outer: bool,
}

/// Write side of a sliding-window generator: next beat to write at (wy, wx, wcb), `d` frames
/// ahead of the read side, whose current output row is `oy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwgState {
    /// Next input row to write (within its frame).
    pub wy: usize,
    /// Next input column to write.
    pub wx: usize,
    /// Next beat of that pixel.
    pub wcb: usize,
    /// Frames the write side is ahead of the read side: −1 (the read side has moved on while
    /// the write side still consumes unused trailing rows of the last frame), 0 or 1.
    pub d: i32,
    /// Output row being read.
    pub oy: usize,
    /// Output column being read.
    pub ox: usize,
    /// Window row.
    pub ky: usize,
    /// Window column.
    pub kx: usize,
    /// Beat within the window tap.
    pub rcb: usize,
}

/// May the SWG accept an input beat? Row wy (counted from the read side's frame) must stay
/// within `rows` of the first row the current output row still needs, the write side may run at
/// most one frame ahead, and it may not finish that next frame (which would make it two ahead).
/// Behind (d = −1) it writes rows nobody reads any more: always allowed.
pub fn swg_write_ok(s: &SwgState, g: &WindowGeometry) -> bool {
    let first_needed = (s.oy * g.stride).saturating_sub(g.pad_top) as i64;
    let row = s.wy as i64 + s.d as i64 * g.h as i64;
    let finishing_next = s.d == 1 && s.wy == g.h - 1 && s.wx == g.w - 1 && s.wcb == g.cb - 1;
    s.d <= 1 && row < first_needed + g.rows as i64 && !finishing_next
}

/// Is the whole window of the current output pixel written? Its last input pixel in raster
/// order is (min(H−1, oy·s − t + kh − 1), min(W−1, ox·s − l + kw − 1)); a write side one frame
/// ahead has written all of it, one frame behind none of it.
pub fn swg_available(s: &SwgState, g: &WindowGeometry) -> bool {
    let row_need = (s.oy * g.stride + g.kh - 1 - g.pad_top).min(g.h - 1);
    let col_need = (s.ox * g.stride + g.kw - 1 - g.pad_left).min(g.w - 1);
    s.d == 1 || (s.d == 0 && (s.wy > row_need || (s.wy == row_need && s.wx > col_need)))
}

/// Cycles a scanning scores stage works on a frame after taking it: loading the scores,
/// fetching class 0, then two per class (compare with the best so far, then select).
pub fn scan_cycles(classes: usize) -> usize {
    2 * classes + 2
}

/// Cycles from one frame taken by a scanning scores stage to the next, its output beat taken
/// at once: the frame's [`scan_cycles`], one as the output beat leaves, one as the next frame
/// is taken (both handshakes come from registers).
pub fn scan_period(classes: usize) -> usize {
    scan_cycles(classes) + 2
}

/// Register stages of the scores stage for `classes` classes: the affine register, then one
/// per level of the argmax tree (at least one).
pub fn scores_depth(classes: usize) -> usize {
    let levels = (usize::BITS - classes.max(2).saturating_sub(1).leading_zeros()) as usize;
    1 + levels
}
