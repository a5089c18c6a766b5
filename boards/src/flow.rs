//! Running the open-FPGA flow in a build directory: yosys (`synth_ice40`/`synth_ecp5`), nextpnr
//! (`-ice40`/`-ecp5`), icepack/ecppack, and openFPGALoader. Every tool runs with the build
//! directory as its working directory and relative paths (YoWASP builds see a private /tmp),
//! writes its output to `<step>.log` there, and is timed.

use crate::board::Board;
use crate::family::Family;
use crate::netlist::{self, InstanceResources, Resources};
use crate::outreg;
use crate::tools::{self, Tool};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A failed flow step.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FlowError {
    /// A tool is not installed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Missing(#[from] tools::Missing),
    /// A tool ran and failed.
    #[error("{step} failed (exit {code}); see {log}:\n{tail}")]
    #[diagnostic(
        code(xnorc::flow::tool),
        help("the log's last lines above say why; `xnorc doctor` shows which tool versions run")
    )]
    Tool {
        /// Step name.
        step: String,
        /// Exit code (−1: killed by a signal).
        code: i32,
        /// Its log file.
        log: String,
        /// The log's last lines.
        tail: String,
    },
    /// A tool wrote nothing to its log for too long and was stopped.
    #[error(
        "{step} printed nothing for {silent_secs} s and was stopped (seeds tried: {seeds:?}); \
         see {log}"
    )]
    #[diagnostic(
        code(xnorc::flow::stalled),
        help("try another --seed, or a folding that uses less of the device")
    )]
    Stalled {
        /// Step name.
        step: String,
        /// The silence that stopped it.
        silent_secs: u64,
        /// Seeds tried, all stalled.
        seeds: Vec<u64>,
        /// The last stalled run's log.
        log: String,
    },
    /// The machine failed (cannot start a process, cannot read its output).
    #[error("{0}")]
    #[diagnostic(code(xnorc::io))]
    Io(String),
}

/// How a run ended when it did not exit by itself.
enum Ended {
    Exited(std::process::ExitStatus),
    Silent,
}

/// One step's record for the report.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// Step name.
    pub step: String,
    /// The executable that ran.
    pub tool: String,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Log file (relative to the build directory).
    pub log: String,
}

/// A build directory and the board it builds for.
pub struct Flow<'a> {
    /// Build directory (design files are already in it).
    pub dir: PathBuf,
    /// The board.
    pub board: &'a Board,
    /// Top module.
    pub top: String,
    /// Steps run so far.
    pub steps: Vec<StepRecord>,
    /// The pass through synthesis and place and route (from 1): every tool's log is
    /// `<step>-pass<N>.log`, so a build that tries several clocks keeps every pass's logs.
    pass: u32,
}

/// Cells after synthesis, summed per kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SynthStats {
    /// LUT4s, flip-flops, block RAMs and hard multipliers of the whole design.
    pub total: Resources,
    /// Every cell type and its count.
    pub cells: BTreeMap<String, u64>,
    /// The same cells split by the core instance (layer, FIFO, converter) they came from.
    pub instances: InstanceResources,
    /// ECP5: flip-flops moved into block RAM output registers after synthesis (`outreg`);
    /// `total` and `cells` count the netlist after the move.
    pub output_registers: outreg::Absorbed,
}

/// The core inside the board top, whose instances synthesis keeps apart to count them.
#[derive(Debug, Clone, Copy)]
pub struct Core<'c> {
    /// The core's module name.
    pub module: &'c str,
    /// Its instance name in the board top.
    pub instance: &'c str,
}

/// Place-and-route results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PnrStats {
    /// Highest frequency nextpnr achieved for the core clock, in MHz.
    pub fmax_mhz: Option<f64>,
    /// Frequency asked for, in MHz.
    pub constraint_mhz: f64,
    /// The seed of the placement kept.
    pub seed: u64,
    /// Seeds whose runs stalled and were stopped.
    pub stalled_seeds: Vec<u64>,
    /// Every placement that finished, in the order tried (the kept one among them).
    pub placements: Vec<PlacementTry>,
    /// nextpnr's utilization: cell type → (used, available).
    pub utilization: BTreeMap<String, (u64, u64)>,
}

