//! The Verilator harness: builds a generated core with a generic testbench (cached under a hash
//! of everything that goes into the build) and runs it on input beats, with optional seeded
//! random input stalls and output backpressure. It only drives and records; comparing with the
//! reference simulator is the caller's job, so the harness has no opinion on what is right.

use std::path::{Path, PathBuf};
use std::process::Command;

const TESTBENCH: &str = include_str!("tb.cpp");
const BOARD_TESTBENCH: &str = include_str!("board_tb.cpp");

/// Why co-simulation could not run.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HarnessError {
    /// Verilator is not installed.
    #[error("verilator not found ({0})")]
    #[diagnostic(
        code(xnorc::tool_missing),
        help("run `make setup`, or `apt-get install verilator`")
    )]
    MissingVerilator(String),
    /// The Verilator build failed.
    #[error("verilator build failed; see {log}")]
    #[diagnostic(code(xnorc::verilator::build))]
    Build {
        /// Build log.
        log: PathBuf,
    },
    /// File system trouble.
    #[error("{0}")]
    #[diagnostic(code(xnorc::io))]
    Io(String),
    /// The simulation did not finish.
    #[diagnostic(
        code(xnorc::verilator::incomplete),
        help("the event log shows the last beats; a design that hangs is a bug: report it with the model")
    )]
    #[error(
        "simulation stopped after {cycles} cycles with {received} of {frames} outputs; see {log}"
    )]
    Incomplete {
        /// Cycle limit.
        cycles: u64,
        /// Outputs seen.
        received: usize,
        /// Outputs expected.
        frames: usize,
        /// Event log.
        log: PathBuf,
    },
    /// A beat moved in or out while the core was still leaving reset.
    #[diagnostic(
        code(xnorc::verilator::reset),
        help("the core's input must stay shut until its stages have left reset: a bug in the generated top")
    )]
    #[error("the core took or gave a beat in the {cycles} cycle(s) after its reset fell, before its stages left reset")]
    EarlyHandshake {
        /// The design's reset release ([`Harness::reset_release`]).
        cycles: u64,
    },
}

fn io(e: std::io::Error, what: &Path) -> HarnessError {
    HarnessError::Io(format!("{}: {e}", what.display()))
}

/// `command` is an executable on PATH.
fn on_path(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(command).is_file()))
}

