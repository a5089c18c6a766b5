//! `xnorc build`: model → verified core → board shell → yosys → nextpnr → bitstream, with a
//! report (report.json and a table) of resources, Fmax, frames/s and each tool's wall time.

pub mod estimate;
pub mod fit;

use crate::commands::compile::{build_plan, plan_json};
use crate::errors::{write_output, CliError};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xnorc_boards::board::{Board, PllPrimitive};
use xnorc_boards::flow::{Flow, FlowError, PnrStats, SynthStats};
use xnorc_boards::{constraints, Pll};
use xnorc_compiler::ir::Graph;
use xnorc_compiler::plan::folding::{lanes_for_luts, FoldingFile};
use xnorc_compiler::plan::{self, HardwarePlan};
use xnorc_rtl::board::{request_bytes, response_bytes, BoardTop, ClockSource};

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm, or .onnx imported on the way).
    pub model: PathBuf,
    /// Board name (`xnorc boards`) or a board file.
    #[arg(long)]
    pub board: String,
    /// Folding file; without it the folding is chosen to fit the board's device.
    #[arg(long)]
    pub folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding (default: chosen for the device).
    #[arg(long)]
    pub lut_budget: Option<usize>,
    /// Output directory (default: build/<board>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Core clock to ask of the PLL, in MHz. Without it xnorc aims at the family's goal and, if
    /// place and route misses it, builds once more at the frequency it reached.
    #[arg(long)]
    pub clock_mhz: Option<f64>,
    /// nextpnr's placer seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print report.json instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Where the core clock is aimed first when the user does not say (the goals in
/// docs/benchmarks.md: ≥60 MHz on iCE40 UP5K, ≥120 MHz on ECP5).
fn default_clock_mhz(board: &Board) -> f64 {
    match board.device.family {
        xnorc_boards::Family::Ice40 => 60.0,
        xnorc_boards::Family::Ecp5 => 120.0,
    }
}

fn progress(step: usize, total: usize, what: &str) {
    eprintln!("[{step}/{total}] {what}");
}

/// The design's top-level names for a board: `<model>_<board>` (board names are `[a-z0-9-]`).
pub fn top_name(plan: &HardwarePlan, board_name: &str) -> String {
    format!("{}_{}", plan.model, board_name.replace('-', "_"))
}

/// The UART link's parameters for a core clock of `clock_mhz` and a line at `baud`.
pub fn link_params(plan: &HardwarePlan, clock_mhz: f64, baud: u32) -> xnorc_rtl::shell::LinkParams {
    let clocks_per_bit = (clock_mhz * 1e6 / f64::from(baud)).round() as u32;
    // The activity LED stays on ≈50 ms after a response, long enough to see.
    link_params_for(plan, clocks_per_bit, (clock_mhz * 1e6 * 0.05) as u32)
}

/// The UART link's parameters from its bit time and LED hold, in clock cycles.
pub fn link_params_for(
    plan: &HardwarePlan,
    clocks_per_bit: u32,
    led_cycles: u32,
) -> xnorc_rtl::shell::LinkParams {
    let widths = xnorc_compiler::plan::memories::link_widths(plan);
    xnorc_rtl::shell::LinkParams {
        clocks_per_bit,
        request_bytes: request_bytes(widths[0], plan.stages[0].input.beats) as u32,
        response_bytes: response_bytes(*widths.last().expect("links")) as u32,
        // A request whose bytes stop for 100 byte times is padded and answered as truncated.
        timeout_cycles: clocks_per_bit * 10 * 100,
        led_cycles,
    }
}

/// Renders the board design (core, link, gearboxes, top) into `dir`.
pub fn write_board_design(
    dir: &Path,
    plan: &HardwarePlan,
    top: BoardTop,
    params: &xnorc_rtl::shell::LinkParams,
) -> Result<Vec<String>, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Io(format!("{}: cannot create: {e}", dir.display())))?;
    let link = xnorc_rtl::shell::link_verilog(params, &top.link_module)
        .map_err(|e| CliError::Input(format!("UART link: {e}")))?;
    let design = xnorc_rtl::board::generate(plan, &top, &link);
    let mut sources = Vec::new();
    for (name, contents) in &design.files {
        write_output(&dir.join(name), contents.as_bytes())?;
        if name.ends_with(".v") {
            sources.push(name.clone());
        }
    }
    let json = serde_json::to_string_pretty(&plan_json(plan)).expect("json") + "\n";
    write_output(&dir.join("plan.json"), json.as_bytes())?;
    Ok(sources)
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

