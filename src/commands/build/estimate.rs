//! A resource estimate of a plan on a device, before synthesis: block RAMs exactly as the
//! family's RAM shapes pack each memory, LUT4s from the lane count (measured ≈4.5 LUT4 per lane
//! with accumulator and threshold). Used to stop early and to pick a folding that fits.

use serde::Serialize;
use xnorc_boards::board::Board;
use xnorc_compiler::plan::folding::{MemoryStyle, IBUF_LOGIC_BITS, LUTS_PER_LANE};
use xnorc_compiler::plan::{MvuOutput, Stage, StageKind};

/// LUT4s the shell (UART link, gearboxes, reset, control) takes, measured with yosys: a margin.
pub const SHELL_LUTS: usize = 400;

/// One stage's share.
#[derive(Debug, Clone, Serialize)]
pub struct StageEstimate {
    /// Stage name.
    pub stage: String,
    /// PE × SIMD lanes (MVUs).
    pub lanes: usize,
    /// Estimated LUT4s.
    pub luts: usize,
    /// Block RAMs for its weights and thresholds.
    pub ram_blocks: usize,
}

/// The whole design's estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Estimated LUT4s (core + shell).
    pub luts: usize,
    /// Block RAMs.
    pub ram_blocks: usize,
    /// Per stage.
    pub stages: Vec<StageEstimate>,
}

impl Estimate {
    /// The stage with the most block RAMs, or else the most LUTs.
    pub fn largest(&self) -> Option<&StageEstimate> {
        self.stages.iter().max_by_key(|s| (s.ram_blocks, s.luts))
    }

    /// Does it fit `board`'s device, keeping `lut_fraction` of its LUTs as the ceiling?
    pub fn fits(&self, board: &Board, lut_fraction: f64) -> bool {
        let d = &board.device;
        self.ram_blocks as u64 <= d.ram_blocks && (self.luts as f64) <= d.luts as f64 * lut_fraction
    }
}

/// LUT4s of one lane's codebook decode: a 2^τ:1 multiplexer is a tree of 2^τ − 1 two-input
/// multiplexers, one LUT4 each (an upper bound: ECP5's PFU multiplexers do better).
pub fn decode_luts(tau: u32) -> usize {
    (1usize << tau) - 1
}

/// Estimates a plan's stages on `board`'s family.
pub fn estimate(plan_stages: &[Stage], board: &Board) -> Estimate {
    let family = board.device.family;
    let mut stages = Vec::new();
    for s in plan_stages {
        let (lanes, luts, ram) = match &s.kind {
            StageKind::Mvu(m) => {
                let lanes = m.pe * m.simd;
                let mut luts = (lanes as f64 * LUTS_PER_LANE) as usize;
                let mut ram = 0;
                let (depth, width) = (m.weight_words.len(), m.word_bits());
                if let Some(cb) = &m.codebook {
                    // Per lane, a 2^τ:1 multiplexer picks the weight bit from the plane.
                    luts += lanes * decode_luts(cb.tau);
                }
                match m.memory {
                    MemoryStyle::Block => ram += family.ram_blocks_for(depth, width),
                    // A ROM in logic: about one LUT4 per 16 bits (LUT as 16×1 ROM).
                    MemoryStyle::Lut => luts += (depth * width).div_ceil(16),
                }
                // The input buffer (passes after the first reuse the input): block RAM when
                // large, as the generator marks it.
                let ibuf_bits = m.sf() * s.input.width();
                if m.nf() > 1 && ibuf_bits > IBUF_LOGIC_BITS {
                    ram += family.ram_blocks_for(m.sf(), s.input.width());
                }
                if let MvuOutput::Threshold { levels, .. } = &m.output {
                    let width = m.pe * m.fanout * levels * m.acc_bits as usize;
                    match m.threshold_memory {
                        MemoryStyle::Block => ram += family.ram_blocks_for(m.nf(), width),
                        MemoryStyle::Lut => luts += (m.nf() * width).div_ceil(16),
                    }
                }
                (lanes, luts, ram)
            }
            // Window generators, pools and the scores stage: registers and compare logic,
            // small next to the MVUs; the line buffers go to RAM by yosys' choice.
            StageKind::Swg(_) | StageKind::Pool(_) | StageKind::Scores(_) => {
                (0, s.output.width() * 2, 0)
            }
        };
        stages.push(StageEstimate {
            stage: s.name.clone(),
            lanes,
            luts,
            ram_blocks: ram,
        });
    }
    Estimate {
        luts: stages.iter().map(|s| s.luts).sum::<usize>() + SHELL_LUTS,
        ram_blocks: stages.iter().map(|s| s.ram_blocks).sum(),
        stages,
    }
}
