//! CLI errors and their exit codes: 2 for bad input of any kind (model, data, arguments), 1 for
//! failures of the machine (cannot write a file).

use std::fmt;
use xnorc_compiler::ModelError;

/// An error the CLI reports.
#[derive(Debug)]
pub enum CliError {
    /// A bad model (file, node, field inside).
    Model(ModelError),
    /// Bad input data or arguments: the message names the file and what is wrong.
    Input(String),
    /// The machine failed us (I/O on output files).
    Io(String),
    /// A check failed (hardware differs from the reference).
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Model(_) | CliError::Input(_) => 2,
            CliError::Io(_) | CliError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Model(e) => write!(f, "{e}"),
            CliError::Input(m) | CliError::Io(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<ModelError> for CliError {
    fn from(e: ModelError) -> Self {
        CliError::Model(e)
    }
}

/// Writes an output file atomically, mapping failures to an error naming the file.
pub fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    xnorc_compiler::fsutil::write_atomic(path, bytes)
        .map_err(|e| CliError::Io(format!("{}: cannot write: {e}", path.display())))
}

impl From<xnorc_boards::BoardError> for CliError {
    fn from(e: xnorc_boards::BoardError) -> Self {
        CliError::Input(e.to_string())
    }
}
