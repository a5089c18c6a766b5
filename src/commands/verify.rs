//! `xnorc verify`: the generated core under Verilator against the reference simulator.

use super::compile::{build_plan, write_design};
use super::simulate::{read_input, InputData};
use crate::errors::CliError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;
use xnorc_compiler::ir::{Graph, ValueType};
use xnorc_compiler::plan::{schedule, HardwarePlan, StageKind};
use xnorc_sim::verilator::{self, Stalls};
use xnorc_sim::{Frames, Simulator};

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm or .onnx); with --bitstream, the build's copy by default.
    #[arg(required_unless_present = "bitstream")]
    model: Option<PathBuf>,
    /// Check the bitstream in this `xnorc build` directory instead of the generated Verilog:
    /// on iCE40 the unpacked bitstream's netlist runs against the reference simulator; on ECP5
    /// the bitstream is round-tripped (no netlist-level check exists).
    #[arg(long, value_name = "DIR")]
    bitstream: Option<PathBuf>,
    /// Random input frames to check (ignored with --input).
    /// (default 64; 4 with --bitstream, whose netlist simulates at the UART's real bit time).
    #[arg(long)]
    vectors: Option<usize>,
    /// Input frames (.npy, as for `simulate`) instead of random ones.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Folding file.
    #[arg(long)]
    folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding (as for `compile`).
    #[arg(long)]
    lut_budget: Option<usize>,
    /// Seed for random inputs and stall patterns.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Per mille of cycles with input stalls / output backpressure in the stall run.
    #[arg(long, default_value_t = 300)]
    stall_per_mille: u32,
    /// Write a VCD of the stall run.
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Verify the design already in DIR (from `xnorc compile` with the same model and folding)
    /// instead of generating one: checks what is on disk, memory files included.
    #[arg(long, value_name = "DIR")]
    design: Option<PathBuf>,
    /// Directory for generated designs and cached Verilator builds.
    #[arg(long, default_value = "build")]
    build_dir: PathBuf,
    /// Print a JSON report.
    #[arg(long)]
    json: bool,
}

fn random_frames(graph: &Graph, n: usize, seed: u64) -> InputData {
    let node = graph.input_node();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let len = n * node.shape.numel();
    match node.vtype {
        ValueType::Bits => InputData::U8((0..len).map(|_| rng.gen_range(0..=1)).collect()),
        ValueType::Int { min, .. } if min < 0 => {
            InputData::I8((0..len).map(|_| rng.gen()).collect())
        }
        ValueType::Int { .. } => InputData::U8((0..len).map(|_| rng.gen()).collect()),
    }
}

/// Packs frames into input beats: SIMD elements per beat, element i at bits [i·b, (i+1)·b).
pub fn pack(plan: &HardwarePlan, frames: Frames<'_>, words: usize) -> Vec<u32> {
    let s = &plan.stages[0].input;
    let (elems, bits) = (s.elems, s.bits as usize);
    let per_frame = plan.input_order.len();
    let mut out = Vec::with_capacity(frames.len() / elems * words);
    for beat in 0..frames.len() / elems {
        let mut w = vec![0u32; words];
        for e in 0..elems {
            // Stream position → the element's index in the frame's logical (C, H, W) order.
            let at = beat * elems + e;
            let v =
                frames.get(at / per_frame * per_frame + plan.input_order[at % per_frame]) as u64;
            for b in 0..bits {
                if (v >> b) & 1 == 1 {
                    let bit = e * bits + b;
                    w[bit / 32] |= 1 << (bit % 32);
                }
            }
        }
        out.extend(w);
    }
    out
}

/// Scores and argmax from an output beat (words least significant first).
pub fn unpack(plan: &HardwarePlan, words: &[u32]) -> (Vec<i64>, usize) {
    let StageKind::Scores(sc) = &plan.stages.last().expect("stages").kind else {
        unreachable!("the last stage scores")
    };
    let bit = |i: usize| (words.get(i / 32).copied().unwrap_or(0) >> (i % 32)) & 1 == 1;
    let field =
        |lsb: usize, w: usize| -> u64 { (0..w).fold(0, |v, i| v | (bit(lsb + i) as u64) << i) };
    let b = sc.score_bits as usize;
    let scores = (0..sc.classes)
        .map(|c| {
            let raw = field(c * b, b);
            ((raw << (64 - b)) as i64) >> (64 - b)
        })
        .collect();
    let ib = xnorc_rtl::verilog::clog2(sc.classes);
    (scores, field(sc.classes * b, ib) as usize)
}

