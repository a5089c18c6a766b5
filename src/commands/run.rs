//! `xnorc run`: sends input frames to a board over its UART and prints the class and scores it
//! answers, checked against the reference simulator. `--sim` runs the same host code against
//! the simulated board (the board top under Verilator, its UART bridged to a pseudo-terminal).

use super::build::{link_params_for, top_name, write_board_design};
use super::compile::build_plan;
use super::simulate::{read_input, InputData};
use crate::errors::CliError;
use crate::link::{self, serial::Port, Wire};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use xnorc_compiler::ir::Graph;
use xnorc_compiler::plan::HardwarePlan;
use xnorc_rtl::board::{BoardTop, ClockSource};
use xnorc_sim::{Frames, Results, Simulator};

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
    #[arg(long, value_name = "N")]
    pub frames: Option<usize>,
    /// Directory for the simulated board's design and Verilator build.
    #[arg(long, default_value = "build")]
    pub build_dir: PathBuf,
    /// Corrupt one payload bit of every Nth request after its CRC is computed (tests that the
    /// board detects it: those frames must come back flagged).
    #[arg(long, hide = true)]
    pub corrupt_every: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The simulated board: UART clock cycles per bit (fast; the pty ignores baud rates).
const SIM_CLOCKS_PER_BIT: u32 = 16;

/// Kills the simulated board when dropped.
pub struct SimBoard(Child);

impl Drop for SimBoard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sim_board(
    args: &Args,
    plan: &xnorc_compiler::plan::HardwarePlan,
) -> Result<(SimBoard, String), CliError> {
    let top = top_name(plan, "simboard");
    let dir =
        args.build_dir
            .join("simboard")
            .join(format!("{}-{}", plan.model, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let params = link_params_for(plan, SIM_CLOCKS_PER_BIT, 1000);
    let board_top = BoardTop {
        name: top.clone(),
        link_module: format!("{top}_link"),
        core_module: xnorc_rtl::top_name(plan),
        clock: ClockSource::Direct,
        reset_button: Some(false),
        led_active_low: false,
    };
    write_board_design(&dir, plan, board_top, &params)?;
    eprintln!("run: building the simulated board with Verilator");
    let exe =
        xnorc_sim::verilator::build_board(&dir, &top, &args.build_dir.join("verilator"), true)
            .map_err(|e| CliError::Failed(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&dir);
    spawn_board(&exe, SIM_CLOCKS_PER_BIT, "high")
}

/// Starts a board simulation (`board_tb`) and returns it with its pseudo-terminal's path.
/// `reset` is how its `rst_btn` is pressed: `high`, `low`, or `none` (no button).
pub fn spawn_board(
    exe: &std::path::Path,
    clocks_per_bit: u32,
    reset: &str,
) -> Result<(SimBoard, String), CliError> {
    // Memory files are found relative to the working directory: the Verilator build's.
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .ok_or_else(|| CliError::Failed(format!("{}: no build directory", exe.display())))?;
    let mut child = Command::new(exe)
        .args([clocks_per_bit.to_string(), "600".into(), reset.into()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::Failed(format!("cannot start {}: {e}", exe.display())))?;
    let stdout = child.stdout.take().expect("piped");
    let board = SimBoard(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| CliError::Failed(format!("simulated board: {e}")))?;
    let pty = line
        .strip_prefix("pty ")
        .map(|p| p.trim().to_string())
        .ok_or_else(|| CliError::Failed(format!("simulated board said {line:?}, not its pty")))?;
    // Keep draining what the simulation prints (Verilator warnings go to stdout): a closed
    // pipe would kill it.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            eprint!("board: {sink}");
            sink.clear();
        }
    });
    Ok((board, pty))
}

fn frame_slice(input: &InputData, at: usize, len: usize) -> Frames<'_> {
    match input {
        InputData::U8(v) => Frames::U8(&v[at..at + len]),
        InputData::I8(v) => Frames::I8(&v[at..at + len]),
    }
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let (graph, plan) = build_plan(&args.model, args.folding.as_deref(), None, false)?;
    let (all_frames, mut input) = read_input(&args.input, &graph)?;
    let frames = args.frames.map_or(all_frames, |n| n.min(all_frames));
    let per = graph.input_node().shape.numel();
    match &mut input {
        InputData::U8(v) => v.truncate(frames * per),
        InputData::I8(v) => v.truncate(frames * per),
    }
    let reference = Simulator::new(graph.clone())
        .and_then(|s| s.run(input.frames()))
        .map_err(|e| CliError::Input(e.to_string()))?;
    let labels = match &args.labels {
        Some(p) => {
            let mut l = super::simulate::read_labels(p, all_frames)?;
            l.truncate(frames);
            Some(l)
        }
        None => None,
    };
    let (_board, port_name) = if args.sim {
        let (b, pty) = start_sim_board(args, &plan)?;
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
        json: args.json,
    };
    let shown = if args.sim {
        "the simulated board".to_string()
    } else {
        port_name.clone()
    };
    let summary = talk(&session, &port_name, args.baud, &shown)?;
    let mismatches = summary["mismatches"].as_u64().unwrap_or(0);
    if mismatches > 0 {
        return Err(CliError::Failed(format!(
            "{mismatches} frames differ from the reference simulator"
        )));
    }
    Ok(())
}

