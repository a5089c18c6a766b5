//! The estimate per instance of the core — every stage, FIFO and width converter of the
//! pipeline — for the per-layer tables of `compile` and `build`: LUT4s and block RAMs as the
//! fit counts them ([`crate::estimate`]), flip-flops counted from the registers each library
//! module holds at the plan's widths, and hard multipliers (an ECP5 window generator's address
//! arithmetic).
//!
//! The flip-flop count follows the modules' register lists (rtl/lib/*.v): an MVU's input,
//! operand and weight registers, its adder tree's pipeline registers, accumulators, compare
//! and result registers and its sequencing counters; a converter's collecting register; the
//! output register of every other stage; and every writable memory the plan puts in
//! flip-flops ([`crate::memories`]).

use crate::estimate::{bits_for, buffer_style, estimate};
use crate::memories::{plan_memories, BufferStyle, Memory, Placement};
use crate::pipeline::HardwarePlan;
use crate::schedule::Component;
use crate::stage::{Stage, StageKind};
use serde::Serialize;
use xnorc_boards::board::Board;
use xnorc_boards::costs::{shell_luts, CONVERTER_FIXED_LUTS, SHELL_FFS};
use xnorc_boards::Family;

/// A component's resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// LUT4s (ECP5: carry and LUT RAM cells counted by the LUT4 slots they take).
    pub luts: usize,
    /// Flip-flops.
    pub ffs: usize,
    /// Block RAMs.
    pub ram_blocks: usize,
    /// Hard multipliers.
    pub dsps: usize,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, o: Cost) {
        self.luts += o.luts;
        self.ffs += o.ffs;
        self.ram_blocks += o.ram_blocks;
        self.dsps += o.dsps;
    }
}

/// One pipeline component's estimate.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentEstimate {
    /// Its index in the plan's pipeline (the core's instances come in this order).
    pub index: usize,
    /// What it is: `mvu`, `swg`, `responses`, `split_threshold`, `pool`, `scores`, `fifo`,
    /// `dwc_up` or `dwc_down`.
    pub kind: &'static str,
    /// The model's layer it computes; for a FIFO or converter, the layer it feeds (empty after
    /// the last stage).
    pub layer: String,
    /// Its estimated resources.
    pub cost: Cost,
}

/// Flip-flops of the handshake and flags of a component, its counters apart.
const CONTROL_FFS: usize = 12;

/// Flip-flops of a writable memory the plan puts in registers on `family`.
fn memory_ffs(family: Family, m: &Memory) -> usize {
    match m.placement {
        Placement::Buffer(style) => match style.unwrap_or_else(|| buffer_style(family, m)) {
            BufferStyle::Registers => m.depth * m.width,
            BufferStyle::Block | BufferStyle::Distributed => 0,
        },
        Placement::Rom(_) => 0,
    }
}

/// Registers of an adder tree over `simd` leaves of `leaf_w` bits with `registers` pipeline
/// registers spread evenly over its levels (each level one bit wider than the one below).
fn tree_ffs(simd: usize, leaf_w: usize, registers: usize) -> usize {
    let levels = bits_for(simd);
    (1..=registers)
        .map(|j| {
            let level = (j * levels).div_ceil(registers.max(1));
            simd.div_ceil(1 << level) * (leaf_w + level)
        })
        .sum()
}

/// PEs that share one copy of an MVU's second operand register and of its accumulators' enable
/// (`xnorc_mvu`'s `X_GROUP`, which a test ties to this).
const PES_PER_OPERAND_COPY: usize = 8;

/// With a broadcast register, operand copies per first-level copy (`xnorc_mvu`'s
/// `X_MID_COPIES`) and logic ROM slices per first-level address copy (`xnorc_rom`'s
/// `MID_SLICES`); a test ties both to the Verilog.
const OPERAND_COPIES_PER_MID_COPY: usize = 2;
const ROM_SLICES_PER_MID_COPY: usize = 8;

