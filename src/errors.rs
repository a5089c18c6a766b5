//! CLI errors and their exit codes: 2 for bad input of any kind (model, folding, board file,
//! data, arguments), 1 for failures of the machine (cannot write a file), of a tool or of a
//! check. Library errors keep their messages and help; only their kind decides the code. Every
//! error is a [`miette::Diagnostic`], rendered by [`crate::diagnostics`].

use xnorc_bitstream::BuildError;
use xnorc_boards::tools::Missing;
use xnorc_boards::BoardError;
use xnorc_compiler::fsutil::OutputError;
use xnorc_compiler::ModelError;
use xnorc_rtl::write::RtlError;
use xnorc_sim::input::DataError;
use xnorc_verify::VerifyError;

/// An error the CLI reports.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CliError {
    /// A bad model (file, node, field inside).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    /// A bad board name or file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Board(#[from] BoardError),
    /// Bad input data, or outputs that cannot be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(Box<DataError>),
    /// A design that cannot be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rtl(Box<RtlError>),
    /// A hardware check that could not run or did not pass.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Verify(Box<VerifyError>),
    /// A build that stopped.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Build(Box<BuildError>),
    /// An output that cannot be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Output(#[from] OutputError),
    /// An HTML report that cannot be made.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Report(#[from] xnorc_report::ReportError),
    /// A training run that could not start or go on.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Train(Box<xnorc_train::TrainError>),
    /// A tool that is not installed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Missing(#[from] Missing),
    /// Bad arguments: the message names what is wrong.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::arguments),
        help("`xnorc help COMMAND` lists the arguments")
    )]
    Input(String),
    /// Bad input, and what to do instead.
    #[error("{message}")]
    #[diagnostic(code(xnorc::input), help("{help}"))]
    Refused {
        /// What is wrong, naming the file.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// A tool or a check failed.
    #[error("{0}")]
    #[diagnostic(code(xnorc::failed))]
    Failed(String),
}

impl CliError {
    /// The process exit code: 2 for bad input, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        let bad_input = match self {
            CliError::Model(_)
            | CliError::Board(_)
            | CliError::Input(_)
            | CliError::Refused { .. } => true,
            CliError::Data(e) => !e.is_machine_failure(),
            CliError::Rtl(e) => e.is_bad_input(),
            CliError::Output(e) => e.is_bad_path(),
            CliError::Report(e) => e.is_bad_input(),
            CliError::Verify(e) => e.is_bad_input(),
            CliError::Build(e) => e.is_bad_input(),
            CliError::Train(e) => e.is_bad_input(),
            CliError::Missing(_) | CliError::Failed(_) => false,
        };
        if bad_input {
            2
        } else {
            1
        }
    }
}

macro_rules! boxed_from {
    ($($variant:ident($ty:ty));*) => {$(
        impl From<$ty> for CliError {
            fn from(e: $ty) -> Self {
                CliError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Data(DataError);
    Rtl(RtlError);
    Verify(VerifyError);
    Build(BuildError);
    Train(xnorc_train::TrainError)
);

impl From<xnorc_sim::SimError> for CliError {
    fn from(e: xnorc_sim::SimError) -> Self {
        CliError::Data(Box::new(e.into()))
    }
}

/// Checks, before any work, that an output file can be written where the arguments say
/// (`fsutil::check_output_file`): a missing or read-only folder is a bad argument.
pub fn check_output(path: &std::path::Path) -> Result<(), CliError> {
    Ok(xnorc_compiler::fsutil::check_output_file(path)?)
}

/// Writes an output file atomically, mapping failures to an error naming the file.
pub fn write_output(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    Ok(xnorc_sim::input::write_output(path, bytes)?)
}
