//! `xnorc`: compile trained binary neural networks into verified accelerators for open FPGAs.
//!
//! This binary only parses arguments, calls the crates (`xnorc-compiler`, `xnorc-sim`,
//! `xnorc-plan`, `xnorc-rtl`, `xnorc-verify`, `xnorc-bitstream`, `xnorc-boards`, `xnorc-host`)
//! and prints their reports as tables or JSON; every model/data problem becomes a message naming
//! the file, node and field, and exit code 2 (docs/architecture.md).

mod commands;
mod diagnostics;
mod errors;
mod progress;

use clap::{Parser, Subcommand};
use errors::CliError;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "xnorc",
    version,
    about = "Compile trained binary neural networks into verified accelerators for open FPGAs",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a model from another tool (QONNX/ONNX from Brevitas or FINN) to a .xnm model.
    Import(commands::import::Args),
    /// Validate a model and print its nodes: shapes, weight bits, MACs, accumulator widths.
    Inspect {
        /// Model file (.xnm, or .onnx imported on the way).
        model: PathBuf,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run the bit-exact reference simulator on a batch of inputs.
    Simulate(commands::simulate::Args),
    /// Train a binary network with a research method and write it as a .xnm model.
    Train(commands::train::Args),
    /// Write a random but valid model of a preset architecture.
    RandomModel {
        /// Architecture preset.
        #[arg(long, value_parser = commands::random::preset_parser())]
        arch: String,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Codebook index width τ of the codebook presets (a codebook of 2^τ kernels).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=8))]
        tau: Option<u32>,
        /// Tile repeats p of the tiled presets (every layer's weight count divides by 16).
        #[arg(long, value_parser = ["1", "2", "4", "8", "16"])]
        repeats: Option<String>,
        /// Output model file.
        #[arg(short, long)]
        output: PathBuf,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write random input frames for a model as .npy (uniform over the input's range).
    RandomInput {
        /// Model file.
        model: PathBuf,
        /// Number of frames.
        #[arg(short = 'n', long, default_value_t = 1000, value_parser = commands::at_least_one())]
        frames: usize,
        /// Random seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output .npy file.
        #[arg(short, long)]
        output: PathBuf,
        /// Print what was written as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Generate the streaming dataflow accelerator: Verilog, memory files and plan.json.
    Compile(commands::compile::Args),
    /// Prove under Verilator that the generated core computes what the reference simulator
    /// computes, with the cycle counts the plan predicts.
    Verify(commands::verify::Args),
    /// Measure the reference simulator's throughput against the machine's popcount bound.
    Bench(commands::bench::Args),
    /// Build a bitstream for a board: compile, shell, yosys, nextpnr, pack, report.
    Build(commands::build::Args),
    /// Write the HTML report of a build (or compile) directory: graph, per-layer table, charts,
    /// and accuracy with a confusion matrix when inputs and labels are given.
    Report(commands::report::Args),
    /// Program a built bitstream onto the board with openFPGALoader.
    Flash(commands::flash::Args),
    /// Send input frames to a board over its UART (or to the simulated board) and print the
    /// class and scores, checked against the reference simulator.
    Run(commands::run::Args),
    /// List the bundled boards with their devices and resources.
    Boards {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check the FPGA tools: where each was found, its version, how to install what is missing.
    Doctor {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Import(args) => commands::import::run(&args),
        Command::Inspect { model, json } => commands::inspect::run(&model, json),
        Command::Simulate(args) => commands::simulate::run(&args),
        Command::Train(args) => commands::train::run(&args),
        Command::RandomModel {
            arch,
            seed,
            tau,
            repeats,
            output,
            json,
        } => {
            let repeats = repeats.map(|r| r.parse().expect("clap checked the value"));
            commands::random::model(&arch, seed, tau, repeats, &output, json)
        }
        Command::RandomInput {
            model,
            frames,
            seed,
            output,
            json,
        } => commands::random::input(&model, frames, seed, &output, json),
        Command::Bench(args) => commands::bench::run(&args),
        Command::Compile(args) => commands::compile::run(&args),
        Command::Verify(args) => commands::verify::run(&args),
        Command::Build(args) => commands::build::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Flash(args) => commands::flash::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::Boards { json } => commands::boards::list(json),
        Command::Doctor { json } => commands::boards::doctor(json),
    }
}

/// Lets a closed stdout (`xnorc inspect M | head -2`) end the process quietly, as it ends `ls`
/// or `grep`: Rust ignores SIGPIPE, so every later `println!` would panic on the broken pipe.
/// Files are written atomically (a temporary then a rename), so no output is left half-written.
fn quiet_on_closed_stdout() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprint!("{}", diagnostics::render(&e));
            ExitCode::from(e.exit_code())
        }
    }
}