/// The plan for the board: the user's folding as given (buffers placed for the family), or
/// the widest automatic folding — within `--lut-budget` if given — that fits the device, with
/// read-only memories moved out of block RAM where that is what makes it fit (`fit`).
fn plan_for_board(args: &Args, board: &Board) -> Result<HardwarePlan, CliError> {
    if args.folding.is_some() {
        let (_, mut plan) = build_plan(
            &args.model,
            args.folding.as_deref(),
            args.lut_budget,
            memory_output_register(board),
        )?;
        fit::place_buffers(&mut plan, board);
        return Ok(plan);
    }
    if let Some(luts) = args.lut_budget {
        let graph = xnorc_compiler::passes::load_graph(&args.model)?;
        let folding = FoldingFile {
            lane_budget: Some(lanes_for_luts(luts)),
            memory_output_register: Some(memory_output_register(board)),
            ..FoldingFile::default()
        };
        // The user's lane budget: move memories to logic only while the device's LUTs last.
        return match fit::fit_with_packing(&graph, &folding, board, 1.0, &args.model)? {
            Some(plan) => Ok(plan),
            None => {
                let (_, mut plan) =
                    build_plan(&args.model, None, Some(luts), memory_output_register(board))?;
                fit::place_buffers(&mut plan, board);
                Ok(plan)
            }
        };
    }
    if let Some(plan) = fit::fitting_plan(&args.model, board, memory_output_register(board))? {
        return Ok(plan);
    }
    let graph = xnorc_compiler::passes::load_graph(&args.model)?;
    let (planned, in_logic) =
        fit::serial_need(&graph, board, memory_output_register(board), &args.model)?;
    let family = board.device.family;
    Err(CliError::Input(format!(
        "{}: no automatic folding fits {} ({} logic cells, {} block RAMs): with one lane per \
         layer the estimate is {} block RAMs and {} logic cells with the memories in block RAM, \
         {} block RAMs and {} logic cells with every read-only memory in logic, and a fit needs \
         both within the device's block RAMs and {:.0}% of its logic cells (the rest is \
         nextpnr's room to place and route); pick a larger board (`xnorc boards`), a model with \
         fewer weight bits (sub-bit storage: `xnorc inspect` shows bits per weight), or try a \
         folding of your own with --folding",
        args.model.display(),
        board.name,
        board.device.luts,
        board.device.ram_blocks,
        planned.ram_blocks,
        planned.logic_cells(family),
        in_logic.ram_blocks,
        in_logic.logic_cells(family),
        fit::AUTO_LUT_FILL * 100.0
    )))
}

/// Whether a build for `board` registers the weight memories' outputs twice by default: on
/// ECP5, where a block RAM's clock-to-data time without its output register was the critical
/// path; not on iCE40, where the flip-flops cost logic cells an UP5K does not have to spare.
fn memory_output_register(board: &Board) -> bool {
    board.device.family == xnorc_boards::family::Family::Ecp5
}

/// The does-not-fit error: what is over, the largest layer, and a folding that would fit.
fn does_not_fit(
    args: &Args,
    board: &Board,
    plan: &HardwarePlan,
    what: String,
) -> Result<CliError, CliError> {
    let est = fit::plan_estimate(plan, board);
    let largest = est.largest().map_or(String::new(), |s| {
        format!(
            "; largest layer: {} ({} lanes, ≈{} LUT4, {} block RAMs)",
            s.stage, s.lanes, s.luts, s.ram_blocks
        )
    });
    let graph = xnorc_compiler::passes::load_graph(&args.model)?;
    let hint = match fit::fitting_plan(&args.model, board, memory_output_register(board))? {
        // The estimate said this very folding fits, yosys disagrees: fold further.
        Some(fit) if folding_of(&fit, &graph) == folding_of(plan, &graph) => {
            let lanes: usize = est.stages.iter().map(|s| s.lanes).sum();
            format!(
                "the estimate ({} block RAMs, ≈{} LUT4) undercounts this design; fold it \
                 further, e.g. --lut-budget {}",
                est.ram_blocks,
                est.luts,
                (lanes as f64 * estimate::luts_per_lane(board.device.family) * 0.6) as usize
            )
        }
        Some(fit) => {
            let folding = folding_of(&fit, &graph);
            let dir = out_dir(args, board);
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::Io(format!("{}: cannot create: {e}", dir.display())))?;
            let path = dir.join("suggested_folding.json");
            let text = serde_json::to_string_pretty(&folding).expect("folding json") + "\n";
            write_output(&path, text.as_bytes())?;
            let est = fit::plan_estimate(&fit, board);
            format!(
                "a folding that fits (≈{} LUT4, {} block RAMs, II {} cycles) is in {}: \
                 rebuild with --folding {}",
                est.luts,
                est.ram_blocks,
                fit.ii_cycles,
                path.display(),
                path.display()
            )
        }
        None => "no folding of this model fits this device; pick a larger board".into(),
    };
    Ok(CliError::Input(format!(
        "{}: does not fit {} ({}): {what}{largest}\n  hint: {hint}",
        args.model.display(),
        board.name,
        board.title
    )))
}

