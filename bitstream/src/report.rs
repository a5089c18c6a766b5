//! report.json: what a build produced, measured (field order is key order).

use crate::error::BuildError;
use crate::layers::LayerResources;
use serde::Serialize;
use std::collections::BTreeMap;
use xnorc_boards::flow::StepRecord;
use xnorc_boards::netlist::Resources;
use xnorc_boards::{Family, Pll};
use xnorc_plan::layer_estimate::Cost;

/// The whole of report.json.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Board name.
    pub board: String,
    /// Its device.
    pub device: DeviceReport,
    /// Model name.
    pub model: String,
    /// Logic cells place and route used (iCE40 ICESTORM_LC, ECP5 TRELLIS_COMB: a LUT4 slot),
    /// what runs out on the device.
    pub luts: u64,
    /// Flip-flops (place and route's count, else synthesis').
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// DSPs.
    pub dsps: u64,
    /// Fmax nextpnr reports (0 when it reports none).
    pub fmax_mhz: f64,
    /// The PLL's core clock.
    pub clock_mhz: f64,
    /// Fmax ≥ clock.
    pub timing_met: bool,
    /// Frames per second at the clock the bitstream runs at (clock / II): the headline figure.
    pub frames_per_second: f64,
    /// Frames per second the same netlist would reach at Fmax (Fmax / II), were the PLL set to it.
    pub frames_per_second_at_fmax: f64,
    /// Plan latency in cycles.
    pub latency_cycles: u64,
    /// Plan II in cycles per frame.
    pub ii_cycles: u64,
    /// Lanes used against the device's lane bound, and the stage that sets the II.
    pub fit: xnorc_plan::fit::LaneUse,
    /// Latency at the clock, in µs.
    pub latency_us: f64,
    /// The bitstream file.
    pub bitstream: String,
    /// Its size.
    pub bitstream_bytes: u64,
    /// The PLL's settings.
    pub pll: Pll,
    /// The UART link.
    pub uart: UartReport,
    /// What yosys mapped: LUT4s (before packing into logic cells), flip-flops, block RAMs and
    /// DSPs.
    pub synth: Resources,
    /// The plan's estimate for the device, in yosys's terms (to read beside `synth`), with the
    /// logic cells its LUT4s take once packed (to read beside `luts`).
    pub estimate: EstimateTotal,
    /// Per instance of the core (every stage, FIFO and converter), then the core's glue and the
    /// shell: the estimate beside what yosys mapped.
    pub layers: Vec<LayerResources>,
    /// Cells yosys mapped, by type (ECP5: after the move below).
    pub synth_cells: BTreeMap<String, u64>,
    /// ECP5: block RAM read ports that took the flip-flops after them as their output register,
    /// and the flip-flops moved (docs/flow.md, "Block RAM output registers").
    pub output_registers: xnorc_boards::outreg::Absorbed,
    /// Every pass through synthesis and place and route: the clock it aimed at and what it
    /// reached (a build whose Fmax misses its automatic clock tries again below it).
    pub passes: Vec<PassRecord>,
    /// nextpnr's utilization: (used, available) by resource.
    pub pnr_utilization: BTreeMap<String, (u64, u64)>,
    /// nextpnr's placer seed of the placement kept.
    pub pnr_seed: u64,
    /// Seeds that stalled.
    pub pnr_stalled_seeds: Vec<u64>,
    /// Every placement of the last pass that finished, with its Fmax (`--placements`).
    pub placements: Vec<xnorc_boards::flow::PlacementTry>,
    /// Every tool step with its wall time.
    pub steps: Vec<StepRecord>,
    /// Wall time of the whole build.
    pub total_seconds: f64,
}

/// One pass through synthesis and place and route.
#[derive(Debug, Clone, Serialize)]
pub struct PassRecord {
    /// From 1; its logs are `<step>-pass<N>.log`.
    pub pass: u32,
    /// The PLL's clock it was placed for.
    pub clock_mhz: f64,
    /// The Fmax nextpnr reported (0 when none).
    pub fmax_mhz: f64,
    /// Logic cells it placed.
    pub logic_cells: u64,
}

/// The estimate's totals in report.json.
#[derive(Debug, Clone, Serialize)]
pub struct EstimateTotal {
    /// LUT4s, flip-flops, block RAMs, DSPs: the layers' and the shell's together.
    #[serde(flatten)]
    pub total: Cost,
    /// Logic cells the LUT4s take once packed (the family's cells per LUT4).
    pub logic_cells: usize,
}

/// The device part of report.json.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    /// FPGA family.
    pub family: Family,
    /// nextpnr part.
    pub part: String,
    /// Package.
    pub package: String,
    /// LUT4s.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// DSPs.
    pub dsps: u64,
}

/// The UART part of report.json.
#[derive(Debug, Clone, Serialize)]
pub struct UartReport {
    /// Baud rate: open the host's serial port at this rate.
    pub baud: u32,
    /// The board's USB-UART bridge, when the board file names it (the rate is then the fastest
    /// it generates that the clock can time); absent for a fixed rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bridge: Option<String>,
    /// The FPGA's rate relative to `baud`, minus 1.
    pub rate_error: f64,
    /// Core clocks per bit.
    pub clocks_per_bit: u32,
    /// Request payload bytes.
    pub request_bytes: u32,
    /// Response payload bytes.
    pub response_bytes: u32,
    /// Byte times one frame takes on the line: the longer of its request and response frames
    /// (the line is full duplex and the host keeps two requests outstanding).
    pub line_bytes_per_frame: u32,
    /// Frames per second the line carries at the clock.
    pub link_frames_per_second: f64,
    /// What a host sees: the line's rate or the core's, whichever is lower.
    pub end_to_end_frames_per_second: f64,
    /// What the host sees.
    pub via: String,
}

/// Reads a build directory's report.json (as written, any version: a JSON value).
pub fn read_report(dir: &std::path::Path) -> Result<serde_json::Value, BuildError> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| BuildError::Refused {
        message: format!("{}: cannot read: {e}", path.display()),
        help: format!(
            "run `xnorc build MODEL --board NAME --out {}` first",
            dir.display()
        ),
    })?;
    serde_json::from_str(&text)
        .map_err(|e| BuildError::Input(format!("{}: not a build report: {e}", path.display())))
}
