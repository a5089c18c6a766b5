//! xnorc's build orchestration (`xnorc build`): model + board → fitted plan → core + board
//! shell → yosys → nextpnr → bitstream, with a report of resources, Fmax, frames/s and each
//! tool's wall time ([`report::BuildReport`], written as report.json), per layer beside the
//! plan's estimate ([`layers`]).
//!
//! Owns: the order of a build and its decisions that need a board (the plan for the device,
//! [`fitting`]; the clock aimed at and the rebuild below a missed Fmax; the model and folding
//! that travel with the bitstream).
//! Must not touch: hardware decisions (crate `xnorc-plan`), Verilog (crate `xnorc-rtl`), tool
//! invocation (crate `xnorc-boards`), printing of reports (the CLI prints the report it gets).
//! Each step and decision is reported through the caller's
//! [`Progress`]; this crate writes nothing to a terminal.

mod error;
pub mod fitting;
pub mod layers;
mod options;
pub mod report;

pub use error::BuildError;
use error::{create_dir, write_output};
pub use options::Options;

use report::{BuildReport, DeviceReport, EstimateTotal, PassRecord, UartReport};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xnorc_boards::board::{Board, PllPrimitive};
use xnorc_boards::flow::{Core, Flow, PnrStats, SynthStats};
use xnorc_boards::{constraints, Pll};
use xnorc_compiler::progress::Progress;
use xnorc_plan::estimate::packed_cells;
use xnorc_plan::fit::{self, folding_of};
use xnorc_plan::layer_estimate::PlanEstimate;
use xnorc_plan::HardwarePlan;
use xnorc_rtl::board::{BoardTop, ClockSource};
use xnorc_rtl::shell::LinkParams;
use xnorc_rtl::write::{link_params, top_name, write_board_design};

/// A finished build: its report (also in report.json) and where it is.
#[derive(Debug, Clone)]
pub struct Built {
    /// The report.
    pub report: BuildReport,
    /// The output directory.
    pub dir: PathBuf,
    /// report.json's text.
    pub report_json: String,
}

impl Built {
    /// The error to report when place and route missed the clock (the bitstream is there).
    pub fn timing_error(&self) -> Option<BuildError> {
        let r = &self.report;
        (!r.timing_met).then(|| {
            BuildError::TimingNotMet(format!(
                "timing not met: Fmax {:.2} MHz < {:.3} MHz clock; the bitstream is in {} but may \
                 misbehave. Rebuild with --clock-mhz {:.0} or a more folded design (--folding)",
                r.fmax_mhz,
                r.clock_mhz,
                self.dir.display(),
                (r.fmax_mhz * 0.95).floor()
            ))
        })
    }
}

/// Starts step `step` of `total` (the previous one ends).
fn step(progress: &dyn Progress, step: usize, total: usize, what: &str) {
    progress.done();
    progress.step(&format!("[{step}/{total}] {what}"), None);
}

/// Where the core clock is aimed first when the user does not say (the goals in
/// docs/benchmarks.md: ≥60 MHz on iCE40 UP5K, ≥120 MHz on ECP5).
pub fn default_clock_mhz(board: &Board) -> f64 {
    match board.device.family {
        xnorc_boards::Family::Ice40 => 60.0,
        xnorc_boards::Family::Ecp5 => 120.0,
    }
}

/// The PLL setting for a core clock of at most `target_mhz` on `board`, and the host link's
/// line rate at the clock it makes (`xnorc_boards::line_rate`).
pub fn clock_and_line(
    board: &Board,
    target_mhz: f64,
) -> Result<(Pll, xnorc_boards::LineRate), BuildError> {
    let pll = board
        .device
        .family
        .pll(board.clock.mhz, target_mhz)
        .ok_or_else(|| {
            BuildError::Input(format!(
                "--clock-mhz {target_mhz}: the {} PLL cannot make ≤{target_mhz} MHz from the board's {} MHz",
                board.device.family, board.clock.mhz
            ))
        })?;
    let rate = xnorc_boards::line_rate(&board.uart, pll.out_mhz() * 1e6).map_err(|why| {
        BuildError::Input(format!(
            "{}: uart: {why}; pick another --clock-mhz",
            board.name
        ))
    })?;
    Ok((pll, rate))
}