/// One finished placement of a sweep ([`Flow::place_and_route`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlacementTry {
    /// Its seed.
    pub seed: u64,
    /// Its Fmax for the core clock, in MHz.
    pub fmax_mhz: Option<f64>,
}

impl PnrStats {
    /// The clock is met.
    pub fn meets(&self) -> bool {
        self.fmax_mhz.is_some_and(|f| f >= self.constraint_mhz)
    }

    /// Logic cells used (iCE40 `ICESTORM_LC`, ECP5 `TRELLIS_COMB`).
    pub fn luts(&self) -> u64 {
        self.used(&["ICESTORM_LC", "TRELLIS_COMB"])
    }
    /// Flip-flops used (iCE40 logic cells with their FF are not told apart; ECP5 `TRELLIS_FF`).
    pub fn ffs(&self) -> Option<u64> {
        self.utilization.get("TRELLIS_FF").map(|u| u.0)
    }
    /// Block RAMs used.
    pub fn ram_blocks(&self) -> u64 {
        self.used(&["ICESTORM_RAM", "DP16KD"])
    }
    /// Hard multipliers used.
    pub fn dsps(&self) -> u64 {
        self.used(&["ICESTORM_DSP", "MULT18X18D"])
    }
    fn used(&self, kinds: &[&str]) -> u64 {
        kinds
            .iter()
            .filter_map(|k| self.utilization.get(*k))
            .map(|u| u.0)
            .sum()
    }
}

impl<'a> Flow<'a> {
    /// A flow in `dir` for `board`, top module `top`.
    pub fn new(dir: &Path, board: &'a Board, top: &str) -> Self {
        Flow {
            dir: dir.to_path_buf(),
            board,
            top: top.to_string(),
            steps: Vec::new(),
            pass: 1,
        }
    }

    /// The tools a build for `family` runs: synthesis, place and route, pack.
    pub fn tools(family: Family) -> [Tool; 3] {
        match family {
            Family::Ice40 => [Tool::Yosys, Tool::NextpnrIce40, Tool::Icepack],
            Family::Ecp5 => [Tool::Yosys, Tool::NextpnrEcp5, Tool::Ecppack],
        }
    }

    /// Checks that every tool of [`Flow::tools`] is installed, before anything is written.
    pub fn check_tools(family: Family) -> Result<(), FlowError> {
        for tool in Self::tools(family) {
            tools::find(tool)?;
        }
        Ok(())
    }

    /// Starts pass `pass` (from 1): the logs of the tools run from now on are named after it.
    pub fn begin_pass(&mut self, pass: u32) {
        self.pass = pass;
    }

    /// The log of the step run last.
    fn last_log(&self) -> PathBuf {
        self.dir.join(&self.steps.last().expect("a step ran").log)
    }

    /// Runs `tool` with `args` in the build directory, logging to `<step>-pass<N>.log`.
    fn run(&mut self, step: &str, tool: Tool, args: &[String]) -> Result<f64, FlowError> {
        match self.run_watched(step, tool, args, None)? {
            Some(seconds) => Ok(seconds),
            None => unreachable!("no silence limit"),
        }
    }

