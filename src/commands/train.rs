//! `xnorc train`: trains a binary network with one of the research methods and writes the model.

use crate::errors::{check_output, write_output, CliError};
use crate::progress::Terminal;
use clap::builder::{PossibleValue, PossibleValuesParser};
use std::path::PathBuf;
use std::time::Instant;
use xnorc_compiler::format;
use xnorc_train::arch::ArchSpec;
use xnorc_train::method::{Rates, METHODS};
use xnorc_train::{Arch, Dataset, Hyper, Method, Persistence, Settings};

#[derive(clap::Args)]
pub struct Args {
    /// Training data: a .npz with x_train, y_train, x_test, y_test (float32 frames [N, C, H, W]
    /// with pixels in [0, 1], integer labels [N]); the set-up writes datasets/mnist.npz and
    /// datasets/digits.npz.
    #[arg(long)]
    data: PathBuf,
    /// Architecture: a preset — tfc, sfc, lfc (binary MLPs 64/256/1024 wide on 1-bit input),
    /// cnv-small, cnv (3x3 conv networks on 8-bit input) — or a spec file ending in .json
    /// (docs/training.md).
    #[arg(long, default_value = "tfc", value_parser = arch_parser())]
    arch: String,
    /// Bits of every hidden activation: 1 (signs, the default) or 2 to 4 (2^b levels, as
    /// FINN's w1a2 networks; the model holds them as multi-level thresholds). Overrides a spec
    /// file's act_bits.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=4))]
    act_bits: Option<u32>,
    /// Training method.
    #[arg(long, default_value = "binarynet", value_parser = method_parser())]
    method: String,
    /// Epochs.
    #[arg(long, default_value_t = 40, value_parser = super::at_least_one())]
    epochs: usize,
    /// Frames per batch (default: the method's: 50 for the Bop methods, 100 for the others).
    #[arg(long, value_parser = super::at_least_one())]
    batch: Option<usize>,
    /// Adam's learning rate at the first epoch (default: the method's).
    #[arg(long)]
    lr: Option<f32>,
    /// Adam's learning rate at the last epoch, reached linearly (default: the method's — cosine
    /// to 0 for binarynet, siman, tiled and codebook; linear for the others).
    #[arg(long)]
    lr_end: Option<f32>,
    /// Dropout probability in training (default: 0.2 for the MLPs, 0 for the CNNs).
    #[arg(long)]
    dropout: Option<f32>,
    /// Bop's adaptivity rate γ at the first epoch (default: the method's).
    #[arg(long)]
    bop_gamma: Option<f32>,
    /// Bop's threshold τ at the first epoch (default: the method's).
    #[arg(long)]
    bop_tau: Option<f32>,
    /// Bop2ndOrder's second-moment rate σ at the first epoch (default: the method's).
    #[arg(long)]
    bop_sigma: Option<f32>,
    /// Keep Bop's γ, τ, σ constant instead of the method's schedule.
    #[arg(long)]
    bop_constant: bool,
    /// Tiled method: how many times each layer's one binary tile repeats — one p for every
    /// hidden layer of at least --tile-min weights (default 4), or one per matrix layer
    /// (e.g. 4,4,4,1).
    #[arg(long, value_delimiter = ',')]
    tiles: Option<Vec<usize>>,
    /// Tiled method with one p: layers with fewer weights stay untiled (default 2048).
    #[arg(long)]
    tile_min: Option<usize>,
    /// Codebook method: index width τ, 2^τ binary 3x3 kernels per layer (1–9, default 5).
    #[arg(long)]
    tau: Option<u32>,
    /// Seed of the initialization and the batch order: the same seed gives the same model.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the trained model (.xnm).
    #[arg(short, long)]
    output: PathBuf,
    /// Write the run's state after every epoch to this file.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Continue the run a checkpoint holds (the same data and settings).
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Stop after this many epochs of the run (with --checkpoint, --resume continues it later).
    #[arg(long, value_parser = super::at_least_one())]
    stop_after: Option<usize>,
    /// Print the run's figures as JSON (per epoch and final).
    #[arg(long)]
    json: bool,
}

/// A preset's name or a spec file's path (checked when read).
fn arch_parser() -> impl clap::builder::TypedValueParser<Value = String> {
    move |value: &str| -> Result<String, String> {
        if value.ends_with(".json") || Arch::names().contains(&value) {
            return Ok(value.to_string());
        }
        Err(format!(
            "unknown architecture `{value}`: the presets are {}, or give a spec file ending in \
             .json",
            Arch::names().join(", ")
        ))
    }
}

