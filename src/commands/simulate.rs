//! `xnorc simulate`: the reference simulator on an .npy batch.

use crate::errors::{write_output, CliError};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;
use xnorc_compiler::ir::{Graph, ValueType};
use xnorc_compiler::passes;
use xnorc_sim::npy::{NpyArray, NpyType};
use xnorc_sim::{Frames, Simulator};

/// Input frames owned in the byte type the model takes.
pub enum InputData {
    /// Binary 0/1 or uint8.
    U8(Vec<u8>),
    /// int8.
    I8(Vec<i8>),
}

impl InputData {
    pub fn frames(&self) -> Frames<'_> {
        match self {
            InputData::U8(d) => Frames::U8(d),
            InputData::I8(d) => Frames::I8(d),
        }
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

fn input_error(path: &Path, msg: impl std::fmt::Display) -> CliError {
    CliError::Input(format!("{}: {msg}", path.display()))
}

/// Reads the input batch and checks it against the model's input declaration. An imported
/// model also takes float32 frames shaped like its source graph's input, mapped to codes by its
/// input map exactly as the graph computes them.
pub fn read_input(path: &Path, graph: &Graph) -> Result<(usize, InputData), CliError> {
    let array = NpyArray::read(path).map_err(|e| CliError::Input(e.to_string()))?;
    if array.dtype == NpyType::F32 {
        return map_float_input(path, graph, &array);
    }
    let node = graph.input_node();
    let dims = node.shape.dims();
    if array.shape.len() != dims.len() + 1 || array.shape[1..] != dims[..] {
        return Err(input_error(
            path,
            format!(
                "shape {:?} does not match the model input: expected [N, {}]",
                array.shape,
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let (allowed, hint): (&[NpyType], &str) = match node.vtype {
        ValueType::Bits => (&[NpyType::Bool, NpyType::U8], "bool or uint8 holding 0/1"),
        ValueType::Int { min: 0, max: 255 } => (&[NpyType::U8], "uint8"),
        ValueType::Int { .. } => (&[NpyType::I8], "int8"),
    };
    if !allowed.contains(&array.dtype) {
        return Err(input_error(
            path,
            format!(
                "dtype {} does not match the model's {} input; expected {hint}",
                array.dtype.name(),
                node.vtype.describe()
            ),
        ));
    }
    if node.vtype == ValueType::Bits {
        if let Some(i) = array.data.iter().position(|&v| v > 1) {
            let per = node.shape.numel();
            return Err(input_error(
                path,
                format!(
                    "frame {}, element {} is {}; a binary input takes only 0 and 1",
                    i / per,
                    i % per,
                    array.data[i]
                ),
            ));
        }
    }
    let data = match array.dtype {
        NpyType::I8 => InputData::I8(array.data.iter().map(|&b| b as i8).collect()),
        _ => InputData::U8(array.data),
    };
    Ok((array.shape[0], data))
}

/// Float32 frames through the model's input map.
fn map_float_input(
    path: &Path,
    graph: &Graph,
    array: &NpyArray,
) -> Result<(usize, InputData), CliError> {
    let Some(map) = &graph.input_map else {
        return Err(input_error(
            path,
            format!(
                "holds float32, but the model takes {} codes (only models imported from ONNX \
                 map float input)",
                graph.input_node().vtype.describe()
            ),
        ));
    };
    if array.shape.len() != map.shape.len() + 1 || array.shape[1..] != map.shape[..] {
        return Err(input_error(
            path,
            format!(
                "shape {:?} does not match the graph's float input: expected [N, {}]",
                array.shape,
                map.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let values = array.to_f32().expect("float32 checked");
    let codes = map.codes(&values).map_err(|e| input_error(path, e))?;
    let data = match graph.input_node().vtype {
        ValueType::Int { min, .. } if min < 0 => {
            InputData::I8(codes.iter().map(|&c| c as i8).collect())
        }
        _ => InputData::U8(codes.iter().map(|&c| c as u8).collect()),
    };
    Ok((array.shape[0], data))
}

pub fn read_labels(path: &Path, frames: usize) -> Result<Vec<i64>, CliError> {
    let array = NpyArray::read(path).map_err(|e| CliError::Input(e.to_string()))?;
    if array.shape != [frames] {
        return Err(input_error(
            path,
            format!("labels shape {:?}, expected [{frames}]", array.shape),
        ));
    }
    array.to_i64().ok_or_else(|| {
        input_error(
            path,
            format!("labels must be integers, not {}", array.dtype.name()),
        )
    })
}

fn dump(dir: &Path, sim: &Simulator, input: Frames<'_>, frames: usize) -> Result<(), CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Io(format!("{}: cannot create: {e}", dir.display())))?;
    let per = sim.frame_len();
    let trace = sim
        .trace(input.slice(0, frames * per))
        .map_err(|e| CliError::Input(e.to_string()))?;
    for (i, nv) in trace.iter().enumerate() {
        let node = sim.graph().node(nv.node);
        let mut shape = vec![frames];
        shape.extend(&nv.dims);
        let dtype = if nv.bits { NpyType::U8 } else { NpyType::I64 };
        let file = dir.join(format!("{i:02}_{}.npy", node.ident));
        write_output(
            &file,
            &NpyArray::from_i64(dtype, shape, &nv.values).to_bytes(),
        )?;
    }
    eprintln!(
        "dumped {} nodes x {frames} frames to {} (binary values as stored bits 0/1)",
        trace.len(),
        dir.display()
    );
    Ok(())
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let graph = passes::load_graph(&args.model)?;
    let (frames, input) = read_input(&args.input, &graph)?;
    let labels = args
        .labels
        .as_ref()
        .map(|p| read_labels(p, frames))
        .transpose()?;
    let score_range = graph.node(graph.output).vtype.range();
    let float_tail = graph.float_tail.clone();
    let float_tail = float_tail.as_ref();
    let sim = Simulator::new(graph).map_err(|e| CliError::Input(e.to_string()))?;
    let bar = if frames >= PROGRESS_FRAMES {
        let bar = ProgressBar::new(frames as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} frames {per_sec} eta {eta}")
                .expect("template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let results = sim
        .run_with_progress(input.frames(), &|n| bar.inc(n as u64))
        .map_err(|e| input_error(&args.input, e))?;
    let seconds = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
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
    if let Some(out) = &args.output {
        let array = floats.as_ref().map_or(&scores, |(a, _)| a);
        write_output(out, &array.to_bytes())?;
    }
    if let Some(out) = &args.scores {
        write_output(out, &scores.to_bytes())?;
    }
    let predictions: Vec<usize> = match &floats {
        Some((_, values)) => values
            .chunks(results.classes.max(1))
            .map(argmax_f32)
            .collect(),
        None => results.argmax.clone(),
    };
    if let Some(dir) = &args.dump {
        dump(dir, &sim, input.frames(), args.dump_frames.min(frames))?;
    }
    let accuracy = labels.map(|l| {
        let correct = l
            .iter()
            .zip(&predictions)
            .filter(|(&l, &p)| l == p as i64)
            .count();
        correct as f64 / frames.max(1) as f64
    });
    let fps = frames as f64 / seconds.max(1e-9);
    if args.json {
        let summary = serde_json::json!({
            "frames": frames,
            "classes": results.classes,
            "seconds": seconds,
            "frames_per_second": fps,
            "accuracy": accuracy,
            "output": args.output.as_ref().map(|p| p.display().to_string()),
            "scores": args.scores.as_ref().map(|p| p.display().to_string()),
            "float_output": float_tail.is_some(),
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
    } else {
        println!("simulated {frames} frames in {seconds:.3} s ({fps:.0} frames/s)");
        if let Some(a) = accuracy {
            println!("accuracy: {:.2}% ({frames} labelled frames)", a * 100.0);
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

/// The index of the largest value, the lowest on ties (NumPy's `argmax`; a NaN wins, as there).
pub fn argmax_f32(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if values[best].is_nan() {
            break;
        }
        if v.is_nan() || v > values[best] {
            best = i;
        }
    }
    best
}
