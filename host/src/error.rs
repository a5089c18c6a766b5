//! How the link to a board fails.

use std::time::Duration;

/// A link failure.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LinkError {
    /// No complete response in time.
    #[error("timeout: {got} of {want} response bytes after {after:?} at {baud} baud")]
    #[diagnostic(
        code(xnorc::link::timeout),
        help(
            "is the board programmed (`xnorc flash DIR`), the port right and the baud rate {baud}?"
        )
    )]
    Timeout {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        want: usize,
        /// How long we waited.
        after: Duration,
        /// Baud rate used.
        baud: u32,
    },
    /// The response's CRC is wrong: it was corrupted on the way.
    #[error("response CRC mismatch (got {got:#06x}, computed {want:#06x}): corrupted on the line")]
    #[diagnostic(
        code(xnorc::link::crc),
        help("check the cable and the baud rate; then try again")
    )]
    ResponseCrc {
        /// CRC in the response.
        got: u16,
        /// CRC computed.
        want: u16,
    },
    /// The port failed.
    #[error("{0}")]
    #[diagnostic(code(xnorc::link::port))]
    Io(String),
}
