//! UART receiver, 8N1, LSB first.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// 8N1 UART receiver.
///
/// - The pin goes through two flip-flops first (it is asynchronous to the clock), which start
///   at 1 so the idle line is not taken for a start bit after configuration.
/// - A low level starts a frame; the start bit is checked again at its middle
///   (`clocks_per_bit / 2` cycles later) so a glitch shorter than half a bit is ignored.
/// - Every data bit and the stop bit are sampled at their middle, `clocks_per_bit` cycles
///   apart.
/// - At the stop bit's middle `valid` pulses for one cycle with `data`; `frame_error` is high
///   with it when the stop bit was 0. After a framing error the receiver waits for the line to
///   go high again, so a line held low (break, unplugged cable) gives one error, not a stream
///   of 0x00 bytes.
/// - Leaving at mid-stop-bit leaves half a bit of slack for a sender whose clock is slightly
///   fast.
#[derive(LogicBlock)]
pub struct UartRx {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset (back to hunting for a start bit).
    pub reset: Signal<In, Bit>,
    /// The RX pin, idle high, not synchronized.
    pub rx: Signal<In, Bit>,
    /// Last byte received; valid when `valid` is high.
    pub data: Signal<Out, Bits<8>>,
    /// One-cycle strobe: a byte arrived.
    pub valid: Signal<Out, Bit>,
    /// With `valid`: the stop bit was 0.
    pub frame_error: Signal<Out, Bit>,
    sync0: DFFWithInit<Bit>,
    sync1: DFFWithInit<Bit>,
    state: DFF<Bits<3>>,
    count: DFF<Bits<24>>,
    bit_index: DFF<Bits<3>>,
    shift: DFF<Bits<8>>,
    out_data: DFF<Bits<8>>,
    out_valid: DFF<Bit>,
    out_error: DFF<Bit>,
    s_idle: Constant<Bits<3>>,
    s_start: Constant<Bits<3>>,
    s_data: Constant<Bits<3>>,
    s_stop: Constant<Bits<3>>,
    s_wait_high: Constant<Bits<3>>,
    /// Cycles from the first low sample to the middle of the start bit, minus one.
    mid_bit: Constant<Bits<24>>,
    /// `clocks_per_bit - 1`: cycles between samples, minus one.
    last_cycle: Constant<Bits<24>>,
    zero: Constant<Bits<24>>,
    one: Constant<Bits<24>>,
    bit_zero: Constant<Bits<3>>,
    bit_one: Constant<Bits<3>>,
    bit_last: Constant<Bits<3>>,
    msb: Constant<Bits<8>>,
}

