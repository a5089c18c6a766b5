//! Response framing: sync byte, status, the core's response bytes, CRC.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::crc::Crc16;
use super::RESPONSE_SYNC;

/// Response-side state machine (see the protocol in [`crate::shell`]).
///
/// Once `go` (the request side's `done`) is high and the core offers its first response byte,
/// it sends 0x5A, `status`, then `response_bytes` bytes taken from the core's stream, then the
/// CRC-16 of status + payload, high byte first, and pulses `sent` once the last stop bit has
/// left the pin. Waiting for the core's first byte before starting keeps the core's latency
/// out of the frame: the host sees a frame's bytes close together however long the core
/// computes.
///
/// `resp_ready` is high only in the payload state while the transmitter is free, so a byte
/// is taken from the core exactly when it can go on the line: the core may offer its bytes
/// early (even before the request's CRC has arrived) or late, and nothing is sent that it has
/// not offered.
#[derive(LogicBlock)]
pub struct TxFramer {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: abandon the response.
    pub reset: Signal<In, Bit>,
    /// The request is complete: send its response (level, held until `sent`).
    pub go: Signal<In, Bit>,
    /// Status byte of the request.
    pub status: Signal<In, Bits<8>>,
    /// Response stream from the core: data.
    pub resp_data: Signal<In, Bits<8>>,
    /// Response stream from the core: valid.
    pub resp_valid: Signal<In, Bit>,
    /// Response stream from the core: ready.
    pub resp_ready: Signal<Out, Bit>,
    /// Byte for the UART transmitter.
    pub tx_data: Signal<Out, Bits<8>>,
    /// Start the UART transmitter.
    pub tx_start: Signal<Out, Bit>,
    /// The UART transmitter is busy.
    pub tx_busy: Signal<In, Bit>,
    /// One-cycle strobe: the whole response has been sent.
    pub sent: Signal<Out, Bit>,
    state: DFF<Bits<3>>,
    count: DFF<Bits<24>>,
    crc_engine: Crc16,
    s_idle: Constant<Bits<3>>,
    s_sync: Constant<Bits<3>>,
    s_status: Constant<Bits<3>>,
    s_payload: Constant<Bits<3>>,
    s_crc_high: Constant<Bits<3>>,
    s_crc_low: Constant<Bits<3>>,
    s_drain: Constant<Bits<3>>,
    sync_byte: Constant<Bits<8>>,
    last_payload: Constant<Bits<24>>,
    zero: Constant<Bits<24>>,
    one: Constant<Bits<24>>,
}

impl TxFramer {
    /// Framer for `response_bytes` payload bytes per response.
    ///
    /// # Panics
    /// If `response_bytes` is outside `1..2^24`.
    pub fn new(response_bytes: u32) -> Self {
        assert!((1..1 << 24).contains(&response_bytes));
        let c3 = |v: u64| Constant::new(v.into());
        let c24 = |v: u32| Constant::new(u64::from(v).into());
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
            state: Default::default(),
            count: Default::default(),
            crc_engine: Default::default(),
            s_idle: c3(0),
            s_sync: c3(1),
            s_status: c3(2),
            s_payload: c3(3),
            s_crc_high: c3(4),
            s_crc_low: c3(5),
            s_drain: c3(6),
            sync_byte: Constant::new(u64::from(RESPONSE_SYNC).into()),
            last_payload: c24(response_bytes - 1),
            zero: c24(0),
            one: c24(1),
        }
    }
}

impl Logic for TxFramer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, state, count);
        clock!(self, clock, crc_engine);
        self.crc_engine.clear.next = self.reset.val();
        self.crc_engine.start.next = false;
        self.tx_start.next = false;
        self.tx_data.next = self.resp_data.val();
        self.resp_ready.next = false;
        self.sent.next = false;
        if self.state.q.val() == self.s_idle.val() {
            if self.go.val() & self.resp_valid.val() {
                self.crc_engine.clear.next = true;
                self.state.d.next = self.s_sync.val();
            }
        } else if self.state.q.val() == self.s_sync.val() {
            self.tx_data.next = self.sync_byte.val();
            if !self.tx_busy.val() {
                self.tx_start.next = true;
                self.state.d.next = self.s_status.val();
            }
        } else if self.state.q.val() == self.s_status.val() {
            self.tx_data.next = self.status.val();
            if !self.tx_busy.val() {
                self.tx_start.next = true;
                self.crc_engine.start.next = true;
                self.count.d.next = self.zero.val();
                self.state.d.next = self.s_payload.val();
            }
        } else if self.state.q.val() == self.s_payload.val() {
            self.resp_ready.next = !self.tx_busy.val();
            if !self.tx_busy.val() & self.resp_valid.val() {
                self.tx_start.next = true;
                self.crc_engine.start.next = true;
                self.count.d.next = self.count.q.val() + self.one.val();
                if self.count.q.val() == self.last_payload.val() {
                    self.state.d.next = self.s_crc_high.val();
                }
            }
        } else if self.state.q.val() == self.s_crc_high.val() {
            self.tx_data.next = self.crc_engine.crc.val().get_bits::<8>(8);
            if !self.tx_busy.val() & !self.crc_engine.busy.val() {
                self.tx_start.next = true;
                self.state.d.next = self.s_crc_low.val();
            }
        } else if self.state.q.val() == self.s_crc_low.val() {
            self.tx_data.next = self.crc_engine.crc.val().get_bits::<8>(0);
            if !self.tx_busy.val() {
                self.tx_start.next = true;
                self.state.d.next = self.s_drain.val();
            }
        } else if self.state.q.val() == self.s_drain.val() {
            // "Sent" means the last stop bit is out, so the host has the whole frame.
            if !self.tx_busy.val() {
                self.sent.next = true;
                self.state.d.next = self.s_idle.val();
            }
        } else {
            self.state.d.next = self.s_idle.val();
        }
        if self.reset.val() {
            self.tx_start.next = false;
            self.resp_ready.next = false;
            self.sent.next = false;
            self.state.d.next = self.s_idle.val();
        }
        self.crc_engine.data.next = self.tx_data.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{Bench, Rng};

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

    /// Bit-by-bit CRC-16/CCITT-FALSE, independent of the code under test.
    fn reference_crc(bytes: &[u8]) -> u16 {
        let mut crc = 0xFFFFu16;
        for &b in bytes {
            for i in (0..8).rev() {
                let feedback = ((crc >> 15) as u8 ^ (b >> i)) & 1 == 1;
                crc <<= 1;
                if feedback {
                    crc ^= 0x1021;
                }
            }
        }
        crc
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
            let crc = reference_crc(&want[1..]);
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
