//! Response framing: sync byte, status, the core's response bytes, CRC.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::countdown::Countdown;
use super::crc::Crc16;
use super::RESPONSE_SYNC;

/// Response-side state machine (see the protocol in [`crate::shell`]).
///
/// Once `go` (the status queue holds a request's status) is high and the core offers its
/// first response byte, it sends 0x5A, `status`, then `response_bytes` bytes taken from the
/// core's stream, then the CRC-16 of status + payload, high byte first, and pulses `sent` once
/// the last stop bit has left the pin. Waiting for the core's first byte before starting
/// keeps the core's latency out of the frame: the host sees a frame's bytes close together
/// however long the core computes.
///
/// `resp_ready` is high only in the payload state while the transmitter is free, so a byte
/// is taken from the core exactly when it can go on the line: the core may offer its bytes
/// early (even before the request's CRC has arrived) or late, and nothing is sent that it has
/// not offered. The cycle `sent` pulses the queue drops the status, so no response begins
/// then: `go` and `status` may still show the one just answered.
///
/// Timing structure: one-hot states, and every output is a flip-flop: the transmitter's
/// `tx_start`/`tx_data` (a byte is handed over the cycle after it is decided, so the
/// transmitter counts as busy while a start is pending), `resp_ready`, `sent` and the CRC
/// engine's commands (it takes each status/payload byte from `tx_data`). The CRC's high byte
/// also waits for the engine, which in practice never delays it: the engine finishes a byte
/// in 9 cycles, long before the transmitter is free again (10 bit times of at least 4
/// clocks).
#[derive(LogicBlock)]
pub struct TxFramer {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: abandon the response.
    pub reset: Signal<In, Bit>,
    /// A request is complete: send its response (level, held until `sent`; the status queue
    /// is not empty).
    pub go: Signal<In, Bit>,
    /// Status byte of the request (the queue's head, held until `sent`).
    pub status: Signal<In, Bits<8>>,
    /// Response stream from the core: data.
    pub resp_data: Signal<In, Bits<8>>,
    /// Response stream from the core: valid.
    pub resp_valid: Signal<In, Bit>,
    /// Response stream from the core: ready (from a flip-flop).
    pub resp_ready: Signal<Out, Bit>,
    /// Byte for the UART transmitter (from a flip-flop).
    pub tx_data: Signal<Out, Bits<8>>,
    /// Start the UART transmitter (from a flip-flop).
    pub tx_start: Signal<Out, Bit>,
    /// The UART transmitter is busy.
    pub tx_busy: Signal<In, Bit>,
    /// One-cycle strobe: the whole response has been sent (from a flip-flop).
    pub sent: Signal<Out, Bit>,
    /// A response is under way: not waiting for a request and the core's first byte (the
    /// other states are one-hot; all clear, at configuration too, is that wait).
    responding: DFF<Bit>,
    send_sync: DFF<Bit>,
    send_status: DFF<Bit>,
    in_payload: DFF<Bit>,
    send_crc_high: DFF<Bit>,
    send_crc_low: DFF<Bit>,
    /// Waiting for the last stop bit.
    drain: DFF<Bit>,
    start_out: DFF<Bit>,
    byte_out: DFF<Bits<8>>,
    ready_out: DFF<Bit>,
    sent_out: DFF<Bit>,
    crc_clear: DFF<Bit>,
    crc_start: DFF<Bit>,
    /// The core handed over a byte last cycle.
    took: DFF<Bit>,
    /// Done on the last payload byte (counts the ones before it); held loaded outside the
    /// payload state.
    payload_left: Countdown,
    crc_engine: Crc16,
    /// The transmitter is idle and no start is on its way to it.
    free: Signal<Local, Bit>,
    /// A response begins: go, the core's first byte, and not the cycle the last one ended.
    starting: Signal<Local, Bit>,
    /// The core hands over a byte this cycle.
    handshake: Signal<Local, Bit>,
    sync_byte: Constant<Bits<8>>,
}