pub fn run(args: &Args) -> Result<(), CliError> {
    if let Some(dir) = &args.bitstream {
        return run_bitstream(args, dir);
    }
    let model = args
        .model
        .as_deref()
        .expect("clap requires a model without --bitstream");
    let (graph, plan) = build_plan(model, args.folding.as_deref(), args.lut_budget, false)?;
    let input = match &args.input {
        Some(p) => read_input(p, &graph)?.1,
        None => random_frames(&graph, args.vectors.unwrap_or(64), args.seed),
    };
    let frames_n = input.frames().len() / graph.input_node().shape.numel();
    if frames_n == 0 {
        return Err(CliError::Input("no input frames to verify".into()));
    }
    let reference = Simulator::new(graph.clone())
        .and_then(|s| s.run(input.frames()))
        .map_err(|e| CliError::Input(e.to_string()))?;
    // Generate into a fresh directory (unless checking a given one); the harness caches builds
    // by content, so a changed bit anywhere means a new build.
    let (design_dir, generated) = match &args.design {
        Some(dir) => (dir.clone(), false),
        None => {
            let dir = args.build_dir.join("designs").join(format!(
                "{}-{}",
                plan.model,
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&dir);
            write_design(&dir, &plan)?;
            (dir, true)
        }
    };
    let top = xnorc_rtl::top_name(&plan);
    let in_width = plan.stages[0].input.width();
    let start = Instant::now();
    eprintln!(
        "verify: building {top} with Verilator (cached under {})",
        args.build_dir.display()
    );
    let harness = verilator::build(
        &design_dir,
        &top,
        in_width,
        &args.build_dir.join("verilator"),
        args.vcd.is_some(),
    )
    .map_err(|e| CliError::Failed(e.to_string()))?;
    if generated {
        let _ = std::fs::remove_dir_all(&design_dir);
    }
    let build_seconds = start.elapsed().as_secs_f64();
    let stim = pack(&plan, input.frames(), harness.in_words);
    let beats = plan.stages[0].input.beats;
    let predicted = schedule::simulate(&plan.pipeline, beats, frames_n);
    let limit = predicted.output_cycles.last().copied().unwrap_or(0) * 20 + 10_000;
    let start = Instant::now();
    let timing = harness
        .run(&stim, frames_n, Stalls::NONE, limit, None)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let sim_seconds = start.elapsed().as_secs_f64();
    let stalls = Stalls {
        seed: args.seed,
        input_per_mille: args.stall_per_mille,
        output_per_mille: args.stall_per_mille,
    };
    let stalled = harness
        .run(&stim, frames_n, stalls, limit * 10, args.vcd.as_deref())
        .map_err(|e| CliError::Failed(e.to_string()))?;
    // Compare every output of both runs with the reference.
    let classes = reference.classes;
    let mut failures = Vec::new();
    for (run_name, log) in [("stall-free run", &timing), ("stall run", &stalled)] {
        for (f, (_, words)) in log.outputs.iter().enumerate() {
            let (scores, argmax) = unpack(&plan, words);
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
        eprintln!("verify: outputs differ; locating the first differing stage");
        let found = super::diagnose::first_differing_stage(
            &graph,
            &plan,
            input.frames(),
            frames_n,
            &args.build_dir,
            args.design.as_deref(),
        )?;
        failures.push(found.unwrap_or_else(|| {
            "every stage before the scores matches the reference: the scores stage differs".into()
        }));
    }
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
    let report = serde_json::json!({
        "model": plan.model,
        "frames": frames_n,
        "matches": failures.is_empty(),
        "failures": failures,
        "latency_cycles": latency,
        "ii_cycles": ii,
        "predicted_latency_cycles": predicted.latency(),
        "predicted_ii_cycles": predicted.ii(),
        "plan_ii_cycles": plan.ii_cycles,
        "simulated_cycles": cycles,
        "cycles_per_second": cycles as f64 / sim_seconds.max(1e-9),
        "build_seconds": build_seconds,
        "stall_run_cycles": stalled.outputs.last().map(|(c, _)| c + 1),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        println!(
            "verified {frames_n} frames of {}: {}",
            plan.model,
            if failures.is_empty() {
                "bit-exact in both runs"
            } else {
                "MISMATCH"
            }
        );
        println!(
            "latency {latency} cycles (predicted {}), II {ii} cycles/frame (predicted {}), \
             {:.0} simulated cycles/s",
            predicted.latency(),
            predicted.ii(),
            cycles as f64 / sim_seconds.max(1e-9)
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(failures.join("\n")))
    }
}

/// `--bitstream DIR`: the build's model and folding, frames, and the bitstream check.
fn run_bitstream(args: &Args, dir: &std::path::Path) -> Result<(), CliError> {
    let report = super::flash::read_report(dir)?;
    let board = xnorc_boards::board::find(report["board"].as_str().unwrap_or_default())?;
    let model = args.model.clone().unwrap_or_else(|| dir.join("model.xnm"));
    let folding = args
        .folding
        .clone()
        .or_else(|| Some(dir.join("folding.json")).filter(|f| f.is_file()));
    let (graph, plan) = build_plan(&model, folding.as_deref(), args.lut_budget, false)?;
    let input = match &args.input {
        Some(p) => read_input(p, &graph)?.1,
        None => random_frames(&graph, args.vectors.unwrap_or(4), args.seed),
    };
    let frames = input.frames().len() / graph.input_node().shape.numel();
    let reference = Simulator::new(graph.clone())
        .and_then(|s| s.run(input.frames()))
        .map_err(|e| CliError::Input(e.to_string()))?;
    super::bitcheck::check(&super::bitcheck::Check {
        dir,
        report: &report,
        board: &board,
        graph: &graph,
        plan: &plan,
        input: &input,
        frames,
        reference: &reference,
        cache: &args.build_dir.join("verilator"),
        json: args.json,
    })
}
