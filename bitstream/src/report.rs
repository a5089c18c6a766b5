//! report.json: what a build produced, measured (field order is key order).

use crate::error::BuildError;
use serde::Serialize;
use std::collections::BTreeMap;
use xnorc_boards::flow::StepRecord;
use xnorc_boards::{Family, Pll};
use xnorc_plan::estimate::Estimate;

/// The whole of report.json.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// Board name.
    pub board: String,
    /// Its device.
    pub device: DeviceReport,
    /// Model name.
    pub model: String,
    /// LUT4s after place and route.
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
    /// The plan's estimate for the device, whole and per component (stage, or `fifo<i>`), to
    /// read beside what place and route used.
    pub estimate: Estimate,
    /// Cells yosys mapped, by type.
    pub synth_cells: BTreeMap<String, u64>,
    /// nextpnr's utilization: (used, available) by resource.
    pub pnr_utilization: BTreeMap<String, (u64, u64)>,
    /// nextpnr's placer seed that finished.
    pub pnr_seed: u64,
    /// Seeds that stalled before it.
    pub pnr_stalled_seeds: Vec<u64>,
    /// Every tool step with its wall time.
    pub steps: Vec<StepRecord>,
    /// Wall time of the whole build.
    pub total_seconds: f64,
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
    /// Baud rate.
    pub baud: u32,
    /// Core clocks per bit.
    pub clocks_per_bit: u32,
    /// Request payload bytes.
    pub request_bytes: u32,
    /// Response payload bytes.
    pub response_bytes: u32,
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