    /// [`Flow::run`], stopping the tool if its log stays the same size for `silence` (then
    /// `Ok(None)`).
    fn run_watched(
        &mut self,
        step: &str,
        tool: Tool,
        args: &[String],
        silence: Option<Duration>,
    ) -> Result<Option<f64>, FlowError> {
        let found = tools::find(tool)?;
        let log_name = format!("{step}-pass{}.log", self.pass);
        let log_path = self.dir.join(&log_name);
        let log = std::fs::File::create(&log_path)
            .map_err(|e| FlowError::Io(format!("{}: cannot write: {e}", log_path.display())))?;
        let err = log
            .try_clone()
            .map_err(|e| FlowError::Io(format!("{}: {e}", log_path.display())))?;
        let start = Instant::now();
        let mut child = Command::new(&found.path)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| FlowError::Io(format!("cannot run {}: {e}", found.path.display())))?;
        let ended = watch(&mut child, &log_path, silence)
            .map_err(|e| FlowError::Io(format!("waiting for {}: {e}", found.path.display())))?;
        let seconds = start.elapsed().as_secs_f64();
        self.steps.push(StepRecord {
            step: step.to_string(),
            tool: found.path.display().to_string(),
            seconds,
            log: log_name,
        });
        let status = match ended {
            Ended::Exited(status) => status,
            Ended::Silent => return Ok(None),
        };
        if !status.success() {
            return Err(FlowError::Tool {
                step: step.to_string(),
                code: status.code().unwrap_or(-1),
                log: log_path.display().to_string(),
                tail: tail(&log_path, 15),
            });
        }
        Ok(Some(seconds))
    }

    /// Synthesizes `sources` (file names in the build directory) to `<top>.json` and returns
    /// the cell counts, whole and per instance of `core`.
    ///
    /// Each library instance of the core is synthesized as a module of its own
    /// (`keep_hierarchy`) and the netlist is flattened after synthesis, so that the cells of
    /// the design place and route reads can be told apart per layer (`netlist`). The price,
    /// measured on TFC for the iCEBreaker: 2,258 → 2,310 LUT4 (+2.3%; docs/benchmarks.md).
    pub fn synthesize(
        &mut self,
        sources: &[String],
        core: Core<'_>,
    ) -> Result<SynthStats, FlowError> {
        // No SB_MAC16 on iCE40: icebox_vlog, which turns the bitstream back into the netlist
        // `verify --bitstream` runs, has no model of the DSP tiles (it traces their inputs
        // only), so a multiplier there could not be proved; in logic it can.
        let synth = match self.board.device.family {
            Family::Ice40 => "synth_ice40",
            Family::Ecp5 => "synth_ecp5",
        };
        // `$scopeinfo` cells from newer yosys break nextpnr-ice40 0.4; deleting none is harmless.
        let script = format!(
            "read_verilog -DSYNTHESIS {sources}\n\
             hierarchy -top {top}\n\
             setattr -set keep_hierarchy 1 {core}/t:*xnorc_*\n\
             {synth} -top {top}\n\
             delete t:$scopeinfo\n\
             tee -q -o synth_stat.json stat -json\n\
             setattr -unset keep_hierarchy\n\
             setattr -mod -unset keep_hierarchy\n\
             flatten\n\
             write_json {top}.json\n",
            sources = sources.join(" "),
            top = self.top,
            core = core.module,
        );
        let script_path = self.dir.join("synth.ys");
        std::fs::write(&script_path, script)
            .map_err(|e| FlowError::Io(format!("{}: cannot write: {e}", script_path.display())))?;
        // Not quiet: the whole log (every pass's statistics) is kept for the user.
        let args = ["-s".to_string(), "synth.ys".to_string()];
        if let Err(e) = self.run("yosys", Tool::Yosys, &args) {
            // ABC, which yosys runs as a child process, now and then aborts on a module it
            // maps fine the next time (seen in a resnet-mini build: exit 134 on one MVU, the
            // same script then went through). Such a crash is run once more, its log kept.
            let log_path = self.last_log();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if !abc_crashed(&log) {
                return Err(e);
            }
            let kept = self
                .dir
                .join(format!("yosys-pass{}-abc-crash.log", self.pass));
            std::fs::rename(&log_path, &kept)
                .map_err(|e| FlowError::Io(format!("{}: {e}", kept.display())))?;
            self.run("yosys", Tool::Yosys, &args)?;
        }
        // yosys resolves a signal driven from two places silently (with a warning); that is
        // a generator bug, never something to place and route.
        let log_path = self.last_log();
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if let Some(line) = log.lines().find(|l| l.contains("conflicting drivers")) {
            return Err(FlowError::Tool {
                step: "yosys".into(),
                code: 0,
                log: log_path.display().to_string(),
                tail: format!("  | {line}"),
            });
        }
        let family = self.board.device.family;
        let stat_path = self.dir.join("synth_stat.json");
        let text = std::fs::read_to_string(&stat_path)
            .map_err(|e| FlowError::Io(format!("{}: {e}", stat_path.display())))?;
        let mut stats = parse_stat(&text, family)
            .ok_or_else(|| FlowError::Io(format!("{}: unexpected format", stat_path.display())))?;
        let netlist_path = self.dir.join(format!("{}.json", self.top));
        let io =
            |e: &dyn std::fmt::Display| FlowError::Io(format!("{}: {e}", netlist_path.display()));
        let text = std::fs::read(&netlist_path).map_err(|e| io(&e))?;
        let mut netlist: serde_json::Value = serde_json::from_slice(&text).map_err(|e| io(&e))?;
        drop(text);
        if family == Family::Ecp5 {
            stats.output_registers = self.absorb_output_registers(&mut netlist, &netlist_path)?;
            // The cells place and route reads: the flip-flops are in the block RAMs now.
            let ffs = stats.output_registers.flip_flops;
            stats.total.ffs -= ffs;
            if let Some(n) = stats.cells.get_mut("TRELLIS_FF") {
                *n -= ffs;
            }
        }
        stats.instances = netlist::count_by_instance(&netlist, &self.top, core.instance, family)
            .ok_or_else(|| io(&format!("not a yosys netlist with module {}", self.top)))?;
        Ok(stats)
    }

    /// Rewrites the ECP5 netlist (parsed from `path`) so that block RAM read ports take the
    /// flip-flops that follow them as their output register (`outreg`), and writes it back.
    fn absorb_output_registers(
        &self,
        netlist: &mut serde_json::Value,
        path: &Path,
    ) -> Result<outreg::Absorbed, FlowError> {
        let io = |e: &dyn std::fmt::Display| FlowError::Io(format!("{}: {e}", path.display()));
        let absorbed = outreg::absorb(netlist, &self.top)
            .ok_or_else(|| io(&format!("no module {}", self.top)))?;
        if absorbed.ports > 0 {
            let text = serde_json::to_vec(&*netlist).map_err(|e| io(&e))?;
            std::fs::write(path, text).map_err(|e| io(&e))?;
        }
        Ok(absorbed)
    }

    /// Places and routes `<top>.json` at `clock_mhz` and returns nextpnr's results. Timing
    /// failure is not an error here: the report says it.
    ///
    /// Up to `placements` placements, seeds `seed`, `seed + 1`, …: the first that meets the
    /// clock is kept, else the fastest (the first of equals). Placement alone moves Fmax by
    /// several percent between seeds (docs/benchmarks.md); each placement tried and not kept
    /// leaves its outputs beside the kept one's, named with `-seed<N>`.
    ///
    /// nextpnr's HeAP legaliser can loop forever on some placements of a nearly full device
    /// (seen here on an UP5K at 78 % of its logic cells; nextpnr issue #1062), silently. A run
    /// whose log stays silent for [`pnr_silence`] is stopped, its log kept as
    /// `nextpnr-pass<P>-stalled-seed<N>.log`, and placement starts again with the next seed; it
    /// does not count as a placement, and after [`PNR_SEEDS`] such runs with none finished the
    /// build stops. Each restart is told to `note`.
    pub fn place_and_route(
        &mut self,
        constraints: &str,
        clock_mhz: f64,
        (seed, placements): (u64, u64),
        note: &dyn Fn(&str),
    ) -> Result<PnrStats, FlowError> {
        let mut stalled = Vec::new();
        let mut finished: Vec<PnrStats> = Vec::new();
        let silence = pnr_silence(&self.board.device);
        let mut try_seed = seed;
        while (finished.len() as u64) < placements.max(1) && (stalled.len() as u64) < PNR_SEEDS {
            match self.place_and_route_once(constraints, clock_mhz, try_seed)? {
                Some(stats) => {
                    let (met, fmax) = (stats.meets(), stats.fmax_mhz.unwrap_or(0.0));
                    finished.push(stats);
                    if met || finished.len() as u64 >= placements {
                        break;
                    }
                    self.set_aside(try_seed)?;
                    note(&format!(
                        "      seed {try_seed}: Fmax {fmax:.2} MHz < {clock_mhz:.3} MHz: placing \
                         again with seed {}",
                        try_seed + 1
                    ));
                }
                None => {
                    let keep = self.stalled_log(try_seed);
                    std::fs::rename(self.last_log(), &keep)
                        .map_err(|e| FlowError::Io(format!("{}: {e}", keep.display())))?;
                    if let (Some(step), Some(name)) = (self.steps.last_mut(), keep.file_name()) {
                        step.log = name.to_string_lossy().into_owned();
                    }
                    let next = if (stalled.len() as u64) + 1 < PNR_SEEDS {
                        format!("trying seed {}", try_seed + 1)
                    } else {
                        "giving up".into()
                    };
                    note(&format!(
                        "      nextpnr printed nothing for {} s with seed {try_seed} (a known \
                         placer hang): stopped, {next}",
                        silence.as_secs(),
                    ));
                    stalled.push(try_seed);
                }
            }
            try_seed += 1;
        }
        let Some(last) = finished.last() else {
            let log = self.stalled_log(try_seed - 1);
            return Err(FlowError::Stalled {
                step: "nextpnr".into(),
                silent_secs: silence.as_secs(),
                seeds: stalled,
                log: log.display().to_string(),
            });
        };
        // The last if it met the clock (the sweep stops there), else the fastest.
        let kept = if last.meets() {
            finished.len() - 1
        } else {
            let fmax = |i: usize| finished[i].fmax_mhz.unwrap_or(0.0);
            (0..finished.len()).fold(0, |b, i| if fmax(i) > fmax(b) { i } else { b })
        };
        if kept + 1 != finished.len() {
            self.set_aside(last.seed)?;
            self.take_back(finished[kept].seed)?;
            note(&format!(
                "      keeping seed {}: the fastest of {} placements",
                finished[kept].seed,
                finished.len()
            ));
        }
        let mut stats = finished[kept].clone();
        stats.stalled_seeds = stalled;
        stats.placements = finished
            .iter()
            .map(|s| PlacementTry {
                seed: s.seed,
                fmax_mhz: s.fmax_mhz,
            })
            .collect();
        Ok(stats)
    }

    /// The outputs of one place and route: the placed design, nextpnr's report and its log.
    fn placement_files(&self) -> [String; 3] {
        let placed = match self.board.device.family {
            Family::Ice40 => format!("{}.asc", self.top),
            Family::Ecp5 => format!("{}.config", self.top),
        };
        [
            placed,
            "pnr_report.json".into(),
            format!("nextpnr-pass{}.log", self.pass),
        ]
    }

    /// `name` with `-seed<N>` before its extension.
    fn with_seed(name: &str, seed: u64) -> String {
        match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-seed{seed}.{ext}"),
            None => format!("{name}-seed{seed}"),
        }
    }

    /// Sets the last placement's outputs (the seed `seed` placement's) aside under their
    /// `-seed<N>` names, its step record's log too.
    fn set_aside(&mut self, seed: u64) -> Result<(), FlowError> {
        self.rename_placement(seed, true)
    }

    /// Gives the placement set aside with `seed` its outputs' own names back.
    fn take_back(&mut self, seed: u64) -> Result<(), FlowError> {
        self.rename_placement(seed, false)
    }

    /// Renames the seed `seed` placement's outputs from their own names to their `-seed<N>`
    /// names (`aside`) or back, and the step records' logs with them.
    fn rename_placement(&mut self, seed: u64, aside: bool) -> Result<(), FlowError> {
        for name in self.placement_files() {
            let seeded = Self::with_seed(&name, seed);
            let (from, to) = if aside {
                (name, seeded)
            } else {
                (seeded, name)
            };
            self.rename(&from, &to)?;
            for step in self.steps.iter_mut().filter(|s| s.log == from) {
                step.log = to.clone();
            }
        }
        Ok(())
    }

    /// Renames `from` to `to` in the build directory.
    fn rename(&self, from: &str, to: &str) -> Result<(), FlowError> {
        let (from, to) = (self.dir.join(from), self.dir.join(to));
        std::fs::rename(&from, &to)
            .map_err(|e| FlowError::Io(format!("{} → {}: {e}", from.display(), to.display())))
    }

    /// Where the log of a place and route stopped for silence with `seed` is kept.
    fn stalled_log(&self, seed: u64) -> PathBuf {
        self.dir
            .join(format!("nextpnr-pass{}-stalled-seed{seed}.log", self.pass))
    }

    /// One place-and-route run with `seed`; `None` if it stalled.
    fn place_and_route_once(
        &mut self,
        constraints: &str,
        clock_mhz: f64,
        seed: u64,
    ) -> Result<Option<PnrStats>, FlowError> {
        let d = &self.board.device;
        let mut args: Vec<String> = vec![
            format!("--{}", d.part),
            "--package".into(),
            d.package.clone(),
            "--json".into(),
            format!("{}.json", self.top),
            "--freq".into(),
            format!("{clock_mhz:.3}"),
            "--seed".into(),
            seed.to_string(),
            "--timing-allow-fail".into(),
            "--report".into(),
            "pnr_report.json".into(),
        ];
        let tool = match d.family {
            Family::Ice40 => {
                args.extend(["--pcf".into(), constraints.into()]);
                args.extend(["--asc".into(), format!("{}.asc", self.top)]);
                Tool::NextpnrIce40
            }
            Family::Ecp5 => {
                args.extend([
                    "--speed".into(),
                    d.speed.unwrap_or(6).to_string(),
                    "--lpf".into(),
                    constraints.into(),
                    "--textcfg".into(),
                    format!("{}.config", self.top),
                ]);
                // router1 did not finish the TFC on an LFE5U-85F in 20 minutes, twice (tens of
                // thousands of arcs ripped up again and again); router2 routed it in under 10.
                // On the 25F router1 is faster and gave 101 MHz against router2's 92.
                if d.luts > ROUTER2_ABOVE_LUTS {
                    args.extend(["--router".into(), "router2".into()]);
                }
                Tool::NextpnrEcp5
            }
        };
        if self
            .run_watched("nextpnr", tool, &args, Some(pnr_silence(d)))?
            .is_none()
        {
            return Ok(None);
        }
        let report_path = self.dir.join("pnr_report.json");
        let text = std::fs::read_to_string(&report_path)
            .map_err(|e| FlowError::Io(format!("{}: {e}", report_path.display())))?;
        let mut stats = parse_pnr_report(&text).ok_or_else(|| {
            FlowError::Io(format!("{}: unexpected format", report_path.display()))
        })?;
        stats.constraint_mhz = clock_mhz;
        stats.seed = seed;
        Ok(Some(stats))
    }

    /// Packs the placed design into the bitstream file and returns its name.
    pub fn pack(&mut self) -> Result<String, FlowError> {
        match self.board.device.family {
            Family::Ice40 => {
                let bin = format!("{}.bin", self.top);
                self.run(
                    "pack",
                    Tool::Icepack,
                    &[format!("{}.asc", self.top), bin.clone()],
                )?;
                Ok(bin)
            }
            Family::Ecp5 => {
                let bit = format!("{}.bit", self.top);
                self.run(
                    "pack",
                    Tool::Ecppack,
                    &[
                        "--compress".into(),
                        format!("{}.config", self.top),
                        bit.clone(),
                    ],
                )?;
                Ok(bit)
            }
        }
    }
}

