//! A resource estimate of a plan on a device, before synthesis.
//!
//! Block RAMs are counted memory by memory from the plan's inventory (`plan::memories`),
//! which is also what the generated Verilog tells yosys through `ram_style`: each memory in
//! block RAM takes the fewest blocks any of the family's RAM shapes packs it into. LUT4s come
//! from the lanes (per lane kind), a fixed share per MVU, window generator, pool and FIFO — all
//! measured per module with yosys, the numbers in `xnorc_boards::costs` — plus the memories in
//! logic. Used to stop early, to pick a
//! folding that fits and to decide which memories leave block RAM (see `fit`).

use crate::codebook;
use crate::folding::MemoryStyle;
use crate::lane::Lane;
use crate::memories::{BufferStyle, Memory, MemoryRole, Placement};
use crate::stage::{MeanSignStage, Mvu, Stage, StageKind};
use serde::Serialize;
use xnorc_boards::board::Board;
use xnorc_boards::costs::{shell_luts, RomMerge, FIFO_CONTROL_LUTS, RESPONSES_FIXED_LUTS};
use xnorc_boards::Family;

/// One component's share.
#[derive(Debug, Clone, Serialize)]
pub struct StageEstimate {
    /// Stage name (or `fifo<i>`).
    pub stage: String,
    /// PE × SIMD lanes (MVUs).
    pub lanes: usize,
    /// Estimated LUT4s.
    pub luts: usize,
    /// Block RAMs of its memories.
    pub ram_blocks: usize,
}

/// The whole design's estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Estimated LUT4s (core + shell).
    pub luts: usize,
    /// Block RAMs (the components' and the shell's request buffer).
    pub ram_blocks: usize,
    /// Hard multipliers.
    pub dsps: usize,
    /// Per component, in pipeline order.
    pub stages: Vec<StageEstimate>,
}

impl Estimate {
    /// The stage with the most block RAMs, or else the most LUTs.
    pub fn largest(&self) -> Option<&StageEstimate> {
        self.stages.iter().max_by_key(|s| (s.ram_blocks, s.luts))
    }

    /// Logic cells the estimated LUT4s take after packing on `family` ([`packed_cells`]).
    pub fn logic_cells(&self, family: Family) -> usize {
        packed_cells(self.luts, family)
    }

    /// Does it fit `board`'s device, keeping `lut_fraction` of its logic cells as the ceiling?
    pub fn fits(&self, board: &Board, lut_fraction: f64) -> bool {
        let d = &board.device;
        self.ram_blocks as u64 <= d.ram_blocks
            && self.dsps as u64 <= d.dsps
            && self.logic_cells(d.family) as f64 <= d.luts as f64 * lut_fraction
    }
}

/// LUT RAM cells (ECP5 TRELLIS_DPR16X4: 16 words × 4 bits) a `depth` × `width` buffer takes on
/// `family`, if it has LUT RAM.
fn lut_ram_cells(family: Family, depth: usize, width: usize) -> Option<usize> {
    let cell = family.costs().lut_ram?;
    Some(depth.div_ceil(cell.depth) * width.div_ceil(cell.width))
}

/// Where a writable buffer goes on `family`: the cheapest of block RAM, LUT RAM (ECP5 only)
/// and flip-flops, with the relative costs yosys's `memory_libmap` gives them (a flip-flop
/// bit 1, a TRELLIS_DPR16X4 4, an SB_RAM40_4K 64, a DP16KD 128). The choice is the one yosys
/// makes on its own, made explicit so the estimate counts what synthesis builds. A memory that
/// block RAM cannot hold (`MemoryRole::block_ram_capable`) goes to LUT RAM or registers.
pub fn buffer_style(family: Family, m: &Memory) -> BufferStyle {
    let (depth, width) = (m.depth, m.width);
    let registers = (depth * width) as u64;
    let costs = family.costs();
    let block = if m.role.block_ram_capable() {
        costs.block_ram_cost * family.ram_blocks_for(depth, width) as u64
    } else {
        u64::MAX
    };
    let distributed = match (costs.lut_ram, lut_ram_cells(family, depth, width)) {
        (Some(cell), Some(cells)) => cell.cost * cells as u64,
        _ => u64::MAX,
    };
    if registers <= distributed && registers < block {
        BufferStyle::Registers
    } else if distributed < block {
        BufferStyle::Distributed
    } else {
        BufferStyle::Block
    }
}