impl TxFramer {
    /// Framer for `response_bytes` payload bytes per response.
    ///
    /// # Panics
    /// If `response_bytes` is outside `1..2^24`.
    pub fn new(response_bytes: u32) -> Self {
        assert!((1..1 << 24).contains(&response_bytes));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            go: Default::default(),
            status: Default::default(),
            resp_data: Default::default(),
            resp_valid: Default::default(),
            resp_ready: Default::default(),
            tx_data: Default::default(),
            tx_start: Default::default(),
            tx_busy: Default::default(),
            sent: Default::default(),
            responding: Default::default(),
            send_sync: Default::default(),
            send_status: Default::default(),
            in_payload: Default::default(),
            send_crc_high: Default::default(),
            send_crc_low: Default::default(),
            drain: Default::default(),
            start_out: Default::default(),
            byte_out: Default::default(),
            ready_out: Default::default(),
            sent_out: Default::default(),
            crc_clear: Default::default(),
            crc_start: Default::default(),
            took: Default::default(),
            payload_left: Countdown::new(response_bytes - 1),
            crc_engine: Default::default(),
            free: Default::default(),
            handshake: Default::default(),
            starting: Default::default(),
            sync_byte: Constant::new(u64::from(RESPONSE_SYNC).into()),
        }
    }
}

