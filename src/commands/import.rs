//! `xnorc import`: a model from another tool (QONNX/ONNX) → a native `.xnm` model, exactly, or
//! with `--calibrate` approximately where the graph leaves tensors unquantized, with the
//! distance to the float graph reported.

use crate::errors::{check_output, write_output, CliError};
use std::path::{Path, PathBuf};
use xnorc_compiler::import::qonnx::calibrate::{self, Calibration};
use xnorc_compiler::ir::Graph;
use xnorc_compiler::{format, import, passes};
use xnorc_sim::input::{read_input, DataError};
use xnorc_sim::metrics::Agreement;
use xnorc_sim::npy::{NpyArray, NpyType};
use xnorc_sim::Simulator;

#[derive(clap::Args)]
pub struct Args {
    /// The model to import (.onnx).
    model: PathBuf,
    /// The .xnm file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Float32 frames .npy [N, ...graph input without batch]: choose fixed-point formats for
    /// the tensors the graph adds or averages without a quantizer, from the magnitudes these
    /// frames give them, and report how far the integer model is from the float graph on them.
    #[arg(long, value_name = "FRAMES")]
    calibrate: Option<PathBuf>,
    /// Bits of the calibrated formats (signed codes, power-of-two scales).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=calibrate::MAX_BITS as i64))]
    calibrate_bits: u32,
    /// Print what was imported as JSON.
    #[arg(long)]
    json: bool,
}

/// Imports the model, checks that it lowers (so a model xnorc cannot compile is never
/// written), and writes it.
pub fn run(args: &Args) -> Result<(), CliError> {
    check_output(&args.output)?;
    let (file, calibration) = match &args.calibrate {
        None => (import::load_model(&args.model)?, None),
        Some(frames) => {
            let shape = calibrate::frame_shape(&args.model)?;
            let frames_f32 = calibration_frames(frames, &shape)?;
            let (file, cal) = calibrate::load(&args.model, &frames_f32, args.calibrate_bits)?;
            (file, Some(cal))
        }
    };
    let model = &args.model;
    let graph = passes::lower(&file).map_err(|e| e.in_file(model.display().to_string()))?;
    let agreement = match (&calibration, &args.calibrate) {
        (Some(cal), Some(frames)) => Some(compare(&graph, cal, frames)?),
        _ => None,
    };
    write_output(&args.output, format::to_json(&file).as_bytes())?;
    let weights: usize = graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            xnorc_compiler::ir::Op::MatMul(m) => Some(m.weights.count()),
            _ => None,
        })
        .sum();
    let mapping = graph
        .input_map
        .as_ref()
        .map(|map| xnorc_compiler::summary::describe_input_map(map, &graph));
    if args.json {
        let report = serde_json::json!({
            "model": model.display().to_string(),
            "output": args.output.display().to_string(),
            "nodes": graph.nodes.len(),
            "binary_weights": weights,
            "classes": graph.classes(),
            "input_mapping": mapping,
            "calibration": calibration.as_ref().map(|c| calibration_json(c, agreement.as_ref())),
        });
        println!("{}", serde_json::to_string_pretty(&report).expect("json"));
        return Ok(());
    }
    println!(
        "imported {}: {} nodes, {} binary weights, {} classes -> {}",
        model.display(),
        graph.nodes.len(),
        weights,
        graph.classes(),
        args.output.display()
    );
    if let Some(mapping) = mapping {
        println!("input mapping: {mapping}");
    }
    if let (Some(cal), Some(a)) = (&calibration, &agreement) {
        print_calibration(cal, a);
    }
    Ok(())
}

/// The calibration frames: float32 frames of the graph input, `[N, ...shape]`.
fn calibration_frames(path: &Path, shape: &[usize]) -> Result<Vec<Vec<f32>>, CliError> {
    let array = NpyArray::read(path).map_err(DataError::from)?;
    let mismatch = |message: String| DataError::Mismatch {
        path: path.to_path_buf(),
        message,
    };
    let values = match (array.dtype, array.to_f32()) {
        (NpyType::F32, Some(v)) => v,
        _ => {
            return Err(mismatch(format!(
                "holds {}; calibration frames are float32 [N, ...graph input without batch]",
                array.dtype.name()
            ))
            .into())
        }
    };
    let per_frame: usize = shape.iter().product();
    if array.shape.len() < 2 || array.shape[0] == 0 || array.shape[1..] != *shape {
        return Err(mismatch(format!(
            "shape {:?}; calibration frames are [N, {}] (the graph input without its batch), \
             N ≥ 1",
            array.shape,
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    Ok(values.chunks(per_frame).map(<[f32]>::to_vec).collect())
}

/// The integer model's float outputs on the calibration frames against the float graph's.
fn compare(graph: &Graph, cal: &Calibration, frames: &Path) -> Result<Agreement, CliError> {
    let (n, input) = read_input(frames, graph)?;
    let tail = graph.float_tail.clone();
    let sim = Simulator::new(graph.clone()).map_err(DataError::from)?;
    let results = sim.run(input.frames()).map_err(|e| DataError::Mismatch {
        path: frames.to_path_buf(),
        message: e.to_string(),
    })?;
    let values: Vec<f32> = match &tail {
        Some(tail) => tail.outputs(&results.scores, results.classes),
        None => results.scores.iter().map(|&s| s as f32).collect(),
    };
    let per_frame = values.len() / n.max(1);
    let got: Vec<Vec<f32>> = values
        .chunks(per_frame.max(1))
        .map(<[f32]>::to_vec)
        .collect();
    Ok(Agreement::between(&cal.float_outputs, &got))
}

fn calibration_json(cal: &Calibration, agreement: Option<&Agreement>) -> serde_json::Value {
    serde_json::json!({
        "tensors": cal.tensors.iter().map(|t| serde_json::json!({
            "tensor": t.tensor,
            "node": t.node,
            "max_abs": t.max_abs,
            "bits": t.bits,
            "scale": t.scale,
        })).collect::<Vec<_>>(),
        "frames": agreement.map(|a| a.frames),
        "argmax_agree": agreement.map(|a| a.argmax_agree),
        "argmax_agreement": agreement.map(Agreement::argmax_share),
        "max_abs_error": agreement.map(|a| a.max_abs_error),
        "max_rel_error": agreement.map(|a| a.max_rel_error),
    })
}

fn print_calibration(cal: &Calibration, a: &Agreement) {
    if cal.tensors.is_empty() {
        println!("calibration: every tensor is quantized in the graph; the import is exact");
    } else {
        println!(
            "calibration: {} unquantized tensor(s) given fixed-point formats:",
            cal.tensors.len()
        );
        for t in &cal.tensors {
            println!(
                "  {} (node {}): |x| ≤ {} on the frames -> {}-bit codes × {}",
                t.tensor, t.node, t.max_abs, t.bits, t.scale
            );
        }
    }
    println!(
        "against the float graph on {} frames: argmax agrees on {} ({:.2}%), largest error {:.6} \
         ({:.4}% of the frame's largest output)",
        a.frames,
        a.argmax_agree,
        a.argmax_share() * 100.0,
        a.max_abs_error,
        a.max_rel_error * 100.0
    );
}
