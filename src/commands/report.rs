//! `xnorc report`: the HTML report of a compile or build directory, with accuracy and a
//! confusion matrix when inputs and labels are given.

use super::simulate::predictions;
use crate::errors::CliError;
use std::path::{Path, PathBuf};
use xnorc_compiler::load::load_graph;
use xnorc_report::Accuracy;
use xnorc_sim::input::{read_input, read_labels, DataError};
use xnorc_sim::metrics::Confusion;
use xnorc_sim::Simulator;

#[derive(clap::Args)]
pub struct Args {
    /// A directory written by `xnorc build` (or `xnorc compile`, for a plan without a build).
    pub dir: PathBuf,
    /// Input frames (.npy or .npz, as for `simulate`) whose predictions against --labels give
    /// the accuracy and the confusion matrix.
    #[arg(long, requires = "labels")]
    pub input: Option<PathBuf>,
    /// Labels .npy [N] for --input.
    #[arg(long, requires = "input")]
    pub labels: Option<PathBuf>,
    /// The model the accuracy is computed for (default: DIR/model.xnm, which every build
    /// writes).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Print what was written as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The reference simulator's predictions for `inputs` against `labels`.
fn accuracy(args: &Args, inputs: &Path, labels: &Path) -> Result<Accuracy, CliError> {
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| args.dir.join("model.xnm"));
    if !model.exists() {
        return Err(CliError::Refused {
            message: format!("{}: no model to compute the accuracy with", model.display()),
            help: "give it with --model (a `compile` directory holds no model)".into(),
        });
    }
    let graph = load_graph(&model)?;
    let (frames, input) = read_input(inputs, &graph)?;
    let labels = read_labels(labels, frames, graph.classes())?;
    let float_tail = graph.float_tail.clone();
    let sim = Simulator::new(graph)?;
    let results = sim.run(input.frames()).map_err(|e| DataError::Mismatch {
        path: inputs.to_path_buf(),
        message: e.to_string(),
    })?;
    let floats = float_tail.map(|tail| tail.outputs(&results.scores, results.classes));
    let predicted = predictions(&results, floats.as_deref());
    Ok(Accuracy {
        inputs: inputs.display().to_string(),
        confusion: Confusion::new(results.classes, &labels, &predicted),
    })
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let accuracy = match (&args.input, &args.labels) {
        (Some(i), Some(l)) => Some(accuracy(args, i, l)?),
        _ => None,
    };
    let path = xnorc_report::write_report(&args.dir, accuracy.as_ref())?;
    if args.json {
        let summary = serde_json::json!({
            "report": path.display().to_string(),
            "accuracy": accuracy.as_ref().map(|a| a.confusion.accuracy()),
        });
        println!("{}", serde_json::to_string_pretty(&summary).expect("json"));
    } else {
        println!("wrote {}", path.display());
    }
    Ok(())
}