/// How long nextpnr's placer may print nothing on `device` before it counts as stalled (the
/// known hang is the placer's: HeAP's legaliser on a nearly full UP5K). The analytic placer
/// reports every iteration, the annealer every fifth: well under a second on an UP5K, tens of
/// seconds on an 85F. Once routing has begun the limit no longer applies ([`placed`]): one
/// router2 iteration on dense CNV for the 85F took over 240 s with another job on the second
/// core, and the watchdog threw away 45 minutes of work. On ECP5 devices routed with router2
/// the placer gets longer too: dense CNV's annealer on the 85F, with two other jobs on the two
/// cores, printed nothing for 240 s while it was still placing (its HeAP iterations took 35 s
/// each), and was stopped twice.
pub fn pnr_silence(device: &crate::board::Device) -> Duration {
    match device.family {
        Family::Ice40 => Duration::from_secs(90),
        Family::Ecp5 if device.luts > ROUTER2_ABOVE_LUTS => Duration::from_secs(900),
        Family::Ecp5 => Duration::from_secs(240),
    }
}

/// ECP5 devices larger than this (LUT4s) are routed with router2 (see `place_and_route_once`).
pub const ROUTER2_ABOVE_LUTS: u64 = 50_000;

/// Seeds tried before a stalled place and route is an error.
pub const PNR_SEEDS: u64 = 3;

