//! Every memory of a core, and where it lives.
//!
//! One inventory for the three readers that must agree: the RTL generator (which writes each
//! memory's `ram_style` attribute from it), the build's resource estimate (which counts block
//! RAMs from it) and the build's fitting (which moves memories between block RAM and logic).
//! Because synthesis is told where every memory goes, the estimate's block-RAM count is the
//! count yosys reaches, not a guess at its heuristics.
//!
//! Read-only memories (weights, thresholds, codebook planes) are placed by the folding
//! ([`MemoryStyle`]). Writable buffers (input buffers, line buffers, pool rows, FIFOs, output
//! queues) are placed by [`BufferStyle`]: the build sets each from the device family's costs
//! in [`HardwarePlan::buffer_styles`]; without a board the defaults below apply.

pub use crate::folding::BufferStyle;
use crate::folding::{MemoryStyle, IBUF_LOGIC_BITS};
use crate::pipeline::HardwarePlan;
use crate::schedule::{Component, Source};
use crate::stage::{MvuOutput, Stage, StageKind};
use serde::Serialize;

/// What a memory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryRole {
    /// An MVU's weight (or kernel index) words.
    Weights,
    /// An MVU's threshold words.
    Thresholds,
    /// A codebook MVU's decode planes (always logic: 2^τ bits per kernel position).
    Planes,
    /// An MVU's input buffer (the operand kept for the passes after the first).
    InputBuffer,
    /// An MVU's output queue.
    OutputQueue,
    /// A sliding-window generator's line buffer.
    LineBuffer,
    /// A max-pool's row of partial maxima.
    PoolRow,
    /// A FIFO between components.
    Fifo,
    /// A split threshold stage's tables (per split channel, the threshold by key).
    SplitTables,
    /// A meansign stage's frame, held while its sum completes.
    FrameBuffer,
}

impl MemoryRole {
    /// Whether every read of the memory can be a block RAM's synchronous read. A pool row is
    /// read and updated in the same cycle (the running maximum), so it cannot live in block
    /// RAM: yosys finds no mapping for it there.
    pub fn block_ram_capable(self) -> bool {
        self != MemoryRole::PoolRow
    }

    /// The memory's name inside its module (and the second half of its key).
    pub fn name(self) -> &'static str {
        match self {
            MemoryRole::Weights => "weights",
            MemoryRole::Thresholds => "thresholds",
            MemoryRole::Planes => "planes",
            MemoryRole::InputBuffer => "ibuf",
            MemoryRole::OutputQueue => "q_mem",
            MemoryRole::LineBuffer => "lines",
            MemoryRole::PoolRow => "acc",
            MemoryRole::Fifo => "mem",
            MemoryRole::SplitTables => "tables",
            MemoryRole::FrameBuffer => "frame",
        }
    }
}

/// Where one memory lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// A read-only memory, placed by the folding.
    Rom(MemoryStyle),
    /// A writable buffer; `None` leaves the choice to the synthesis tool (no board known).
    Buffer(Option<BufferStyle>),
}

/// One memory of the core.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// The component owning it: a stage name, or `fifo<i>` for the pipeline's component i.
    pub component: String,
    /// What it holds.
    pub role: MemoryRole,
    /// Words.
    pub depth: usize,
    /// Bits per word.
    pub width: usize,
    /// Where it lives.
    pub placement: Placement,
}

impl Memory {
    /// `component.role`: the key of [`HardwarePlan::buffer_styles`].
    pub fn key(&self) -> String {
        buffer_key(&self.component, self.role)
    }

    /// The bit ranges of the word that the RTL stores as separate memories: more than one
    /// only for weights in logic (see [`weight_slices`]).
    pub fn slices(&self) -> Vec<std::ops::Range<usize>> {
        match (self.role, self.placement) {
            (MemoryRole::Weights, Placement::Rom(style)) => {
                weight_slices(self.width, self.depth, style)
            }
            _ => std::iter::once(0..self.width).collect(),
        }
    }
}