/// The folding file that reproduces `plan`'s PE/SIMD/memory choices.
fn folding_of(plan: &HardwarePlan, graph: &Graph) -> FoldingFile {
    let mut f = FoldingFile {
        tree_pipeline: Some(plan.tree_pipeline),
        memory_output_register: Some(plan.memory_output_register),
        ..FoldingFile::default()
    };
    for s in &plan.stages {
        if let plan::StageKind::Mvu(m) = &s.kind {
            // Folding files name layers as the model does; stage names are sanitized.
            f.layers.insert(
                graph.node(m.node).name.clone(),
                plan::folding::LayerFolding {
                    pe: Some(m.pe),
                    simd: Some(m.simd),
                    memory: Some(m.memory),
                    thresholds: Some(m.threshold_memory),
                    fanout: Some(m.fanout > 1),
                    compute: match (&m.codebook, m.lane) {
                        (Some(_), _) => Some(plan::folding::CodebookCompute::Decode),
                        (None, plan::Lane::Select { .. }) => {
                            Some(plan::folding::CodebookCompute::Share)
                        }
                        _ => None,
                    },
                },
            );
        }
    }
    f
}

fn out_dir(args: &Args, board: &Board) -> PathBuf {
    args.out
        .clone()
        .unwrap_or_else(|| Path::new("build").join(&board.name))
}

fn flow_error(e: FlowError) -> CliError {
    CliError::Failed(e.to_string())
}