/// LUT4s of a read-only memory in logic: a LUT4 is a 16×1 ROM; deeper words need a
/// multiplexer tree over them (ECP5's PFU multiplexers merge up to 8 LUT4s for free, iCE40
/// spends about a LUT4 per three inputs merged).
pub fn logic_rom_luts(family: Family, depth: usize, width: usize) -> usize {
    if depth <= 1 {
        // One word is a constant: it folds into the logic that reads it.
        return 0;
    }
    let per_bit = depth.div_ceil(16);
    let mux = match family.costs().rom_merge {
        RomMerge::Free(n) => per_bit.saturating_sub(1) / n,
        RomMerge::Lut(n) => per_bit.saturating_sub(1).div_ceil(n),
    };
    width * (per_bit + mux)
}

/// LUT4s of a writable buffer outside block RAM on `family`: LUT RAM cells take 2 LUT4s of RAM
/// plus their share of write decode; registers need a read multiplexer of ≈ one LUT4 per two
/// bits.
fn buffer_luts(family: Family, style: BufferStyle, depth: usize, width: usize) -> usize {
    match style {
        BufferStyle::Block => 0,
        BufferStyle::Distributed => {
            match (family.costs().lut_ram, lut_ram_cells(family, depth, width)) {
                (Some(cell), Some(cells)) => cell.luts * cells,
                // A family without LUT RAM never places a buffer there (`buffer_style`).
                _ => 0,
            }
        }
        BufferStyle::Registers if depth <= 1 => 0,
        BufferStyle::Registers => (depth * width).div_ceil(2),
    }
}

/// Block RAMs and LUT4s of one memory on `family`; a buffer with no placement yet gets the
/// family's ([`buffer_style`]).
pub fn memory_cost(family: Family, m: &Memory) -> (usize, usize) {
    let (d, w) = (m.depth, m.width);
    match m.placement {
        Placement::Rom(MemoryStyle::Block) => (family.ram_blocks_for(d, w), 0),
        Placement::Rom(MemoryStyle::Lut) => (0, logic_rom_luts(family, d, w)),
        Placement::Buffer(style) => match style.unwrap_or_else(|| buffer_style(family, m)) {
            BufferStyle::Block => (family.ram_blocks_for(d, w), 0),
            other => (0, buffer_luts(family, other, d, w)),
        },
    }
}

/// Logic cells `luts` LUT4s take after packing on `family` ([`cells_per_lut4`]).
pub fn packed_cells(luts: usize, family: Family) -> usize {
    (luts as f64 * cells_per_lut4(family)).ceil() as usize
}

/// Logic cells placed per LUT4 yosys maps on `family` (`xnorc_boards::costs::Costs`).
pub fn cells_per_lut4(family: Family) -> f64 {
    family.costs().cells_per_lut4
}

/// LUT4s per binary lane on `family` (`xnorc_boards::costs::Costs::luts_per_lane`); also the unit
/// that turns a LUT budget into a lane budget.
pub fn luts_per_lane(family: Family) -> f64 {
    family.costs().luts_per_lane
}

/// Bits to count to `n` (at least 1).
pub(crate) fn bits_for(n: usize) -> usize {
    (usize::BITS - n.max(2).saturating_sub(1).leading_zeros()) as usize
}

/// Adder bits of a tree over `simd` leaves of `leaf_w` bits: Σ over its levels of the adders
/// there times their width (each level one bit wider than the one below).
pub(crate) fn tree_bits(simd: usize, leaf_w: usize) -> usize {
    (1..=bits_for(simd))
        .map(|level| simd.div_ceil(1 << level) * (leaf_w + level))
        .sum()
}

/// LUT4s of an MVU's datapath on `family`: a fixed share, per PE its adder tree and
/// accumulator (with the compare), and per lane its function — an integer lane per input bit,
/// a binary lane nothing when its weights are constants (one weight word: XNOR with a constant
/// is a wire or an inverter folded into the tree). Coefficients in `xnorc_boards::costs`.
fn mvu_datapath_luts(family: Family, m: &Mvu, input_bits: u32) -> f64 {
    let c = family.costs();
    let (leaf_w, _) = m.lane.leaf_format(input_bits as usize);
    let lanes = (m.pe * m.simd) as f64;
    let lane = match m.lane {
        Lane::AddSub | Lane::AddZero => c.int_lane_luts_per_bit * f64::from(input_bits),
        // A multiplier per lane: a hard one on ECP5 (counted as DSPs), an array of input ×
        // weight bits in logic on iCE40 (first principles, not yet measured).
        Lane::Mul { weight_bits } => match family {
            Family::Ecp5 => c.int_lane_luts_per_bit * f64::from(input_bits),
            Family::Ice40 => f64::from(input_bits * weight_bits),
        },
        _ if m.weight_words.len() <= 1 && m.codebook.is_none() => 0.0,
        _ => c.lane_luts,
    };
    c.mvu_fixed_luts
        + m.pe as f64
            * (c.tree_luts_per_bit * tree_bits(m.simd, leaf_w) as f64
                + c.acc_luts_per_bit * f64::from(m.acc_bits))
        + lanes * lane
}