impl Logic for TxFramer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            responding,
            send_sync,
            send_status,
            in_payload,
            send_crc_high,
            send_crc_low,
            drain,
            start_out,
            byte_out,
            ready_out,
            sent_out,
            crc_clear,
            crc_start,
            took
        );
        clock!(self, clock, crc_engine, payload_left);
        self.tx_start.next = self.start_out.q.val();
        self.tx_data.next = self.byte_out.q.val();
        self.resp_ready.next = self.ready_out.q.val();
        self.sent.next = self.sent_out.q.val();
        self.crc_engine.clear.next = self.crc_clear.q.val();
        self.crc_engine.start.next = self.crc_start.q.val();
        self.crc_engine.data.next = self.byte_out.q.val();
        self.free.next = !self.tx_busy.val() & !self.start_out.q.val();
        self.handshake.next = self.ready_out.q.val() & self.resp_valid.val();
        self.payload_left.load.next = !self.in_payload.q.val();
        // Counted a cycle late: the core's bytes are a UART byte time apart.
        self.took.d.next = self.handshake.val();
        self.payload_left.dec.next = self.took.q.val();
        // The byte for the transmitter, by state; it only matters when start_out is set.
        self.byte_out.d.next = self.resp_data.val();
        if self.send_sync.q.val() {
            self.byte_out.d.next = self.sync_byte.val();
        }
        if self.send_status.q.val() {
            self.byte_out.d.next = self.status.val();
        }
        if self.send_crc_high.q.val() {
            self.byte_out.d.next = self.crc_engine.crc.val().get_bits::<8>(8);
        }
        if self.send_crc_low.q.val() {
            self.byte_out.d.next = self.crc_engine.crc.val().get_bits::<8>(0);
        }
        self.start_out.d.next = self.handshake.val()
            | (self.free.val()
                & (self.send_sync.q.val()
                    | self.send_status.q.val()
                    | (self.send_crc_high.q.val() & !self.crc_engine.busy.val())
                    | self.send_crc_low.q.val()));
        // Status and payload bytes go into the CRC.
        self.crc_start.d.next = self.handshake.val() | (self.free.val() & self.send_status.q.val());
        // Ready for the core's next byte next cycle: still in the payload with the
        // transmitter free, and no byte taken now.
        self.ready_out.d.next = self.in_payload.q.val() & self.free.val() & !self.handshake.val();
        self.sent_out.d.next = self.drain.q.val() & self.free.val();
        self.starting.next = !self.responding.q.val()
            & !self.sent_out.q.val()
            & self.go.val()
            & self.resp_valid.val();
        self.crc_clear.d.next = self.starting.val();
        // One-hot state machine, one equation per state. "Sent" means the last stop bit is
        // out (drain), so the host has the whole frame.
        self.responding.d.next = self.starting.val()
            | (self.responding.q.val() & !(self.drain.q.val() & self.free.val()));
        self.send_sync.d.next = self.starting.val() | (self.send_sync.q.val() & !self.free.val());
        self.send_status.d.next = (self.send_sync.q.val() & self.free.val())
            | (self.send_status.q.val() & !self.free.val());
        self.in_payload.d.next = (self.send_status.q.val() & self.free.val())
            | (self.in_payload.q.val() & !(self.handshake.val() & self.payload_left.done.val()));
        self.send_crc_high.d.next = (self.handshake.val() & self.payload_left.done.val())
            | (self.send_crc_high.q.val() & !(self.free.val() & !self.crc_engine.busy.val()));
        self.send_crc_low.d.next =
            (self.send_crc_high.q.val() & self.free.val() & !self.crc_engine.busy.val())
                | (self.send_crc_low.q.val() & !self.free.val());
        self.drain.d.next =
            (self.send_crc_low.q.val() & self.free.val()) | (self.drain.q.val() & !self.free.val());
        if self.reset.val() {
            self.responding.d.next = false;
            self.send_sync.d.next = false;
            self.send_status.d.next = false;
            self.in_payload.d.next = false;
            self.send_crc_high.d.next = false;
            self.send_crc_low.d.next = false;
            self.drain.d.next = false;
            self.start_out.d.next = false;
            self.ready_out.d.next = false;
            self.sent_out.d.next = false;
            self.crc_clear.d.next = true;
            self.crc_start.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{model_crc16, Bench, Rng};

    /// Plays the UART transmitter (busy for `byte_cycles` after each start) and a core that
    /// offers `response` with random gaps; returns the bytes handed to the transmitter and
    /// the cycle of each core handshake.
    fn run(response: &[u8], status: u8, byte_cycles: u64, seed: u64) -> (Vec<u8>, Vec<u64>) {
        // The core computes for a while after `go` before offering anything.
        let latency = 50 + seed * 100;
        let mut bench = Bench::new(TxFramer::new(response.len() as u32));
        let mut rng = Rng::new(seed);
        let mut sent = Vec::new();
        let mut handshakes = Vec::new();
        let mut busy_until = 0u64;
        let mut offered = 0usize;
        bench.uut.status.next = u64::from(status).into();
        // Idle until told to go, even with the core offering a byte.
        bench.uut.resp_valid.next = true;
        bench.uut.resp_data.next = u64::from(response[0]).into();
        for _ in 0..20 {
            bench.settle();
            assert!(!bench.uut.resp_ready.val() && !bench.uut.tx_start.val());
            bench.tick();
        }
        bench.uut.resp_valid.next = false;
        bench.uut.go.next = true;
        let go_cycle = bench.cycles;
        loop {
            let now = bench.cycles;
            bench.uut.tx_busy.next = now < busy_until;
            let valid = now >= go_cycle + latency && offered < response.len() && rng.chance(1, 3);
            bench.uut.resp_valid.next = valid;
            if valid {
                bench.uut.resp_data.next = u64::from(response[offered]).into();
            }
            bench.settle();
            if bench.uut.resp_ready.val() && valid {
                handshakes.push(now);
                offered += 1;
            }
            if bench.uut.tx_start.val() {
                assert!(
                    now >= go_cycle + latency,
                    "frame started before the core offered"
                );
                assert!(now >= busy_until, "started the transmitter while busy");
                sent.push(bench.uut.tx_data.val().to_u8());
                busy_until = now + 1 + byte_cycles;
            }
            let done = bench.uut.sent.val();
            if done {
                assert!(now >= busy_until, "sent before the last byte was out");
                bench.uut.go.next = false;
            }
            bench.tick();
            if done {
                break;
            }
            assert!(bench.cycles < 100_000, "stalled");
        }
        (sent, handshakes)
    }

    #[test]
    fn shell_tx_framer_frame_layout() {
        for (response, status, byte_cycles, seed) in [
            (vec![0x11u8, 0x22, 0x33], 0u8, 40u64, 1u64),
            (vec![0xFF], 0x0B, 40, 2),
            ((0..40).collect::<Vec<u8>>(), 0x02, 80, 3),
        ] {
            let (sent, handshakes) = run(&response, status, byte_cycles, seed);
            let mut want = vec![0x5A, status];
            want.extend_from_slice(&response);
            let crc = model_crc16(&want[1..]);
            want.extend_from_slice(&crc.to_be_bytes());
            assert_eq!(sent, want);
            assert_eq!(handshakes.len(), response.len());
            // One byte taken per transmitter slot.
            for w in handshakes.windows(2) {
                assert!(w[1] - w[0] > byte_cycles);
            }
        }
    }
}
