//! CLI errors and their exit codes: 2 for bad input of any kind (model, folding, board file,
//! data, arguments), 1 for failures of the machine (cannot write a file), of a tool or of a
//! check. Library errors keep their messages; only their kind decides the code.

use std::fmt;
use xnorc_bitstream::BuildError;
use xnorc_boards::BoardError;
use xnorc_compiler::ModelError;
use xnorc_rtl::write::RtlError;
use xnorc_sim::input::DataError;
use xnorc_verify::VerifyError;

/// An error the CLI reports.
#[derive(Debug)]
pub enum CliError {
    /// A bad model (file, node, field inside).
    Model(ModelError),
    /// A bad board name or file.
    Board(BoardError),
    /// Bad input data, or outputs that cannot be written.
    Data(Box<DataError>),
    /// A design that cannot be written.
    Rtl(Box<RtlError>),
    /// A hardware check that could not run or did not pass.
    Verify(Box<VerifyError>),
    /// A build that stopped.
    Build(Box<BuildError>),
    /// Bad arguments: the message names what is wrong.
    Input(String),
    /// A tool or a check failed.
    Failed(String),
}

impl CliError {
    /// The process exit code: 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        let bad_input = match self {
            CliError::Model(_) | CliError::Board(_) | CliError::Input(_) => true,
            CliError::Data(e) => !e.is_machine_failure(),
            CliError::Rtl(e) => matches!(**e, RtlError::Link(_)),
            CliError::Verify(e) => e.is_bad_input(),
            CliError::Build(e) => e.is_bad_input(),
            CliError::Failed(_) => false,
        };
        if bad_input {
            2
        } else {
            1
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Model(e) => write!(f, "{e}"),
            CliError::Board(e) => write!(f, "{e}"),
            CliError::Data(e) => write!(f, "{e}"),
            CliError::Rtl(e) => write!(f, "{e}"),
            CliError::Verify(e) => write!(f, "{e}"),
            CliError::Build(e) => write!(f, "{e}"),
            CliError::Input(m) | CliError::Failed(m) => f.write_str(m),
        }
    }
}

macro_rules! from {
    ($($variant:ident($ty:ty) $(, $boxed:ident)?);*) => {$(
        impl From<$ty> for CliError {
            fn from(e: $ty) -> Self {
                CliError::$variant(from!(@wrap e $(, $boxed)?))
            }
        }
    )*};
    (@wrap $e:ident) => { $e };
    (@wrap $e:ident, boxed) => { Box::new($e) };
}

from!(
    Model(ModelError);
    Board(BoardError);
    Data(DataError), boxed;
    Rtl(RtlError), boxed;
    Verify(VerifyError), boxed;
    Build(BuildError), boxed
);

impl From<xnorc_sim::SimError> for CliError {
    fn from(e: xnorc_sim::SimError) -> Self {
        CliError::Data(Box::new(e.into()))
    }
}

/// Writes an output file atomically, mapping failures to an error naming the file.
pub fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    Ok(xnorc_sim::input::write_output(path, bytes)?)
}
