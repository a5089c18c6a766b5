//! The simulated board (the board top under Verilator, its UART bridged to a pseudo-terminal)
//! and the conversation with any board over its link: every frame sent, every answer compared
//! with the reference simulator. A real board's port and the simulated board's pty go through
//! the same code.

use crate::VerifyError;
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_host::{self as link, serial::Port, Wire};
use xnorc_plan::HardwarePlan;
use xnorc_rtl::board::{BoardTop, ClockSource};
use xnorc_rtl::write::{link_params_for, top_name, write_board_design};
use xnorc_sim::input::InputData;
use xnorc_sim::Results;

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

/// Generates the board design of `plan` with a direct clock, builds it with Verilator (cached
/// under `build_dir`) and starts it; returns it with its pseudo-terminal's path.
pub fn start_sim_board(
    plan: &HardwarePlan,
    build_dir: &Path,
    progress: &dyn Progress,
) -> Result<(SimBoard, String), VerifyError> {
    let top = top_name(plan, "simboard");
    let dir = build_dir
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
    write_board_design(&dir, plan, None, board_top, &params)?;
    progress.step("run: building the simulated board with Verilator", None);
    let exe = crate::verilator::build_board(&dir, &top, &build_dir.join("verilator"), true);
    progress.done();
    let exe = exe?;
    let _ = std::fs::remove_dir_all(&dir);
    spawn_board(&exe, SIM_CLOCKS_PER_BIT, "high")
}

/// Starts a board simulation (`board_tb`) and returns it with its pseudo-terminal's path.
/// `reset` is how its `rst_btn` is pressed: `high`, `low`, or `none` (no button).
pub fn spawn_board(
    exe: &Path,
    clocks_per_bit: u32,
    reset: &str,
) -> Result<(SimBoard, String), VerifyError> {
    // Memory files are found relative to the working directory: the Verilator build's.
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| VerifyError::Tool(format!("{}: no build directory", exe.display())))?;
    let mut child = Command::new(exe)
        .args([clocks_per_bit.to_string(), "600".into(), reset.into()])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| VerifyError::Tool(format!("cannot start {}: {e}", exe.display())))?;
    let stdout = child.stdout.take().expect("piped");
    let board = SimBoard(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| VerifyError::Tool(format!("simulated board: {e}")))?;
    let pty = line
        .strip_prefix("pty ")
        .map(|p| p.trim().to_string())
        .ok_or_else(|| VerifyError::Tool(format!("simulated board said {line:?}, not its pty")))?;
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
}

/// One frame's answer (`results` of the run's JSON; field order is key order).
#[derive(Debug, Clone, Serialize)]
pub struct FrameResult {
    /// Frame index.
    pub frame: usize,
    /// The board's argmax.
    pub class: usize,
    /// The board's scores.
    pub scores: Vec<i64>,
    /// Status byte (0: good).
    pub status: u8,
    /// Scores and class equal the reference's.
    pub matches_reference: bool,
    /// The reference's scores.
    #[serde(skip)]
    pub reference: Vec<i64>,
}

/// A whole conversation (`xnorc run --json`; field order is key order).
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The port as shown to the user.
    pub port: String,
    /// Frames sent.
    pub frames: usize,
    /// Frames the board flagged (status ≠ 0).
    pub flagged: usize,
    /// Unflagged frames whose answer differs from the reference.
    pub mismatches: usize,
    /// Accuracy against the labels, if given.
    pub accuracy: Option<f64>,
    /// Wall time.
    pub seconds: f64,
    /// Every frame.
    pub results: Vec<FrameResult>,
}

/// Sends every frame over `port_name`, compares each answer with the reference and hands it to
/// `on_frame` as it arrives; returns the summary (`mismatches` counts unflagged frames that
/// differ).
pub fn talk(
    s: &Session<'_>,
    port_name: &str,
    baud: u32,
    shown: &str,
    on_frame: &mut dyn FnMut(&FrameResult),
) -> Result<RunReport, VerifyError> {
    let (plan, reference) = (s.plan, s.reference);
    let mut port = Port::open(port_name, baud).map_err(|e| VerifyError::Link(e.to_string()))?;
    let wire = Wire::of(plan);
    let per = s.graph.input_node().shape.numel();
    let classes = reference.classes;
    let start = Instant::now();
    let (mut mismatches, mut flagged, mut correct) = (0usize, 0usize, 0usize);
    let mut rows = Vec::new();
    for f in 0..s.frames {
        let mut request = wire.request(plan, s.input.slice(f * per, per));
        let corrupted = s.corrupt_every.is_some_and(|n| n > 0 && f % n == n - 1);
        if corrupted {
            request[1] ^= 1;
        }
        let answer = link::exchange(&mut port, &wire, plan, &request, s.timeout)
            .map_err(|e| VerifyError::Link(format!("frame {f}: {e}")))?;
        let want = &reference.scores[f * classes..(f + 1) * classes];
        let status_ok = answer.status == 0;
        let matches = answer.scores == want && answer.class == reference.argmax[f];
        flagged += usize::from(!status_ok);
        mismatches += usize::from(status_ok && !matches);
        if corrupted && answer.status & link::status::CRC_MISMATCH == 0 {
            return Err(VerifyError::Mismatch(format!(
                "frame {f}: a corrupted request was not flagged (status {:#04x})",
                answer.status
            )));
        }
        if let Some(l) = s.labels {
            correct += usize::from(l[f] == answer.class as i64);
        }
        let row = FrameResult {
            frame: f,
            class: answer.class,
            scores: answer.scores,
            status: answer.status,
            matches_reference: matches,
            reference: want.to_vec(),
        };
        on_frame(&row);
        rows.push(row);
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(RunReport {
        port: shown.to_string(),
        frames: s.frames,
        flagged,
        mismatches,
        accuracy: s.labels.map(|_| correct as f64 / s.frames.max(1) as f64),
        seconds,
        results: rows,
    })
}