fn clock_source(board: &Board, pll: &Pll) -> ClockSource {
    match *pll {
        Pll::Ice40 {
            divr,
            divf,
            divq,
            filter_range,
            ..
        } => ClockSource::Ice40Pll {
            pad: board.clock.pll == PllPrimitive::Ice40Pad,
            divr,
            divf,
            divq,
            filter_range,
        },
        Pll::Ecp5 {
            clki_div,
            clkfb_div,
            clkop_div,
            ..
        } => ClockSource::Ecp5Pll {
            clki_div,
            clkfb_div,
            clkop_div,
        },
    }
}

/// The model and the folding travel with the bitstream: `verify --bitstream` and `run`
/// rebuild the same plan from them (model.xnm and folding.json in `dir`).
fn write_travel_files(opts: &Options, plan: &HardwarePlan, dir: &Path) -> Result<(), BuildError> {
    create_dir(dir)?;
    // A native model is copied as it is; an imported one travels in its native form.
    let model_bytes = if !xnorc_compiler::import::is_imported(&opts.model) {
        std::fs::read(&opts.model)
            .map_err(|e| BuildError::Input(format!("{}: cannot read: {e}", opts.model.display())))?
    } else {
        let file = xnorc_compiler::import::load_model(&opts.model)?;
        xnorc_compiler::format::to_json(&file).into_bytes()
    };
    write_output(&dir.join("model.xnm"), &model_bytes)?;
    let graph = xnorc_compiler::load::load_graph(&opts.model)?;
    let folding =
        serde_json::to_string_pretty(&folding_of(plan, &graph)).expect("folding json") + "\n";
    write_output(&dir.join("folding.json"), folding.as_bytes())?;
    Ok(())
}

/// One pass through synthesis and place and route at `clock_mhz` (PLL output chosen ≤ it).
struct Pass {
    pll: Pll,
    synth: SynthStats,
    pnr: PnrStats,
    params: LinkParams,
    rate: xnorc_boards::LineRate,
}

/// Builds the bitstream: plan, design, synthesis, place and route (again below a missed Fmax
/// when the clock is automatic), pack, report.json. A missed clock is not an error here: see
/// [`Built::timing_error`].
pub fn build(opts: &Options, progress: &dyn Progress) -> Result<Built, BuildError> {
    let result = build_steps(opts, progress);
    progress.done();
    result
}

