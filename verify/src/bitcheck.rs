//! `xnorc verify --bitstream DIR`: checks the bits that go onto the chip.
//!
//! iCE40: the bitstream is unpacked (iceunpack) and turned back into a netlist (icebox_vlog),
//! which runs under Verilator as the whole board — PLL, UART link, gearboxes, core — with its
//! UART pins bridged to a pseudo-terminal; the host code of `xnorc run` sends it frames at the
//! bitstream's own bit time and every answer must equal the reference simulator's.
//! ECP5: there is no open tool that turns a bitstream back into a netlist, so only a round trip
//! (ecpunpack → ecppack) checks that the bitstream is well formed; this says so plainly.

use crate::board::{spawn_board, talk, FrameResult, RunReport, Session};
use crate::VerifyError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use xnorc_boards::board::Board;
use xnorc_boards::tools::{self, Tool};
use xnorc_boards::Family;
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_plan::HardwarePlan;
use xnorc_sim::input::InputData;
use xnorc_sim::Results;

fn write_output(path: &Path, bytes: &[u8]) -> Result<(), VerifyError> {
    xnorc_compiler::fsutil::write_atomic(path, bytes)
        .map_err(|e| VerifyError::Io(format!("{}: cannot write: {e}", path.display())))
}

/// The parts of a build's report.json the check reads.
#[derive(Debug, Clone)]
pub struct BuildFacts {
    /// The bitstream's file name as the report gives it.
    pub bitstream: Option<String>,
    /// The UART's clock cycles per bit.
    pub clocks_per_bit: Option<u64>,
}

/// What the check found.
#[derive(Debug, Clone)]
pub enum BitstreamReport {
    /// iCE40: the unpacked bitstream's netlist answered every frame over its UART.
    Netlist {
        /// The conversation (every answer compared with the reference).
        run: RunReport,
        /// Wall time of the whole check.
        seconds: f64,
    },
    /// ECP5: only a round trip through ecpunpack/ecppack.
    RoundTrip(RoundTrip),
}

/// The ECP5 round trip's result (its JSON; field order is key order).
#[derive(Debug, Clone, Serialize)]
pub struct RoundTrip {
    /// Always `ecp5`.
    pub family: &'static str,
    /// The configuration survived the round trip.
    pub round_trip: bool,
    /// No netlist-level check exists.
    pub netlist_check: bool,
    /// What was and was not checked, in words, with the command that checks the rest.
    pub note: String,
}

impl BitstreamReport {
    /// The check's failure, if the netlist answered any frame differently.
    pub fn failure(&self) -> Option<VerifyError> {
        let BitstreamReport::Netlist { run, .. } = self else {
            return None;
        };
        let bad = run.mismatches + run.flagged;
        (bad > 0).then(|| {
            VerifyError::Mismatch(format!(
                "the bitstream's netlist answered {bad} of {} frames differently from the reference simulator",
                run.frames
            ))
        })
    }
}

/// What the check needs from `verify`.
pub struct Check<'a> {
    /// Build directory of `xnorc build`.
    pub dir: &'a Path,
    /// What the build's report.json says.
    pub report: &'a BuildFacts,
    /// The board it was built for.
    pub board: &'a Board,
    /// The model and its plan (wire format).
    pub graph: &'a Graph,
    /// The plan.
    pub plan: &'a HardwarePlan,
    /// Frames and their reference results.
    pub input: &'a InputData,
    /// Number of frames.
    pub frames: usize,
    /// Reference results.
    pub reference: &'a Results,
    /// Cache of Verilator builds.
    pub cache: &'a Path,
    /// Where the steps are reported.
    pub progress: &'a dyn Progress,
}