/// One pass through synthesis and place and route at `clock_mhz` (PLL output chosen ≤ it).
struct Pass {
    pll: Pll,
    synth: SynthStats,
    pnr: PnrStats,
    params: xnorc_rtl::shell::LinkParams,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let start = Instant::now();
    let board = xnorc_boards::board::find(&args.board)?;
    let dir = out_dir(args, &board);
    const STEPS: usize = 5;
    progress(
        1,
        STEPS,
        &format!("plan for {} ({})", board.name, board.title),
    );
    let plan = plan_for_board(args, &board)?;
    let est = fit::plan_estimate(&plan, &board);
    eprintln!(
        "      II {} cycles; estimate ≈{} LUT4, {} of {} block RAMs ({} memories in logic)",
        plan.ii_cycles,
        est.luts,
        est.ram_blocks,
        board.device.ram_blocks,
        fit::logic_roms(&plan)
    );
    if est.ram_blocks as u64 > board.device.ram_blocks {
        return Err(does_not_fit(
            args,
            &board,
            &plan,
            format!(
                "its memories need ≈{} block RAMs, the device has {}",
                est.ram_blocks, board.device.ram_blocks
            ),
        )?);
    }
    // The estimate is rough: stop before synthesis only when its packed logic cells are far
    // over the device's.
    let cells = est.logic_cells(board.device.family);
    if cells as f64 > board.device.luts as f64 * 1.5 {
        return Err(does_not_fit(
            args,
            &board,
            &plan,
            format!(
                "≈{} LUT4 estimated, ≈{cells} logic cells once packed; the device has {}",
                est.luts, board.device.luts
            ),
        )?);
    }
    // The model and the folding travel with the bitstream: `verify --bitstream` and `run`
    // rebuild the same plan from them.
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::Io(format!("{}: cannot create: {e}", dir.display())))?;
    // A native model is copied as it is; an imported one travels in its native form.
    let model_bytes = if !xnorc_compiler::import::is_imported(&args.model) {
        std::fs::read(&args.model)
            .map_err(|e| CliError::Input(format!("{}: cannot read: {e}", args.model.display())))?
    } else {
        let file = xnorc_compiler::import::load_model(&args.model)?;
        xnorc_compiler::format::to_json(&file).into_bytes()
    };
    write_output(&dir.join("model.xnm"), &model_bytes)?;
    let graph = xnorc_compiler::passes::load_graph(&args.model)?;
    let folding =
        serde_json::to_string_pretty(&folding_of(&plan, &graph)).expect("folding json") + "\n";
    write_output(&dir.join("folding.json"), folding.as_bytes())?;
    let top = top_name(&plan, &board.name);
    let auto_clock = args.clock_mhz.is_none();
    let mut target = args.clock_mhz.unwrap_or_else(|| default_clock_mhz(&board));
    if !(target.is_finite() && target > 0.0) {
        return Err(CliError::Input(format!(
            "--clock-mhz {target}: not a frequency; give MHz, e.g. 48"
        )));
    }
    let mut flow = Flow::new(&dir, &board, &top);
    let mut attempt = 0;
    let pass = loop {
        attempt += 1;
        let pll = board
            .device
            .family
            .pll(board.clock.mhz, target)
            .ok_or_else(|| {
                CliError::Input(format!(
                    "--clock-mhz {target}: the {} PLL cannot make ≤{target} MHz from the board's {} MHz",
                    board.device.family, board.clock.mhz
                ))
            })?;
        let params = link_params(&plan, pll.out_mhz(), board.uart.baud);
        let board_top = BoardTop {
            name: top.clone(),
            link_module: format!("{top}_link"),
            core_module: xnorc_rtl::top_name(&plan),
            clock: clock_source(&board, &pll),
            reset_button: board.reset.as_ref().map(|r| r.active_low),
            led_active_low: board.led[0].active_low,
        };
        progress(
            2,
            STEPS,
            &format!(
                "generate core + shell (PLL {:.3} MHz, UART {} baud) in {}",
                pll.out_mhz(),
                board.uart.baud,
                dir.display()
            ),
        );
        let sources = write_board_design(&dir, &plan, board_top, &params)?;
        let pins = constraints::file_name(&board);
        write_output(&dir.join(pins), constraints::render(&board).as_bytes())?;
        progress(
            3,
            STEPS,
            &format!("yosys: synthesize for {}", board.device.family),
        );
        let synth = flow.synthesize(&sources).map_err(flow_error)?;
        check_synth_fit(args, &board, &plan, &synth)?;
        progress(
            4,
            STEPS,
            &format!(
                "nextpnr-{}: place and route at {:.3} MHz",
                board.device.family,
                pll.out_mhz()
            ),
        );
        let pnr = flow
            .place_and_route(pins, pll.out_mhz(), args.seed)
            .map_err(flow_error)?;
        let fmax = pnr.fmax_mhz.unwrap_or(0.0);
        // Placement varies between runs: up to two more tries, each a little under the Fmax
        // the last one reached.
        if auto_clock && attempt < 3 && fmax < pll.out_mhz() {
            // Aim a little under what this placement reached; the next one differs a bit.
            target = fmax * 0.95;
            eprintln!(
                "      Fmax {fmax:.2} MHz < {:.3} MHz: building again at ≤{target:.2} MHz",
                pll.out_mhz()
            );
            continue;
        }
        break Pass {
            pll,
            synth,
            pnr,
            params,
        };
    };
    progress(5, STEPS, "pack the bitstream");
    let bitstream = flow.pack().map_err(flow_error)?;
    let report = report_json(&board, &plan, &pass, &flow, &dir.join(&bitstream), start);
    let text = serde_json::to_string_pretty(&report).expect("report json") + "\n";
    write_output(&dir.join("report.json"), text.as_bytes())?;
    if args.json {
        print!("{text}");
    } else {
        print_report(&report);
    }
    if report["timing_met"] == false {
        return Err(CliError::Failed(format!(
            "timing not met: Fmax {:.2} MHz < {:.3} MHz clock; the bitstream is in {} but may \
             misbehave. Rebuild with --clock-mhz {:.0} or a more folded design (--folding)",
            pass.pnr.fmax_mhz.unwrap_or(0.0),
            pass.pll.out_mhz(),
            dir.display(),
            (pass.pnr.fmax_mhz.unwrap_or(0.0) * 0.95).floor()
        )));
    }
    Ok(())
}

/// After synthesis the counts are exact: stop before place and route if they cannot fit.
fn check_synth_fit(
    args: &Args,
    board: &Board,
    plan: &HardwarePlan,
    synth: &SynthStats,
) -> Result<(), CliError> {
    let d = &board.device;
    let over = [
        ("LUT4", synth.luts, d.luts),
        ("flip-flops", synth.ffs, d.ffs),
        ("block RAMs", synth.ram_blocks, d.ram_blocks),
    ]
    .into_iter()
    .filter(|(_, used, have)| used > have)
    .map(|(what, used, have)| format!("yosys maps it to {used} {what}, the device has {have}"))
    .collect::<Vec<_>>();
    if over.is_empty() {
        return Ok(());
    }
    Err(does_not_fit(args, board, plan, over.join("; "))?)
}

