//! What to build: the model, the board and the user's choices.

use std::path::PathBuf;
use xnorc_boards::board::Board;

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Model file (.xnm, or .onnx imported on the way).
    pub model: PathBuf,
    /// Board name or board file.
    pub board: String,
    /// Folding file; without it the folding is chosen to fit the board's device.
    pub folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding.
    pub lut_budget: Option<usize>,
    /// Output directory (default: `build/<board>`).
    pub out: Option<PathBuf>,
    /// Core clock to ask of the PLL, in MHz (default: the family's goal, with rebuilds at the
    /// Fmax reached).
    pub clock_mhz: Option<f64>,
    /// nextpnr's placer seed: the first placement's.
    pub seed: u64,
    /// Placements to try at most (seeds `seed`, `seed + 1`, …): the first that meets the clock
    /// is kept, else the fastest ([`xnorc_boards::flow::Flow::place_and_route`]). At least 1;
    /// `None`: [`default_placements`] for the board's family.
    pub placements: Option<u64>,
}

/// Placements a build tries when not told: four on iCE40, where one takes under a minute and
/// placement alone moves Fmax by several percent (TFC on the UP5K at 60 MHz: about half the
/// seeds meet it; docs/benchmarks.md); one on ECP5, where one takes minutes on the 25F and up
/// to 45 on the 85F.
pub fn default_placements(board: &Board) -> u64 {
    match board.device.family {
        xnorc_boards::family::Family::Ice40 => ICE40_PLACEMENTS,
        xnorc_boards::family::Family::Ecp5 => 1,
    }
}

/// [`default_placements`] on iCE40.
pub const ICE40_PLACEMENTS: u64 = 4;

impl Options {
    /// The placements to try on `board`: `--placements`, else the family's default.
    pub fn placements_on(&self, board: &Board) -> u64 {
        self.placements.unwrap_or_else(|| default_placements(board))
    }

    /// The output directory: `--out`, else `build/<board>`.
    pub fn out_dir(&self, board: &Board) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| std::path::Path::new("build").join(&board.name))
    }
}