/// FNV-1a, 64 bits: a stable cache key (std's hasher may change between Rust releases).
fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The installed Verilator's version line.
pub fn verilator_version() -> Result<String, HarnessError> {
    let out = Command::new("verilator")
        .arg("--version")
        .output()
        .map_err(|e| HarnessError::MissingVerilator(e.to_string()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A built co-simulation executable.
#[derive(Debug, Clone)]
pub struct Harness {
    dir: PathBuf,
    exe: PathBuf,
    /// 32-bit words per input beat.
    pub in_words: usize,
    /// Cycles after reset falls in which the design must not take or give a beat: 0 from
    /// [`build`]; for a core, set it to [`xnorc_rtl::top::reset_release_cycles`].
    pub reset_release: u64,
}

/// What one run recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLog {
    /// Cycles at which input beats were accepted.
    pub input_cycles: Vec<u64>,
    /// Output beats: cycle and data words (least significant first).
    pub outputs: Vec<(u64, Vec<u32>)>,
}

/// Stall pattern of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalls {
    /// Random seed.
    pub seed: u64,
    /// Per mille of cycles in which the source withholds its beat.
    pub input_per_mille: u32,
    /// Per mille of cycles in which the sink is not ready.
    pub output_per_mille: u32,
}

impl Stalls {
    /// No stalls: the source offers every cycle, the sink is always ready.
    pub const NONE: Stalls = Stalls {
        seed: 0,
        input_per_mille: 0,
        output_per_mille: 0,
    };
}

/// Builds (or finds in `cache`) the harness for the design in `design_dir` with top module
/// `top` and input beats of `in_width` bits. `trace` adds VCD support.
pub fn build(
    design_dir: &Path,
    top: &str,
    in_width: usize,
    cache: &Path,
    trace: bool,
) -> Result<Harness, HarnessError> {
    let (dir, exe) = build_testbench(design_dir, top, TESTBENCH, &[], cache, trace)?;
    Ok(Harness {
        dir,
        exe,
        in_words: in_width.div_ceil(32),
        reset_release: 0,
    })
}

/// Builds (or finds in `cache`) the simulated board: the board top `top` of the design in
/// `design_dir` (ports clk_in, rst_btn, uart_rx, uart_tx, led) with its UART bridged to a
/// pseudo-terminal. `has_reset`: the top has the `rst_btn` port. Returns the executable, to be
/// run in its own directory's parent (memory files are read relative to it).
pub fn build_board(
    design_dir: &Path,
    top: &str,
    cache: &Path,
    has_reset: bool,
) -> Result<PathBuf, HarnessError> {
    let defines: &[&str] = if has_reset { &["HAS_RST_BTN"] } else { &[] };
    Ok(build_testbench(design_dir, top, BOARD_TESTBENCH, defines, cache, false)?.1)
}

/// Verilates `design_dir`'s Verilog with `testbench`; returns (cache entry, executable).
fn build_testbench(
    design_dir: &Path,
    top: &str,
    testbench: &str,
    defines: &[&str],
    cache: &Path,
    trace: bool,
) -> Result<(PathBuf, PathBuf), HarnessError> {
    let version = verilator_version()?;
    // Runs happen inside the cache directory: every path handed to them must be absolute.
    let cache = &std::path::absolute(cache).map_err(|e| io(e, cache))?;
    let mut names: Vec<PathBuf> = std::fs::read_dir(design_dir)
        .map_err(|e| io(e, design_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("v" | "hex")))
        .collect();
    names.sort();
    let mut h = fnv(testbench.as_bytes(), 0xcbf2_9ce4_8422_2325);
    h = fnv(version.as_bytes(), h);
    h = fnv(top.as_bytes(), h);
    h = fnv(&[trace as u8], h);
    for d in defines {
        h = fnv(d.as_bytes(), h);
    }
    let mut contents = Vec::new();
    for p in &names {
        let bytes = std::fs::read(p).map_err(|e| io(e, p))?;
        h = fnv(p.file_name().expect("file").as_encoded_bytes(), h);
        h = fnv(&bytes, h);
        contents.push((p.file_name().expect("file").to_owned(), bytes));
    }
    let dir = cache.join(format!("{h:016x}"));
    let exe = dir.join("obj").join("Vcore");
    if exe.exists() {
        return Ok((dir, exe));
    }
    // Build in a temporary directory and rename, so a killed build never looks finished.
    let tmp = cache.join(format!(".tmp-{h:016x}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(|e| io(e, &tmp))?;
    for (name, bytes) in &contents {
        std::fs::write(tmp.join(name), bytes).map_err(|e| io(e, &tmp))?;
    }
    std::fs::write(tmp.join("tb.cpp"), testbench).map_err(|e| io(e, &tmp))?;
    let verilog: Vec<String> = contents
        .iter()
        .filter(|(n, _)| n.to_string_lossy().ends_with(".v"))
        .map(|(n, _)| n.to_string_lossy().into_owned())
        .collect();
    let mut cmd = Command::new("verilator");
    cmd.current_dir(&tmp)
        .args([
            "--cc", "--exe", "--build", "-j", "2", "--prefix", "Vcore", "--Mdir", "obj",
        ])
        .args([
            "--top-module",
            top,
            // Lint is its own test; but a library module's parameter check (`$error` at
            // elaboration) must stop the build, not run a design outside its limits.
            "-Wno-fatal",
            "-Werror-USERERROR",
            // The model's per-cycle code and the runtime at -O1: Verilator's makefile defaults
            // them to -Os, which compiles a large model ~1.7x slower and runs it slower. Its
            // run-once code (initial blocks, memory images: the `__Slow` files) at -O0, which
            // compiles cnv-small's largest such file in 1.3 s instead of 3.9 s.
            "-MAKEFLAGS",
            "OPT_FAST=-O1 OPT_SLOW=-O0 OPT_GLOBAL=-O1",
            "--x-assign",
            "0",
        ])
        .args(["--x-initial", "0"]);
    if trace {
        cmd.arg("--trace");
    }
    if !defines.is_empty() {
        let flags: Vec<String> = defines.iter().map(|d| format!("-D{d}")).collect();
        cmd.args(["-CFLAGS", &flags.join(" ")]);
    }
    // Verilator's runtime (verilated.cpp and its threads) and the testbench compile to the
    // same objects for every design, and they are most of a small design's build: with ccache
    // on PATH (`make setup` installs it) Verilator's makefile compiles through it (OBJCACHE),
    // so they are compiled once per machine.
    if on_path("ccache") {
        cmd.env("OBJCACHE", "ccache");
    }
    cmd.args(&verilog).arg("tb.cpp");
    let out = cmd
        .output()
        .map_err(|e| HarnessError::MissingVerilator(e.to_string()))?;
    let log = tmp.join("build.log");
    let mut text = out.stdout;
    text.extend(out.stderr);
    std::fs::write(&log, &text).map_err(|e| io(e, &log))?;
    if !out.status.success() {
        return Err(HarnessError::Build { log });
    }
    match std::fs::rename(&tmp, &dir) {
        Ok(()) => {}
        // Another process finished the same build first: use theirs.
        Err(_) if exe.exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(io(e, &dir)),
    }
    Ok((dir, exe))
}

static RUN_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Harness {
    /// Streams every beat of `stimulus` (`in_words` u32 per beat) and collects `outputs` output
    /// beats.
    pub fn run(
        &self,
        stimulus: &[u32],
        outputs: usize,
        stalls: Stalls,
        max_cycles: u64,
        vcd: Option<&Path>,
    ) -> Result<RunLog, HarnessError> {
        let id = RUN_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tag = format!("{}-{id}", std::process::id());
        let stim = self.dir.join(format!("stimulus-{tag}.bin"));
        let log = self.dir.join(format!("events-{tag}.txt"));
        let bytes: Vec<u8> = stimulus.iter().flat_map(|w| w.to_le_bytes()).collect();
        std::fs::write(&stim, bytes).map_err(|e| io(e, &stim))?;
        let mut cmd = Command::new(&self.exe);
        cmd.current_dir(&self.dir).arg(&stim).arg(&log).args([
            outputs.to_string(),
            (stimulus.len() / self.in_words.max(1)).to_string(),
            stalls.seed.to_string(),
            stalls.input_per_mille.to_string(),
            stalls.output_per_mille.to_string(),
            max_cycles.to_string(),
            self.reset_release.to_string(),
        ]);
        if let Some(v) = vcd {
            cmd.arg(std::path::absolute(v).map_err(|e| io(e, v))?);
        }
        let status = cmd.status().map_err(|e| io(e, &self.exe))?;
        let _ = std::fs::remove_file(&stim);
        // The testbench's exit code for a handshake during the reset release.
        if status.code() == Some(4) {
            return Err(HarnessError::EarlyHandshake {
                cycles: self.reset_release,
            });
        }
        let text = std::fs::read_to_string(&log).map_err(|e| io(e, &log))?;
        let mut run = RunLog {
            input_cycles: Vec::new(),
            outputs: Vec::new(),
        };
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let kind = parts.next();
            let cycle: u64 = parts.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            match kind {
                Some("i") => run.input_cycles.push(cycle),
                Some("o") => run.outputs.push((
                    cycle,
                    parts
                        .filter_map(|w| u32::from_str_radix(w, 16).ok())
                        .collect(),
                )),
                _ => {}
            }
        }
        if !status.success() || run.outputs.len() != outputs {
            return Err(HarnessError::Incomplete {
                cycles: max_cycles,
                received: run.outputs.len(),
                frames: outputs,
                log,
            });
        }
        let _ = std::fs::remove_file(&log);
        Ok(run)
    }
}