impl UartRx {
    /// Receiver for `clocks_per_bit` clocks per bit.
    ///
    /// # Panics
    /// If `clocks_per_bit` is outside `4..2^24` ([`crate::shell::LinkParams::validate`]
    /// checks this first for the link).
    pub fn new(clocks_per_bit: u32) -> Self {
        assert!((4..1 << 24).contains(&clocks_per_bit));
        let c24 = |v: u32| Constant::new(u64::from(v).into());
        let c3 = |v: u64| Constant::new(v.into());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_error: Default::default(),
            sync0: DFFWithInit::new(true),
            sync1: DFFWithInit::new(true),
            state: Default::default(),
            count: Default::default(),
            bit_index: Default::default(),
            shift: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_error: Default::default(),
            s_idle: c3(0),
            s_start: c3(1),
            s_data: c3(2),
            s_stop: c3(3),
            s_wait_high: c3(4),
            mid_bit: c24(clocks_per_bit / 2 - 1),
            last_cycle: c24(clocks_per_bit - 1),
            zero: c24(0),
            one: c24(1),
            bit_zero: c3(0),
            bit_one: c3(1),
            bit_last: c3(7),
            msb: Constant::new(0x80u64.into()),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, sync0, sync1, state, count, bit_index, shift, out_data, out_valid,
            out_error
        );
        self.sync0.d.next = self.rx.val();
        self.sync1.d.next = self.sync0.q.val();
        self.data.next = self.out_data.q.val();
        self.valid.next = self.out_valid.q.val();
        self.frame_error.next = self.out_error.q.val();
        self.out_valid.d.next = false;
        if self.state.q.val() == self.s_idle.val() {
            if !self.sync1.q.val() {
                self.count.d.next = self.zero.val();
                self.state.d.next = self.s_start.val();
            }
        } else if self.state.q.val() == self.s_start.val() {
            if self.count.q.val() == self.mid_bit.val() {
                if !self.sync1.q.val() {
                    self.count.d.next = self.zero.val();
                    self.bit_index.d.next = self.bit_zero.val();
                    self.state.d.next = self.s_data.val();
                } else {
                    // Glitch: the line is high again at mid-start-bit.
                    self.state.d.next = self.s_idle.val();
                }
            } else {
                self.count.d.next = self.count.q.val() + self.one.val();
            }
        } else if self.state.q.val() == self.s_data.val() {
            if self.count.q.val() == self.last_cycle.val() {
                self.count.d.next = self.zero.val();
                // LSB first: each bit enters at the top and moves down.
                if self.sync1.q.val() {
                    self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
                } else {
                    self.shift.d.next = self.shift.q.val() >> 1;
                }
                self.bit_index.d.next = self.bit_index.q.val() + self.bit_one.val();
                if self.bit_index.q.val() == self.bit_last.val() {
                    self.state.d.next = self.s_stop.val();
                }
            } else {
                self.count.d.next = self.count.q.val() + self.one.val();
            }
        } else if self.state.q.val() == self.s_stop.val() {
            if self.count.q.val() == self.last_cycle.val() {
                self.out_data.d.next = self.shift.q.val();
                self.out_valid.d.next = true;
                self.out_error.d.next = !self.sync1.q.val();
                if self.sync1.q.val() {
                    self.state.d.next = self.s_idle.val();
                } else {
                    self.state.d.next = self.s_wait_high.val();
                }
            } else {
                self.count.d.next = self.count.q.val() + self.one.val();
            }
        } else if self.state.q.val() == self.s_wait_high.val() {
            if self.sync1.q.val() {
                self.state.d.next = self.s_idle.val();
            }
        } else {
            self.state.d.next = self.s_idle.val();
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.out_valid.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{uart_frame, Bench, Rng};

    /// Drives `levels` onto the pin (then idle) and returns every (byte, frame_error) seen.
    fn receive(bench: &mut Bench<UartRx>, levels: &[bool], tail: usize) -> Vec<(u8, bool)> {
        let mut got = Vec::new();
        for &level in levels.iter().chain(std::iter::repeat_n(&true, tail)) {
            bench.uut.rx.next = level;
            bench.tick();
            if bench.uut.valid.val() {
                got.push((bench.uut.data.val().to_u8(), bench.uut.frame_error.val()));
            }
        }
        got
    }

    #[test]
    fn shell_uart_rx_all_bytes_back_to_back() {
        for cpb in [4usize, 9] {
            let mut bench = Bench::new(UartRx::new(cpb as u32));
            let levels: Vec<bool> = (0..=255u8).flat_map(|b| uart_frame(b, cpb, true)).collect();
            let got = receive(&mut bench, &levels, 3 * cpb);
            let want: Vec<(u8, bool)> = (0..=255u8).map(|b| (b, false)).collect();
            assert_eq!(got, want, "cpb {cpb}");
        }
    }

    #[test]
    fn shell_uart_rx_framing_error_then_recovers() {
        let cpb = 8;
        let mut bench = Bench::new(UartRx::new(cpb as u32));
        // Stop bit 0, and the line stays low for a while (break) before returning high.
        let mut levels = uart_frame(0x3C, cpb, false);
        levels.extend(std::iter::repeat_n(false, 5 * cpb));
        levels.extend(std::iter::repeat_n(true, 2 * cpb));
        levels.extend(uart_frame(0xC3, cpb, true));
        let got = receive(&mut bench, &levels, 2 * cpb);
        assert_eq!(got, vec![(0x3C, true), (0xC3, false)]);
    }

    #[test]
    fn shell_uart_rx_ignores_short_glitch() {
        let cpb = 16;
        let mut bench = Bench::new(UartRx::new(cpb as u32));
        let mut levels = vec![true; 20];
        // Low for less than half a bit: rejected at the start bit's middle.
        levels.extend(std::iter::repeat_n(false, cpb / 2 - 3));
        levels.extend(std::iter::repeat_n(true, 3 * cpb));
        levels.extend(uart_frame(0x81, cpb, true));
        assert_eq!(receive(&mut bench, &levels, 2 * cpb), vec![(0x81, false)]);
    }

    #[test]
    fn shell_uart_rx_tolerates_bit_time_mismatch() {
        // A sender 3% fast or slow (rounded per bit) is still decoded.
        let cpb = 32;
        let mut rng = Rng::new(3);
        for sender_cpb in [31usize, 33] {
            let mut bench = Bench::new(UartRx::new(cpb as u32));
            let bytes: Vec<u8> = (0..20).map(|_| rng.byte()).collect();
            let levels: Vec<bool> = bytes
                .iter()
                .flat_map(|&b| uart_frame(b, sender_cpb, true))
                .collect();
            let got = receive(&mut bench, &levels, 2 * cpb);
            let want: Vec<(u8, bool)> = bytes.iter().map(|&b| (b, false)).collect();
            assert_eq!(got, want, "sender cpb {sender_cpb}");
        }
    }

    #[test]
    fn shell_uart_rx_reset_abandons_frame() {
        let cpb = 8;
        let mut bench = Bench::new(UartRx::new(cpb as u32));
        let frame = uart_frame(0x55, cpb, true);
        // Half a frame, then reset while the line is back to idle.
        receive(&mut bench, &frame[..5 * cpb], 0);
        bench.uut.rx.next = true;
        bench.uut.reset.next = true;
        bench.tick();
        bench.uut.reset.next = false;
        assert_eq!(receive(&mut bench, &[], 12 * cpb), vec![]);
        assert_eq!(receive(&mut bench, &frame, cpb), vec![(0x55, false)]);
    }
}
