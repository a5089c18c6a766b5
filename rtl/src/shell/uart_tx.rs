//! UART transmitter, 8N1, LSB first.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// 8N1 UART transmitter.
///
/// `start` (while `busy` is low) takes `data`; the line then carries a start bit, the 8 data
/// bits LSB first and a stop bit, each `clocks_per_bit` cycles long, and `busy` stays high
/// until the stop bit has been on the line for its full length. `tx` comes straight from a
/// flip-flop (no glitches on the pin) that is 1 at configuration and in reset.
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
    line: DFFWithInit<Bit>,
    shift: DFF<Bits<8>>,
    count: DFF<Bits<24>>,
    bits_left: DFF<Bits<4>>,
    active: DFF<Bit>,
    last_cycle: Constant<Bits<24>>,
    zero: Constant<Bits<24>>,
    one: Constant<Bits<24>>,
    nine: Constant<Bits<4>>,
    bit_one: Constant<Bits<4>>,
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
            line: DFFWithInit::new(true),
            shift: Default::default(),
            count: Default::default(),
            bits_left: Default::default(),
            active: Default::default(),
            last_cycle: Constant::new(u64::from(clocks_per_bit - 1).into()),
            zero: Constant::new(0u64.into()),
            one: Constant::new(1u64.into()),
            nine: Constant::new(9u64.into()),
            bit_one: Constant::new(1u64.into()),
            msb: Constant::new(0x80u64.into()),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, line, shift, count, bits_left, active);
        self.tx.next = self.line.q.val();
        self.busy.next = self.active.q.val();
        if !self.active.q.val() {
            if self.start.val() {
                self.shift.d.next = self.data.val();
                self.line.d.next = false;
                self.count.d.next = self.zero.val();
                self.bits_left.d.next = self.nine.val();
                self.active.d.next = true;
            }
        } else if self.count.q.val() == self.last_cycle.val() {
            self.count.d.next = self.zero.val();
            if self.bits_left.q.val().any() {
                // 8 data bits, then the 1s shifted in behind them make the stop bit.
                self.line.d.next = self.shift.q.val().get_bit(0);
                self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
                self.bits_left.d.next = self.bits_left.q.val() - self.bit_one.val();
            } else {
                self.active.d.next = false;
            }
        } else {
            self.count.d.next = self.count.q.val() + self.one.val();
        }
        if self.reset.val() {
            self.active.d.next = false;
            self.line.d.next = true;
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
