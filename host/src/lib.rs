//! The host side of the board link (docs/uart-protocol.md): frames in, scores out, over a serial
//! port — a real board's USB-UART or the simulated board's pseudo-terminal, through the same
//! code.
//!
//! Request: 0xA5, the input frame's bits in stream order (LSB first, zero-padded to a byte),
//! CRC-16/CCITT-FALSE of the payload (high byte first). Response: 0x5A, a status byte, the
//! output beat's bits (scores, then argmax) packed the same way, CRC-16 of status + payload.
//!
//! Owns: the host side of that protocol: frames ↔ stream beats ([`beats`]), request and
//! response framing with their CRC ([`Wire`]), status decoding, the serial port ([`serial`])
//! and its USB bridge's latency timer ([`latency`]).
//! Must not touch: the hardware side of the link (crate `xnorc-rtl` generates it), checks of
//! answers against the reference (crate `xnorc-verify`); it depends on neither. It reads a plan
//! (crate `xnorc-plan`) for the stream shapes and takes frames from `xnorc-sim`.

pub mod beats;
mod error;
pub mod latency;
pub mod serial;

pub use beats::{pack, unpack};
pub use error::LinkError;

use std::time::Duration;
use xnorc_plan::HardwarePlan;
use xnorc_sim::Frames;

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, not reflected, no final XOR), the link's
/// checksum: the `crc` crate's CRC-16/IBM-3740, which is that algorithm under its catalogue name.
pub const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_IBM_3740);

/// The CRC-16/CCITT-FALSE of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// The frame sizes of the wire format, defined once with the plan for both ends of the link.
pub use xnorc_plan::memories::{request_bytes, response_bytes};

/// Request sync byte.
pub const REQUEST_SYNC: u8 = 0xA5;
/// Response sync byte.
pub const RESPONSE_SYNC: u8 = 0x5A;

/// Status bits of a response.
pub mod status {
    /// The request's CRC did not match: its scores are of a corrupted frame.
    pub const CRC_MISMATCH: u8 = 1;
    /// The request stopped early and was padded with zeros.
    pub const TRUNCATED: u8 = 2;
    /// A request byte was lost (the link's buffer overflowed).
    pub const OVERRUN: u8 = 4;
    /// A UART framing error was seen during the request.
    pub const FRAMING: u8 = 8;
}

/// The wire format of one design.
#[derive(Debug, Clone)]
pub struct Wire {
    in_width: usize,
    in_beats: usize,
    out_width: usize,
    /// Request payload bytes.
    pub request_bytes: usize,
    /// Response payload bytes.
    pub response_bytes: usize,
}

/// What the board answered for one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status byte (0: good; see [`status`]).
    pub status: u8,
    /// Class scores.
    pub scores: Vec<i64>,
    /// Argmax.
    pub class: usize,
}

impl Wire {
    /// The wire format of `plan`'s core.
    pub fn of(plan: &HardwarePlan) -> Self {
        let widths = xnorc_plan::memories::link_widths(plan);
        let (in_width, out_width) = (widths[0], *widths.last().expect("links"));
        let in_beats = plan.stages[0].input.beats;
        Wire {
            in_width,
            in_beats,
            out_width,
            request_bytes: request_bytes(in_width, in_beats),
            response_bytes: response_bytes(out_width),
        }
    }

    /// A whole response frame's length.
    pub fn response_len(&self) -> usize {
        self.response_bytes + 4
    }

    /// The request frame for one input frame (`frame` holds exactly one frame).
    pub fn request(&self, plan: &HardwarePlan, frame: Frames<'_>) -> Vec<u8> {
        let words = self.in_width.div_ceil(32);
        let beats = pack(plan, frame, words);
        assert_eq!(beats.len(), self.in_beats * words, "one frame");
        let mut payload = vec![0u8; self.request_bytes];
        for b in 0..self.in_beats {
            for i in 0..self.in_width {
                if (beats[b * words + i / 32] >> (i % 32)) & 1 == 1 {
                    let at = b * self.in_width + i;
                    payload[at / 8] |= 1 << (at % 8);
                }
            }
        }
        let crc = crc16(&payload);
        let mut out = Vec::with_capacity(self.request_bytes + 3);
        out.push(REQUEST_SYNC);
        out.extend(&payload);
        out.extend(crc.to_be_bytes());
        out
    }

    /// Decodes a response frame (`bytes` starts with the sync byte).
    pub fn answer(&self, plan: &HardwarePlan, bytes: &[u8]) -> Result<Answer, LinkError> {
        assert_eq!(bytes.len(), self.response_len());
        let body = &bytes[1..2 + self.response_bytes];
        let got = u16::from_be_bytes([
            bytes[2 + self.response_bytes],
            bytes[3 + self.response_bytes],
        ]);
        let want = crc16(body);
        if got != want {
            return Err(LinkError::ResponseCrc { got, want });
        }
        let payload = &body[1..];
        let mut words = vec![0u32; self.out_width.div_ceil(32)];
        for i in 0..self.out_width {
            if (payload[i / 8] >> (i % 8)) & 1 == 1 {
                words[i / 32] |= 1 << (i % 32);
            }
        }
        let (scores, class) = unpack(plan, &words);
        Ok(Answer {
            status: body[0],
            scores,
            class,
        })
    }
}

/// Requests a host may have outstanding (docs/uart-protocol.md, "Window"): it sends request
/// `k + 1` right behind request `k`, and request `k + 2` once the whole response to `k` is in.
/// The board queues two statuses and buffers a whole request, so the line stays busy in both
/// directions while the core still holds a frame.
pub const WINDOW: usize = 2;

/// Reads the next response from `port` and decodes it.
pub fn receive(
    port: &mut serial::Port,
    wire: &Wire,
    plan: &HardwarePlan,
    timeout: Duration,
) -> Result<Answer, LinkError> {
    let frame = port.read_frame(RESPONSE_SYNC, wire.response_len(), timeout)?;
    wire.answer(plan, &frame)
}

/// Words of status flags, for messages.
pub fn describe_status(s: u8) -> String {
    let mut parts = Vec::new();
    for (bit, name) in [
        (status::CRC_MISMATCH, "request CRC mismatch"),
        (status::TRUNCATED, "request truncated (timeout)"),
        (status::OVERRUN, "request byte lost (overrun)"),
        (status::FRAMING, "UART framing error"),
    ] {
        if s & bit != 0 {
            parts.push(name);
        }
    }
    if parts.is_empty() {
        "ok".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_is_ccitt_false() {
        // The catalogue's check value of CRC-16/CCITT-FALSE.
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(&[]), 0xFFFF);
        // A frame followed by its CRC, high byte first, checks to 0.
        let msg = [0xA5u8, 0x01, 0x7F, 0x00];
        let framed = [&msg[..], &crc16(&msg).to_be_bytes()].concat();
        assert_eq!(crc16(&framed), 0);
    }

    #[test]
    fn statuses_are_described() {
        assert_eq!(describe_status(0), "ok");
        assert_eq!(
            describe_status(status::CRC_MISMATCH | status::FRAMING),
            "request CRC mismatch, UART framing error"
        );
    }
}