/// Data bits per slice of an MVU's weight ROM in logic (`xnorc_rom`'s `ADDR_COPY_BITS`, which
/// a test ties to this). Such a ROM reads through a registered address, and each slice is a
/// memory of its own with its own copy of that register, its image a file of its own.
pub const LOGIC_ROM_SLICE_BITS: usize = 64;

/// The slices of an MVU's weight ROM of `depth` words of `width` bits placed by `style`:
/// consecutive ranges of [`LOGIC_ROM_SLICE_BITS`] (the last one shorter) in logic, the whole
/// word in block RAM or when one word is all (a constant, which needs no address).
pub fn weight_slices(
    width: usize,
    depth: usize,
    style: MemoryStyle,
) -> Vec<std::ops::Range<usize>> {
    if style != MemoryStyle::Lut || depth <= 1 || width <= LOGIC_ROM_SLICE_BITS {
        return std::iter::once(0..width).collect();
    }
    (0..width)
        .step_by(LOGIC_ROM_SLICE_BITS)
        .map(|lo| lo..(lo + LOGIC_ROM_SLICE_BITS).min(width))
        .collect()
}

/// The key of a buffer in [`HardwarePlan::buffer_styles`].
pub fn buffer_key(component: &str, role: MemoryRole) -> String {
    format!("{component}.{}", role.name())
}

/// The placement of an input buffer of `depth` words of `width` bits when no board chose
/// one: block RAM unless tiny or one word deep (a register, which yosys cannot map to a block
/// RAM with no address: a sharing codebook unit with SIMD = C has such a buffer).
fn default_ibuf(depth: usize, width: usize) -> BufferStyle {
    if depth > 1 && depth * width > IBUF_LOGIC_BITS {
        BufferStyle::Block
    } else {
        BufferStyle::Registers
    }
}

/// The memories of one stage, excluding its output queue (whose depth the FIFO sizing sets).
/// Buffers are placed from `styles` (keyed by [`buffer_key`]) or the defaults.
pub fn stage_memories(
    stage: &Stage,
    styles: &std::collections::BTreeMap<String, BufferStyle>,
) -> Vec<Memory> {
    let name = &stage.name;
    let buffer = |role: MemoryRole, default: Option<BufferStyle>| {
        Placement::Buffer(styles.get(&buffer_key(name, role)).copied().or(default))
    };
    let mem = |role, depth, width, placement| Memory {
        component: name.clone(),
        role,
        depth,
        width,
        placement,
    };
    let mut out = Vec::new();
    match &stage.kind {
        StageKind::Mvu(m) => {
            out.push(mem(
                MemoryRole::Weights,
                m.weight_words.len(),
                m.word_bits(),
                Placement::Rom(m.memory),
            ));
            // A whole-kernel unit's codebook is a constant folded into its decode logic.
            if let Some(cb) = m.codebook.as_ref().filter(|cb| !cb.whole_kernels) {
                out.push(mem(
                    MemoryRole::Planes,
                    cb.planes.len(),
                    1 << cb.tau,
                    Placement::Rom(MemoryStyle::Lut),
                ));
            }
            if let MvuOutput::Threshold { levels, .. } = &m.output {
                // Per output: its levels' thresholds and the flag of its compare direction.
                let width = m.pe * m.fanout * (levels * m.acc_bits as usize + 1);
                out.push(mem(
                    MemoryRole::Thresholds,
                    m.nf(),
                    width,
                    Placement::Rom(m.threshold_memory),
                ));
            }
            if m.nf() > 1 {
                let width = stage.input.width();
                let default = default_ibuf(m.sf(), width);
                out.push(mem(
                    MemoryRole::InputBuffer,
                    m.sf(),
                    width,
                    buffer(MemoryRole::InputBuffer, Some(default)),
                ));
            }
        }
        StageKind::Swg(g) => out.push(mem(
            MemoryRole::LineBuffer,
            g.window.rows * g.window.w * g.window.cb,
            stage.input.width(),
            buffer(MemoryRole::LineBuffer, None),
        )),
        // The planes of the kernel positions, read by the tap counter.
        StageKind::Responses(r) => out.push(mem(
            MemoryRole::Planes,
            r.taps,
            r.entries,
            Placement::Rom(MemoryStyle::Lut),
        )),
        StageKind::Pool(p) => out.push(mem(
            MemoryRole::PoolRow,
            p.out_w * (p.c / p.elems),
            // Partial maxima or sums, as wide as the output.
            stage.output.width(),
            buffer(MemoryRole::PoolRow, None),
        )),
        // Read asynchronously, one channel per cycle: logic.
        StageKind::SplitThreshold(t) => {
            out.push(mem(
                MemoryRole::Thresholds,
                t.o,
                t.acc_bits as usize + 1,
                Placement::Rom(MemoryStyle::Lut),
            ));
            out.push(mem(
                MemoryRole::SplitTables,
                t.table_entries(),
                t.acc_bits as usize,
                Placement::Rom(MemoryStyle::Lut),
            ));
        }
        StageKind::MeanSign(_) => {
            let (depth, width) = (stage.input.beats, stage.input.width());
            out.push(mem(
                MemoryRole::FrameBuffer,
                depth,
                width,
                buffer(MemoryRole::FrameBuffer, Some(default_ibuf(depth, width))),
            ));
        }
        // Their parameters are constants in the logic.
        StageKind::Subsample(_)
        | StageKind::PadChannels(_)
        | StageKind::Scores(_)
        | StageKind::Affine(_)
        | StageKind::Threshold(_)
        | StageKind::Add(_) => {}
    }
    out
}

