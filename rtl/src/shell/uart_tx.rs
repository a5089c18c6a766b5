//! UART transmitter, 8N1, LSB first.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::countdown::Countdown;

/// 8N1 UART transmitter.
///
/// `start` (while `busy` is low) takes `data`; the line then carries a start bit, the 8 data
/// bits LSB first and a stop bit, each `clocks_per_bit` cycles long, and `busy` stays high
/// until the stop bit has been on the line for its full length. `tx` is a single flip-flop's
/// inverted output (no glitches on the pin), 1 at configuration and in reset. (Stored
/// inverted so the flip-flop starts at 0 and its reset is the reset pin: iCE40 flip-flops
/// start at 0, and yosys would otherwise route the reset through logic.)
///
/// The bit timer is a [`Countdown`] of period `clocks_per_bit`, held loaded while idle, and
/// the bits are counted by another, so every decision is made from flip-flop outputs. `start`
/// and `data` should come from flip-flops too (the response framer's are).
#[derive(LogicBlock)]
pub struct UartTx {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: abandon the byte, line idle.
    pub reset: Signal<In, Bit>,
    /// Byte to send, taken with `start`.
    pub data: Signal<In, Bits<8>>,
    /// Take `data` (ignored while `busy`).
    pub start: Signal<In, Bit>,
    /// The TX pin, idle high.
    pub tx: Signal<Out, Bit>,
    /// A byte is on the line.
    pub busy: Signal<Out, Bit>,
    /// The line is low (start bit or a 0 data bit).
    line_low: DFF<Bit>,
    shift: DFF<Bits<8>>,
    bit_timer: Countdown,
    /// Done once the start bit and the 8 data bits have been sent (the stop bit is on).
    bits_sent: Countdown,
    active: DFF<Bit>,
    /// The current bit ends now and another follows.
    next_bit: Signal<Local, Bit>,
    msb: Constant<Bits<8>>,
}

