//! Writing designs to disk: the core (with plan.json) or the board design (core, UART link,
//! gearboxes, top) into a directory, and the board link's parameters. `generate` and
//! `board::generate` render; this module only names, parameterizes and writes.

use crate::board::BoardTop;
use crate::shell::{self, LinkParams, ShellError};
use std::path::Path;
use xnorc_boards::board::Board;
use xnorc_compiler::fsutil::{self, OutputError};
use xnorc_plan::memories::{self, request_bytes, response_bytes};
use xnorc_plan::{HardwarePlan, PlanReport};

/// Why a design could not be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RtlError {
    /// An output cannot be written: an unusable folder (bad input) or the machine's fault.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Output(#[from] OutputError),
    /// The UART link cannot be built with these parameters (a bad board or clock).
    #[error("UART link: {0}")]
    #[diagnostic(
        code(xnorc::link_params),
        help("the link's bit time comes from the core clock and the baud rate: pick another --clock-mhz")
    )]
    Link(#[from] ShellError),
}

impl RtlError {
    /// True when the arguments were bad (a clock the link cannot use, an unusable output
    /// folder), false when the machine failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            RtlError::Link(_) => true,
            RtlError::Output(e) => e.is_bad_path(),
        }
    }
}

fn create_dir(dir: &Path) -> Result<(), RtlError> {
    Ok(fsutil::create_dir(dir)?)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), RtlError> {
    Ok(fsutil::write_output(path, bytes)?)
}

/// Writes the core's design and plan.json into `dir`; returns the top module's name.
pub fn write_design(dir: &Path, plan: &HardwarePlan) -> Result<String, RtlError> {
    write_design_for(dir, plan, None)
}

/// As [`write_design`], with plan.json carrying the estimate on `board` when one is given.
pub fn write_design_for(
    dir: &Path,
    plan: &HardwarePlan,
    board: Option<&Board>,
) -> Result<String, RtlError> {
    create_dir(dir)?;
    let design = crate::generate(plan);
    for (name, contents) in &design.files {
        write(&dir.join(name), contents.as_bytes())?;
    }
    let report = match board {
        Some(b) => PlanReport::on_board(plan, b),
        None => PlanReport::of(plan),
    };
    write(&dir.join("plan.json"), report.to_json().as_bytes())?;
    Ok(design.top)
}

/// The board design's top-level names: `<model>_<board>` (board names are `[a-z0-9-]`).
pub fn top_name(plan: &HardwarePlan, board_name: &str) -> String {
    format!("{}_{}", plan.model, board_name.replace('-', "_"))
}

/// The UART link's parameters for a core clock of `clock_mhz` and a line at `clocks_per_bit`
/// (from `xnorc_boards::line_rate`).
pub fn link_params(plan: &HardwarePlan, clock_mhz: f64, clocks_per_bit: u32) -> LinkParams {
    // The activity LED stays on ≈50 ms after a response, long enough to see.
    link_params_for(plan, clocks_per_bit, (clock_mhz * 1e6 * 0.05) as u32)
}

/// The UART link's parameters from its bit time and LED hold, in clock cycles.
pub fn link_params_for(plan: &HardwarePlan, clocks_per_bit: u32, led_cycles: u32) -> LinkParams {
    let widths = memories::link_widths(plan);
    LinkParams {
        clocks_per_bit,
        request_bytes: request_bytes(widths[0], plan.stages[0].input.beats) as u32,
        response_bytes: response_bytes(*widths.last().expect("links")) as u32,
        // A request whose bytes stop for 100 byte times is padded and answered as truncated.
        timeout_cycles: clocks_per_bit * 10 * 100,
        led_cycles,
        reset_copies: plan.reset_copies,
    }
}

/// Renders the board design (core, link, gearboxes, top) and plan.json (with the estimate on
/// `board`, for a real one) into `dir`; returns the Verilog sources.
pub fn write_board_design(
    dir: &Path,
    plan: &HardwarePlan,
    board: Option<&Board>,
    top: BoardTop,
    params: &LinkParams,
) -> Result<Vec<String>, RtlError> {
    create_dir(dir)?;
    let link = shell::link_verilog(params, &top.link_module)?;
    let design = crate::board::generate(plan, &top, &link);
    let mut sources = Vec::new();
    for (name, contents) in &design.files {
        write(&dir.join(name), contents.as_bytes())?;
        if name.ends_with(".v") {
            sources.push(name.clone());
        }
    }
    let report = match board {
        Some(b) => PlanReport::on_board(plan, b),
        None => PlanReport::of(plan),
    };
    write(&dir.join("plan.json"), report.to_json().as_bytes())?;
    Ok(sources)
}