fn run_tool(
    tool: Tool,
    args: &[&str],
    cwd: &Path,
    stdout: Option<&Path>,
) -> Result<(), VerifyError> {
    let found = tools::find(tool)?;
    let mut cmd = Command::new(&found.path);
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    if let Some(out) = stdout {
        let file = std::fs::File::create(out)
            .map_err(|e| VerifyError::Io(format!("{}: cannot write: {e}", out.display())))?;
        cmd.stdout(file);
    }
    let out = cmd
        .output()
        .map_err(|e| VerifyError::Tool(format!("cannot run {}: {e}", found.path.display())))?;
    if !out.status.success() {
        return Err(VerifyError::Tool(format!(
            "{} {} failed: {}",
            tool.command(),
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// Runs the check for the build in `c.dir`; `on_frame` sees each answer of the netlist as it
/// arrives.
pub fn check(
    c: &Check<'_>,
    on_frame: &mut dyn FnMut(&FrameResult),
) -> Result<BitstreamReport, VerifyError> {
    let bitstream = c
        .report
        .bitstream
        .as_deref()
        .and_then(|b| Path::new(b).file_name())
        .map(|f| c.dir.join(f))
        .ok_or_else(|| {
            VerifyError::Input(format!(
                "{}: report.json names no bitstream",
                c.dir.display()
            ))
        })?;
    if !bitstream.is_file() {
        return Err(VerifyError::Input(format!(
            "{}: bitstream missing; rebuild with `xnorc build`",
            bitstream.display()
        )));
    }
    match c.board.device.family {
        Family::Ice40 => ice40(c, &bitstream, on_frame),
        Family::Ecp5 => ecp5_round_trip(c, &bitstream),
    }
}

/// The netlist check on iCE40.
fn ice40(
    c: &Check<'_>,
    bitstream: &Path,
    on_frame: &mut dyn FnMut(&FrameResult),
) -> Result<BitstreamReport, VerifyError> {
    let work = c.dir.join("bitcheck");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)
        .map_err(|e| VerifyError::Io(format!("{}: cannot create: {e}", work.display())))?;
    let start = Instant::now();
    c.progress
        .step(&format!("verify: iceunpack {}", bitstream.display()), None);
    let bin = std::path::absolute(bitstream).unwrap_or_else(|_| bitstream.to_path_buf());
    run_tool(
        Tool::Iceunpack,
        &[&bin.display().to_string(), "unpacked.asc"],
        &work,
        None,
    )?;
    // icebox_vlog reads plain `set_io NAME PIN` lines only (no -pullup options).
    let pcf = std::fs::read_to_string(c.dir.join("pins.pcf"))
        .map_err(|e| VerifyError::Input(format!("{}: {e}", c.dir.join("pins.pcf").display())))?;
    write_output(&work.join("plain.pcf"), plain_pcf(&pcf).as_bytes())?;
    c.progress
        .step("verify: icebox_vlog → netlist of the bitstream", None);
    icebox_vlog(&work)?;
    let raw = std::fs::read_to_string(work.join("raw_netlist.txt"))
        .map_err(|e| VerifyError::Io(format!("{}: {e}", work.display())))?;
    // icebox_vlog traces a used DSP tile's inputs but writes no model of it: its outputs would
    // be undriven, and the check would compare something that is not the bitstream.
    if raw.lines().any(|l| l.starts_with("/* DSP")) {
        return Err(VerifyError::Input(format!(
            "{}: the bitstream uses SB_MAC16 DSP tiles, which icebox_vlog cannot turn back into \
             a netlist; xnorc builds keep iCE40 multipliers in logic, so this bitstream was \
             built another way",
            bitstream.display()
        )));
    }
    let sim_dir = work.join("sim");
    std::fs::create_dir_all(&sim_dir)
        .map_err(|e| VerifyError::Io(format!("{}: cannot create: {e}", sim_dir.display())))?;
    write_output(
        &sim_dir.join("netlist.v"),
        netlist_for_sim(&raw)?.as_bytes(),
    )?;
    write_output(&sim_dir.join("cells.v"), cell_models()?.as_bytes())?;
    c.progress.step(
        "verify: building the bitstream's netlist with Verilator",
        None,
    );
    let exe = crate::verilator::build_board(&sim_dir, "chip", c.cache, c.board.reset.is_some());
    c.progress.done();
    let exe = exe?;
    let cpb = c.report.clocks_per_bit.ok_or_else(|| {
        VerifyError::Input(format!(
            "{}: report.json has no uart.clocks_per_bit",
            c.dir.display()
        ))
    })?;
    let reset = match &c.board.reset {
        Some(r) if r.active_low => "low",
        Some(_) => "high",
        None => "none",
    };
    let (_board, pty) = spawn_board(&exe, cpb as u32, reset)?;
    let session = Session {
        plan: c.plan,
        graph: c.graph,
        input: c.input,
        frames: c.frames,
        reference: c.reference,
        labels: None,
        corrupt_every: None,
        // The netlist simulates ≈1M cycles in a second or two per frame.
        timeout: Duration::from_secs(120),
    };
    let run = talk(&session, &pty, 115_200, "the bitstream's netlist", on_frame)?;
    Ok(BitstreamReport::Netlist {
        run,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// icestorm 2023-02's icebox_vlog reads the UP5K's SB_PLL40_CORE divider-mode bit under a name
/// that its own UP5K database spells `SHIFTREG_DIV_MODE_0` (KeyError). It runs through a shim
/// that adds the alias before the unchanged script runs; other devices are untouched.
const ICEBOX_VLOG_SHIM: &str = "\
import os, runpy, sys
script = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.realpath(script)))
import icebox
for info in icebox.pllinfo_db.values():
    if 'SHIFTREG_DIV_MODE' not in info and 'SHIFTREG_DIV_MODE_0' in info:
        info['SHIFTREG_DIV_MODE'] = info['SHIFTREG_DIV_MODE_0']
sys.argv = sys.argv[1:]
runpy.run_path(os.path.realpath(script), run_name='__main__')
";

/// `icebox_vlog -s -n chip -p plain.pcf unpacked.asc > raw_netlist.txt` in `work`.
fn icebox_vlog(work: &Path) -> Result<(), VerifyError> {
    let found = tools::find(Tool::IceboxVlog)?;
    let out_path = work.join("raw_netlist.txt");
    let out = std::fs::File::create(&out_path)
        .map_err(|e| VerifyError::Io(format!("{}: cannot write: {e}", out_path.display())))?;
    let run = Command::new("python3")
        .arg("-c")
        .arg(ICEBOX_VLOG_SHIM)
        .arg(&found.path)
        .args(["-s", "-n", "chip", "-p", "plain.pcf", "unpacked.asc"])
        .current_dir(work)
        .stdin(Stdio::null())
        .stdout(out)
        .output()
        .map_err(|e| VerifyError::Tool(format!("cannot run python3 for icebox_vlog: {e}")))?;
    if !run.status.success() {
        return Err(VerifyError::Tool(format!(
            "icebox_vlog failed: {}",
            String::from_utf8_lossy(&run.stderr).trim()
        )));
    }
    Ok(())
}

/// `set_io` lines without options, for icebox_vlog.
fn plain_pcf(pcf: &str) -> String {
    pcf.lines()
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            if words.first() != Some(&"set_io") {
                return None;
            }
            let rest: Vec<&str> = words[1..]
                .iter()
                .copied()
                .filter(|w| !w.starts_with('-') && *w != "yes" && *w != "no")
                .collect();
            (rest.len() == 2).then(|| format!("set_io {} {}\n", rest[0], rest[1]))
        })
        .collect()
}

/// Makes icebox_vlog's netlist acceptable to Verilator: its ANSI port list is redeclared as
/// wires in the body (which Verilator refuses), and a PLL fed by its dedicated pad leaves the
/// pin's port unconnected (the pad belongs to the PLL): tie that pad net to the port.
fn netlist_for_sim(raw: &str) -> Result<String, VerifyError> {
    let header = raw
        .lines()
        .find(|l| l.starts_with("module chip"))
        .ok_or_else(|| VerifyError::Tool("icebox_vlog wrote no `module chip`".into()))?;
    let ports: Vec<String> = header
        .split(['(', ')', ','])
        .skip(1)
        .filter_map(|p| p.split_whitespace().last().map(str::to_string))
        .filter(|p| !p.is_empty() && p != ";")
        .collect();
    let mut out = String::with_capacity(raw.len());
    let mut pad_net = None;
    let mut reg_ports: Vec<String> = Vec::new();
    for line in raw.lines() {
        let trimmed = line.trim();
        if let Some(net) = trimmed
            .strip_prefix(".PACKAGEPIN(")
            .and_then(|r| r.strip_suffix("),"))
        {
            pad_net = Some(net.to_string());
        }
        let decl = ["wire ", "reg "]
            .iter()
            .find(|k| line.starts_with(**k) && line.trim_end().ends_with(';'));
        if let Some(kind) = decl {
            let mut items = Vec::new();
            for item in line[kind.len()..line.trim_end().len() - 1]
                .split(',')
                .map(str::trim)
            {
                let name = item.split('=').next().unwrap_or("").trim();
                if !ports.iter().any(|p| p == name) {
                    items.push(item);
                } else if *kind == "reg " {
                    // A flip-flop drives the pin directly: the port becomes `output reg`.
                    reg_ports.push(name.to_string());
                }
            }
            if !items.is_empty() {
                out.push_str(kind);
                out.push_str(&items.join(", "));
                out.push_str(";\n");
            }
            continue;
        }
        if line == "endmodule" {
            // The clock pin drives nothing in the netlist when it is the PLL's pad.
            let body_uses_clock = out.lines().any(|l| {
                let l = l.trim_start();
                !l.starts_with("//") && !l.starts_with("module ") && l.contains("clk_in")
            });
            if let (Some(net), false) = (&pad_net, body_uses_clock) {
                out.push_str(&format!("assign {net} = clk_in;\n"));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    for port in reg_ports {
        out = out.replacen(
            &format!("output {port},"),
            &format!("output reg {port},"),
            1,
        );
        out = out.replacen(
            &format!("output {port})"),
            &format!("output reg {port})"),
            1,
        );
    }
    Ok(out)
}

/// Simulation models: the block RAMs from yosys's own iCE40 cell library, and a PLL stand-in
/// that passes its reference clock through (a cycle-level check has no use for the frequency)
/// and raises LOCK after 64 cycles, like a PLL settling after configuration.
fn cell_models() -> Result<String, VerifyError> {
    let lib = yosys_share()?.join("ice40").join("cells_sim.v");
    let text = std::fs::read_to_string(&lib).map_err(|e| {
        VerifyError::Tool(format!(
            "{}: cannot read yosys's cell library: {e}",
            lib.display()
        ))
    })?;
    let mut out = String::from(
        "// Cell models for simulating an icebox_vlog netlist (generated by xnorc).\n\
         `define ICE40_DEFAULT_ASSIGNMENT_V(v)\n`define ICE40_DEFAULT_ASSIGNMENT_0\n\
         `define ICE40_DEFAULT_ASSIGNMENT_1\n/* verilator lint_off WIDTH */\n",
    );
    for module in [
        "SB_RAM40_4K",
        "SB_RAM40_4KNR",
        "SB_RAM40_4KNW",
        "SB_RAM40_4KNRNW",
    ] {
        let start = text
            .find(&format!("module {module} ("))
            .ok_or_else(|| VerifyError::Tool(format!("{}: no {module}", lib.display())))?;
        let end = text[start..]
            .find("endmodule")
            .map(|e| start + e + "endmodule".len())
            .ok_or_else(|| VerifyError::Tool(format!("{}: {module} has no end", lib.display())))?;
        out.push_str(&text[start..end]);
        out.push('\n');
    }
    for (name, clock_in) in [
        ("SB_PLL40_PAD", "PACKAGEPIN"),
        ("SB_PLL40_CORE", "REFERENCECLK"),
    ] {
        out.push_str(&format!(
            "module {name} (input {clock_in}, output PLLOUTCORE, output PLLOUTGLOBAL,\n\
             \x20   input EXTFEEDBACK, input [7:0] DYNAMICDELAY, output reg LOCK, input BYPASS,\n\
             \x20   input RESETB, input LATCHINPUTVALUE, output SDO, input SDI, input SCLK);\n\
             \x20   parameter FEEDBACK_PATH = \"SIMPLE\";\n\
             \x20   parameter DELAY_ADJUSTMENT_MODE_FEEDBACK = \"FIXED\";\n\
             \x20   parameter DELAY_ADJUSTMENT_MODE_RELATIVE = \"FIXED\";\n\
             \x20   parameter SHIFTREG_DIV_MODE = 1'b0;\n\
             \x20   parameter FDA_FEEDBACK = 4'b0000;\n\
             \x20   parameter FDA_RELATIVE = 4'b0000;\n\
             \x20   parameter PLLOUT_SELECT = \"GENCLK\";\n\
             \x20   parameter DIVR = 4'b0000;\n\
             \x20   parameter DIVF = 7'b0000000;\n\
             \x20   parameter DIVQ = 3'b000;\n\
             \x20   parameter FILTER_RANGE = 3'b000;\n\
             \x20   parameter ENABLE_ICEGATE = 1'b0;\n\
             \x20   parameter TEST_MODE = 1'b0;\n\
             \x20   parameter EXTERNAL_DIVIDE_FACTOR = 1;\n\
             \x20   reg [5:0] settle = 6'd0;\n\
             \x20   initial LOCK = 1'b0;\n\
             \x20   assign PLLOUTCORE = {clock_in};\n\
             \x20   assign PLLOUTGLOBAL = {clock_in};\n\
             \x20   assign SDO = 1'b0;\n\
             \x20   always @(posedge {clock_in}) begin\n\
             \x20       if (settle != 6'd63) settle <= settle + 6'd1;\n\
             \x20       LOCK <= settle == 6'd63;\n\
             \x20   end\n\
             endmodule\n"
        ));
    }
    Ok(out)
}

/// yosys's data directory (`yosys-config --datdir`, else /usr/share/yosys).
fn yosys_share() -> Result<PathBuf, VerifyError> {
    let from_config = Command::new("yosys-config")
        .arg("--datdir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let dir = from_config.unwrap_or_else(|| PathBuf::from("/usr/share/yosys"));
    if dir.join("ice40").is_dir() {
        Ok(dir)
    } else {
        Err(VerifyError::Tool(format!(
            "{}: yosys's iCE40 cell library not found; install yosys (`make setup`)",
            dir.display()
        )))
    }
}

/// ECP5: unpack and repack; the configuration must survive the round trip unchanged.
fn ecp5_round_trip(c: &Check<'_>, bitstream: &Path) -> Result<BitstreamReport, VerifyError> {
    let work = c.dir.join("bitcheck");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)
        .map_err(|e| VerifyError::Io(format!("{}: cannot create: {e}", work.display())))?;
    // YoWASP tools see a private /tmp: run in the work directory on relative paths.
    let bit = std::fs::read(bitstream)
        .map_err(|e| VerifyError::Input(format!("{}: {e}", bitstream.display())))?;
    write_output(&work.join("original.bit"), &bit)?;
    run_tool(
        Tool::Ecpunpack,
        &["original.bit", "unpacked.config"],
        &work,
        None,
    )?;
    run_tool(
        Tool::Ecppack,
        &["--compress", "unpacked.config", "repacked.bit"],
        &work,
        None,
    )?;
    run_tool(
        Tool::Ecpunpack,
        &["repacked.bit", "repacked.config"],
        &work,
        None,
    )?;
    let a = std::fs::read(work.join("unpacked.config")).unwrap_or_default();
    let b = std::fs::read(work.join("repacked.config")).unwrap_or_default();
    if a.is_empty() || a != b {
        return Err(VerifyError::Mismatch(format!(
            "{}: the ECP5 bitstream does not survive ecpunpack → ecppack → ecpunpack unchanged",
            bitstream.display()
        )));
    }
    let dir = c.dir.display();
    let message = format!(
        "ECP5: the bitstream round-trips through ecpunpack/ecppack unchanged. No open tool turns \
         an ECP5 bitstream back into a netlist, so this did not check what it computes; to check \
         the design it was built from under Verilator, run `xnorc verify {dir}/model.xnm \
         --folding {dir}/folding.json --design {dir}`."
    );
    Ok(BitstreamReport::RoundTrip(RoundTrip {
        family: "ecp5",
        round_trip: true,
        netlist_check: false,
        note: message,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcf_options_are_dropped() {
        let pcf = "# c\nset_io -pullup yes rst_btn 10\nset_io clk_in 35\n";
        assert_eq!(plain_pcf(pcf), "set_io rst_btn 10\nset_io clk_in 35\n");
    }

    #[test]
    fn port_redeclarations_go_and_the_pll_pad_is_tied() {
        let raw = "// header\nmodule chip (input clk_in, output led);\nwire n1, led, n2;\nreg n3 = 0, led = 0;\n\
                   SB_PLL40_PAD #() p (\n  .PACKAGEPIN(n7),\n);\n// Warning: unmatched port 'clk_in'\nendmodule\n";
        let out = netlist_for_sim(raw).unwrap();
        assert!(out.contains("wire n1, n2;\n"), "{out}");
        assert!(out.contains("reg n3 = 0;\n"), "{out}");
        assert!(out.contains("assign n7 = clk_in;\nendmodule"), "{out}");
        assert!(out.contains("output reg led)"), "{out}");
    }
}