/// Flip-flops of a stage's logic (its memories apart), given its pipeline component and
/// whether MVUs have the second operand register (`memory_output_register`).
fn stage_ffs(s: &Stage, c: &Component, memory_output_register: bool) -> usize {
    let out = s.output.width();
    match (&s.kind, c) {
        (
            StageKind::Mvu(m),
            &Component::Mvu {
                nf,
                sf,
                tree_registers,
                operand_registers,
                ..
            },
        ) => {
            let lanes = m.pe * m.simd;
            let operand = s.input.width();
            let (leaf_w, _) = m.lane.leaf_format(s.input.bits as usize);
            // Constant weight (or index) words need no register: yosys folds them into the
            // logic. A block RAM's output register holds the first copy of a stored word; every
            // further operand register takes a bit per lane (a select lane's index bits).
            let per_register =
                if matches!(m.lane, crate::Lane::Select { .. } | crate::Lane::Mul { .. }) {
                    m.word_bits()
                } else {
                    lanes
                };
            // The products' register (integer lanes) holds a leaf per lane, not operands.
            let products = m.product_registers() * lanes * leaf_w;
            let operand_registers = operand_registers - m.product_registers();
            // The broadcast tree's register is a first level of operand copies and one more
            // address register (a logic ROM's first level of address copies), not a weight
            // register: counted apart.
            let bcast = m.broadcast_registers();
            let data_registers = operand_registers - bcast;
            // A ROM's first register is a block RAM's own; in logic (xnorc_rom) it is the data
            // register plus a copy of the address register per slice of the word, and with the
            // second weight register on dense words the data register stands in for that one.
            let depth = m.weight_words.len();
            let (weight_registers, rom_registers) = if depth <= 1 {
                (0, 0)
            } else if m.memory == crate::folding::MemoryStyle::Block {
                (data_registers.saturating_sub(1), bcast * bits_for(depth))
            } else {
                let copies = crate::memories::weight_slices(m.word_bits(), depth, m.memory).len();
                let stands_in = memory_output_register && m.codebook.is_none();
                let mids = bcast * copies.div_ceil(ROM_SLICES_PER_MID_COPY);
                (
                    data_registers.saturating_sub(1 + stands_in as usize),
                    m.word_bits() + (copies + mids) * bits_for(depth),
                )
            };
            // The second operand register has a copy per PES_PER_OPERAND_COPY PEs.
            let copies = if memory_output_register {
                m.pe.div_ceil(PES_PER_OPERAND_COPY) - 1
            } else {
                0
            };
            // xnorc_mvu's X_MIDS: the broadcast tree's first level of operand copies.
            let mids = bcast * (copies + 1).div_ceil(OPERAND_COPIES_PER_MID_COPY);
            // The input register, then each operand register and the weights'.
            let regs = operand
                + (data_registers + copies + mids) * operand
                + weight_registers * per_register
                + rom_registers;
            let tree = m.pe * tree_ffs(m.simd, leaf_w, tree_registers);
            let acc = m.pe * m.acc_bits as usize;
            // Valid/last/pass tags riding the pipeline, and the nf, sf and credit counters.
            let stages = 2 + operand_registers + m.product_registers() + tree_registers;
            // The accumulators' valid and first flags have a copy per PES_PER_OPERAND_COPY PEs
            // after the first group's.
            // With the broadcast tree every PE has a copy, fed from a first level of copies
            // per PES_PER_OPERAND_COPY PEs.
            let (copies_of_flags, first_level) = if bcast == 1 {
                (m.pe, m.pe.div_ceil(PES_PER_OPERAND_COPY))
            } else {
                (m.pe.div_ceil(PES_PER_OPERAND_COPY), 0)
            };
            let acc_control = 2 * (copies_of_flags - 1) + 2 * first_level;
            let control = CONTROL_FFS + stages * 2 + acc_control + bits_for(nf) + bits_for(sf);
            regs + products + tree + acc + out + control
        }
        // The output register, the window counters.
        (StageKind::Swg(w), _) => {
            let g = &w.window;
            out + CONTROL_FFS
                + 2 * (bits_for(g.h) + bits_for(g.w) + bits_for(g.kh * g.kw) + bits_for(g.cb))
        }
        (StageKind::Pool(p), _) => out + 2 * (bits_for(p.h) + bits_for(p.w)),
        // Per element the registered t, multiplier, bias and product; the output register; the
        // valid flags and the channel-block counter.
        (StageKind::Affine(a), _) => {
            let (_, bias) = a.field_bits();
            // t, the product and u, the multiplier and the bias (twice: it rides along with
            // the product); the valid flags.
            let per_element = 3 * a.acc_bits + a.param_bits + 2 * bias;
            s.input.elems * per_element as usize + out + 4 + bits_for(a.c)
        }
        (StageKind::Threshold(t), _) => out + 1 + bits_for(t.c),
        (StageKind::Add(_), _) => out + 1,
        // The sum, the frame's total per pipeline beat, the counters and flags.
        (StageKind::MeanSign(m), _) => {
            2 * m.sum_bits as usize + out + 2 * bits_for(s.input.beats) + 4
        }
        // The counters per channel and kernel, the output register.
        (StageKind::Responses(r), _) => {
            r.simd * r.entries * r.response_bits as usize + out + CONTROL_FFS
        }
        // Per split channel its held accumulator; the output word.
        (StageKind::SplitThreshold(t), _) => {
            t.split.len() * t.acc_bits as usize + out + CONTROL_FFS
        }
        // A scan: the accumulators' and the scores' registers, the candidate, the best so far
        // and the class counters (measured 179 for TFC's 10 classes of 8 bits, from 8-bit
        // accumulators).
        (StageKind::Scores(sc), &Component::Scores { scan: Some(_), .. }) => {
            let (b, ib) = (sc.score_bits as usize, bits_for(sc.classes));
            sc.classes * (s.input.bits as usize + b) + 2 * b + 4 * ib + 8
        }
        // The affine register, then each argmax level's scores and indices with their delayed
        // copies: ≈ 3/4 of classes × (score + index bits) per register stage (measured 50–443
        // for 3–10 classes).
        (StageKind::Scores(sc), &Component::Scores { depth, .. }) => {
            let bits = sc.classes * (sc.score_bits as usize + bits_for(sc.classes));
            bits * depth * 3 / 4
        }
        _ => out + CONTROL_FFS,
    }
}

