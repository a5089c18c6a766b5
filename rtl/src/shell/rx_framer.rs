//! Request framing: finds the sync byte, forwards the payload towards the core, checks the
//! CRC, handles truncated frames, and hands the frame's status to the response side.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::countdown::Countdown;
use super::crc::Crc16;
use super::{REQUEST_SYNC, STATUS_CRC, STATUS_FRAMING, STATUS_OVERRUN, STATUS_TRUNCATED};

/// Request-side state machine (see the protocol in [`crate::shell`]).
///
/// Fed by the UART receiver's byte strobes, it pushes exactly `request_bytes` bytes per frame
/// into the request FIFO (`push`/`push_data`, gated by `fifo_full`): the received payload
/// bytes, then zeros for any that never arrived (timeout) or were dropped (FIFO full), so the
/// core always stays in step with the frames. When the request is complete (CRC checked or
/// timed out, every byte pushed) it raises `done` with the final `status`, for the link's
/// status queue, and holds them while `status_full` says the queue has no room (both
/// entries wait for their responses); the cycle the queue takes the status it goes back to
/// hunting for the next sync byte. Bytes that arrive meanwhile are ignored, so a request sent
/// beyond the window never reaches the core and the core stays in step with the statuses.
///
/// The CRC is compared byte by byte as the CRC bytes arrive. That relies on the serial CRC
/// engine (8 cycles per byte) having finished the last payload byte, which holds because UART
/// bytes are at least 38 cycles apart (9.5 bit times of at least 4 clocks).
///
/// The timeout counts `tick` pulses (the link's shared prescaler), not cycles: it restarts on
/// every received byte and fires once `timeout_ticks` ticks have followed it. With one tick
/// every `P` cycles that is between `(timeout_ticks - 1) * P + 1` and `timeout_ticks * P`
/// cycles after the byte ([`crate::shell::Link`] picks `timeout_ticks` so it is never less
/// than `timeout_cycles`).
///
/// Timing structure (every flip-flop's next value is a small function of flip-flops): the
/// received byte's facts (arrived, framing error, is a sync byte, matches either CRC byte)
/// are registered first, and the state machine acts on them one cycle after the receiver's
/// strobe; the states are one-hot, each written as one equation (no clock enables, so the
/// reset stays on the flip-flops' reset pins); the byte counters and the timeout are
/// [`Countdown`]s; the FIFO push and the CRC engine's commands are registered. A registered
/// push reaches the FIFO a cycle after it is decided, so the zero padding pushes at most
/// every other cycle and `fifo_full` is always up to date when a push is decided.
#[derive(LogicBlock)]
pub struct RxFramer {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: drop the frame, hunt for a sync byte.
    pub reset: Signal<In, Bit>,
    /// Received byte, valid with `rx_valid` and held until the next one (as the UART
    /// receiver does).
    pub rx_data: Signal<In, Bits<8>>,
    /// One-cycle strobe: a byte arrived.
    pub rx_valid: Signal<In, Bit>,
    /// With `rx_valid`: the byte had a framing error.
    pub rx_error: Signal<In, Bit>,
    /// The request FIFO cannot take a byte this cycle.
    pub fifo_full: Signal<In, Bit>,
    /// Write `push_data` into the request FIFO (from a flip-flop).
    pub push: Signal<Out, Bit>,
    /// Byte for the request FIFO (from a flip-flop).
    pub push_data: Signal<Out, Bits<8>>,
    /// The request is complete; `status` is final. The status queue takes it in a cycle where
    /// `status_full` is low; held until then.
    pub done: Signal<Out, Bit>,
    /// Status flags of the current frame (`STATUS_*` bits).
    pub status: Signal<Out, Bits<8>>,
    /// A frame is in progress: from its sync byte until its status is queued.
    pub active: Signal<Out, Bit>,
    /// The status queue is full: `done` waits.
    pub status_full: Signal<In, Bit>,
    /// Timeout time base: one-cycle pulses from the link's prescaler.
    pub tick: Signal<In, Bit>,
    /// `rx_valid`, one cycle later: the registered facts below describe the byte.
    got: DFF<Bit>,
    got_error: DFF<Bit>,
    got_sync: DFF<Bit>,
    crc_high_ok: DFF<Bit>,
    crc_low_ok: DFF<Bit>,
    /// The timeout ended last cycle with no byte arriving then.
    timed_out: DFF<Bit>,
    /// A frame is in progress: not hunting for a sync byte (the other states are one-hot;
    /// all clear, at configuration too, is hunting).
    in_frame: DFF<Bit>,
    in_payload: DFF<Bit>,
    in_crc_high: DFF<Bit>,
    in_crc_low: DFF<Bit>,
    padding: DFF<Bit>,
    finished: DFF<Bit>,
    flags: DFF<Bits<8>>,
    push_out: DFF<Bit>,
    push_byte: DFF<Bits<8>>,
    /// The cycle after a frame's sync byte (and reset): clears the CRC engine and the flags,
    /// restarts the byte counters.
    frame_start: DFF<Bit>,
    crc_start: DFF<Bit>,
    crc_engine: Crc16,
    /// Done on the frame's last payload byte (counts the ones before it).
    payload_left: Countdown,
    /// Done once the frame's request_bytes bytes are in the FIFO.
    push_left: Countdown,
    /// Done after timeout_ticks ticks without a byte.
    silence: Countdown,
    /// Flags to set this cycle (several can be set at once).
    new_flags: Signal<Local, Bits<8>>,
    /// Bytes are expected: payload or CRC.
    expecting: Signal<Local, Bit>,
    /// The frame is cut short this cycle (timeout).
    truncate: Signal<Local, Bit>,
    sync_byte: Constant<Bits<8>>,
    no_flags: Constant<Bits<8>>,
    zero_byte: Constant<Bits<8>>,
    flag_crc: Constant<Bits<8>>,
    flag_truncated: Constant<Bits<8>>,
    flag_overrun: Constant<Bits<8>>,
    flag_framing: Constant<Bits<8>>,
}