/// Bits of one scores beat: every class's score and the argmax index.
pub fn scores_beat_bits(classes: usize, score_bits: u32) -> usize {
    let index_bits = (usize::BITS - (classes.max(2) - 1).leading_zeros()) as usize;
    classes * score_bits as usize + index_bits
}

/// Requests of at most this many payload bytes are buffered in flip-flops on the board, longer
/// ones in block RAM.
pub const REQUEST_BUFFER_LOGIC_BYTES: usize = 16;

/// The board's request buffer, between the host link and the core (`xnorc_bram_fifo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBuffer {
    /// Bytes it holds: one whole request payload (at least 2).
    pub depth: usize,
    /// In block RAM (else flip-flops).
    pub block: bool,
}

/// The request buffer of a core whose first stage is `first`: one whole request payload, so a
/// host may send the next request while the core still holds the previous frame (the link's
/// window of two, docs/uart-protocol.md) and no byte is lost however long the core takes to
/// accept it.
pub fn request_buffer(first: &Stage) -> RequestBuffer {
    let bytes = request_bytes(first.input.width(), first.input.beats);
    RequestBuffer {
        depth: bytes.max(2),
        block: bytes > REQUEST_BUFFER_LOGIC_BYTES,
    }
}

/// Block RAMs the request buffer of a core whose first stage is `first` takes on `family`.
pub fn request_buffer_blocks(family: xnorc_boards::Family, first: &Stage) -> usize {
    let buffer = request_buffer(first);
    if buffer.block {
        family.ram_blocks_for(buffer.depth, 8)
    } else {
        0
    }
}

/// Request payload bytes for a core input stream of `beats` beats of `width` bits: the frame's
/// bits packed and zero-padded to a byte, as the board's gearbox reads them and the host sends
/// them (docs/uart-protocol.md).
pub fn request_bytes(width: usize, beats: usize) -> usize {
    (width * beats).div_ceil(8)
}

/// Response payload bytes for an output beat of `width` bits.
pub fn response_bytes(width: usize) -> usize {
    width.div_ceil(8)
}

/// Widths of every link of the pipeline: entry i is component i's input (port 0), the last
/// entry the core's output.
pub fn link_widths(plan: &HardwarePlan) -> Vec<usize> {
    let outputs = output_widths(plan);
    let mut widths: Vec<usize> = (0..plan.pipeline.len())
        .map(|i| input_width(plan, &outputs, i))
        .collect();
    widths.push(*outputs.last().expect("a pipeline has components"));
    widths
}