/// The kind name of a component.
fn kind_name(s: Option<&Stage>, c: &Component) -> &'static str {
    match (s.map(|s| &s.kind), c) {
        (Some(StageKind::Mvu(_)), _) => "mvu",
        (Some(StageKind::Swg(_)), _) => "swg",
        (Some(StageKind::Responses(_)), _) => "responses",
        (Some(StageKind::SplitThreshold(_)), _) => "split_threshold",
        (Some(StageKind::Pool(_)), _) => "pool",
        (Some(StageKind::Scores(_)), _) => "scores",
        (Some(StageKind::Affine(_)), _) => "affine",
        (Some(StageKind::Threshold(_)), _) => "threshold",
        (Some(StageKind::Add(_)), _) => "add",
        (Some(StageKind::MeanSign(_)), _) => "meansign",
        (Some(StageKind::Subsample(_)), _) => "subsample",
        (Some(StageKind::PadChannels(_)), _) => "pad_channels",
        (None, Component::Fork) => "fork",
        (None, Component::Fifo { .. }) => "fifo",
        (None, Component::DwcUp { .. }) => "dwc_up",
        (None, _) => "dwc_down",
    }
}

/// Every component of `plan`'s pipeline with its estimated resources on `board`, in pipeline
/// order; LUT4s and block RAMs are [`estimate`]'s, per component.
pub fn component_estimates(plan: &HardwarePlan, board: &Board) -> Vec<ComponentEstimate> {
    let family = board.device.family;
    let memories = plan_memories(plan);
    let by_name = estimate(&plan.stages, &memories, board);
    let widths = crate::memories::link_widths(plan);
    plan.pipeline
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let stage = c.stage().map(|s| &plan.stages[s]);
            let key = match stage {
                Some(s) => s.name.clone(),
                None => format!("fifo{i}"),
            };
            let mut cost = Cost::default();
            if let Some(e) = by_name.stages.iter().find(|e| e.stage == key) {
                cost.luts = e.luts;
                cost.ram_blocks = e.ram_blocks;
            }
            cost.ffs = memories
                .iter()
                .filter(|m| m.component == key)
                .map(|m| memory_ffs(family, m))
                .sum();
            match (stage, c) {
                (Some(s), _) => {
                    cost.ffs += stage_ffs(s, c, plan.memory_output_register);
                    cost.dsps += crate::estimate::stage_dsps(family, s);
                }
                (None, Component::Fifo { depth, .. }) => cost.ffs += 3 * bits_for(depth + 1) + 2,
                // Collecting: the wide word and its output register (measured ≈ 2 per bit).
                (None, Component::DwcUp { ratio }) => {
                    let wide = widths[i + 1];
                    cost.ffs += 2 * wide + bits_for(*ratio);
                    cost.luts += CONVERTER_FIXED_LUTS + wide / 4;
                }
                // Splitting: the held word, and a multiplexer to the narrow beat.
                (None, Component::DwcDown { ratio }) => {
                    let wide = widths[i];
                    cost.ffs += wide + bits_for(*ratio);
                    cost.luts += CONVERTER_FIXED_LUTS + wide / 2;
                }
                _ => {}
            }
            let layer = plan.pipeline[i..]
                .iter()
                .find_map(|c| c.stage())
                .map(|s| plan.stages[s].layer.clone())
                .unwrap_or_default();
            ComponentEstimate {
                index: i,
                kind: kind_name(stage, c),
                layer,
                cost,
            }
        })
        .collect()
}

