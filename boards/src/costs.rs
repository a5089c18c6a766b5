//! What logic costs on each family: the measured numbers the plan's resource estimate
//! (`xnorc_plan::estimate`) and its automatic folding read. One place per number, each with where
//! it was measured; the formulas that combine them live with the estimate, which knows the
//! plan's stages and memories (this crate does not).
//!
//! Costs are LUT4s as yosys maps them (`synth_* -noflatten`, per module of generated cores; an
//! ECP5 CCU2C counts as two LUT4s, the slots nextpnr packs it into; iCE40 carries are free).

use crate::Family;

/// One family's costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Costs {
    /// LUT4s per binary lane (XNOR or AND, with its share of adder tree, accumulator and
    /// compare): iCE40 4.5 (TFC; cnv-small's conv3: 4.4; the upper end of 4–4.5, so a budget is
    /// not overrun), ECP5 5 (CNV tiled p = 4: 4.3–4.7 on conv3/conv4). Also the unit that turns
    /// a LUT budget into a lane budget.
    pub luts_per_lane: f64,
    /// Logic cells (iCE40 ICESTORM_LC, ECP5 COMB slots) placed per LUT4 yosys maps: flip-flops
    /// not fed by a LUT4 of their own and carries that cannot share a cell with one take cells
    /// too. Measured: iCE40 1.49–1.59 (four cnv-small builds: 5,807 / 3,891, 5,409 / 3,474,
    /// 5,658 / 3,633, 5,841 / 3,682) and 1.71 for TFC (3,874 / 2,267). ECP5 1.2: nextpnr's
    /// COMB count over yosys's LUT4s (a CCU2C counted as two, a TRELLIS_DPR16X4 as four) was
    /// 1.07–1.23, median 1.16, over 42 builds on the ECP5 boards (dense CNV on the 85F 1.16,
    /// TFC 1.15, codebook CNV 1.07–1.10, cnv-small and resnet-small 1.08–1.23; see
    /// docs/benchmarks.md, "Logic cells per LUT4 on ECP5"). 1.2 covers all but the highest.
    pub cells_per_lut4: f64,
    /// LUT4s every MVU spends whatever its width: sequencing counters, memory addressing, the
    /// output queue's control.
    pub mvu_fixed_luts: f64,
    /// LUT4s per bit of an MVU's adder trees (Σ over levels of adders × their width, per PE).
    pub tree_luts_per_bit: f64,
    /// LUT4s per binary lane for the lane function itself (the XNOR/AND before the tree; free
    /// when the weights are constants).
    pub lane_luts: f64,
    /// LUT4s per input bit of an integer lane (it adds or subtracts its input).
    pub int_lane_luts_per_bit: f64,
    /// LUT4s per accumulator bit per PE (accumulate, compare with the thresholds).
    pub acc_luts_per_bit: f64,
    /// LUT4s of a window generator apart from its output width: address counters and compares
    /// (measured 183–283 per window generator on iCE40, 394–940 on ECP5, where the large maps'
    /// address arithmetic costs most).
    pub window_fixed_luts: usize,
    /// LUT4s of a max-pool apart from one per output bit (measured 59 on iCE40, 92–96 on ECP5).
    pub pool_fixed_luts: usize,
    /// Relative cost of one block RAM in yosys's `memory_libmap` (a flip-flop bit costs 1): an
    /// SB_RAM40_4K 64, a DP16KD 128.
    pub block_ram_cost: u64,
    /// The family's LUT RAM, if it has one (iCE40 has none).
    pub lut_ram: Option<LutRam>,
    /// How a read-only memory in logic merges the LUT4s of words deeper than 16.
    pub rom_merge: RomMerge,
}