/// What a conversation with a board needs.
pub struct Session<'a> {
    /// The core's plan (wire format, scores layout).
    pub plan: &'a HardwarePlan,
    /// The model.
    pub graph: &'a Graph,
    /// Input frames.
    pub input: &'a InputData,
    /// How many.
    pub frames: usize,
    /// The reference simulator's results for them.
    pub reference: &'a Results,
    /// Labels, for accuracy.
    pub labels: Option<&'a [i64]>,
    /// Corrupt every Nth request (it must come back flagged).
    pub corrupt_every: Option<usize>,
    /// Per-frame response timeout.
    pub timeout: Duration,
    /// Print JSON instead of lines.
    pub json: bool,
}

/// Sends every frame over `port_name`, compares each answer with the reference and prints
/// them; returns the summary (`mismatches` counts unflagged frames that differ).
pub fn talk(
    s: &Session<'_>,
    port_name: &str,
    baud: u32,
    shown: &str,
) -> Result<serde_json::Value, CliError> {
    let (plan, reference) = (s.plan, s.reference);
    let mut port = Port::open(port_name, baud).map_err(|e| CliError::Failed(e.to_string()))?;
    let wire = Wire::of(plan);
    let per = s.graph.input_node().shape.numel();
    let classes = reference.classes;
    let start = Instant::now();
    let (mut mismatches, mut flagged, mut correct) = (0usize, 0usize, 0usize);
    let mut rows = Vec::new();
    for f in 0..s.frames {
        let mut request = wire.request(plan, frame_slice(s.input, f * per, per));
        let corrupted = s.corrupt_every.is_some_and(|n| n > 0 && f % n == n - 1);
        if corrupted {
            request[1] ^= 1;
        }
        let answer = link::exchange(&mut port, &wire, plan, &request, s.timeout)
            .map_err(|e| CliError::Failed(format!("frame {f}: {e}")))?;
        let want = &reference.scores[f * classes..(f + 1) * classes];
        let status_ok = answer.status == 0;
        let matches = answer.scores == want && answer.class == reference.argmax[f];
        flagged += usize::from(!status_ok);
        mismatches += usize::from(status_ok && !matches);
        if corrupted && answer.status & link::status::CRC_MISMATCH == 0 {
            return Err(CliError::Failed(format!(
                "frame {f}: a corrupted request was not flagged (status {:#04x})",
                answer.status
            )));
        }
        if let Some(l) = s.labels {
            correct += usize::from(l[f] == answer.class as i64);
        }
        if !s.json {
            let note = if !status_ok {
                format!("  [status: {}]", link::describe_status(answer.status))
            } else if !matches {
                format!("  MISMATCH: reference {want:?}")
            } else {
                String::new()
            };
            println!(
                "frame {f}: class {} scores {:?}{note}",
                answer.class, answer.scores
            );
        }
        rows.push(serde_json::json!({
            "frame": f, "class": answer.class, "scores": answer.scores,
            "status": answer.status, "matches_reference": matches,
        }));
    }
    let seconds = start.elapsed().as_secs_f64();
    let accuracy = s.labels.map(|_| correct as f64 / s.frames.max(1) as f64);
    let summary = serde_json::json!({
        "port": shown,
        "frames": s.frames,
        "flagged": flagged,
        "mismatches": mismatches,
        "accuracy": accuracy,
        "seconds": seconds,
        "results": rows,
    });
    if s.json {
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
    } else {
        println!(
            "{} frames in {seconds:.2} s over {shown}: {} equal to the reference, {flagged} flagged by the board, {mismatches} mismatches{}",
            s.frames,
            s.frames - flagged - mismatches,
            accuracy.map_or(String::new(), |a| format!("; accuracy {:.2}%", 100.0 * a))
        );
    }
    Ok(summary)
}