/// The board shell's estimate on `family` (UART link, request buffer, output slice, gearboxes,
/// reset) for a core whose first stage is `first` and whose output beats are `out_bits` wide:
/// the request buffer holds one request payload, in block RAM when it is long
/// (`memories::request_buffer`); the output slice registers one output beat.
pub fn shell_estimate(family: Family, first: &Stage, out_bits: usize) -> Cost {
    Cost {
        luts: shell_luts(family),
        ffs: SHELL_FFS + out_bits,
        ram_blocks: crate::memories::request_buffer_blocks(family, first),
        ..Cost::default()
    }
}

/// A plan's estimate on one board: per component, the shell, and the total.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEstimate {
    /// The board estimated for.
    pub board: String,
    /// Its device's family (whose costs apply).
    pub family: Family,
    /// Per pipeline component, in pipeline order.
    pub components: Vec<ComponentEstimate>,
    /// The board shell.
    pub shell: Cost,
    /// Components and shell together.
    pub total: Cost,
}

impl PlanEstimate {
    /// `plan`'s estimate on `board`.
    pub fn of(plan: &HardwarePlan, board: &Board) -> Self {
        let components = component_estimates(plan, board);
        let out_bits = *crate::memories::link_widths(plan).last().expect("links");
        let shell = shell_estimate(board.device.family, &plan.stages[0], out_bits);
        let mut total = shell;
        for c in &components {
            total += c.cost;
        }
        PlanEstimate {
            board: board.name.clone(),
            family: board.device.family,
            components,
            shell,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    /// The estimate counts the register copies the library makes (the MVU's operand, a logic
    /// ROM's address): each one constant in two languages, tied here.
    #[test]
    fn register_copies_are_the_librarys() {
        let mvu = include_str!("../../rtl/lib/xnorc_mvu.v");
        let line = format!(
            "localparam integer X_GROUP = {};",
            super::PES_PER_OPERAND_COPY
        );
        assert!(mvu.contains(&line), "xnorc_mvu.v has no `{line}`");
        let rom = include_str!("../../rtl/lib/xnorc_rom.v");
        let line = format!(
            "localparam integer ADDR_COPY_BITS = {};",
            crate::memories::LOGIC_ROM_SLICE_BITS
        );
        assert!(rom.contains(&line), "xnorc_rom.v has no `{line}`");
        let line = format!(
            "localparam integer X_MID_COPIES = {};",
            super::OPERAND_COPIES_PER_MID_COPY
        );
        assert!(mvu.contains(&line), "xnorc_mvu.v has no `{line}`");
        let line = format!(
            "localparam integer MID_SLICES = {};",
            super::ROM_SLICES_PER_MID_COPY
        );
        assert!(rom.contains(&line), "xnorc_rom.v has no `{line}`");
    }
}
