//! `xnorc bench`: reference-simulator throughput against a popcount bound measured in the same
//! run (so the ratio holds on a noisy machine).

use super::simulate::InputData;
use crate::errors::CliError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;
use xnorc_compiler::ir::ValueType;
use xnorc_compiler::{format, passes, presets};
use xnorc_sim::Simulator;

#[derive(clap::Args)]
pub struct Args {
    /// Preset to benchmark (a random model of that architecture), unless --model is given.
    #[arg(long, default_value = "tfc", value_parser = super::random::preset_parser())]
    arch: String,
    /// Benchmark this model file instead of a preset.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Frames per timed run.
    #[arg(long, default_value_t = 1_000_000)]
    frames: usize,
    /// Timed runs (the best is reported).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let text = match &args.model {
        Some(path) => std::fs::read(path)
            .map_err(|e| CliError::Input(format!("{}: cannot read model: {e}", path.display())))?,
        None => {
            let preset = presets::find(&args.arch).expect("clap checked the preset");
            format::to_json(&preset.generate(1)).into_bytes()
        }
    };
    // Model load = parse + validate + fold, from the file's bytes; best of 20.
    let mut load_seconds = f64::INFINITY;
    let mut graph = None;
    for _ in 0..20 {
        let start = Instant::now();
        let g = passes::lower(&format::parse(&text)?)?;
        load_seconds = load_seconds.min(start.elapsed().as_secs_f64());
        graph = Some(g);
    }
    let graph = graph.expect("loaded at least once");
    let node = graph.input_node();
    let per_frame = node.shape.numel();
    let (lo, hi) = match node.vtype {
        ValueType::Bits => (0, 1),
        ValueType::Int { min, max } => (min, max),
    };
    let name = graph.name.clone();
    let sim = Simulator::new(graph).map_err(|e| CliError::Input(e.to_string()))?;
    // A pool of distinct frames, repeated up to --frames (generating 784M random values
    // would dominate the benchmark's own run time).
    let pool = 4096.min(args.frames.max(1));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let distinct: Vec<i64> = (0..pool * per_frame)
        .map(|_| rng.gen_range(lo..=hi))
        .collect();
    let values = distinct
        .iter()
        .copied()
        .cycle()
        .take(args.frames * per_frame);
    let input = if lo < 0 {
        InputData::I8(values.map(|v| v as i8).collect())
    } else {
        InputData::U8(values.map(|v| v as u8).collect())
    };
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for _ in 0..args.repeats.max(1) {
        let start = Instant::now();
        let r = sim
            .run(input.frames())
            .map_err(|e| CliError::Input(e.to_string()))?;
        std::hint::black_box(&r);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let fps = args.frames as f64 / best;
    let words = sim.popcount_words_per_frame();
    let rate = xnorc_sim::xor_popcount_rate(threads, 0.5);
    let bound = rate / words as f64;
    let ratio = fps / bound;
    if args.json {
        let j = serde_json::json!({
            "model": name,
            "frames": args.frames,
            "threads": threads,
            "seconds": best,
            "frames_per_second": fps,
            "popcount_words_per_frame": words,
            "xor_popcount_words_per_second": rate,
            "popcount_bound_frames_per_second": bound,
            "ratio_to_bound": ratio,
            "model_bytes": text.len(),
            "model_load_ms": load_seconds * 1e3,
        });
        println!("{}", serde_json::to_string_pretty(&j).expect("json"));
    } else {
        println!(
            "model {name}: {} frames on {threads} threads, best of {}",
            args.frames, args.repeats
        );
        println!("  simulator:       {fps:>14.0} frames/s ({:.3} s)", best);
        println!("  popcount words:  {words:>14} per frame");
        println!("  machine:         {rate:>14.3e} XOR+popcount words/s");
        println!("  popcount bound:  {bound:>14.0} frames/s");
        println!("  ratio to bound:  {ratio:>14.2}");
        println!(
            "  model load:      {:>14.3} ms ({} bytes: parse, validate, fold)",
            load_seconds * 1e3,
            text.len()
        );
    }
    Ok(())
}