/// The width of component `i`'s input port 0, given every component's output width.
fn input_width(plan: &HardwarePlan, outputs: &[usize], i: usize) -> usize {
    match plan.sources[i][0] {
        Source::Input => plan.stages[0].input.width(),
        Source::Component { index, .. } => outputs[index],
    }
}

/// Bits of each component's output beat (both outputs of a fork are its input's).
pub fn output_widths(plan: &HardwarePlan) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::with_capacity(plan.pipeline.len());
    for (i, c) in plan.pipeline.iter().enumerate() {
        let w = input_width(plan, &out, i);
        out.push(match (c.stage(), *c) {
            (Some(stage), _) => {
                let s = &plan.stages[stage];
                match &s.kind {
                    StageKind::Scores(sc) => scores_beat_bits(sc.classes, sc.score_bits),
                    _ => s.output.width(),
                }
            }
            (None, Component::DwcUp { ratio }) => w * ratio,
            (None, Component::DwcDown { ratio }) => w / ratio,
            (None, _) => w,
        });
    }
    out
}

/// Every memory of the plan's core, in pipeline order.
pub fn plan_memories(plan: &HardwarePlan) -> Vec<Memory> {
    let widths = link_widths(plan);
    let mut out = Vec::new();
    for (i, c) in plan.pipeline.iter().enumerate() {
        match *c {
            Component::Fifo { depth, .. } => {
                let component = format!("fifo{i}");
                let style = plan
                    .buffer_styles
                    .get(&buffer_key(&component, MemoryRole::Fifo))
                    .copied();
                out.push(Memory {
                    component,
                    role: MemoryRole::Fifo,
                    depth,
                    width: widths[i],
                    placement: Placement::Buffer(style),
                });
            }
            Component::DwcUp { .. } | Component::DwcDown { .. } | Component::Fork => {}
            Component::Mvu { stage, queue, .. } => {
                let s = &plan.stages[stage];
                out.extend(stage_memories(s, &plan.buffer_styles));
                out.push(Memory {
                    component: s.name.clone(),
                    role: MemoryRole::OutputQueue,
                    depth: queue,
                    width: s.output.width(),
                    // A queue holds a beat or two: registers, always.
                    placement: Placement::Buffer(Some(BufferStyle::Registers)),
                });
            }
            Component::Swg { stage, .. }
            | Component::Responses { stage, .. }
            | Component::SplitThreshold { stage, .. }
            | Component::Pool { stage, .. }
            | Component::Scores { stage, .. }
            | Component::Elementwise { stage, .. }
            | Component::Add { stage }
            | Component::MeanSign { stage, .. }
            | Component::Subsample { stage, .. }
            | Component::PadChannels { stage, .. } => {
                out.extend(stage_memories(&plan.stages[stage], &plan.buffer_styles));
            }
        }
    }
    out
}

/// Places every buffer of `plan` with `choose` (the device family's rule).
pub fn place_buffers(plan: &mut HardwarePlan, choose: impl Fn(&Memory) -> BufferStyle) {
    let mut styles = std::collections::BTreeMap::new();
    for m in plan_memories(plan) {
        if let Placement::Buffer(_) = m.placement {
            if m.role != MemoryRole::OutputQueue {
                let style = choose(&m);
                debug_assert!(style != BufferStyle::Block || m.role.block_ram_capable());
                styles.insert(m.key(), style);
            }
        }
    }
    plan.buffer_styles = styles;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sizes() {
        // TFC: 784 one-bit inputs in 49-bit beats: 98 bytes; scores 10×12 + 4 bits: 16 bytes.
        assert_eq!(request_bytes(49, 16), 98);
        assert_eq!(response_bytes(124), 16);
        assert_eq!(request_bytes(3, 3), 2);
    }
}
