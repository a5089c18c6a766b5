//! A generated core under Verilator against the reference simulator: every output of a
//! stall-free run and of a run with random stalls and backpressure must equal the reference's
//! scores, and the stall-free run's cycles must be the ones the plan's cycle model predicts.

use crate::verilator::{self, Stalls};
use crate::VerifyError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_host::{pack, unpack};
use xnorc_plan::HardwarePlan;
use xnorc_sim::input::InputData;
use xnorc_sim::Simulator;

/// What a core check needs besides the model, its plan and the frames.
#[derive(Clone)]
pub struct Options<'a> {
    /// Check the design already in this directory (memory files included) instead of
    /// generating one.
    pub design: Option<&'a Path>,
    /// Directory for generated designs and cached Verilator builds.
    pub build_dir: &'a Path,
    /// Seed of the stall pattern.
    pub seed: u64,
    /// Per mille of cycles with input stalls / output backpressure in the stall run.
    pub stall_per_mille: u32,
    /// Write a VCD of the stall run here.
    pub vcd: Option<&'a Path>,
    /// Where the steps (build, runs, diagnosis) are reported.
    pub progress: &'a dyn Progress,
}

/// The outcome of a core check (`xnorc verify --json`; field order is key order).
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Model name.
    pub model: String,
    /// Frames checked.
    pub frames: usize,
    /// Every output of both runs equals the reference and the cycles the model's.
    pub matches: bool,
    /// What differs, one line each.
    pub failures: Vec<String>,
    /// Measured cycles from the first input beat to the first output beat.
    pub latency_cycles: u64,
    /// Measured cycles between the last two outputs.
    pub ii_cycles: u64,
    /// The cycle model's latency for this run.
    pub predicted_latency_cycles: u64,
    /// The cycle model's II for this run.
    pub predicted_ii_cycles: u64,
    /// The plan's steady-state II.
    pub plan_ii_cycles: u64,
    /// Cycles the stall-free run simulated.
    pub simulated_cycles: u64,
    /// Simulated cycles per wall-clock second.
    pub cycles_per_second: f64,
    /// Wall time of the Verilator build.
    pub build_seconds: f64,
    /// Cycles of the stall run.
    pub stall_run_cycles: Option<u64>,
}

/// Generates (or takes) the design, builds it with Verilator and runs both checks; the report
/// lists every difference (`matches` false), with the first differing stage located.
pub fn check(
    graph: &Graph,
    plan: &HardwarePlan,
    input: &InputData,
    opts: &Options<'_>,
) -> Result<VerifyReport, VerifyError> {
    let frames_n = input.frames().len() / graph.input_node().shape.numel();
    if frames_n == 0 {
        return Err(VerifyError::Input("no input frames to verify".into()));
    }
    let reference = Simulator::new(graph.clone()).and_then(|s| s.run(input.frames()))?;
    // Generate into a fresh directory (unless checking a given one); the harness caches builds
    // by content, so a changed bit anywhere means a new build.
    let (design_dir, generated): (PathBuf, bool) = match opts.design {
        Some(dir) => (dir.to_path_buf(), false),
        None => {
            let dir = opts.build_dir.join("designs").join(format!(
                "{}-{}",
                plan.model,
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            xnorc_rtl::write::write_design(&dir, plan)?;
            (dir, true)
        }
    };
    let top = xnorc_rtl::top_name(plan);
    let in_width = plan.stages[0].input.width();
    let start = Instant::now();
    opts.progress.step(
        &format!(
            "verify: building {top} with Verilator (cached under {})",
            opts.build_dir.display()
        ),
        None,
    );
    let mut harness = verilator::build(
        &design_dir,
        &top,
        in_width,
        &opts.build_dir.join("verilator"),
        opts.vcd.is_some(),
    )?;
    harness.reset_release = xnorc_rtl::top::reset_release_cycles(plan);
    if generated {
        let _ = std::fs::remove_dir_all(&design_dir);
    }
    let build_seconds = start.elapsed().as_secs_f64();
    let stim = pack(plan, input.frames(), harness.in_words);
    let predicted = plan.simulate(frames_n);
    let limit = predicted.output_cycles.last().copied().unwrap_or(0) * 20 + 10_000;
    opts.progress.step(
        &format!("verify: {frames_n} frames, stall-free and with stalls"),
        None,
    );
    let start = Instant::now();
    let timing = harness.run(&stim, frames_n, Stalls::NONE, limit, None)?;
    let sim_seconds = start.elapsed().as_secs_f64();
    let stalls = Stalls {
        seed: opts.seed,
        input_per_mille: opts.stall_per_mille,
        output_per_mille: opts.stall_per_mille,
    };
    let stalled = harness.run(&stim, frames_n, stalls, limit * 10, opts.vcd)?;
    // Compare every output of both runs with the reference.
    let classes = reference.classes;
    let mut failures = Vec::new();
    for (run_name, log) in [("stall-free run", &timing), ("stall run", &stalled)] {
        for (f, (_, words)) in log.outputs.iter().enumerate() {
            let (scores, argmax) = unpack(plan, words);
            let want = &reference.scores[f * classes..(f + 1) * classes];
            if let Some(c) = (0..classes).find(|&c| scores[c] != want[c]) {
                failures.push(format!(
                    "{run_name}: frame {f}, class {c}: hardware score {} but the reference gives {} \
                     (hardware scores {scores:?}, reference {want:?})",
                    scores[c], want[c]
                ));
                break;
            }
            if argmax != reference.argmax[f] {
                failures.push(format!(
                    "{run_name}: frame {f}: hardware argmax {argmax}, reference {}",
                    reference.argmax[f]
                ));
                break;
            }
        }
    }
    if !failures.is_empty() {
        opts.progress.step(
            "verify: outputs differ; locating the first differing stage",
            None,
        );
        let found = crate::diagnose::first_differing_stage(
            graph,
            plan,
            input.frames(),
            frames_n,
            opts.build_dir,
            opts.design,
        )?;
        failures.push(found.unwrap_or_else(|| {
            "every stage before the scores matches the reference: the scores stage differs".into()
        }));
    }
    opts.progress.done();
    let measured_out: Vec<u64> = timing.outputs.iter().map(|(c, _)| *c).collect();
    if timing.input_cycles != predicted.input_cycles || measured_out != predicted.output_cycles {
        let first = measured_out
            .iter()
            .zip(&predicted.output_cycles)
            .position(|(a, b)| a != b);
        failures.push(format!(
            "cycle model mismatch: output cycles measured {:?}… predicted {:?}… (first difference at frame {:?})",
            &measured_out[..measured_out.len().min(4)],
            &predicted.output_cycles[..predicted.output_cycles.len().min(4)],
            first
        ));
    }
    let latency = measured_out[0] - timing.input_cycles[0];
    let ii = if frames_n > 1 {
        measured_out[frames_n - 1] - measured_out[frames_n - 2]
    } else {
        latency
    };
    let cycles = measured_out[frames_n - 1] + 1;
    Ok(VerifyReport {
        model: plan.model.clone(),
        frames: frames_n,
        matches: failures.is_empty(),
        failures,
        latency_cycles: latency,
        ii_cycles: ii,
        predicted_latency_cycles: predicted.latency(),
        predicted_ii_cycles: predicted.ii(),
        plan_ii_cycles: plan.ii_cycles,
        simulated_cycles: cycles,
        cycles_per_second: cycles as f64 / sim_seconds.max(1e-9),
        build_seconds,
        stall_run_cycles: stalled.outputs.last().map(|(c, _)| c + 1),
    })
}