/// LUT4s of a window generator or pool apart from its output width (`xnorc_boards::costs`).
fn window_fixed_luts(family: Family, kind: &StageKind) -> usize {
    let costs = family.costs();
    match kind {
        StageKind::Swg(_) => costs.window_fixed_luts,
        StageKind::Pool(_) => costs.pool_fixed_luts,
        _ => 0,
    }
}

/// Hard multipliers of a stage, as yosys's `synth_ecp5` makes them: every `$mul` whose
/// operands are both at least 2 bits wide after `wreduce` goes to MULT18X18Ds (one per 18 × 18
/// piece); a product by a power of two is a shift. On iCE40 builds keep multipliers in logic
/// (see `xnorc_boards::flow`).
///
/// Measured on resnet20's 85F core (II 18,432): 124 MULT18X18D — 41 in the integer lanes, 83
/// in the affines, one per element. Window generators take none: their address products by
/// constants are written as shifts and adds (`xnorc_swg`).
pub(crate) fn stage_dsps(family: Family, s: &Stage) -> usize {
    if family != Family::Ecp5 {
        return 0;
    }
    match &s.kind {
        StageKind::Mvu(m) if matches!(m.lane, crate::Lane::Mul { .. }) => m.pe * m.simd,
        // t = (x << IN_SHIFT) + PRE times a PARAM_BITS multiplier: t's register holds
        // sign-extension copies that yosys merges, so the product is as wide as t's range.
        // Measured: a 19-bit t by 9-bit multipliers took one MULT18X18D, a 20-bit t two.
        StageKind::Affine(a) => {
            let (pre, _) = a.field_bits();
            let shifted = s.input.bits + a.in_shift;
            let t_bits = match a.pre.iter().any(|&p| p != 0) {
                true => shifted.max(pre) + 1,
                false => shifted,
            } as usize;
            let pieces = |bits: usize| bits.saturating_sub(1).div_ceil(18).max(1);
            s.input.elems * pieces(t_bits) * pieces(a.param_bits as usize)
        }
        _ => 0,
    }
}

