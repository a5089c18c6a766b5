//! `xnorc run`: sends input frames to a board over its UART and prints the class and scores it
//! answers, checked against the reference simulator. `--sim` runs the same host code against
//! the simulated board (`xnorc_verify::board`).

use crate::errors::CliError;
use crate::progress::{spin, Terminal};
use std::path::PathBuf;
use std::time::Duration;
use xnorc_plan::build_plan;
use xnorc_plan::folding::RegisterDefaults;
use xnorc_sim::input::{read_input, read_labels};
use xnorc_sim::Simulator;
use xnorc_verify::board::{
    start_sim_board, talk, FrameResult, RunReport, Session, SIM_CLOCKS_PER_BIT,
};
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
    /// Baud rate of --port: the build's (report.json → uart.baud; `xnorc build` prints it).
    #[arg(long, required_unless_present_any = ["sim", "build"], conflicts_with_all = ["sim", "build"])]
    pub baud: Option<u32>,
    /// The `xnorc build` directory of the board: --port runs at its baud rate, --sim
    /// simulates its link at its clock (report.json → clock_mhz, uart.clocks_per_bit).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["board", "clock_mhz"])]
    pub build: Option<PathBuf>,
    /// Run against the simulated board instead of a port.
    #[arg(long)]
    pub sim: bool,
    /// With --sim: give the simulated board this board's link: its UART at the rate a build
    /// for it picks at --clock-mhz, so the run reports the end-to-end frames/s the board's
    /// link allows (in simulated time).
    #[arg(long, requires = "sim")]
    pub board: Option<String>,
    /// With --board: the core clock (MHz) the link is timed from; default the build's.
    #[arg(long, requires = "board")]
    pub clock_mhz: Option<f64>,
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
        if let Some(l) = &r.line {
            let rate = match (l.frames_per_second, l.bound_frames_per_second, l.baud) {
                (Some(f), Some(b), Some(baud)) => format!(
                    ": {f:.0} frames/s of {b:.0} at {:.3} MHz, {baud} baud",
                    l.clock_mhz.unwrap_or(0.0)
                ),
                _ => String::new(),
            };
            println!(
                "simulated line time: {:.0} cycles a frame, bound {:.0} ({:.1}% of it){rate}",
                l.cycles_per_frame,
                l.bound_cycles_per_frame,
                100.0 * l.of_bound
            );
        }
    }
}

/// A board's link as a build would make it: the core clock and the UART's rate.
#[derive(Clone, Copy)]
struct BoardLine {
    clock_mhz: f64,
    baud: u32,
    clocks_per_bit: u32,
}

/// The link of board `name` (a bundled name or a board file) at `clock_mhz` (default: the
/// build's): the PLL's actual output and the line rate for it.
fn board_line(name: &str, clock_mhz: Option<f64>) -> Result<BoardLine, CliError> {
    let board = xnorc_boards::board::find(name)?;
    let target = clock_mhz.unwrap_or_else(|| xnorc_bitstream::default_clock_mhz(&board));
    let (pll, rate) = xnorc_bitstream::clock_and_line(&board, target)?;
    Ok(BoardLine {
        clock_mhz: pll.out_mhz(),
        baud: rate.baud,
        clocks_per_bit: rate.clocks_per_bit,
    })
}

/// The link of the build in `dir`, from its report.json.
fn build_line(dir: &std::path::Path) -> Result<BoardLine, CliError> {
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Input(format!(
            "{}: cannot read ({e}); --build takes the directory `xnorc build` wrote",
            path.display()
        ))
    })?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("{}: not JSON: {e}", path.display())))?;
    // Errors name the file and the field (`uart.baud` for the pointer `/uart/baud`).
    let bad = |pointer: &str, why: String| {
        let field = pointer.trim_start_matches('/').replace('/', ".");
        CliError::Input(format!("{}: {field} {why}", path.display()))
    };
    let number = |pointer: &str| -> Result<f64, CliError> {
        let v = report.pointer(pointer).ok_or_else(|| {
            bad(
                pointer,
                "is missing (a report.json from before xnorc picked the line rate?)".into(),
            )
        })?;
        v.as_f64()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| bad(pointer, format!("is {v}, not a positive number")))
    };
    let whole = |pointer: &str| -> Result<u32, CliError> {
        let x = number(pointer)?;
        if x.fract() == 0.0 && x <= f64::from(u32::MAX) {
            Ok(x as u32)
        } else {
            Err(bad(pointer, format!("is {x}, not a whole number")))
        }
    };
    Ok(BoardLine {
        clock_mhz: number("/clock_mhz")?,
        baud: whole("/uart/baud")?,
        clocks_per_bit: whole("/uart/clocks_per_bit")?,
    })
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let (graph, plan) = spin("plan: fold, size buffers, time", || {
        build_plan(
            &args.model,
            args.folding.as_deref(),
            None,
            RegisterDefaults::default(),
        )
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
    let line = match (&args.board, &args.build) {
        (Some(name), _) => Some(board_line(name, args.clock_mhz)?),
        (None, Some(dir)) => Some(build_line(dir)?),
        (None, None) => None,
    };
    let (sim_board, port_name) = if args.sim {
        let cpb = line.map_or(SIM_CLOCKS_PER_BIT, |l| l.clocks_per_bit);
        let (b, pty) = start_sim_board(&plan, &args.build_dir, cpb, &Terminal::new())?;
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
    if !args.sim {
        use xnorc_host::latency::{lower_latency_timer, LatencyTimer, USB_SERIAL_SYSFS};
        match lower_latency_timer(&port_name, std::path::Path::new(USB_SERIAL_SYSFS)) {
            LatencyTimer::Lowered { from } => eprintln!(
                "note: lowered the USB-UART's latency timer from {from} ms to 1 ms (until it is \
                 unplugged), so responses are not held back"
            ),
            timer => {
                if let Some(w) = timer.warning() {
                    eprintln!("warning: {w}");
                }
            }
        }
    }
    let baud = args.baud.or(line.map(|l| l.baud)).unwrap_or(115_200);
    let mut summary = talk(&session, &port_name, baud, &shown, &mut |row| {
        if !json {
            print_frame(row);
        }
    })?;
    if let Some(board) = &sim_board {
        let clock = line.map(|l| (l.clock_mhz, l.baud));
        let timing = board.line_timing(frames, plan.ii_cycles, clock, Duration::from_secs(10));
        summary.line = Some(timing.ok_or_else(|| {
            VerifyError::Tool("the simulated board did not report its line time".into())
        })?);
    }
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
