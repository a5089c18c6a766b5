//! `xnorc run`: sends input frames to a board over its UART and prints the class and scores it
//! answers, checked against the reference simulator. `--sim` runs the same host code against
//! the simulated board (`xnorc_verify::board`).

use crate::errors::CliError;
use crate::progress::{spin, Terminal};
use std::path::PathBuf;
use std::time::Duration;
use xnorc_plan::build_plan;
use xnorc_sim::input::{read_input, read_labels};
use xnorc_sim::Simulator;
use xnorc_verify::board::{start_sim_board, talk, FrameResult, RunReport, Session};
use xnorc_verify::VerifyError;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm or .onnx) the board was built from.
    pub model: PathBuf,
    /// Input frames (.npy, as for `simulate`).
    #[arg(long)]
    pub input: PathBuf,
    /// Serial port of the board (e.g. /dev/ttyUSB1).
    #[arg(long, required_unless_present = "sim", conflicts_with = "sim")]
    pub port: Option<String>,
    /// Baud rate (the board file's, usually 115200).
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
    /// Run against the simulated board instead of a port.
    #[arg(long)]
    pub sim: bool,
    /// Folding file (the simulated board's core; the wire format does not depend on it).
    #[arg(long)]
    pub folding: Option<PathBuf>,
    /// Response timeout per frame, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub timeout_ms: u64,
    /// Labels (.npy) to report accuracy.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Send only the first N frames of --input (and --labels).
    #[arg(long, value_name = "N", value_parser = super::at_least_one())]
    pub frames: Option<usize>,
    /// Directory for the simulated board's design and Verilator build.
    #[arg(long, default_value = "build")]
    pub build_dir: PathBuf,
    /// Corrupt one payload bit of every Nth request after its CRC is computed (tests that the
    /// board detects it: those frames must come back flagged).
    #[arg(long, hide = true, value_parser = super::at_least_one())]
    pub corrupt_every: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// One answer as a line.
pub fn print_frame(row: &FrameResult) {
    let note = if row.status != 0 {
        format!("  [status: {}]", xnorc_host::describe_status(row.status))
    } else if !row.matches_reference {
        format!("  MISMATCH: reference {:?}", row.reference)
    } else {
        String::new()
    };
    println!(
        "frame {}: class {} scores {:?}{note}",
        row.frame, row.class, row.scores
    );
}

/// The conversation's summary: JSON (with every frame) or a line.
pub fn print_summary(r: &RunReport, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(r).expect("json"));
    } else {
        println!(
            "{} frames in {:.2} s over {}: {} equal to the reference, {} flagged by the board, {} mismatches{}",
            r.frames,
            r.seconds,
            r.port,
            r.frames - r.flagged - r.mismatches,
            r.flagged,
            r.mismatches,
            r.accuracy
                .map_or(String::new(), |a| format!("; accuracy {:.2}%", 100.0 * a))
        );
    }
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let (graph, plan) = spin("plan: fold, size buffers, time", || {
        build_plan(&args.model, args.folding.as_deref(), None, false)
    })?;
    let (all_frames, mut input) = read_input(&args.input, &graph)?;
    let frames = args.frames.map_or(all_frames, |n| n.min(all_frames));
    input.truncate(frames * graph.input_node().shape.numel());
    let reference = Simulator::new(graph.clone()).and_then(|s| s.run(input.frames()))?;
    let labels = match &args.labels {
        Some(p) => {
            let mut l = read_labels(p, all_frames, graph.classes())?;
            l.truncate(frames);
            Some(l)
        }
        None => None,
    };
    let (_board, port_name) = if args.sim {
        let (b, pty) = start_sim_board(&plan, &args.build_dir, &Terminal::new())?;
        (Some(b), pty)
    } else {
        (
            None,
            args.port
                .clone()
                .expect("clap requires --port without --sim"),
        )
    };
    let session = Session {
        plan: &plan,
        graph: &graph,
        input: &input,
        frames,
        reference: &reference,
        labels: labels.as_deref(),
        corrupt_every: args.corrupt_every,
        timeout: Duration::from_millis(args.timeout_ms),
    };
    let shown = if args.sim {
        "the simulated board".to_string()
    } else {
        port_name.clone()
    };
    let json = args.json;
    let summary = talk(&session, &port_name, args.baud, &shown, &mut |row| {
        if !json {
            print_frame(row);
        }
    })?;
    print_summary(&summary, json);
    if summary.mismatches > 0 {
        return Err(VerifyError::Mismatch(format!(
            "{} frames differ from the reference simulator",
            summary.mismatches
        ))
        .into());
    }
    Ok(())
}
