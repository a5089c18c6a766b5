//! `xnorc simulate`: the reference simulator on an .npy batch.

use crate::errors::{check_output, CliError};
use crate::progress::Terminal;
use std::path::PathBuf;
use std::time::Instant;
use xnorc_compiler::fsutil::OutputSet;
use xnorc_compiler::load::load_graph;
use xnorc_compiler::progress::Progress;
use xnorc_sim::input::{argmax_f32, dump, read_input, read_labels, DataError};
use xnorc_sim::metrics::Confusion;
use xnorc_sim::npy::{NpyArray, NpyType};
use xnorc_sim::Simulator;

/// The predicted class of every frame: the argmax of the integer scores, or for a model imported
/// from ONNX of its source graph's float output (`float_outputs`), which decides there.
pub fn predictions(results: &xnorc_sim::Results, float_outputs: Option<&[f32]>) -> Vec<usize> {
    match float_outputs {
        Some(values) => values
            .chunks(results.classes.max(1))
            .map(argmax_f32)
            .collect(),
        None => results.argmax.clone(),
    }
}

/// Frames above which a progress bar is shown.
const PROGRESS_FRAMES: usize = 20_000;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm, or .onnx imported on the way).
    model: PathBuf,
    /// Input frames: .npy shaped [N, ...input shape]; bool or uint8 0/1 for binary inputs,
    /// uint8/int8 as the model's input declares for integer inputs; for a model imported from
    /// ONNX also float32 shaped [N, ...graph input without batch], mapped as the graph does.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the output: the class scores as .npy [N, classes] (int32 when they fit,
    /// else int64); for a model imported from ONNX, the graph's float32 output [N, ...].
    #[arg(long)]
    output: Option<PathBuf>,
    /// Where to write the integer class scores (before an imported model's float tail).
    #[arg(long)]
    scores: Option<PathBuf>,
    /// Labels .npy [N] (any integer type): print accuracy.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Write every node's output for the first --dump-frames frames as .npy files into DIR.
    #[arg(long, value_name = "DIR")]
    dump: Option<PathBuf>,
    /// Frames to dump.
    #[arg(long, default_value_t = 8)]
    dump_frames: usize,
    /// Print a JSON summary.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    // Both outputs are written, or neither: their places are checked before any work.
    for path in args.output.iter().chain(&args.scores) {
        check_output(path)?;
    }
    if args.output.is_some() && args.output == args.scores {
        return Err(CliError::Input(
            "--output and --scores name the same file; give each its own".into(),
        ));
    }
    let graph = load_graph(&args.model)?;
    let (frames, input) = read_input(&args.input, &graph)?;
    let labels = args
        .labels
        .as_ref()
        .map(|p| read_labels(p, frames, graph.classes()))
        .transpose()?;
    let score_range = graph.node(graph.output).vtype.range();
    let float_tail = graph.float_tail.clone();
    let float_tail = float_tail.as_ref();
    let sim = Simulator::new(graph)?;
    let progress = Terminal::new();
    if frames >= PROGRESS_FRAMES {
        progress.step("simulate: frames", Some(frames as u64));
    }
    let start = Instant::now();
    let results = sim
        .run_with_progress(input.frames(), &|n| progress.advance(n as u64))
        .map_err(|e| DataError::Mismatch {
            path: args.input.clone(),
            message: e.to_string(),
        })?;
    let seconds = start.elapsed().as_secs_f64();
    progress.done();
    let fits_i32 = score_range.0 >= i32::MIN as i64 && score_range.1 <= i32::MAX as i64;
    let dtype = if fits_i32 { NpyType::I32 } else { NpyType::I64 };
    let scores = NpyArray::from_i64(dtype, vec![frames, results.classes], &results.scores);
    // An imported model's output is its source graph's float output; argmax follows it.
    let floats = float_tail.map(|tail| {
        let values = tail.outputs(&results.scores, results.classes);
        let mut shape = vec![frames];
        shape.extend(&tail.shape);
        (NpyArray::from_f32(shape, &values), values)
    });
    let mut outputs = OutputSet::new();
    if let Some(out) = &args.output {
        let array = floats.as_ref().map_or(&scores, |(a, _)| a);
        outputs.add(out, &array.to_bytes())?;
    }
    if let Some(out) = &args.scores {
        outputs.add(out, &scores.to_bytes())?;
    }
    let predictions = predictions(&results, floats.as_ref().map(|(_, v)| v.as_slice()));
    if let Some(dir) = &args.dump {
        let dumped = args.dump_frames.min(frames);
        let nodes = dump(dir, &sim, input.frames(), dumped)?;
        eprintln!(
            "dumped {nodes} nodes x {dumped} frames to {} (binary values as stored bits 0/1)",
            dir.display()
        );
    }
    outputs.commit()?;
    let confusion = labels.map(|l| Confusion::new(results.classes, &l, &predictions));
    let accuracy = confusion.as_ref().map(Confusion::accuracy);
    let fps = frames as f64 / seconds.max(1e-9);
    if args.json {
        let summary = serde_json::json!({
            "frames": frames,
            "classes": results.classes,
            "seconds": seconds,
            "frames_per_second": fps,
            "accuracy": accuracy,
            "per_class": confusion.as_ref().map(Confusion::per_class),
            "confusion": confusion.as_ref().map(|c| &c.matrix),
            "output": args.output.as_ref().map(|p| p.display().to_string()),
            "scores": args.scores.as_ref().map(|p| p.display().to_string()),
            "float_output": float_tail.is_some(),
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
    } else {
        println!("simulated {frames} frames in {seconds:.3} s ({fps:.0} frames/s)");
        if let Some(c) = &confusion {
            println!(
                "accuracy: {:.2}% ({frames} labelled frames)",
                c.accuracy() * 100.0
            );
            print_confusion(c);
        }
        if let Some(out) = &args.output {
            let what = if float_tail.is_some() {
                "graph output (float32)"
            } else {
                "scores"
            };
            println!("{what}: {}", out.display());
        }
        if let Some(out) = &args.scores {
            println!("integer scores: {}", out.display());
        }
    }
    Ok(())
}

/// Classes up to which the confusion matrix is printed as a table (`--json` always has it).
const MATRIX_CLASSES: usize = 20;

/// Per-class accuracy, and the confusion matrix with true labels as rows.
fn print_confusion(c: &Confusion) {
    println!("per class (accuracy = correct / labelled):");
    for k in c.per_class() {
        let share = k
            .accuracy
            .map_or("-".to_string(), |a| format!("{:.2}%", a * 100.0));
        println!(
            "  class {:>3}: {share:>7} ({} / {})",
            k.class, k.correct, k.frames
        );
    }
    if c.classes > MATRIX_CLASSES {
        println!("confusion matrix: {} classes, in --json", c.classes);
        return;
    }
    let cell = c
        .matrix
        .iter()
        .flatten()
        .max()
        .map_or(1, |m| m.to_string().len())
        .max(3);
    println!("confusion matrix (rows: label, columns: predicted):");
    let header: String = (0..c.classes).map(|p| format!(" {p:>cell$}")).collect();
    println!("  {:>5} {header}", "");
    for (label, row) in c.matrix.iter().enumerate() {
        let cells: String = row.iter().map(|n| format!(" {n:>cell$}")).collect();
        println!("  {label:>5} {cells}");
    }
}
