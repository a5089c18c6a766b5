//! Request framing: finds the sync byte, forwards the payload towards the core, checks the
//! CRC, handles truncated frames, and holds the frame's status until the response is out.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::crc::Crc16;
use super::{REQUEST_SYNC, STATUS_CRC, STATUS_FRAMING, STATUS_OVERRUN, STATUS_TRUNCATED};

/// Request-side state machine (see the protocol in [`crate::shell`]).
///
/// Fed by the UART receiver's byte strobes, it pushes exactly `request_bytes` bytes per frame
/// into the request FIFO (`push`/`push_data`, gated by `fifo_full`): the received payload
/// bytes, then zeros for any that never arrived (timeout) or were dropped (FIFO full), so the
/// core always stays in step with the frames. When the request is complete (CRC checked or
/// timed out, every byte pushed) it raises `done` and holds `status` until `resp_sent`; only
/// then does it hunt for the next sync byte, so there is one request in flight.
///
/// The CRC is compared byte by byte as the CRC bytes arrive. That relies on the serial CRC
/// engine (8 cycles per byte) having finished the last payload byte, which holds because UART
/// bytes are at least 40 cycles apart.
#[derive(LogicBlock)]
pub struct RxFramer {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: drop the frame, hunt for a sync byte.
    pub reset: Signal<In, Bit>,
    /// Received byte, valid with `rx_valid`.
    pub rx_data: Signal<In, Bits<8>>,
    /// One-cycle strobe: a byte arrived.
    pub rx_valid: Signal<In, Bit>,
    /// With `rx_valid`: the byte had a framing error.
    pub rx_error: Signal<In, Bit>,
    /// The request FIFO cannot take a byte this cycle.
    pub fifo_full: Signal<In, Bit>,
    /// Write `push_data` into the request FIFO.
    pub push: Signal<Out, Bit>,
    /// Byte for the request FIFO.
    pub push_data: Signal<Out, Bits<8>>,
    /// The request is complete; `status` is final. Held until `resp_sent`.
    pub done: Signal<Out, Bit>,
    /// Status flags of the current frame (`STATUS_*` bits).
    pub status: Signal<Out, Bits<8>>,
    /// A frame is in progress: from its sync byte until its response is sent.
    pub active: Signal<Out, Bit>,
    /// One-cycle strobe from the response side: the response is completely sent.
    pub resp_sent: Signal<In, Bit>,
    state: DFF<Bits<3>>,
    received: DFF<Bits<24>>,
    pushed: DFF<Bits<24>>,
    idle: DFF<Bits<24>>,
    flags: DFF<Bits<8>>,
    crc_engine: Crc16,
    /// Flags to set this cycle (several can be set at once).
    new_flags: Signal<Local, Bits<8>>,
    s_hunt: Constant<Bits<3>>,
    s_payload: Constant<Bits<3>>,
    s_crc_high: Constant<Bits<3>>,
    s_crc_low: Constant<Bits<3>>,
    s_pad: Constant<Bits<3>>,
    s_done: Constant<Bits<3>>,
    sync_byte: Constant<Bits<8>>,
    request_bytes: Constant<Bits<24>>,
    last_payload: Constant<Bits<24>>,
    timeout: Constant<Bits<24>>,
    zero: Constant<Bits<24>>,
    one: Constant<Bits<24>>,
    no_flags: Constant<Bits<8>>,
    zero_byte: Constant<Bits<8>>,
    flag_crc: Constant<Bits<8>>,
    flag_truncated: Constant<Bits<8>>,
    flag_overrun: Constant<Bits<8>>,
    flag_framing: Constant<Bits<8>>,
}