fn build_steps(opts: &Options, progress: &dyn Progress) -> Result<Built, BuildError> {
    let start = Instant::now();
    let board = xnorc_boards::board::find(&opts.board)?;
    // A missing tool is found before a folder is written, not at step 3.
    Flow::check_tools(board.device.family)?;
    let dir = opts.out_dir(&board);
    const STEPS: usize = 5;
    step(
        progress,
        1,
        STEPS,
        &format!("plan for {} ({})", board.name, board.title),
    );
    let plan = fitting::plan_for_board(opts, &board, progress)?;
    // The same totals the report prints beside yosys's (every component, converters too).
    let est = PlanEstimate::of(&plan, &board).total;
    progress.note(&format!(
        "      II {} cycles; estimate ≈{} LUT4, {} of {} block RAMs ({} memories in logic), {} of \
         {} DSPs",
        plan.ii_cycles,
        est.luts,
        est.ram_blocks,
        board.device.ram_blocks,
        fit::logic_roms(&plan),
        est.dsps,
        board.device.dsps
    ));
    if est.ram_blocks as u64 > board.device.ram_blocks {
        return Err(fitting::does_not_fit(
            opts,
            &board,
            &plan,
            format!(
                "its memories need ≈{} block RAMs, the device has {}",
                est.ram_blocks, board.device.ram_blocks
            ),
        )?);
    }
    if est.dsps as u64 > board.device.dsps {
        return Err(fitting::does_not_fit(
            opts,
            &board,
            &plan,
            format!(
                "its multiplier lanes and affines need ≈{} DSPs, the device has {}",
                est.dsps, board.device.dsps
            ),
        )?);
    }
    // The estimate is rough: stop before synthesis only when its packed logic cells are far
    // over the device's.
    let cells = packed_cells(est.luts, board.device.family);
    if cells as f64 > board.device.luts as f64 * 1.5 {
        return Err(fitting::does_not_fit(
            opts,
            &board,
            &plan,
            format!(
                "≈{} LUT4 estimated, ≈{cells} logic cells once packed; the device has {}",
                est.luts, board.device.luts
            ),
        )?);
    }
    write_travel_files(opts, &plan, &dir)?;
    let top = top_name(&plan, &board.name);
    let auto_clock = opts.clock_mhz.is_none();
    let mut target = opts.clock_mhz.unwrap_or_else(|| default_clock_mhz(&board));
    if !(target.is_finite() && target > 0.0) {
        return Err(BuildError::Input(format!(
            "--clock-mhz {target}: not a frequency; give MHz, e.g. 48"
        )));
    }
    let mut flow = Flow::new(&dir, &board, &top);
    let mut attempt = 0;
    let mut passes = Vec::new();
    let pass = loop {
        attempt += 1;
        flow.begin_pass(attempt);
        let (pll, rate) = clock_and_line(&board, target)?;
        let params = link_params(&plan, pll.out_mhz(), rate.clocks_per_bit);
        let board_top_core = xnorc_rtl::top_name(&plan);
        let board_top = BoardTop {
            name: top.clone(),
            link_module: format!("{top}_link"),
            core_module: board_top_core.clone(),
            clock: clock_source(&board, &pll),
            reset_button: board.reset.as_ref().map(|r| r.active_low),
            led_active_low: board.led[0].active_low,
        };
        step(
            progress,
            2,
            STEPS,
            &format!(
                "generate core + shell (PLL {:.3} MHz, UART {} baud) in {}",
                pll.out_mhz(),
                rate.baud,
                dir.display()
            ),
        );
        let sources = write_board_design(&dir, &plan, Some(&board), board_top, &params)?;
        let pins = constraints::file_name(&board);
        write_output(&dir.join(pins), constraints::render(&board).as_bytes())?;
        step(
            progress,
            3,
            STEPS,
            &format!("yosys: synthesize for {}", board.device.family),
        );
        let core = Core {
            module: &board_top_core,
            instance: xnorc_rtl::board::CORE_INSTANCE,
        };
        let synth = flow.synthesize(&sources, core)?;
        let taken = synth.output_registers;
        if taken.ports > 0 {
            progress.note(&format!(
                "      {} flip-flops moved into the output registers of {} block RAM read ports",
                taken.flip_flops, taken.ports
            ));
        }
        fitting::check_synth_fit(opts, &board, &plan, &synth)?;
        step(
            progress,
            4,
            STEPS,
            &format!(
                "nextpnr-{}: place and route at {:.3} MHz",
                board.device.family,
                pll.out_mhz()
            ),
        );
        let pnr = flow.place_and_route(
            pins,
            pll.out_mhz(),
            (opts.seed, opts.placements_on(&board)),
            &|line| progress.note(line),
        )?;
        let fmax = pnr.fmax_mhz.unwrap_or(0.0);
        passes.push(PassRecord {
            pass: attempt,
            clock_mhz: pll.out_mhz(),
            fmax_mhz: fmax,
            logic_cells: pnr.luts(),
        });
        // Placement varies between runs: up to two more tries, each a little under the Fmax
        // the last one reached.
        if auto_clock && attempt < 3 && fmax < pll.out_mhz() {
            // Aim a little under what this placement reached; the next one differs a bit.
            target = fmax * 0.95;
            progress.note(&format!(
                "      Fmax {fmax:.2} MHz < {:.3} MHz: building again at ≤{target:.2} MHz",
                pll.out_mhz()
            ));
            continue;
        }
        break Pass {
            pll,
            synth,
            pnr,
            params,
            rate,
        };
    };
    step(progress, 5, STEPS, "pack the bitstream");
    let bitstream = flow.pack()?;
    let report = build_report(
        &board,
        &plan,
        &pass,
        passes,
        &flow,
        &dir.join(&bitstream),
        start,
    );
    let text = serde_json::to_string_pretty(&report).expect("report json") + "\n";
    write_output(&dir.join("report.json"), text.as_bytes())?;
    xnorc_report::write_report(&dir, None)?;
    Ok(Built {
        report,
        dir,
        report_json: text,
    })
}