/// LUT4s of a stage's logic, memories apart.
fn stage_logic(s: &Stage, family: Family) -> (usize, usize) {
    match &s.kind {
        StageKind::Mvu(m) => {
            let lanes = m.pe * m.simd;
            let mut luts = mvu_datapath_luts(family, m, s.input.bits) as usize;
            if let Lane::Select {
                entries,
                response_bits,
                ..
            } = m.lane
            {
                // Per lane, the multiplexer selecting one of the responses.
                luts += lanes * codebook::select_lane_luts(entries, response_bits);
            }
            if let Some(cb) = &m.codebook {
                // Per lane, its kernel bit from the index: a function of the index bits for
                // whole kernels, else a 2^τ:1 multiplexer on the plane.
                let in_block_ram = m.memory == MemoryStyle::Block;
                luts += lanes
                    * match cb.whole_kernels {
                        true => codebook::kernel_bit_luts(cb.tau),
                        false => codebook::decode_lane_luts_on(family, cb.tau, in_block_ram),
                    };
            }
            (lanes, luts)
        }
        // A counter per channel and kernel, the tap counter and the output register.
        StageKind::Responses(r) => (
            0,
            RESPONSES_FIXED_LUTS
                + r.simd * r.entries * codebook::response_counter_luts(r.response_bits)
                + s.output.width(),
        ),
        // The row counter and compare, the output word (a multiplexer per bit), and per split
        // channel its held accumulator, key and address adders and compare; ROMs apart.
        StageKind::SplitThreshold(t) => {
            let a = t.acc_bits as usize;
            let address = usize::BITS as usize - t.table_entries().leading_zeros() as usize;
            (0, 20 + 2 * a + t.o + t.split.len() * (3 * a + address))
        }
        // Window generators: counters, address arithmetic, the output register.
        kind @ StageKind::Swg(_) => (0, window_fixed_luts(family, kind) + s.output.width() * 2),
        // A compare and a multiplexer per output bit.
        kind @ StageKind::Pool(_) => (0, window_fixed_luts(family, kind) + s.output.width()),
        // The affine step and the argmax tree's compares and multiplexers: ≈1.7 LUT4 per bit of
        // score and index per class (measured 35–332 for 3–10 classes); with a scan, one
        // compare and the candidate's multiplexer instead of the tree: ≈0.8 (measured 98 for
        // TFC's 10 classes against 180 for its tree).
        StageKind::Scores(sc) => {
            let bits = sc.classes * (sc.score_bits as usize + bits_for(sc.classes));
            let per_bit = if sc.scan { 0.8 } else { 1.7 };
            (0, (per_bit * bits as f64) as usize)
        }
        StageKind::Affine(a) => (0, affine_luts(family, s, a)),
        // A compare per element and level, and the thresholds' multiplexer per channel block.
        StageKind::Threshold(t) => {
            let blocks = t.c / s.input.elems;
            let compare = s.input.bits as usize + 1;
            let parameters = if blocks > 1 {
                s.input.bits as usize * blocks.div_ceil(4)
            } else {
                0
            };
            (0, s.input.elems * t.levels * (compare + parameters))
        }
        // The sum and its clamp per element. On ECP5 the sum and the clamp's two compares are
        // carry chains (a CCU2C, two LUT4 slots, per two bits): measured on resnet20's 85F
        // core (9-bit sums into 8 bits), 302 LUT4 for 8 elements and 43 for one, where the
        // formula gives 285 and 40.
        StageKind::Add(a) => {
            let (sum, out) = (a.sum_bits as usize, s.output.bits as usize);
            let luts = match family {
                Family::Ecp5 => 5 + s.input.elems * (3 * sum + out),
                Family::Ice40 => s.input.elems * (sum + out),
            };
            (0, luts)
        }
        StageKind::MeanSign(m) => (0, meansign_luts(family, s.input.elems, m)),
        // Counters and the output register, which loads only every stride-th pixel: measured
        // 21–35 LUT4 (ECP5, carries as two) and 16–30 (iCE40) for 8 and 64 bits a beat.
        StageKind::Subsample(_) => (0, 30),
        // Counters and the output register with zero for the padding: a multiplexer per bit
        // on ECP5 (measured 71–72 LUT4 at 64 bits, 12 at 8), the flip-flops' synchronous reset
        // on iCE40 (6–9).
        StageKind::PadChannels(_) => match family {
            Family::Ecp5 => (0, 8 + s.output.width()),
            Family::Ice40 => (0, 9),
        },
    }
}

/// LUT4s of a meansign stage (`xnorc_meansign`): per element its share of the frame's sum,
/// N·x (one adder per set bit of N past the first) and the compare with the total, each as wide
/// as the sum; the sum, counters and phase. A least-squares fit to the module synthesized alone
/// (yosys 0.23) for 1–16 elements, 13–24 sum bits and N with 1–4 set bits: within 13% on the
/// 9 shapes on ECP5 (carries as two LUT4s), and on 7 of 9 on iCE40 (16% under and 48% over on
/// the two smallest).
fn meansign_luts(family: Family, elems: usize, m: &MeanSignStage) -> usize {
    let adders = m.n.count_ones().saturating_sub(1) as f64;
    let (fixed, per_bit, per_adder_bit) = match family {
        Family::Ecp5 => (24.0, 3.6, 1.1),
        Family::Ice40 => (61.0, 1.55, 0.8),
    };
    let bits = (elems * m.sum_bits as usize) as f64;
    (fixed + bits * (per_bit + per_adder_bit * adders)).round() as usize
}

