//! How the link to a board fails.

use std::time::Duration;

/// A link failure.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// No complete response in time.
    #[error("timeout: {got} of {want} response bytes after {after:?}; is the board programmed, the port right and the baud rate {baud}?")]
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
    ResponseCrc {
        /// CRC in the response.
        got: u16,
        /// CRC computed.
        want: u16,
    },
    /// The port failed.
    #[error("{0}")]
    Io(String),
}