fn build_report(
    board: &Board,
    plan: &HardwarePlan,
    pass: &Pass,
    passes: Vec<PassRecord>,
    flow: &Flow<'_>,
    bitstream: &Path,
    start: Instant,
) -> BuildReport {
    let d = &board.device;
    let (estimate, layers) = layers::layer_resources(plan, board, &pass.synth);
    let fmax = pass.pnr.fmax_mhz.unwrap_or(0.0);
    let clock = pass.pll.out_mhz();
    let line_bytes = xnorc_rtl::shell::line_bytes_per_frame(&pass.params);
    let link_fps = clock * 1e6 / xnorc_rtl::shell::line_cycles_per_frame(&pass.params) as f64;
    let bytes = std::fs::metadata(bitstream).map(|m| m.len()).unwrap_or(0);
    BuildReport {
        board: board.name.clone(),
        device: DeviceReport {
            family: d.family,
            part: d.part.clone(),
            package: d.package.clone(),
            luts: d.luts,
            ffs: d.ffs,
            ram_blocks: d.ram_blocks,
            dsps: d.dsps,
        },
        model: plan.model.clone(),
        luts: pass.pnr.luts(),
        ffs: pass.pnr.ffs().unwrap_or(pass.synth.total.ffs),
        ram_blocks: pass.pnr.ram_blocks(),
        dsps: pass.pnr.dsps(),
        fmax_mhz: fmax,
        clock_mhz: clock,
        timing_met: fmax >= clock,
        frames_per_second: clock * 1e6 / plan.ii_cycles as f64,
        frames_per_second_at_fmax: fmax * 1e6 / plan.ii_cycles as f64,
        latency_cycles: plan.latency_cycles,
        ii_cycles: plan.ii_cycles,
        fit: xnorc_plan::fit::lane_use(plan, board),
        latency_us: plan.latency_cycles as f64 / clock,
        bitstream: bitstream.display().to_string(),
        bitstream_bytes: bytes,
        pll: pass.pll.clone(),
        uart: UartReport {
            baud: pass.rate.baud,
            bridge: board.uart.bridge.map(|b| b.to_string()),
            rate_error: pass.rate.error,
            clocks_per_bit: pass.params.clocks_per_bit,
            request_bytes: pass.params.request_bytes,
            response_bytes: pass.params.response_bytes,
            line_bytes_per_frame: line_bytes,
            link_frames_per_second: link_fps,
            end_to_end_frames_per_second: link_fps.min(clock * 1e6 / plan.ii_cycles as f64),
            via: board.uart.via.clone(),
        },
        synth: pass.synth.total,
        estimate: EstimateTotal {
            total: estimate.total,
            logic_cells: packed_cells(estimate.total.luts, d.family),
        },
        layers,
        passes,
        synth_cells: pass.synth.cells.clone(),
        output_registers: pass.synth.output_registers,
        pnr_utilization: pass.pnr.utilization.clone(),
        pnr_seed: pass.pnr.seed,
        pnr_stalled_seeds: pass.pnr.stalled_seeds.clone(),
        placements: pass.pnr.placements.clone(),
        steps: flow.steps.clone(),
        total_seconds: start.elapsed().as_secs_f64(),
    }
}
