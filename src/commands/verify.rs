//! `xnorc verify`: the generated core under Verilator against the reference simulator
//! (`xnorc_verify::cosim`), or with `--bitstream` the built bitstream (`xnorc_verify::bitcheck`).

use crate::errors::CliError;
use crate::progress::{spin, Terminal};
use std::path::{Path, PathBuf};
use xnorc_plan::build_plan;
use xnorc_plan::folding::RegisterDefaults;
use xnorc_sim::input::{random_frames, read_input};
use xnorc_sim::Simulator;
use xnorc_verify::bitcheck::{self, BitstreamReport, BuildFacts};
use xnorc_verify::cosim::{self, Options};
use xnorc_verify::VerifyError;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm or .onnx); with --bitstream, the build's copy by default.
    #[arg(required_unless_present = "bitstream")]
    model: Option<PathBuf>,
    /// Check the bitstream in this `xnorc build` directory instead of the generated Verilog:
    /// on iCE40 the unpacked bitstream's netlist runs against the reference simulator; on ECP5
    /// the bitstream is round-tripped (no netlist-level check exists).
    #[arg(long, value_name = "DIR")]
    bitstream: Option<PathBuf>,
    /// Random input frames to check (ignored with --input).
    /// (default 64; 4 with --bitstream, whose netlist simulates at the UART's real bit time).
    #[arg(long, value_parser = super::at_least_one())]
    vectors: Option<usize>,
    /// Input frames (.npy, as for `simulate`) instead of random ones.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Folding file.
    #[arg(long)]
    folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding (as for `compile`).
    #[arg(long, value_parser = super::at_least_one())]
    lut_budget: Option<usize>,
    /// Seed for random inputs and stall patterns.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Per mille of cycles with input stalls / output backpressure in the stall run.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..1000))]
    stall_per_mille: u32,
    /// Write a VCD of the stall run.
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Verify the design already in DIR (from `xnorc compile` with the same model and folding)
    /// instead of generating one: checks what is on disk, memory files included.
    #[arg(long, value_name = "DIR")]
    design: Option<PathBuf>,
    /// Directory for generated designs and cached Verilator builds.
    #[arg(long, default_value = "build")]
    build_dir: PathBuf,
    /// Print a JSON report.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    if let Some(vcd) = &args.vcd {
        crate::errors::check_output(vcd)?;
    }
    if let Some(dir) = &args.bitstream {
        return run_bitstream(args, dir);
    }
    let model = args
        .model
        .as_deref()
        .expect("clap requires a model without --bitstream");
    let (graph, plan) = spin("plan: fold, size buffers, time", || {
        build_plan(
            model,
            args.folding.as_deref(),
            args.lut_budget,
            RegisterDefaults::default(),
        )
    })?;
    let input = match &args.input {
        Some(p) => read_input(p, &graph)?.1,
        None => random_frames(&graph, args.vectors.unwrap_or(64), args.seed)?,
    };
    let opts = Options {
        design: args.design.as_deref(),
        build_dir: &args.build_dir,
        seed: args.seed,
        stall_per_mille: args.stall_per_mille,
        vcd: args.vcd.as_deref(),
        progress: &Terminal::new(),
    };
    let report = cosim::check(&graph, &plan, &input, &opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!(
            "verified {} frames of {}: {}",
            report.frames,
            report.model,
            if report.matches {
                "bit-exact in both runs"
            } else {
                "MISMATCH"
            }
        );
        println!(
            "latency {} cycles (predicted {}), II {} cycles/frame (predicted {}), \
             {:.0} simulated cycles/s",
            report.latency_cycles,
            report.predicted_latency_cycles,
            report.ii_cycles,
            report.predicted_ii_cycles,
            report.cycles_per_second
        );
    }
    if report.matches {
        Ok(())
    } else {
        Err(VerifyError::Mismatch(report.failures.join("\n")).into())
    }
}

/// `--bitstream DIR`: the build's model and folding, frames, and the bitstream check.
fn run_bitstream(args: &Args, dir: &Path) -> Result<(), CliError> {
    let report = xnorc_bitstream::report::read_report(dir)?;
    let board = xnorc_boards::board::find(report["board"].as_str().unwrap_or_default())?;
    let model = args.model.clone().unwrap_or_else(|| dir.join("model.xnm"));
    let folding = args
        .folding
        .clone()
        .or_else(|| Some(dir.join("folding.json")).filter(|f| f.is_file()));
    let (graph, plan) = spin("plan: fold, size buffers, time", || {
        build_plan(
            &model,
            folding.as_deref(),
            args.lut_budget,
            RegisterDefaults::default(),
        )
    })?;
    let input = match &args.input {
        Some(p) => read_input(p, &graph)?.1,
        None => random_frames(&graph, args.vectors.unwrap_or(4), args.seed)?,
    };
    let frames = input.frames().len() / graph.input_node().shape.numel();
    let reference = Simulator::new(graph.clone()).and_then(|s| s.run(input.frames()))?;
    let facts = BuildFacts {
        bitstream: report["bitstream"].as_str().map(str::to_string),
        clocks_per_bit: report["uart"]["clocks_per_bit"].as_u64(),
    };
    let check = bitcheck::Check {
        dir,
        report: &facts,
        board: &board,
        graph: &graph,
        plan: &plan,
        input: &input,
        frames,
        reference: &reference,
        cache: &args.build_dir.join("verilator"),
        progress: &Terminal::new(),
    };
    let json = args.json;
    let result = bitcheck::check(&check, &mut |row| {
        if !json {
            super::run::print_frame(row);
        }
    })?;
    match &result {
        BitstreamReport::Netlist { run, seconds } => {
            super::run::print_summary(run, json);
            if let Some(e) = result.failure() {
                return Err(e.into());
            }
            if !json {
                println!(
                    "bitstream check: {} frames through the unpacked bitstream (PLL, UART link, core) equal to the reference simulator; {seconds:.1} s",
                    frames
                );
            }
        }
        BitstreamReport::RoundTrip(r) => {
            if json {
                println!("{}", serde_json::to_string(r).expect("json"));
            } else {
                println!("{}", r.note);
            }
        }
    }
    Ok(())
}