/// Whether nextpnr's `log` shows its placer done: it routes the global nets, then runs
/// router1 ("Routing..") or router2.
fn placed(log: &Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    [
        "Info: Routing globals",
        "Info: Routing..",
        "Info: Running router2",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

/// Waits for `child`; with a `silence` limit, kills it once `log` has not grown for that long
/// while it places (see [`pnr_silence`]).
fn watch(
    child: &mut std::process::Child,
    log: &Path,
    silence: Option<Duration>,
) -> std::io::Result<Ended> {
    let Some(limit) = silence else {
        return child.wait().map(Ended::Exited);
    };
    let (mut size, mut changed) = (0u64, Instant::now());
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Ended::Exited(status));
        }
        let now = std::fs::metadata(log).map(|m| m.len()).unwrap_or(0);
        if now != size {
            (size, changed) = (now, Instant::now());
        } else if changed.elapsed() >= limit {
            if placed(log) {
                return child.wait().map(Ended::Exited);
            }
            child.kill()?;
            child.wait()?;
            return Ok(Ended::Silent);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The last `n` lines of a log.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("  | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Cell counts from yosys's `stat -json`.
fn parse_stat(text: &str, family: Family) -> Option<SynthStats> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let cells = v.get("design")?.get("num_cells_by_type")?.as_object()?;
    let mut s = SynthStats::default();
    for (kind, n) in cells {
        let n = n.as_u64()?;
        s.cells.insert(kind.clone(), n);
        s.total.add_cells(family, kind, n);
    }
    Some(s)
}

/// Fmax and utilization from nextpnr's `--report` JSON. With several clocks (a PLL's input
/// drives nothing but the PLL), the slowest constrained one is the core's.
fn parse_pnr_report(text: &str) -> Option<PnrStats> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let mut s = PnrStats::default();
    if let Some(fmax) = v.get("fmax").and_then(|f| f.as_object()) {
        s.fmax_mhz = fmax
            .values()
            .filter_map(|c| c.get("achieved").and_then(|a| a.as_f64()))
            .min_by(|a, b| a.total_cmp(b));
    }
    for (kind, u) in v.get("utilization")?.as_object()? {
        let used = u.get("used")?.as_u64()?;
        let available = u.get("available")?.as_u64()?;
        s.utilization.insert(kind.clone(), (used, available));
    }
    Some(s)
}

/// openFPGALoader's command line for a bitstream: SRAM by default, SPI flash with `flash`.
pub fn flash_command(board: &Board, bitstream: &Path, flash: bool) -> Vec<String> {
    let mut cmd = vec![
        Tool::OpenFpgaLoader.command().to_string(),
        "-b".into(),
        board.programmer.openfpgaloader.clone(),
    ];
    if let Some(cable) = &board.programmer.cable {
        cmd.extend(["-c".into(), cable.clone()]);
    }
    if flash {
        cmd.push("-f".into());
    }
    cmd.push(bitstream.display().to_string());
    cmd
}

/// Whether a failed yosys log is ABC's child process crashing (killed by a signal, or
/// aborting), not yosys refusing the design.
fn abc_crashed(log: &str) -> bool {
    log.lines().any(|l| {
        l.starts_with("ERROR: ABC: execution of command")
            && ["return code 134", "return code 139", "signal"]
                .iter()
                .any(|c| l.contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abc_crashes_are_told_from_refusals() {
        // The line of the crash seen (a resnet-mini build, yosys 0.23).
        let crash = "22.40.22.1. Executing ABC.\nERROR: ABC: execution of command \"\"berkeley-abc\" -s -f /tmp/yosys-abc-qM4pNC/abc.script 2>&1\" failed: return code 134.\n";
        assert!(abc_crashed(crash));
        let refusal = "ERROR: Module `xnorc_mvu' referenced in module `core' in cell `l0' is not part of the design.\n";
        assert!(!abc_crashed(refusal));
        let abc_error = "ERROR: ABC: execution of command \"abc -s -f x\" failed: return code 1.\n";
        assert!(!abc_crashed(abc_error), "ABC's own error is no crash");
    }

    /// `sh -c script` with stdout into `log`, watched with a one-second silence limit.
    fn watched(script: &str, log: &Path) -> (Ended, f64) {
        let out = std::fs::File::create(log).unwrap();
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdout(out)
            .spawn()
            .unwrap();
        let start = Instant::now();
        let ended = watch(&mut child, log, Some(Duration::from_secs(1))).unwrap();
        (ended, start.elapsed().as_secs_f64())
    }

    #[test]
    fn a_silent_tool_is_stopped_and_a_talking_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("tool.log");
        // Prints once, then hangs: stopped about a second after its last line.
        let (ended, secs) = watched("echo placing; sleep 30", &log);
        assert!(matches!(ended, Ended::Silent), "not stopped");
        assert!((1.0..10.0).contains(&secs), "stopped after {secs} s");
        // Runs 2.5 s in all but never pauses for a second: runs to its end.
        let (ended, secs) = watched(
            "for i in 1 2 3 4 5; do echo $i; sleep 0.5; done; exit 3",
            &log,
        );
        match ended {
            Ended::Exited(status) => assert_eq!(status.code(), Some(3)),
            Ended::Silent => panic!("stopped a tool that kept printing"),
        }
        assert!(secs >= 2.0, "ended after {secs} s");
        // Silent for 2.5 s, but routing: a router iteration may take minutes, so it runs on.
        let (ended, secs) = watched("echo 'Info: Running router2...'; sleep 2.5; exit 4", &log);
        match ended {
            Ended::Exited(status) => assert_eq!(status.code(), Some(4)),
            Ended::Silent => panic!("stopped a router"),
        }
        assert!(secs >= 2.5, "ended after {secs} s");
    }

    #[test]
    fn stat_counts_cells_per_family() {
        let text = r#"{"design": {"num_cells_by_type": {"SB_LUT4": 10, "SB_DFFE": 3, "SB_DFF": 2,
            "SB_RAM40_4K": 4, "SB_CARRY": 7}}}"#;
        let s = parse_stat(text, Family::Ice40).unwrap();
        let t = s.total;
        assert_eq!((t.luts, t.ffs, t.ram_blocks, t.dsps), (10, 5, 4, 0));
        let text = r#"{"design": {"num_cells_by_type": {"LUT4": 10, "CCU2C": 3,
            "TRELLIS_FF": 6, "DP16KD": 2, "MULT18X18D": 1}}}"#;
        let s = parse_stat(text, Family::Ecp5).unwrap();
        let t = s.total;
        assert_eq!((t.luts, t.ffs, t.ram_blocks, t.dsps), (16, 6, 2, 1));
    }

    #[test]
    fn pnr_report_takes_the_slowest_clock() {
        let text = r#"{"fmax": {"a": {"achieved": 80.5, "constraint": 48},
            "b": {"achieved": 300.0, "constraint": 12}},
            "utilization": {"ICESTORM_LC": {"used": 100, "available": 5280},
            "ICESTORM_RAM": {"used": 3, "available": 30}}}"#;
        let s = parse_pnr_report(text).unwrap();
        assert_eq!(s.fmax_mhz, Some(80.5));
        assert_eq!((s.luts(), s.ram_blocks()), (100, 3));
    }
}