fn report_json(
    board: &Board,
    plan: &HardwarePlan,
    pass: &Pass,
    flow: &Flow<'_>,
    bitstream: &Path,
    start: Instant,
) -> serde_json::Value {
    let d = &board.device;
    let fmax = pass.pnr.fmax_mhz.unwrap_or(0.0);
    let clock = pass.pll.out_mhz();
    let bytes = std::fs::metadata(bitstream).map(|m| m.len()).unwrap_or(0);
    json!({
        "board": board.name,
        "device": {
            "family": d.family,
            "part": d.part,
            "package": d.package,
            "luts": d.luts,
            "ffs": d.ffs,
            "ram_blocks": d.ram_blocks,
            "dsps": d.dsps,
        },
        "model": plan.model,
        "luts": pass.pnr.luts(),
        "ffs": pass.pnr.ffs().unwrap_or(pass.synth.ffs),
        "ram_blocks": pass.pnr.ram_blocks(),
        "dsps": pass.pnr.dsps(),
        "fmax_mhz": fmax,
        "clock_mhz": clock,
        "timing_met": fmax >= clock,
        "frames_per_second": fmax * 1e6 / plan.ii_cycles as f64,
        "frames_per_second_at_clock": clock * 1e6 / plan.ii_cycles as f64,
        "latency_cycles": plan.latency_cycles,
        "ii_cycles": plan.ii_cycles,
        "latency_us": plan.latency_cycles as f64 / clock,
        "bitstream": bitstream.display().to_string(),
        "bitstream_bytes": bytes,
        "pll": pass.pll,
        "uart": {
            "baud": board.uart.baud,
            "clocks_per_bit": pass.params.clocks_per_bit,
            "request_bytes": pass.params.request_bytes,
            "response_bytes": pass.params.response_bytes,
            "via": board.uart.via,
        },
        "synth_cells": pass.synth.cells,
        "pnr_utilization": pass.pnr.utilization,
        "pnr_seed": pass.pnr.seed,
        "pnr_stalled_seeds": pass.pnr.stalled_seeds,
        "steps": flow.steps,
        "total_seconds": start.elapsed().as_secs_f64(),
    })
}

fn print_report(r: &serde_json::Value) {
    let d = &r["device"];
    let pct = |u: &serde_json::Value, a: &serde_json::Value| {
        let (u, a) = (u.as_f64().unwrap_or(0.0), a.as_f64().unwrap_or(1.0));
        format!("{:>7} / {:<7} {:>5.1}%", u, a, 100.0 * u / a.max(1.0))
    };
    println!(
        "board {} ({} {} {})",
        r["board"].as_str().unwrap_or(""),
        d["family"].as_str().unwrap_or(""),
        d["part"].as_str().unwrap_or(""),
        d["package"].as_str().unwrap_or("")
    );
    println!("  LUT4        {}", pct(&r["luts"], &d["luts"]));
    println!("  FF          {}", pct(&r["ffs"], &d["ffs"]));
    println!("  block RAM   {}", pct(&r["ram_blocks"], &d["ram_blocks"]));
    println!("  DSP         {}", pct(&r["dsps"], &d["dsps"]));
    let met = if r["timing_met"] == true {
        "met"
    } else {
        "NOT MET"
    };
    println!(
        "  Fmax        {:.2} MHz (clock {:.3} MHz: timing {met})",
        r["fmax_mhz"].as_f64().unwrap_or(0.0),
        r["clock_mhz"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  throughput  {:.0} frames/s at Fmax ({:.0} at the clock); II {} cycles",
        r["frames_per_second"].as_f64().unwrap_or(0.0),
        r["frames_per_second_at_clock"].as_f64().unwrap_or(0.0),
        r["ii_cycles"]
    );
    println!(
        "  latency     {} cycles ({:.2} µs)",
        r["latency_cycles"],
        r["latency_us"].as_f64().unwrap_or(0.0)
    );
    println!(
        "  bitstream   {} ({} bytes)",
        r["bitstream"].as_str().unwrap_or(""),
        r["bitstream_bytes"]
    );
    if let Some(steps) = r["steps"].as_array() {
        let times: Vec<String> = steps
            .iter()
            .map(|s| {
                format!(
                    "{} {:.1} s",
                    s["step"].as_str().unwrap_or(""),
                    s["seconds"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "  tools       {}; total {:.1} s",
            times.join(", "),
            r["total_seconds"].as_f64().unwrap_or(0.0)
        );
    }
}