impl RxFramer {
    /// Framer for `request_bytes` payload bytes per frame, giving up after `timeout_ticks`
    /// pulses of `tick` without a byte.
    ///
    /// # Panics
    /// If either is outside `1..2^24`.
    pub fn new(request_bytes: u32, timeout_ticks: u32) -> Self {
        assert!((1..1 << 24).contains(&request_bytes));
        assert!((1..1 << 24).contains(&timeout_ticks));
        let c8 = |v: u8| Constant::new(u64::from(v).into());
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
            status_full: Default::default(),
            tick: Default::default(),
            got: Default::default(),
            got_error: Default::default(),
            got_sync: Default::default(),
            crc_high_ok: Default::default(),
            crc_low_ok: Default::default(),
            timed_out: Default::default(),
            in_frame: Default::default(),
            in_payload: Default::default(),
            in_crc_high: Default::default(),
            in_crc_low: Default::default(),
            padding: Default::default(),
            finished: Default::default(),
            flags: Default::default(),
            push_out: Default::default(),
            push_byte: Default::default(),
            frame_start: Default::default(),
            crc_start: Default::default(),
            crc_engine: Default::default(),
            payload_left: Countdown::new(request_bytes - 1),
            push_left: Countdown::new(request_bytes),
            silence: Countdown::new(timeout_ticks),
            new_flags: Default::default(),
            expecting: Default::default(),
            truncate: Default::default(),
            sync_byte: c8(REQUEST_SYNC),
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
        dff_setup!(
            self,
            clock,
            got,
            got_error,
            got_sync,
            crc_high_ok,
            crc_low_ok,
            timed_out,
            in_frame,
            in_payload,
            in_crc_high,
            in_crc_low,
            padding,
            finished,
            flags,
            push_out,
            push_byte,
            frame_start,
            crc_start
        );
        clock!(self, clock, crc_engine, payload_left, push_left, silence);
        // Input stage: what the byte that just arrived is, for the state machine next cycle.
        // rx_data is held until the next byte, and the CRC engine is idle by then.
        self.got.d.next = self.rx_valid.val();
        self.got_error.d.next = self.rx_error.val();
        self.got_sync.d.next = self.rx_valid.val()
            & !self.rx_error.val()
            & (self.rx_data.val() == self.sync_byte.val());
        self.crc_high_ok.d.next = self.rx_data.val() == self.crc_engine.crc.val().get_bits::<8>(8);
        self.crc_low_ok.d.next = self.rx_data.val() == self.crc_engine.crc.val().get_bits::<8>(0);
        // The timeout, registered like the bytes: silence restarts on every byte (so a byte
        // arriving on the timeout's last cycle still counts), and a timeout seen here is
        // never on the same cycle as a byte.
        self.silence.load.next = self.rx_valid.val();
        self.silence.dec.next = self.tick.val();
        self.timed_out.d.next = self.silence.done.val() & !self.rx_valid.val();
        // Outputs, all from flip-flops.
        self.push.next = self.push_out.q.val();
        self.push_data.next = self.push_byte.q.val();
        self.done.next = self.finished.q.val();
        self.active.next = self.in_frame.q.val();
        self.status.next = self.flags.q.val();
        // The CRC engine takes rx_data (still held) a cycle after the decision.
        self.crc_engine.clear.next = self.frame_start.q.val();
        self.crc_engine.start.next = self.crc_start.q.val();
        self.crc_engine.data.next = self.rx_data.val();
        self.frame_start.d.next = !self.in_frame.q.val() & self.got_sync.q.val();
        self.crc_start.d.next = self.in_payload.q.val() & self.got.q.val();
        // The byte counters start with the frame (frame_start: the cycle after its sync byte,
        // and in reset); no byte or push comes that soon.
        self.payload_left.load.next = self.frame_start.q.val();
        // Counted a cycle late (crc_start is "a payload byte arrived"): bytes are far apart.
        self.payload_left.dec.next = self.crc_start.q.val();
        self.push_left.load.next = self.frame_start.q.val();
        self.push_left.dec.next = self.push_out.q.val();
        self.expecting.next =
            self.in_payload.q.val() | self.in_crc_high.q.val() | self.in_crc_low.q.val();
        self.truncate.next = self.expecting.val() & self.timed_out.q.val();
        // One-hot state machine, one equation per state.
        self.in_frame.d.next = (!self.in_frame.q.val() & self.got_sync.q.val())
            | (self.in_frame.q.val() & !(self.finished.q.val() & !self.status_full.val()));
        self.in_payload.d.next = (!self.in_frame.q.val() & self.got_sync.q.val())
            | (self.in_payload.q.val()
                & !(self.got.q.val() & self.payload_left.done.val())
                & !self.timed_out.q.val());
        self.in_crc_high.d.next =
            (self.in_payload.q.val() & self.got.q.val() & self.payload_left.done.val())
                | (self.in_crc_high.q.val() & !self.got.q.val() & !self.timed_out.q.val());
        self.in_crc_low.d.next = (self.in_crc_high.q.val() & self.got.q.val())
            | (self.in_crc_low.q.val() & !self.got.q.val() & !self.timed_out.q.val());
        // Make up the frame to exactly request_bytes bytes for the core.
        self.padding.d.next = self.truncate.val()
            | (self.in_crc_low.q.val() & self.got.q.val())
            | (self.padding.q.val() & !self.push_left.done.val());
        self.finished.d.next = (self.padding.q.val() & self.push_left.done.val())
            | (self.finished.q.val() & self.status_full.val());
        // A push only when the FIFO has room and no push is on its way to it (so fifo_full
        // is current). A payload byte without room is lost; the padding pushes a zero in its
        // place at the end of the frame so the core still gets request_bytes bytes.
        self.push_out.d.next = !self.fifo_full.val()
            & !self.push_out.q.val()
            & ((self.in_payload.q.val() & self.got.q.val())
                | (self.padding.q.val() & !self.push_left.done.val()));
        self.push_byte.d.next = self.rx_data.val();
        if self.padding.q.val() {
            self.push_byte.d.next = self.zero_byte.val();
        }
        // Status flags: accumulate over the frame, cleared the cycle after its sync byte (no
        // flag can be raised on that cycle: the next byte or timeout is far away).
        self.new_flags.next = self.no_flags.val();
        if self.expecting.val() & self.got.q.val() & self.got_error.q.val() {
            self.new_flags.next = self.new_flags.val() | self.flag_framing.val();
        }
        if self.truncate.val() {
            self.new_flags.next = self.new_flags.val() | self.flag_truncated.val();
        }
        if self.in_payload.q.val()
            & self.got.q.val()
            & (self.fifo_full.val() | self.push_out.q.val())
        {
            self.new_flags.next = self.new_flags.val() | self.flag_overrun.val();
        }
        // The engine is always idle when the CRC's high byte is compared; if it were not,
        // its value would be wrong, so fail safe rather than trust the comparison.
        if self.in_crc_high.q.val()
            & self.got.q.val()
            & (!self.crc_high_ok.q.val() | self.crc_engine.busy.val())
        {
            self.new_flags.next = self.new_flags.val() | self.flag_crc.val();
        }
        if self.in_crc_low.q.val() & self.got.q.val() & !self.crc_low_ok.q.val() {
            self.new_flags.next = self.new_flags.val() | self.flag_crc.val();
        }
        self.flags.d.next = self.flags.q.val() | self.new_flags.val();
        if self.frame_start.q.val() {
            self.flags.d.next = self.no_flags.val();
        }
        if self.reset.val() {
            self.in_frame.d.next = false;
            self.in_payload.d.next = false;
            self.in_crc_high.d.next = false;
            self.in_crc_low.d.next = false;
            self.padding.d.next = false;
            self.finished.d.next = false;
            self.push_out.d.next = false;
            self.frame_start.d.next = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{model_crc16, Bench};

    const GAP: usize = 40;

    /// Drives the framer with byte strobes the way the UART receiver does, plays the FIFO
    /// (records pushes, can report full) and the status queue (full unless told otherwise,
    /// so a finished request waits for [`Harness::finish`]).
    struct Harness {
        bench: Bench<RxFramer>,
        pushes: Vec<u8>,
        /// Cycle of each push.
        push_cycles: Vec<u64>,
        full: bool,
        queue_full: bool,
        /// Statuses the queue took (`done` in a cycle with room).
        queued: Vec<u8>,
        /// `tick` pulses when `(cycles + tick_phase) % tick_period == 0`.
        tick_period: u64,
        tick_phase: u64,
    }

    impl Harness {
        fn new(request_bytes: u32, timeout: u32) -> Self {
            // A tick every cycle by default: the timeout counts cycles, as in a link whose
            // prescaler period is 1.
            Self::with_ticks(request_bytes, timeout, 1, 0)
        }

        fn with_ticks(request_bytes: u32, timeout: u32, period: u64, phase: u64) -> Self {
            let mut bench = Bench::new(RxFramer::new(request_bytes, timeout));
            bench.uut.reset.next = true;
            bench.tick();
            bench.uut.reset.next = false;
            Self {
                bench,
                pushes: Vec::new(),
                push_cycles: Vec::new(),
                full: false,
                queue_full: true,
                queued: Vec::new(),
                tick_period: period,
                tick_phase: phase,
            }
        }

        fn step(&mut self) {
            self.bench.uut.fifo_full.next = self.full;
            self.bench.uut.status_full.next = self.queue_full;
            self.bench.uut.tick.next =
                (self.bench.cycles + self.tick_phase).is_multiple_of(self.tick_period);
            self.bench.settle();
            if self.bench.uut.push.val() {
                assert!(!self.full, "pushed into a full FIFO");
                self.pushes.push(self.bench.uut.push_data.val().to_u8());
                self.push_cycles.push(self.bench.cycles);
            }
            if self.bench.uut.done.val() && !self.queue_full {
                self.queued.push(self.bench.uut.status.val().to_u8());
            }
            self.bench.tick();
            self.bench.uut.rx_valid.next = false;
            self.bench.uut.rx_error.next = false;
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

        /// Status once the request is complete, after the queue takes it.
        fn finish(&mut self) -> u8 {
            assert!(self.bench.uut.done.val(), "request not complete");
            assert!(self.bench.uut.active.val());
            self.queue_full = false;
            self.step();
            self.queue_full = true;
            assert!(!self.bench.uut.done.val());
            assert!(!self.bench.uut.active.val());
            self.queued.pop().expect("the queue took the status")
        }
    }

    /// Frame bytes after the sync: payload, then its CRC (from the reference function).
    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xA5];
        f.extend_from_slice(payload);
        f.extend_from_slice(&model_crc16(payload).to_be_bytes());
        f
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

    /// Cycles from the last byte's strobe to the first padding push, when the request is cut
    /// short after one payload byte.
    fn timeout_latency(ticks: u32, period: u64, phase: u64) -> u64 {
        let mut h = Harness::with_ticks(5, ticks, period, phase);
        h.idle(7);
        h.byte(0xA5, false);
        // The payload byte's strobe is on this cycle.
        let strobe = h.bench.cycles;
        h.byte(0x11, false);
        h.idle(ticks as usize * period as usize + 50);
        assert_eq!(h.pushes, [0x11, 0, 0, 0, 0]);
        assert_eq!(h.finish(), STATUS_TRUNCATED);
        h.push_cycles[1] - strobe
    }

    #[test]
    fn shell_rx_framer_timeout_in_ticks() {
        // With a tick every cycle the timeout is exact; with a tick every P cycles, whatever
        // the phase, it fires (n - 1) * P + 1 to n * P cycles after the byte, plus the same
        // fixed latency.
        // (More ticks than the harness's gap between bytes.)
        let n = 50;
        let fixed = timeout_latency(n, 1, 0) - u64::from(n);
        for period in [2u64, 4] {
            let got: Vec<u64> = (0..period)
                .map(|phase| timeout_latency(n, period, phase) - fixed)
                .collect();
            let (min, max) = (got.iter().min().unwrap(), got.iter().max().unwrap());
            assert_eq!(*min, (u64::from(n) - 1) * period + 1, "{got:?}");
            assert_eq!(*max, u64::from(n) * period, "{got:?}");
        }
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
    fn shell_rx_framer_waits_for_queue_room() {
        let mut h = Harness::new(2, 200);
        h.bytes(&frame(&[1, 2]));
        h.idle(3);
        // A whole new frame while the status queue has no room is ignored.
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

    #[test]
    fn shell_rx_framer_back_to_back_with_queue_room() {
        // With room in the status queue every request is taken as soon as it is complete,
        // and the next sync byte right after it starts the next request.
        let mut h = Harness::new(3, 200);
        h.queue_full = false;
        let mut bad = frame(&[4, 5, 6]);
        bad[4] ^= 0x80;
        for f in [frame(&[1, 2, 3]), bad, frame(&[7, 8, 9])] {
            h.bytes(&f);
        }
        h.idle(3);
        assert_eq!(h.pushes, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(h.queued, [0, STATUS_CRC, 0]);
        assert!(!h.bench.uut.active.val());
    }
}
