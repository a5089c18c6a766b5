//! The simulated board (the board top under Verilator, its UART bridged to a pseudo-terminal)
//! and the conversation with any board over its link: every frame sent, every answer compared
//! with the reference simulator. A real board's port and the simulated board's pty go through
//! the same code.

use crate::VerifyError;
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_host::{self as link, serial::Port, Wire};
use xnorc_plan::HardwarePlan;
use xnorc_rtl::board::{BoardTop, ClockSource};
use xnorc_rtl::shell::LinkParams;
use xnorc_rtl::write::{link_params_for, top_name, write_board_design};
use xnorc_sim::input::InputData;
use xnorc_sim::Results;

/// The simulated board's UART clock cycles per bit when no board's rate is asked for (fast;
/// the pty ignores baud rates).
pub const SIM_CLOCKS_PER_BIT: u32 = 16;

/// A running board simulation; killed when dropped.
pub struct SimBoard {
    child: Child,
    clock: Arc<Mutex<LineClock>>,
    /// The link it was built with, when xnorc built it ([`start_sim_board`]).
    params: Option<LinkParams>,
}

/// The simulation's own time on the line, from its `in`/`out` lines.
#[derive(Debug, Default)]
struct LineClock {
    /// Cycle the first start bit towards the board began.
    first_in: Option<u64>,
    /// Bytes the board has sent so far, and the cycle the last one was complete.
    out_bytes: u64,
    last_out: u64,
}

impl SimBoard {
    /// The line figures of a conversation of `frames` frames with a core of initiation
    /// interval `ii_cycles`, at `clock` (MHz, baud) when known, once the simulation has
    /// reported every response byte (waiting up to `timeout`). None for a board whose link
    /// xnorc did not build, or when the bytes do not come.
    pub fn line_timing(
        &self,
        frames: usize,
        ii_cycles: u64,
        clock: Option<(f64, u32)>,
        timeout: Duration,
    ) -> Option<LineTiming> {
        let params = self.params.as_ref()?;
        let response_frame = u64::from(params.response_bytes) + 4;
        let cycles = self.line_cycles(frames as u64 * response_frame, timeout)?;
        Some(LineTiming::new(frames, cycles, params, ii_cycles, clock))
    }

    /// Simulated cycles from the first request's start bit to the end of the `bytes`-th byte
    /// the board sent, once the simulation has reported that many (waiting up to `timeout`).
    fn line_cycles(&self, bytes: u64, timeout: Duration) -> Option<u64> {
        let start = Instant::now();
        loop {
            {
                let c = self.clock.lock().expect("line clock");
                if c.out_bytes >= bytes {
                    return c.first_in.map(|first| c.last_out - first);
                }
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for SimBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Generates the board design of `plan` with a direct clock and its UART at `clocks_per_bit`,
/// builds it with Verilator (cached under `build_dir`) and starts it; returns it with its
/// pseudo-terminal's path.
pub fn start_sim_board(
    plan: &HardwarePlan,
    build_dir: &Path,
    clocks_per_bit: u32,
    progress: &dyn Progress,
) -> Result<(SimBoard, String), VerifyError> {
    let top = top_name(plan, "simboard");
    let dir = build_dir
        .join("simboard")
        .join(format!("{}-{}", plan.model, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let params = link_params_for(plan, clocks_per_bit, 1000);
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
    let (mut board, pty) = spawn_board(&exe, clocks_per_bit, "high")?;
    board.params = Some(params);
    Ok((board, pty))
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
    let clock = Arc::new(Mutex::new(LineClock::default()));
    let board = SimBoard {
        child,
        clock: clock.clone(),
        params: None,
    };
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
    // pipe would kill it. Its time stamps go to the line clock.
    std::thread::spawn(move || {
        let mut line = String::new();
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            let stamp = |prefix: &str| line.strip_prefix(prefix)?.trim().parse::<u64>().ok();
            if let Some(cycle) = stamp("out ") {
                let mut c = clock.lock().expect("line clock");
                c.out_bytes += 1;
                c.last_out = cycle;
            } else if let Some(cycle) = stamp("in ") {
                clock.lock().expect("line clock").first_in = Some(cycle);
            } else {
                eprint!("board: {line}");
            }
            line.clear();
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

/// The simulated board's own time on the line over a whole conversation (`xnorc run --sim`):
/// what the link's byte rate allows, as long as the host keeps the window full.
#[derive(Debug, Clone, Serialize)]
pub struct LineTiming {
    /// Core clocks per UART bit.
    pub clocks_per_bit: u32,
    /// Simulated cycles from the first request's start bit to the last response's stop bit.
    pub cycles: u64,
    /// `cycles` per frame.
    pub cycles_per_frame: f64,
    /// The fewest cycles a frame can take: its byte times on the line (the longer of request
    /// and response, 10 bits a byte) or the core's initiation interval, whichever is more.
    pub bound_cycles_per_frame: f64,
    /// `bound_cycles_per_frame / cycles_per_frame`: 1 when the line never idles.
    pub of_bound: f64,
    /// The board's clock, when a board was named (else the figures stay in cycles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_mhz: Option<f64>,
    /// The baud rate the board's link runs at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baud: Option<u32>,
    /// End-to-end frames per second in simulated time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_per_second: Option<f64>,
    /// What the bound allows, per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_frames_per_second: Option<f64>,
}

impl LineTiming {
    /// The figures for `frames` frames in `cycles` cycles on a link of `params`, for a core of
    /// initiation interval `ii_cycles`, at `clock` (MHz, baud) when known.
    fn new(
        frames: usize,
        cycles: u64,
        params: &LinkParams,
        ii_cycles: u64,
        clock: Option<(f64, u32)>,
    ) -> Self {
        let per_frame = cycles as f64 / frames.max(1) as f64;
        let line = xnorc_rtl::shell::line_cycles_per_frame(params);
        let bound = line.max(ii_cycles) as f64;
        let per_second = |c: f64| clock.map(|(mhz, _)| mhz * 1e6 / c);
        LineTiming {
            clocks_per_bit: params.clocks_per_bit,
            cycles,
            cycles_per_frame: per_frame,
            bound_cycles_per_frame: bound,
            of_bound: bound / per_frame,
            clock_mhz: clock.map(|(mhz, _)| mhz),
            baud: clock.map(|(_, baud)| baud),
            frames_per_second: per_second(per_frame),
            bound_frames_per_second: per_second(bound),
        }
    }
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
    /// The simulated board's time on the line (`--sim`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<LineTiming>,
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
    let corrupted = |f: usize| s.corrupt_every.is_some_and(|n| n > 0 && f % n == n - 1);
    let send = |port: &mut Port, f: usize| {
        let mut request = wire.request(plan, s.input.slice(f * per, per));
        if corrupted(f) {
            request[1] ^= 1;
        }
        port.send(&request)
            .map_err(|e| VerifyError::Link(format!("frame {f}: {e}")))
    };
    let start = Instant::now();
    let (mut mismatches, mut flagged, mut correct) = (0usize, 0usize, 0usize);
    let mut rows = Vec::new();
    // Keep the window full: request f + WINDOW goes out once the response to f is in.
    for f in 0..s.frames.min(link::WINDOW) {
        send(&mut port, f)?;
    }
    for f in 0..s.frames {
        let answer = link::receive(&mut port, &wire, plan, s.timeout)
            .map_err(|e| VerifyError::Link(format!("frame {f}: {e}")))?;
        if f + link::WINDOW < s.frames {
            send(&mut port, f + link::WINDOW)?;
        }
        let corrupted = corrupted(f);
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
        line: None,
        results: rows,
    })
}
