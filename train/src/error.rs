//! What can stop a training run, told apart as bad input (exit 2) or a machine failure.

use xnorc_compiler::fsutil::OutputError;
use xnorc_sim::input::DataError;

/// A training run that cannot start or go on.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TrainError {
    /// Bad arguments or settings: the message names what is wrong.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::train::input),
        help("`xnorc train --help` lists the presets, methods and their settings")
    )]
    Input(String),
    /// Data that cannot be read or do not fit the architecture: the message names the file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] DataError),
    /// A checkpoint that cannot be read or belongs to another run: the message names the file.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::train::checkpoint),
        help(
            "resume with the same data, architecture, method and settings that wrote the \
              checkpoint, or start again without --resume"
        )
    )]
    Checkpoint(String),
    /// The trained model did not load or simulate: a bug in the export, never the user's input.
    #[error("the trained model does not load: {0}")]
    #[diagnostic(code(xnorc::train::export))]
    Export(String),
    /// An output that cannot be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Output(#[from] OutputError),
}

impl TrainError {
    /// True for bad input (exit code 2), false for failures of the machine or of xnorc.
    pub fn is_bad_input(&self) -> bool {
        match self {
            TrainError::Input(_) | TrainError::Checkpoint(_) => true,
            TrainError::Data(e) => !e.is_machine_failure(),
            TrainError::Output(e) => e.is_bad_path(),
            TrainError::Export(_) => false,
        }
    }
}
