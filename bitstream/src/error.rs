//! Why a build stops, and the file helpers whose failures it names.

use std::path::Path;
use xnorc_boards::board::BoardError;
use xnorc_boards::flow::FlowError;
use xnorc_compiler::fsutil::{self, OutputError};
use xnorc_compiler::ModelError;
use xnorc_rtl::write::RtlError;

/// Why a build stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BuildError {
    /// A bad model or folding file (file, node, field inside).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    /// A bad board name or file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Board(#[from] BoardError),
    /// Something given is unusable (a model file that cannot be read, a clock no PLL makes, a
    /// build directory without its report).
    #[error("{0}")]
    #[diagnostic(code(xnorc::input))]
    Input(String),
    /// Something given is unusable, and what to do instead.
    #[error("{message}")]
    #[diagnostic(code(xnorc::input), help("{help}"))]
    Refused {
        /// What is wrong, naming the file.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// The design does not fit the device: what is over and a way out.
    #[error("{message}")]
    #[diagnostic(code(xnorc::does_not_fit), help("{help}"))]
    DoesNotFit {
        /// What is over, and by how much.
        message: String,
        /// A way out.
        help: String,
    },
    /// A design could not be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rtl(#[from] RtlError),
    /// A tool of the flow failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Flow(#[from] FlowError),
    /// An output cannot be written: an unusable folder (bad input) or the machine's fault.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Output(#[from] OutputError),
    /// The HTML report could not be made.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Report(#[from] xnorc_report::ReportError),
    /// The bitstream was built but place and route missed the clock.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::timing),
        help("build again with a lower --clock-mhz, or without it to let xnorc pick the clock")
    )]
    TimingNotMet(String),
}

impl BuildError {
    /// True when what was given is bad (model, folding, board, arguments, a design that does not
    /// fit); false when the machine or a tool failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            BuildError::Model(_)
            | BuildError::Board(_)
            | BuildError::Input(_)
            | BuildError::Refused { .. }
            | BuildError::DoesNotFit { .. } => true,
            BuildError::Rtl(e) => e.is_bad_input(),
            BuildError::Output(e) => e.is_bad_path(),
            BuildError::Report(e) => e.is_bad_input(),
            BuildError::Flow(_) | BuildError::TimingNotMet(_) => false,
        }
    }
}

pub(crate) fn create_dir(dir: &Path) -> Result<(), BuildError> {
    Ok(fsutil::create_dir(dir)?)
}

pub(crate) fn write_output(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    Ok(fsutil::write_output(path, bytes)?)
}
