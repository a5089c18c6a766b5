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
    /// 5,658 / 3,633, 5,841 / 3,682), ECP5 1.27 (CNV tiled p = 4: 22,177 COMB for 11,307 LUT4 +
    /// 3,083 CCU2C).
    pub cells_per_lut4: f64,
    /// LUT4s every MVU spends whatever its width: sequencing counters, memory addressing, the
    /// output queue's control (measured: small MVUs of 1–8 lanes take 140–250 on both families).
    pub mvu_fixed_luts: usize,
    /// LUT4s of a window generator apart from its output width: address counters and compares
    /// (measured 211–273 per window generator on iCE40, 228–423 on ECP5).
    pub window_fixed_luts: usize,
    /// LUT4s of a max-pool apart from its output width (measured ≈245 per pool on iCE40, 84–124
    /// on ECP5).
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

/// iCE40's costs.
pub const ICE40: Costs = Costs {
    luts_per_lane: 4.5,
    cells_per_lut4: 1.55,
    mvu_fixed_luts: 100,
    window_fixed_luts: 230,
    pool_fixed_luts: 200,
    block_ram_cost: 64,
    lut_ram: None,
    rom_merge: RomMerge::Lut(3),
};

/// ECP5's costs.
pub const ECP5: Costs = Costs {
    luts_per_lane: 5.0,
    cells_per_lut4: 1.27,
    mvu_fixed_luts: 200,
    window_fixed_luts: 300,
    pool_fixed_luts: 80,
    block_ram_cost: 128,
    lut_ram: Some(LutRam {
        depth: 16,
        width: 4,
        cost: 4,
        luts: 3,
    }),
    rom_merge: RomMerge::Free(8),
};

/// LUT4s the board shell (UART link, gearboxes, reset, control) takes, measured with yosys: a
/// margin, the same on both families.
pub const SHELL_LUTS: usize = 400;

/// Flip-flops of the board shell (UART receiver and transmitter, framers, the link's FIFO,
/// gearboxes, reset and LED timers), measured with yosys.
pub const SHELL_FFS: usize = 500;

/// LUT4s of a width converter apart from its width (a beat counter, the handshake; measured
/// 8–13 on TFC's converters, iCE40).
pub const CONVERTER_FIXED_LUTS: usize = 6;

/// LUT4s of a FIFO's pointers and flags, its storage apart (measured 15–31 per FIFO).
pub const FIFO_CONTROL_LUTS: usize = 20;

/// LUT4s of a codebook responses stage apart from its counters and output register: the tap
/// counter, the plane ROM and the handshake.
pub const RESPONSES_FIXED_LUTS: usize = 20;

/// LUT4s per input bit of an integer lane, which adds or subtracts its input: about 4 on both
/// families (measured 31–33 per 8-bit lane: conv1 of cnv-small on iCE40, of CNV on ECP5).
pub const INT_LANE_LUTS_PER_BIT: f64 = 4.0;

impl Family {
    /// This family's costs.
    pub fn costs(self) -> &'static Costs {
        match self {
            Family::Ice40 => &ICE40,
            Family::Ecp5 => &ECP5,
        }
    }
}