/// LUT4s of an affine stage (`xnorc_affine`): per element the pre-add (where any channel has
/// one), the bias add, the rounding and the clamp, and the parameters' multiplexer over the
/// channel blocks (constants indexed by the block counter: free for two blocks, one LUT4 per
/// bit for up to 16, then one more per 16).
///
/// ECP5 (multipliers in MULT18X18Ds, adders in CCU2Cs): a least-squares fit to the 21 affines
/// of resnet20's 85F core at II 18,432 (yosys 0.23: 118–450 LUT4; the fit is within 10% on
/// 16 of them, and 30% under on the two with 20-bit biases). iCE40 (multiplier in logic, an
/// array of multiplier × input bits; carries free): first principles, measured 15–50% under
/// on resnet-mini (docs/benchmarks.md).
fn affine_luts(family: Family, s: &Stage, a: &crate::stage::AffineStage) -> usize {
    let (acc, param) = (a.acc_bits as usize, a.param_bits as usize);
    let elems = s.input.elems;
    let blocks = a.c / elems;
    let (pre, bias) = a.field_bits();
    let has_pre = a.pre.iter().any(|&p| p != 0);
    match family {
        Family::Ecp5 => {
            let t_bits = (s.input.bits + a.in_shift).max(pre) as usize + 1;
            let prelu = a.mul != a.neg_mul;
            let fields = param * (1 + usize::from(prelu))
                + if has_pre { pre as usize } else { 0 }
                + bias as usize;
            let mux_per_bit = if blocks <= 2 { 0 } else { blocks.div_ceil(16) };
            let per_element = 12.5
                + 1.6 * acc as f64
                + if has_pre { 0.8 * t_bits as f64 } else { 0.0 }
                + 1.1 * (fields * mux_per_bit) as f64;
            (48.0 + elems as f64 * per_element).round() as usize
        }
        Family::Ice40 => {
            let multiplier = param * (s.input.bits as usize + a.in_shift as usize + 1);
            let parameters = if blocks > 1 {
                (2 * param + (pre + bias) as usize) * blocks.div_ceil(4)
            } else {
                0
            };
            elems * (3 * acc + s.output.bits as usize + multiplier + parameters)
        }
    }
}

/// Split channels of the split threshold stage named `name` (0 when there is none).
fn split_channels(stages: &[Stage], name: &str) -> usize {
    stages
        .iter()
        .find(|s| s.name == name)
        .map_or(0, |s| match &s.kind {
            StageKind::SplitThreshold(t) => t.split.len(),
            _ => 0,
        })
}

