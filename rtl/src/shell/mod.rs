//! The fixed-shape board shell, written with rust-hdl: the host link ([`Link`]) between a
//! UART and the core's request/response byte streams, with its reset synchronizer.
//!
//! [`link_verilog`] renders it to one self-contained Verilog text. The sub-blocks
//! ([`UartRx`], [`UartTx`], [`ResetSync`], [`Crc16`], [`ByteFifo`], [`StatusQueue`],
//! [`RxFramer`], [`TxFramer`]) are rust-hdl blocks, each tested on its own with rust-hdl's
//! simulator.
//!
//! # Host link protocol
//!
//! The line is a UART, 8N1 (start bit, 8 data bits LSB first, stop bit), idle high, at
//! `clocks_per_bit` core clocks per bit. Frame sizes are fixed when the design is built:
//! `N = request_bytes`, `M = response_bytes` ([`LinkParams`]). CRC means CRC-16/CCITT-FALSE
//! (poly 0x1021, init 0xFFFF, not reflected, xorout 0; [`Crc16`] in hardware), sent high
//! byte first.
//!
//! **Request** (host → board): `0xA5`, then exactly `N` payload bytes, then
//! `CRC(payload)` (2 bytes).
//! - While waiting for a request the board ignores every byte other than `0xA5` (and a `0xA5`
//!   received with a framing error).
//! - Each payload byte goes to the core (`req_*`) as it arrives, through an 8-byte FIFO that
//!   absorbs the core's backpressure; the board never holds a whole frame, so the core has
//!   the payload before the CRC verdict (the status byte tells the host whether to trust the
//!   answer). The core gets exactly `N` bytes per request, whatever happens on the line:
//!   - *Truncation*: once the sync byte is in, if no byte arrives for `timeout_cycles` (counted
//!     from the middle of the previous byte's stop bit; see [Timer precision](#timer-precision))
//!     while payload or CRC bytes are still expected, the board stops waiting: it sends the
//!     core zero bytes for the missing payload and flags the request truncated.
//!   - *Overrun*: a payload byte that arrives while the FIFO is full is lost; a zero byte is
//!     sent to the core in its place at the end of the payload, and the request is flagged.
//!   - A byte with a framing error (stop bit 0) still counts and is passed on, and flagged.
//! - The CRC is checked against the payload bytes as received (lost ones included).
//!
//! **Response** (board → host): `0x5A`, a status byte, the `M` bytes of the core's response
//! stream (`resp_*`) in order, then `CRC(status, payload)` (2 bytes). It starts once the
//! request is complete (its CRC bytes received and checked, or timed out, and all `N` bytes
//! handed to the FIFO) *and* the core offers its first response byte; the core may do so
//! early (even before the request's CRC bytes have arrived: `resp_ready` stays low until the
//! response frame reaches its payload) or late. Bytes are taken from the core one at a time,
//! each when the UART can send it, and nothing is sent that the core has not offered.
//!
//! Status bits (0 = good; bits 4–7 are always 0): bit 0 [`STATUS_CRC`] request CRC mismatch;
//! bit 1 [`STATUS_TRUNCATED`] request timed out; bit 2 [`STATUS_OVERRUN`] a payload byte was
//! lost; bit 3 [`STATUS_FRAMING`] a UART framing error in this request (after its sync
//! byte). On a truncated request the CRC was not checked, so bit 0 is only set if a CRC byte
//! that did arrive was wrong. A host should use the response payload only when the status is
//! 0, but always gets exactly one response per accepted request.
//!
//! **Flow**: a window of two. As soon as a request is complete and its status queued, the
//! board hunts for the next `0xA5`, while the core computes and the response goes out: a host
//! sends request `k + 1` right behind request `k`, and request `k + 2` once the whole response
//! to `k` has arrived. Responses come in request order. The board holds the statuses of two
//! complete requests whose responses are not sent ([`StatusQueue`]); a third complete request
//! waits for room (its payload is already with the core), and every byte that arrives
//! meanwhile is ignored, so a request beyond the window is lost entirely and gets no
//! response: core and statuses stay in step. The board top buffers a whole request payload
//! between the link and the core (`xnorc_bram_fifo`), so request `k + 1` never overruns while
//! the core still holds frame `k`. If no response comes within `timeout_cycles` plus the
//! core's latency, the request's sync byte was lost: send the request again. Reset (button,
//! PLL not locked) drops any request or response in progress and empties the FIFO and the
//! status queue.
//!
//! The activity LED (`led`, active high) is on from a request's sync byte until its response
//! has been sent, and for `led_cycles` cycles after (see below).
//!
//! # Timer precision
//!
//! The UART bit timing is exact. The two slow timers, the request timeout and the LED hold,
//! count ticks of a shared free-running prescaler of period `P = 2^k` cycles instead of
//! cycles: `k` is the smallest value for which both take at most 2048 ticks, so `P = 1`
//! (exact) when `timeout_cycles` and `led_cycles` are both at most 2048, and for example
//! `P = 2048` for a 3 000 000-cycle LED hold. Each such timer lasts its parameter plus
//! between 0 and `2P - 2` cycles (never less than asked: a request is never cut short, a
//! host's gaps up to `timeout_cycles` are always tolerated). With 48 MHz, 115200 baud
//! (`timeout_cycles` 417 000, `led_cycles` 3 000 000) that is at most 4094 cycles (85 µs)
//! more.
//!
//! # Clock speed
//!
//! The link is built to run well above the core's clock (on an iCE40 UP5K on its own it
//! places at about 100 MHz): every counter is a down-counter that ends on its sign bit
//! ([`Countdown`]), sized to its parameter when the design is built, so there are no wide
//! comparators and the carry chains are as short as the parameters allow (the UART's bit
//! timer has `log2(clocks_per_bit) + 1` bits, the byte counters `log2` of the frame sizes
//! plus one, the slow timers' tick counters at most 12 and their prescaler `k + 1`); the
//! state machines are one-hot; and the signals between the blocks (byte strobes, FIFO
//! pushes, UART starts, `resp_ready`, `reset`) come from flip-flops. The price is a few
//! cycles of latency inside the link (a response starts a couple of cycles later than a
//! purely combinational design would start it), invisible at the protocol level.