/// A LUT RAM cell (ECP5 TRELLIS_DPR16X4: 16 words × 4 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LutRam {
    /// Words per cell.
    pub depth: usize,
    /// Bits per word.
    pub width: usize,
    /// Relative cost of one cell in yosys's `memory_libmap` (a flip-flop bit costs 1).
    pub cost: u64,
    /// LUT4s per cell: 2 LUT4s of RAM plus its share of write decode.
    pub luts: usize,
}

/// How a ROM in logic merges the 16-word LUT4s of one output bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RomMerge {
    /// Dedicated multiplexers merge up to this many LUT4s for free, a LUT4 more per further
    /// group (ECP5's PFU multiplexers: 8).
    Free(usize),
    /// A LUT4 merges this many inputs (iCE40 has no wider multiplexer primitive: about a LUT4
    /// per three merged).
    Lut(usize),
}

/// iCE40's costs. The MVU's four were fitted by least squares to yosys's per-instance counts of
/// 20 MVUs in five designs (tiny, TFC, TFC-u8, TFC tiled, all-ops on the iCEBreaker; see
/// docs/benchmarks.md, "Per-layer estimate"): the tree, lane and accumulator terms as one scale
/// (0.56) with an integer lane's bits weighted 8 and accumulator bits 2, as the iCE40 data alone
/// does not separate them.
pub const ICE40: Costs = Costs {
    luts_per_lane: 4.5,
    cells_per_lut4: 1.7,
    mvu_fixed_luts: 71.0,
    tree_luts_per_bit: 0.56,
    lane_luts: 0.56,
    int_lane_luts_per_bit: 3.5,
    acc_luts_per_bit: 1.12,
    window_fixed_luts: 230,
    pool_fixed_luts: 50,
    block_ram_cost: 64,
    lut_ram: None,
    rom_merge: RomMerge::Lut(3),
};

/// ECP5's costs. The MVU's four were fitted by least squares to yosys's per-instance counts of
/// 14 MVUs in four designs (TFC, cnv-small, cnv-small-codebook on the ULX3S-25F; see
/// docs/benchmarks.md, "Per-layer estimate").
pub const ECP5: Costs = Costs {
    luts_per_lane: 5.0,
    cells_per_lut4: 1.2,
    mvu_fixed_luts: 148.0,
    tree_luts_per_bit: 0.61,
    lane_luts: 1.2,
    int_lane_luts_per_bit: 1.2,
    acc_luts_per_bit: 2.33,
    window_fixed_luts: 450,
    pool_fixed_luts: 50,
    block_ram_cost: 128,
    lut_ram: Some(LutRam {
        depth: 16,
        width: 4,
        cost: 4,
        luts: 3,
    }),
    rom_merge: RomMerge::Free(8),
};

/// LUT4s the board shell (UART link, gearboxes, reset, control) takes on `family`, measured with
/// yosys: iCE40 414–510 (five designs), ECP5 567–596 (three).
pub fn shell_luts(family: Family) -> usize {
    match family {
        Family::Ice40 => 470,
        Family::Ecp5 => 590,
    }
}

/// Flip-flops of the board shell (UART receiver and transmitter, framers, the link's FIFO,
/// gearboxes, reset and LED timers), measured with yosys: 375–566 over eight designs.
pub const SHELL_FFS: usize = 480;

/// LUT4s of a width converter apart from its width (a beat counter, the handshake; measured
/// 8–13 on TFC's converters, iCE40).
pub const CONVERTER_FIXED_LUTS: usize = 6;

/// LUT4s of a FIFO's pointers and flags, its storage apart (measured 15–31 per FIFO).
pub const FIFO_CONTROL_LUTS: usize = 20;

/// LUT4s of a codebook responses stage apart from its counters and output register: the tap
/// counter, the plane ROM and the handshake.
pub const RESPONSES_FIXED_LUTS: usize = 20;

impl Family {
    /// This family's costs.
    pub fn costs(self) -> &'static Costs {
        match self {
            Family::Ice40 => &ICE40,
            Family::Ecp5 => &ECP5,
        }
    }
}