fn method_parser() -> PossibleValuesParser {
    PossibleValuesParser::new(
        METHODS
            .iter()
            .map(|(_, name, about)| PossibleValue::new(*name).help(*about)),
    )
}

/// The run's hyper-parameters: the method's defaults with the arguments given.
fn hyper(args: &Args, method: Method) -> Result<Hyper, CliError> {
    let mut h = Hyper::defaults(method, args.epochs);
    h.batch = args.batch.unwrap_or(h.batch);
    h.lr = args.lr.unwrap_or(h.lr);
    h.dropout = args.dropout;
    if args.lr_end.is_some() {
        h.lr_end = args.lr_end;
    }
    let bop_given = args.bop_gamma.is_some() || args.bop_tau.is_some() || args.bop_sigma.is_some();
    match &mut h.bop_start {
        None if bop_given || args.bop_constant => {
            return Err(CliError::Input(format!(
                "--bop-gamma, --bop-tau, --bop-sigma and --bop-constant apply to the Bop methods, \
                 not to {}",
                method.name()
            )))
        }
        None => {}
        Some(start) => {
            *start = Rates {
                gamma: args.bop_gamma.unwrap_or(start.gamma),
                tau: args.bop_tau.unwrap_or(start.tau),
                sigma: args.bop_sigma.unwrap_or(start.sigma),
            };
            if args.bop_constant {
                h.bop_end = None;
            }
        }
    }
    let only_for = |what: &str, method_name: &str| {
        Err(CliError::Input(format!(
            "{what} applies to --method {method_name}, not to {}",
            method.name()
        )))
    };
    match &mut h.tiles {
        Some(tiles) => {
            if let Some(p) = &args.tiles {
                tiles.p.clone_from(p);
            }
            if let Some(min) = args.tile_min {
                tiles.min_weights = min;
            }
        }
        None if args.tiles.is_some() || args.tile_min.is_some() => {
            return only_for("--tiles/--tile-min", "tiled")
        }
        None => {}
    }
    match args.tau {
        Some(_) if h.tau.is_none() => return only_for("--tau", "codebook"),
        Some(tau) => h.tau = Some(tau),
        None => {}
    }
    Ok(h)
}

pub fn run(args: &Args) -> Result<(), CliError> {
    check_output(&args.output)?;
    if let Some(path) = &args.checkpoint {
        check_output(path)?;
    }
    let method = Method::parse(&args.method)?;
    let mut arch = ArchSpec::resolve(&args.arch)?;
    if let Some(bits) = args.act_bits {
        arch.act_bits = bits;
    }
    let settings = Settings {
        arch,
        method,
        hyper: hyper(args, method)?,
        seed: args.seed,
    };
    let data = Dataset::read(&args.data)?;
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let persistence = Persistence {
        checkpoint: args.checkpoint.clone(),
        resume: args.resume.clone(),
        stop_after: args.stop_after,
    };
    if args.stop_after.is_some() && args.checkpoint.is_none() {
        return Err(CliError::Input(
            "--stop-after needs --checkpoint FILE, to resume the run from later".into(),
        ));
    }
    let start = Instant::now();
    let progress = Terminal::new();
    let trained = xnorc_train::train(&data, &settings, &command, &persistence, &progress)?;
    let seconds = start.elapsed().as_secs_f64();
    let text = format::to_json(&trained.model);
    write_output(&args.output, text.as_bytes())?;
    let last = trained.history.last().expect("at least one epoch");
    if args.json {
        let report = serde_json::json!({
            "output": args.output.display().to_string(),
            "data": args.data.display().to_string(),
            "settings": settings,
            "test_frames": trained.test_frames,
            "test_accuracy": last.test_accuracy,
            "float_test_accuracy": last.float_test_accuracy,
            "disagreements": last.disagreements,
            "seconds": seconds,
            "epochs": trained.history,
            "finished": trained.history.len() == settings.hyper.epochs,
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
    } else {
        eprintln!(
            "wrote {}: {} trained with {} for {} epochs in {seconds:.1} s; held-out accuracy \
             {:.2}% on {} frames (the model file, as `xnorc simulate --labels` computes it)",
            args.output.display(),
            settings.arch.name,
            method.name(),
            settings.hyper.epochs,
            100.0 * last.test_accuracy,
            trained.test_frames
        );
    }
    Ok(())
}