impl RxFramer {
    /// Framer for `request_bytes` payload bytes per frame, giving up after `timeout_cycles`
    /// without a byte.
    ///
    /// # Panics
    /// If either is outside `1..2^24`.
    pub fn new(request_bytes: u32, timeout_cycles: u32) -> Self {
        assert!((1..1 << 24).contains(&request_bytes));
        assert!((1..1 << 24).contains(&timeout_cycles));
        let c3 = |v: u64| Constant::new(v.into());
        let c8 = |v: u8| Constant::new(u64::from(v).into());
        let c24 = |v: u32| Constant::new(u64::from(v).into());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx_data: Default::default(),
            rx_valid: Default::default(),
            rx_error: Default::default(),
            fifo_full: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            done: Default::default(),
            status: Default::default(),
            active: Default::default(),
            resp_sent: Default::default(),
            state: Default::default(),
            received: Default::default(),
            pushed: Default::default(),
            idle: Default::default(),
            flags: Default::default(),
            crc_engine: Default::default(),
            new_flags: Default::default(),
            s_hunt: c3(0),
            s_payload: c3(1),
            s_crc_high: c3(2),
            s_crc_low: c3(3),
            s_pad: c3(4),
            s_done: c3(5),
            sync_byte: c8(REQUEST_SYNC),
            request_bytes: c24(request_bytes),
            last_payload: c24(request_bytes - 1),
            timeout: c24(timeout_cycles),
            zero: c24(0),
            one: c24(1),
            no_flags: c8(0),
            zero_byte: c8(0),
            flag_crc: c8(STATUS_CRC),
            flag_truncated: c8(STATUS_TRUNCATED),
            flag_overrun: c8(STATUS_OVERRUN),
            flag_framing: c8(STATUS_FRAMING),
        }
    }
}

