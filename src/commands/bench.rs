//! `xnorc bench`: reference-simulator throughput against a popcount bound measured in the same
//! run (`xnorc_sim::bench`).

use crate::errors::CliError;
use std::path::PathBuf;
use xnorc_compiler::{format, presets};

#[derive(clap::Args)]
pub struct Args {
    /// Preset to benchmark (a random model of that architecture), unless --model is given.
    #[arg(long, default_value = "tfc", value_parser = super::random::preset_parser())]
    arch: String,
    /// Benchmark this model file instead of a preset (.xnm, or .onnx imported first: its
    /// model load then times the imported .xnm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Frames per timed run.
    #[arg(long, default_value_t = 1_000_000, value_parser = super::at_least_one())]
    frames: usize,
    /// Timed runs (the best is reported).
    #[arg(long, default_value_t = 3, value_parser = super::at_least_one())]
    repeats: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let text = match &args.model {
        Some(path) => {
            // Loaded once through the common loader first: a bad file is reported as by every
            // other command (file, node, field), and ONNX is imported.
            let model = xnorc_compiler::import::load_model(path)?;
            if xnorc_compiler::import::is_imported(path) {
                format::to_json(&model).into_bytes()
            } else {
                std::fs::read(path).map_err(|e| {
                    CliError::Input(format!("{}: cannot read model: {e}", path.display()))
                })?
            }
        }
        None => {
            let preset = presets::find(&args.arch).expect("clap checked the preset");
            format::to_json(&preset.generate(1)).into_bytes()
        }
    };
    let r = xnorc_sim::bench::measure(&text, args.frames, args.repeats)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r).expect("json"));
    } else {
        let (fps, words) = (r.frames_per_second, r.popcount_words_per_frame);
        let (rate, bound) = (
            r.xor_popcount_words_per_second,
            r.popcount_bound_frames_per_second,
        );
        println!(
            "model {}: {} frames on {} threads, best of {}",
            r.model, r.frames, r.threads, args.repeats
        );
        println!(
            "  simulator:       {fps:>14.0} frames/s ({:.3} s)",
            r.seconds
        );
        println!("  popcount words:  {words:>14} per frame");
        if r.direct_words_per_frame > 0 {
            println!(
                "  summed directly: {:>14} of them (integer input of few channels, no popcount)",
                r.direct_words_per_frame
            );
        }
        println!("  machine:         {rate:>14.3e} XOR+popcount words/s");
        println!("  popcount bound:  {bound:>14.0} frames/s");
        println!("  ratio to bound:  {:>14.2}", r.ratio_to_bound);
        println!(
            "  model load:      {:>14.3} ms ({} bytes: parse, validate, fold)",
            r.model_load_ms, r.model_bytes
        );
    }
    Ok(())
}