/// Estimates `stages` with `memories` (from `plan::memories`: the whole plan's, or only the
/// stages' before the FIFOs are sized) on `board`'s family.
pub fn estimate(stages: &[Stage], memories: &[Memory], board: &Board) -> Estimate {
    let family = board.device.family;
    let mut out: Vec<StageEstimate> = stages
        .iter()
        .map(|s| {
            let (lanes, luts) = stage_logic(s, family);
            StageEstimate {
                stage: s.name.clone(),
                lanes,
                luts,
                ram_blocks: 0,
            }
        })
        .collect();
    for m in memories {
        let (ram, mut luts) = memory_cost(family, m);
        // Every split channel reads the whole table through a ROM of its own
        // (xnorc_split_threshold), so the logic is there once per split channel.
        if m.role == MemoryRole::SplitTables {
            luts *= split_channels(stages, &m.component).max(1);
        }
        if m.role == MemoryRole::Fifo {
            luts += FIFO_CONTROL_LUTS;
        }
        let slot = match out.iter().position(|s| s.stage == m.component) {
            Some(i) => i,
            None => {
                out.push(StageEstimate {
                    stage: m.component.clone(),
                    lanes: 0,
                    luts: 0,
                    ram_blocks: 0,
                });
                out.len() - 1
            }
        };
        out[slot].ram_blocks += ram;
        out[slot].luts += luts;
    }
    // The shell's request buffer (the rest of the shell is logic).
    let request_blocks = stages
        .first()
        .map_or(0, |s| crate::memories::request_buffer_blocks(family, s));
    Estimate {
        luts: out.iter().map(|s| s.luts).sum::<usize>() + shell_luts(family),
        ram_blocks: out.iter().map(|s| s.ram_blocks).sum::<usize>() + request_blocks,
        dsps: stages.iter().map(|s| stage_dsps(family, s)).sum(),
        stages: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(role: MemoryRole, depth: usize, width: usize) -> Memory {
        Memory {
            component: "x".into(),
            role,
            depth,
            width,
            placement: Placement::Buffer(None),
        }
    }

    #[test]
    fn buffers_go_where_the_costs_say() {
        let style = |f, d, w| buffer_style(f, &buffer(MemoryRole::Fifo, d, w));
        // 64 bits: cheaper in flip-flops than a block on either family.
        assert_eq!(style(Family::Ice40, 2, 32), BufferStyle::Registers);
        // 53 × 64 on ECP5: 64 LUT RAM cells (cost 256) tie with 2 DP16KD (256): block.
        assert_eq!(style(Family::Ecp5, 53, 64), BufferStyle::Block);
        // 71 × 16: 20 cells (80) against one DP16KD (128): LUT RAM.
        assert_eq!(style(Family::Ecp5, 71, 16), BufferStyle::Distributed);
        // iCE40 has no LUT RAM: 184 × 1 goes to a block (64 < 184).
        assert_eq!(style(Family::Ice40, 184, 1), BufferStyle::Block);
    }

    #[test]
    fn a_pool_row_never_goes_to_block_ram() {
        // 640 × 1 (a CNV pool row): one DP16KD would be cheapest, but the row is read and
        // written in the same cycle (yosys: "no valid mapping found" when forced to a block).
        let row = buffer(MemoryRole::PoolRow, 640, 1);
        assert_eq!(buffer_style(Family::Ecp5, &row), BufferStyle::Distributed);
        assert_eq!(buffer_style(Family::Ice40, &row), BufferStyle::Registers);
    }

    #[test]
    fn logic_roms_cost_a_lut_per_16_words_per_bit() {
        assert_eq!(logic_rom_luts(Family::Ecp5, 16, 8), 8);
        // 36 words: 3 LUT4s per bit, merged by PFU multiplexers on ECP5.
        assert_eq!(logic_rom_luts(Family::Ecp5, 36, 256), 768);
        // On iCE40 a LUT4 merges the three.
        assert_eq!(logic_rom_luts(Family::Ice40, 36, 1), 4);
        // One word is a constant (a layer's thresholds with one output pass).
        assert_eq!(logic_rom_luts(Family::Ecp5, 1, 960), 0);
    }

    #[test]
    fn an_adder_tree_sums_its_levels_widths() {
        // 16 one-bit leaves: 8 two-bit adders, 4 of 3 bits, 2 of 4, 1 of 5.
        assert_eq!(tree_bits(16, 1), 8 * 2 + 4 * 3 + 2 * 4 + 5);
        // 5 nine-bit leaves (integer lanes): 3 × 10, 2 × 11, 1 × 12.
        assert_eq!(tree_bits(5, 9), 30 + 22 + 12);
        assert_eq!(tree_bits(1, 1), 2);
        assert_eq!(
            (bits_for(1), bits_for(2), bits_for(3), bits_for(1024)),
            (1, 1, 2, 10)
        );
    }

    #[test]
    fn every_split_channel_pays_for_its_own_table_rom() {
        use crate::split::{ProbeKey, SplitChannel, SplitThreshold};
        use crate::stream::Stream;
        let channel = |c: usize| SplitChannel {
            channel: c,
            probe_row: 8 + c,
            run: (0, 4),
            key: ProbeKey::Difference,
            key_min: -10,
            ge: true,
            table: vec![0; 20],
        };
        let stream = |elems, bits| Stream {
            elems,
            bits,
            signed: false,
            beats: 1,
            valid_bit: false,
        };
        let stage = Stage {
            name: "t".into(),
            layer: "T".into(),
            kind: StageKind::SplitThreshold(SplitThreshold {
                node: xnorc_compiler::ir::NodeId(0),
                o: 8,
                rows: 12,
                acc_bits: 6,
                ge: vec![true; 8],
                thresholds: vec![0; 8],
                split: (0..3).map(channel).collect(),
            }),
            input: stream(1, 6),
            output: stream(8, 1),
            channel_order: None,
            sources: Vec::new(),
        };
        let memories = crate::memories::stage_memories(&stage, &Default::default());
        let board = xnorc_boards::board::find("icebreaker").expect("bundled board");
        let e = estimate(std::slice::from_ref(&stage), &memories, &board);
        // The tables: 60 words of 6 bits, a ROM of ⌈60/16⌉ = 4 LUT4 per bit and one more to
        // merge them (iCE40: a LUT4 per three), read by each of the 3 split channels.
        let tables = 3 * 6 * (4 + 1);
        // The thresholds: 8 words of 7 bits, one LUT4 per bit.
        let thresholds = 7;
        let (_, logic) = stage_logic(&stage, Family::Ice40);
        assert_eq!(e.stages[0].luts, logic + tables + thresholds);
    }

    #[test]
    fn a_fifo_costs_its_control_besides_its_storage() {
        let fifo = buffer(MemoryRole::Fifo, 2, 16);
        let board = xnorc_boards::board::find("icebreaker").expect("bundled board");
        let e = estimate(&[], &[fifo], &board);
        // 32 bits in flip-flops: a read multiplexer of 16 LUT4, plus 20 of pointers and flags.
        assert_eq!(e.luts, shell_luts(Family::Ice40) + 16 + FIFO_CONTROL_LUTS);
    }
}