impl Logic for RxFramer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, received, pushed, idle, flags);
        clock!(self, clock, crc_engine);
        self.crc_engine.clear.next = self.reset.val();
        self.crc_engine.start.next = false;
        self.crc_engine.data.next = self.rx_data.val();
        self.push.next = false;
        self.push_data.next = self.rx_data.val();
        self.done.next = false;
        self.active.next = self.state.q.val() != self.s_hunt.val();
        self.status.next = self.flags.q.val();
        self.new_flags.next = self.no_flags.val();
        // Cycles since the last byte; only compared while bytes are expected.
        self.idle.d.next = self.idle.q.val() + self.one.val();
        if self.state.q.val() == self.s_hunt.val() {
            // Anything but a clean sync byte is ignored here.
            if self.rx_valid.val()
                & !self.rx_error.val()
                & (self.rx_data.val() == self.sync_byte.val())
            {
                self.received.d.next = self.zero.val();
                self.pushed.d.next = self.zero.val();
                self.idle.d.next = self.zero.val();
                self.flags.d.next = self.no_flags.val();
                self.crc_engine.clear.next = true;
                self.state.d.next = self.s_payload.val();
            }
        } else if self.state.q.val() == self.s_payload.val() {
            if self.rx_valid.val() {
                self.idle.d.next = self.zero.val();
                self.crc_engine.start.next = true;
                self.received.d.next = self.received.q.val() + self.one.val();
                if self.rx_error.val() {
                    self.new_flags.next = self.new_flags.val() | self.flag_framing.val();
                }
                if self.fifo_full.val() {
                    // Lost; the pad state pushes a zero in its place at the end of the frame
                    // so the core still gets request_bytes bytes.
                    self.new_flags.next = self.new_flags.val() | self.flag_overrun.val();
                } else {
                    self.push.next = true;
                    self.pushed.d.next = self.pushed.q.val() + self.one.val();
                }
                if self.received.q.val() == self.last_payload.val() {
                    self.state.d.next = self.s_crc_high.val();
                }
            } else if self.idle.q.val() == self.timeout.val() {
                self.new_flags.next = self.new_flags.val() | self.flag_truncated.val();
                self.state.d.next = self.s_pad.val();
            }
        } else if self.state.q.val() == self.s_crc_high.val() {
            if self.rx_valid.val() {
                self.idle.d.next = self.zero.val();
                if self.rx_error.val() {
                    self.new_flags.next = self.new_flags.val() | self.flag_framing.val();
                }
                // The engine is always idle by now (bytes are 40+ cycles apart); if it were
                // not, its value would be wrong, so fail safe rather than compare.
                if (self.rx_data.val() != self.crc_engine.crc.val().get_bits::<8>(8))
                    | self.crc_engine.busy.val()
                {
                    self.new_flags.next = self.new_flags.val() | self.flag_crc.val();
                }
                self.state.d.next = self.s_crc_low.val();
            } else if self.idle.q.val() == self.timeout.val() {
                self.new_flags.next = self.new_flags.val() | self.flag_truncated.val();
                self.state.d.next = self.s_pad.val();
            }
        } else if self.state.q.val() == self.s_crc_low.val() {
            if self.rx_valid.val() {
                self.idle.d.next = self.zero.val();
                if self.rx_error.val() {
                    self.new_flags.next = self.new_flags.val() | self.flag_framing.val();
                }
                if self.rx_data.val() != self.crc_engine.crc.val().get_bits::<8>(0) {
                    self.new_flags.next = self.new_flags.val() | self.flag_crc.val();
                }
                self.state.d.next = self.s_pad.val();
            } else if self.idle.q.val() == self.timeout.val() {
                self.new_flags.next = self.new_flags.val() | self.flag_truncated.val();
                self.state.d.next = self.s_pad.val();
            }
        } else if self.state.q.val() == self.s_pad.val() {
            // Make up the frame to exactly request_bytes bytes for the core.
            self.push_data.next = self.zero_byte.val();
            if self.pushed.q.val() == self.request_bytes.val() {
                self.state.d.next = self.s_done.val();
            } else if !self.fifo_full.val() {
                self.push.next = true;
                self.pushed.d.next = self.pushed.q.val() + self.one.val();
            }
        } else if self.state.q.val() == self.s_done.val() {
            self.done.next = true;
            if self.resp_sent.val() {
                self.state.d.next = self.s_hunt.val();
            }
        } else {
            self.state.d.next = self.s_hunt.val();
        }
        // While hunting, the flags are only ever cleared (on the sync byte).
        if self.state.q.val() != self.s_hunt.val() {
            self.flags.d.next = self.flags.q.val() | self.new_flags.val();
        }
        if self.reset.val() {
            self.push.next = false;
            self.done.next = false;
            self.state.d.next = self.s_hunt.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::Bench;

    const GAP: usize = 40;

    /// Drives the framer with byte strobes the way the UART receiver does, plays the FIFO
    /// (records pushes, can report full) and the response side (`resp_sent`).
    struct Harness {
        bench: Bench<RxFramer>,
        pushes: Vec<u8>,
        full: bool,
    }

    impl Harness {
        fn new(request_bytes: u32, timeout: u32) -> Self {
            let mut bench = Bench::new(RxFramer::new(request_bytes, timeout));
            bench.uut.reset.next = true;
            bench.tick();
            bench.uut.reset.next = false;
            Self {
                bench,
                pushes: Vec::new(),
                full: false,
            }
        }

        fn step(&mut self) {
            self.bench.uut.fifo_full.next = self.full;
            self.bench.settle();
            if self.bench.uut.push.val() {
                assert!(!self.full, "pushed into a full FIFO");
                self.pushes.push(self.bench.uut.push_data.val().to_u8());
            }
            self.bench.tick();
            self.bench.uut.rx_valid.next = false;
            self.bench.uut.rx_error.next = false;
            self.bench.uut.resp_sent.next = false;
        }

        fn idle(&mut self, cycles: usize) {
            for _ in 0..cycles {
                self.step();
            }
        }

        fn byte(&mut self, b: u8, error: bool) {
            self.bench.uut.rx_data.next = u64::from(b).into();
            self.bench.uut.rx_valid.next = true;
            self.bench.uut.rx_error.next = error;
            self.step();
            self.idle(GAP - 1);
        }

        fn bytes(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.byte(b, false);
            }
        }

        /// Status once the request is complete, then acknowledges it as sent.
        fn finish(&mut self) -> u8 {
            assert!(self.bench.uut.done.val(), "request not complete");
            assert!(self.bench.uut.active.val());
            let status = self.bench.uut.status.val().to_u8();
            self.bench.uut.resp_sent.next = true;
            self.step();
            assert!(!self.bench.uut.done.val());
            assert!(!self.bench.uut.active.val());
            status
        }
    }

    /// Frame bytes after the sync: payload, then its CRC (from the reference function).
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xA5];
        f.extend_from_slice(payload);
        f.extend_from_slice(&reference_crc(payload).to_be_bytes());
        f
    }

    /// Bit-by-bit CRC-16/CCITT-FALSE, independent of the code under test.
    fn reference_crc(bytes: &[u8]) -> u16 {
        let mut crc = 0xFFFFu16;
        for &b in bytes {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn shell_rx_framer_good_frame_after_noise() {
        let mut h = Harness::new(5, 200);
        let payload = [0x10, 0xA5, 0x5A, 0x00, 0xFF];
        // Junk and a sync byte with a framing error are not a sync.
        h.bytes(&[0x00, 0x5A]);
        h.byte(0xA5, true);
        assert!(!h.bench.uut.active.val());
        h.bytes(&frame(&payload));
        h.idle(3);
        assert_eq!(h.pushes, payload);
        assert_eq!(h.finish(), 0);
    }

    #[test]
    fn shell_rx_framer_crc_mismatch() {
        let mut h = Harness::new(5, 200);
        let payload = [1, 2, 3, 4, 5];
        let mut f = frame(&payload);
        f[7] ^= 0x01;
        h.bytes(&f);
        h.idle(3);
        assert_eq!(h.pushes, payload);
        assert_eq!(h.finish(), STATUS_CRC);
    }

    #[test]
    fn shell_rx_framer_truncated_pads_with_zeros() {
        let mut h = Harness::new(5, 200);
        h.bytes(&[0xA5, 0x11, 0x22]);
        h.idle(150);
        assert!(!h.bench.uut.done.val(), "timed out early");
        h.idle(30);
        assert_eq!(h.pushes, [0x11, 0x22, 0, 0, 0]);
        assert_eq!(h.finish(), STATUS_TRUNCATED);
        // Missing CRC bytes only are a truncation too, with no CRC verdict.
        let payload = [9, 8, 7, 6, 5];
        h.pushes.clear();
        h.bytes(&frame(&payload)[..7]);
        h.idle(200);
        assert_eq!(h.pushes, payload);
        assert_eq!(h.finish(), STATUS_TRUNCATED);
    }

    #[test]
    fn shell_rx_framer_overrun_and_framing_error() {
        let mut h = Harness::new(5, 200);
        let payload = [0xA1, 0xA2, 0xA3, 0xA4, 0xA5];
        let f = frame(&payload);
        h.bytes(&f[..2]);
        // The FIFO is full when the second payload byte arrives: it is lost.
        h.full = true;
        h.byte(f[2], false);
        h.full = false;
        h.byte(f[3], true);
        h.bytes(&f[4..]);
        h.idle(3);
        // The lost byte is made up with a zero at the end, the CRC still matches.
        assert_eq!(h.pushes, [0xA1, 0xA3, 0xA4, 0xA5, 0]);
        assert_eq!(h.finish(), STATUS_OVERRUN | STATUS_FRAMING);
    }

    #[test]
    fn shell_rx_framer_one_request_in_flight() {
        let mut h = Harness::new(2, 200);
        h.bytes(&frame(&[1, 2]));
        h.idle(3);
        // A whole new frame while the response is outstanding is ignored.
        h.bytes(&frame(&[3, 4]));
        assert_eq!(h.pushes, [1, 2]);
        assert_eq!(h.finish(), 0);
        // Stalling the FIFO in the pad state just waits.
        h.bytes(&frame(&[5, 6])[..2]);
        h.full = true;
        h.idle(400);
        assert!(!h.bench.uut.done.val());
        h.full = false;
        h.idle(5);
        assert_eq!(h.pushes, [1, 2, 5, 0]);
        assert_eq!(h.finish(), STATUS_TRUNCATED);
        h.bytes(&frame(&[7, 8]));
        h.idle(3);
        assert_eq!(h.finish(), 0);
        assert_eq!(h.pushes, [1, 2, 5, 0, 7, 8]);
    }
}
