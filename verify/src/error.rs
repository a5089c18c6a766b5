//! The verify crate's errors, by kind: bad input (model, data, board, build directory) or a
//! failure of the machine, a tool or the check itself.

use xnorc_boards::BoardError;
use xnorc_compiler::ModelError;
use xnorc_rtl::write::RtlError;
use xnorc_sim::input::DataError;
use xnorc_sim::SimError;

/// Why a check could not run or did not pass.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum VerifyError {
    /// A bad model (file, node, field inside).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] ModelError),
    /// Bad input data, or an output that cannot be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] DataError),
    /// The reference simulator refused the frames.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sim(#[from] SimError),
    /// A design could not be written.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Rtl(#[from] RtlError),
    /// A bad board name or file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Board(#[from] BoardError),
    /// Something given is unusable: the message names it (a build directory without its
    /// report, no frames, …).
    #[error("{0}")]
    #[diagnostic(code(xnorc::input))]
    Input(String),
    /// The Verilator harness failed (Verilator missing, a build or a run failed).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Harness(#[from] crate::verilator::HarnessError),
    /// An external tool is not installed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Missing(#[from] xnorc_boards::tools::Missing),
    /// An external tool failed or is missing.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::tool),
        help("`xnorc doctor` shows which tools are found and how to install the others")
    )]
    Tool(String),
    /// The link to a board failed (the port, a timeout, a corrupted response).
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::link),
        help("is the board programmed (`xnorc flash DIR`), the port right and the baud rate the board's?")
    )]
    Link(String),
    /// The machine failed (a file or directory).
    #[error("{0}")]
    #[diagnostic(code(xnorc::io))]
    Io(String),
    /// The hardware differs from the reference.
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::mismatch),
        help("`--vcd FILE` writes a waveform of the stall run; `--design DIR` checks a design on disk")
    )]
    Mismatch(String),
}

impl VerifyError {
    /// True when what was given is bad (model, data, board, build directory); false when the
    /// machine, a tool or the check failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            VerifyError::Model(_)
            | VerifyError::Sim(_)
            | VerifyError::Board(_)
            | VerifyError::Input(_) => true,
            VerifyError::Data(e) => !e.is_machine_failure(),
            VerifyError::Rtl(e) => matches!(e, RtlError::Link(_)),
            VerifyError::Harness(_)
            | VerifyError::Missing(_)
            | VerifyError::Tool(_)
            | VerifyError::Link(_)
            | VerifyError::Io(_)
            | VerifyError::Mismatch(_) => false,
        }
    }
}