mod countdown;
mod crc;
mod fifo;
mod link;
mod render;
mod reset;
mod rx_framer;
#[cfg(test)]
mod sim;
mod status_queue;
mod tx_framer;
mod uart_rx;
mod uart_tx;

#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod verilator_check;

pub use countdown::Countdown;
pub use crc::{Crc16, CRC16_INIT, CRC16_POLY};
pub use fifo::ByteFifo;
pub use link::Link;
pub use render::link_verilog;
pub use reset::{AsyncSetFlop, ResetCopy, ResetSync};
pub use rx_framer::RxFramer;
pub use status_queue::StatusQueue;
pub use tx_framer::TxFramer;
pub use uart_rx::UartRx;
pub use uart_tx::UartTx;

/// First byte of a request frame.
pub const REQUEST_SYNC: u8 = 0xA5;
/// First byte of a response frame.
pub const RESPONSE_SYNC: u8 = 0x5A;
/// Status bit: the request's CRC did not match.
pub const STATUS_CRC: u8 = 0x01;
/// Status bit: the request timed out; missing payload bytes were replaced by zeros.
pub const STATUS_TRUNCATED: u8 = 0x02;
/// Status bit: a payload byte was lost because the request FIFO was full.
pub const STATUS_OVERRUN: u8 = 0x04;
/// Status bit: a byte of the request had a UART framing error (stop bit 0).
pub const STATUS_FRAMING: u8 = 0x08;

/// Largest value of a 24-bit counter: the bound on every count parameter. (Each counter is
/// sized to its parameter when the design is built, so most are much narrower.)
pub const MAX_COUNT: u32 = (1 << 24) - 1;

/// Construction-time parameters of the host link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkParams {
    /// Core clocks per UART bit (clock frequency / baud rate, rounded), at least 4.
    pub clocks_per_bit: u32,
    /// Payload bytes per request (`N`), at least 1.
    pub request_bytes: u32,
    /// Payload bytes per response (`M`), at least 1.
    pub response_bytes: u32,
    /// Cycles without a byte, after a request's sync byte, before the request is declared
    /// truncated; at least 20 bit times, so a host sending back-to-back or with up to a
    /// byte's gap never trips it. Counted in prescaled ticks: the actual timeout is up to
    /// `2P - 2` cycles longer (see [Timer precision](self#timer-precision)).
    pub timeout_cycles: u32,
    /// Cycles the LED stays on after each response (0 allowed); up to `2P - 2` cycles more,
    /// like `timeout_cycles`.
    pub led_cycles: u32,
    /// Each part of the link (receive side, transmit side, request FIFO, status queue) runs
    /// from its own registered copy of the reset, one cycle after it; otherwise all from the
    /// synchronizer's output ([`xnorc_plan::folding::FoldingFile::reset_copies`]).
    pub reset_copies: bool,
}

impl LinkParams {
    /// Checks every value fits the hardware (24-bit counters) and makes sense.
    pub fn validate(&self) -> Result<(), ShellError> {
        let check = |name: &'static str, value: u32, min: u32, max: u32, why: &str| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ShellError::Param {
                    name,
                    value,
                    reason: format!("must be in {min}..={max} ({why})"),
                })
            }
        };
        check(
            "clocks_per_bit",
            self.clocks_per_bit,
            4,
            MAX_COUNT / 20,
            "the receiver needs a half-bit of at least 2 clocks; 20 bit times must fit the \
             24-bit timeout counter",
        )?;
        check(
            "request_bytes",
            self.request_bytes,
            1,
            MAX_COUNT,
            "24-bit byte counter",
        )?;
        check(
            "response_bytes",
            self.response_bytes,
            1,
            MAX_COUNT,
            "24-bit byte counter",
        )?;
        check(
            "timeout_cycles",
            self.timeout_cycles,
            20 * self.clocks_per_bit,
            MAX_COUNT,
            "at least 20 bit times, 24-bit counter",
        )?;
        check(
            "led_cycles",
            self.led_cycles,
            0,
            MAX_COUNT,
            "24-bit counter",
        )
    }
}

/// Byte times one frame takes on the line when the host keeps the window full: the longer of
/// its request (`N + 3` bytes) and its response (`M + 4`), since the line carries both
/// directions at once.
pub fn line_bytes_per_frame(params: &LinkParams) -> u32 {
    (params.request_bytes + 3).max(params.response_bytes + 4)
}

/// Core clock cycles one frame takes on the line ([`line_bytes_per_frame`], 10 bits a byte).
pub fn line_cycles_per_frame(params: &LinkParams) -> u64 {
    10 * u64::from(params.clocks_per_bit) * u64::from(line_bytes_per_frame(params))
}

/// Why the shell could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShellError {
    /// A [`LinkParams`] value is out of range.
    #[error("link parameter {name} = {value} is out of range: {reason}")]
    Param {
        /// Field name.
        name: &'static str,
        /// Offending value.
        value: u32,
        /// Allowed range and why.
        reason: String,
    },
    /// The requested module name is not a plain Verilog identifier.
    #[error("module name {0:?} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)")]
    ModuleName(String),
    /// rust-hdl's structural checks rejected the design (a bug in the shell).
    #[error("rust-hdl design check failed: {0}")]
    Check(String),
}