impl UartTx {
    /// Transmitter for `clocks_per_bit` clocks per bit.
    ///
    /// # Panics
    /// If `clocks_per_bit` is outside `4..2^24`.
    pub fn new(clocks_per_bit: u32) -> Self {
        assert!((4..1 << 24).contains(&clocks_per_bit));
        Self {
            clock: Default::default(),
            reset: Default::default(),
            data: Default::default(),
            start: Default::default(),
            tx: Default::default(),
            busy: Default::default(),
            line_low: Default::default(),
            shift: Default::default(),
            // Period clocks_per_bit: done pulses on the last cycle of each bit.
            bit_timer: Countdown::new(clocks_per_bit - 1),
            bits_sent: Countdown::new(9),
            active: Default::default(),
            next_bit: Default::default(),
            msb: Constant::new(0x80u64.into()),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, line_low, shift, active);
        clock!(self, clock, bit_timer, bits_sent);
        self.tx.next = !self.line_low.q.val();
        self.busy.next = self.active.q.val();
        // Held at its start while idle, so the first bit is a whole period long.
        self.bit_timer.load.next = !self.active.q.val() | self.bit_timer.done.val();
        self.bit_timer.dec.next = true;
        self.bits_sent.load.next = !self.active.q.val();
        self.bits_sent.dec.next = self.bit_timer.done.val();
        // Busy from the cycle after start until the stop bit has had its full length.
        self.active.d.next = (!self.active.q.val() & self.start.val())
            | (self.active.q.val() & !(self.bit_timer.done.val() & self.bits_sent.done.val()));
        // The line: low for the start bit, then each data bit in turn (the 1s shifted in
        // behind them make the stop bit), high when idle. One expression, so no clock enable
        // (and the reset stays on the flip-flop's reset pin).
        self.next_bit.next = self.bit_timer.done.val() & !self.bits_sent.done.val();
        self.line_low.d.next = (!self.active.q.val() & self.start.val())
            | (self.active.q.val()
                & ((self.next_bit.val() & !self.shift.q.val().get_bit(0))
                    | (!self.next_bit.val() & self.line_low.q.val())));
        if !self.active.q.val() {
            if self.start.val() {
                self.shift.d.next = self.data.val();
            }
        } else if self.next_bit.val() {
            self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
        }
        if self.reset.val() {
            self.active.d.next = false;
            self.line_low.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{impl_clocked, uart_frame, Bench, Clocked, UartDecoder};
    use crate::shell::uart_rx::UartRx;

    /// Sends `byte` as soon as the transmitter is free; returns the line levels from the
    /// first cycle after `start` until `busy` drops.
    fn send(bench: &mut Bench<UartTx>, byte: u8) -> Vec<bool> {
        while bench.uut.busy.val() {
            bench.tick();
        }
        bench.uut.data.next = u64::from(byte).into();
        bench.uut.start.next = true;
        bench.tick();
        bench.uut.start.next = false;
        let mut levels = Vec::new();
        while bench.uut.busy.val() {
            levels.push(bench.uut.tx.val());
            bench.tick();
        }
        levels
    }

    #[test]
    fn shell_uart_tx_exact_waveform() {
        for cpb in [4usize, 7, 13] {
            let mut bench = Bench::new(UartTx::new(cpb as u32));
            assert!(bench.uut.tx.val(), "idle high from configuration");
            for byte in [0x00u8, 0xFF, 0xA5, 0x5A, 0x01, 0x80] {
                assert_eq!(send(&mut bench, byte), uart_frame(byte, cpb, true));
                assert!(bench.uut.tx.val());
            }
        }
    }

    #[test]
    fn shell_uart_tx_reset_returns_line_high() {
        let mut bench = Bench::new(UartTx::new(8));
        bench.uut.data.next = 0u64.into();
        bench.uut.start.next = true;
        bench.tick();
        bench.uut.start.next = false;
        for _ in 0..20 {
            bench.tick();
        }
        assert!(!bench.uut.tx.val());
        bench.uut.reset.next = true;
        bench.tick();
        bench.uut.reset.next = false;
        assert!(bench.uut.tx.val());
        assert!(!bench.uut.busy.val());
    }

    /// UartTx's pin wired to UartRx's pin, both in one rust-hdl block.
    #[derive(LogicBlock)]
    struct Loopback {
        clock: Signal<In, Clock>,
        data: Signal<In, Bits<8>>,
        start: Signal<In, Bit>,
        busy: Signal<Out, Bit>,
        line: Signal<Out, Bit>,
        rx_data: Signal<Out, Bits<8>>,
        rx_valid: Signal<Out, Bit>,
        rx_error: Signal<Out, Bit>,
        tx: UartTx,
        rx: UartRx,
    }

    impl Logic for Loopback {
        #[hdl_gen]
        fn update(&mut self) {
            clock!(self, clock, tx, rx);
            self.tx.reset.next = false;
            self.rx.reset.next = false;
            self.tx.data.next = self.data.val();
            self.tx.start.next = self.start.val();
            self.busy.next = self.tx.busy.val();
            self.rx.rx.next = self.tx.tx.val();
            self.line.next = self.tx.tx.val();
            self.rx_data.next = self.rx.data.val();
            self.rx_valid.next = self.rx.valid.val();
            self.rx_error.next = self.rx.frame_error.val();
        }
    }

    impl_clocked!(Loopback);

    #[test]
    fn shell_uart_loopback_all_bytes() {
        for cpb in [8u32, 13] {
            let mut bench = Bench::new(Loopback {
                clock: Default::default(),
                data: Default::default(),
                start: Default::default(),
                busy: Default::default(),
                line: Default::default(),
                rx_data: Default::default(),
                rx_valid: Default::default(),
                rx_error: Default::default(),
                tx: UartTx::new(cpb),
                rx: UartRx::new(cpb),
            });
            // The test's own decoder watches the same line, as a second opinion.
            let mut decoder = UartDecoder::new(cpb as usize);
            let mut got = Vec::new();
            let mut next = 0usize;
            while got.len() < 256 {
                bench.uut.start.next = next < 256 && !bench.uut.busy.val();
                bench.uut.data.next = (next as u64 & 0xFF).into();
                if bench.uut.start.next {
                    next += 1;
                }
                bench.tick();
                decoder.sample(bench.uut.line.val());
                if bench.uut.rx_valid.val() {
                    assert!(!bench.uut.rx_error.val());
                    got.push(bench.uut.rx_data.val().to_u8());
                }
                assert!(bench.cycles < 256 * 12 * u64::from(cpb), "stalled");
            }
            let want: Vec<u8> = (0..=255).collect();
            assert_eq!(got, want, "cpb {cpb}");
            let decoded: Vec<u8> = decoder.bytes.iter().map(|&(b, _)| b).collect();
            assert_eq!(decoded, want);
            assert!(decoder.bytes.iter().all(|&(_, stop)| stop));
        }
    }
}
