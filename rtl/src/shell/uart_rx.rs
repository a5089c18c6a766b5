//! UART receiver, 8N1, LSB first.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::countdown::{encode, layout, Countdown, COUNT_BITS};

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
///
/// - Reset abandons the byte and waits for the line to be high, like after a framing error,
///   so a reset in the middle of a byte does not take one of its 0 bits for a start bit.
///
/// Timing structure: one bit timer of period `clocks_per_bit` (a down-counter ending on its
/// sign bit, as in [`crate::shell::Countdown`]), held loaded while idle (and while waiting for
/// the line to be high) and so restarted by the first low sample.
/// The bit middles are found by comparing the timer with a constant one cycle early and
/// registering the result (`at_mid`), so no comparator sits in front of the state machine and
/// no second timer is needed for the half bit. The comparison cannot match while the timer is
/// held, except for `clocks_per_bit` 4 and 5 where the held value is the compared one; only
/// then is it also gated with the idle state (a constant decides, so synthesis drops the
/// gate otherwise). The states are one-hot and
/// the data bits are counted by a [`Countdown`], so the state machine's next values are
/// small functions of flip-flops.
#[derive(LogicBlock)]
pub struct UartRx {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: abandon the byte, hunt for a start bit once the line is
    /// high.
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
    /// Not hunting for a start bit (the other states are one-hot; all clear, at
    /// configuration too, is idle).
    busy: DFF<Bit>,
    /// In the start bit, until its middle.
    in_start: DFF<Bit>,
    /// In the data bits.
    in_data: DFF<Bit>,
    /// In the stop bit, until its middle.
    in_stop: DFF<Bit>,
    /// After a framing error, until the line is high again.
    wait_high: DFF<Bit>,
    timer: DFF<Bits<COUNT_BITS>>,
    at_mid: DFF<Bit>,
    /// Done on the eighth data bit (counts the ones before it).
    bits_received: Countdown,
    shift: DFF<Bits<8>>,
    out_data: DFF<Bits<8>>,
    out_valid: DFF<Bit>,
    out_error: DFF<Bit>,
    /// `clocks_per_bit - 2`: the timer runs from here down to -1, `clocks_per_bit` cycles.
    timer_start: Constant<Bits<COUNT_BITS>>,
    /// The timer's bits in use (the rest stay 0 and are removed by synthesis).
    timer_mask: Constant<Bits<COUNT_BITS>>,
    /// Index of the timer's sign bit.
    timer_sign: Constant<Bits<5>>,
    /// Timer value on the cycle before a bit's middle: `clocks_per_bit - clocks_per_bit / 2`.
    before_mid: Constant<Bits<COUNT_BITS>>,
    /// `before_mid` is the held value (`clocks_per_bit` 4 or 5): gate the comparison with idle.
    gate_idle: Constant<Bit>,
    one: Constant<Bits<COUNT_BITS>>,
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
        let start = i64::from(clocks_per_bit) - 2;
        let (sign, mask) = layout(start);
        fn c<const N: usize>(v: u64) -> Constant<Bits<N>> {
            Constant::new(v.into())
        }
        Self {
            clock: Default::default(),
            reset: Default::default(),
            rx: Default::default(),
            data: Default::default(),
            valid: Default::default(),
            frame_error: Default::default(),
            sync0: DFFWithInit::new(true),
            sync1: DFFWithInit::new(true),
            busy: Default::default(),
            in_start: Default::default(),
            in_data: Default::default(),
            in_stop: Default::default(),
            wait_high: Default::default(),
            timer: Default::default(),
            at_mid: Default::default(),
            bits_received: Countdown::new(7),
            shift: Default::default(),
            out_data: Default::default(),
            out_valid: Default::default(),
            out_error: Default::default(),
            timer_start: c(encode(start, mask)),
            timer_mask: c(mask),
            timer_sign: c(sign as u64),
            before_mid: c(u64::from(clocks_per_bit - clocks_per_bit / 2)),
            gate_idle: Constant::new(clocks_per_bit - clocks_per_bit / 2 == clocks_per_bit - 2),
            one: c(1),
            msb: c(0x80),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, sync0, sync1, busy, in_start, in_data, in_stop, wait_high, timer, at_mid,
            shift, out_data, out_valid, out_error
        );
        clock!(self, clock, bits_received);
        self.sync0.d.next = self.rx.val();
        self.sync1.d.next = self.sync0.q.val();
        self.data.next = self.out_data.q.val();
        self.valid.next = self.out_valid.q.val();
        self.frame_error.next = self.out_error.q.val();
        // Bit timer: loaded while idle, so it starts on the cycle after the first low sample,
        // and reloaded when it ends; period clocks_per_bit. Also loaded while waiting for the
        // line to be high, so it holds its start value on the first idle cycle too.
        if !self.busy.q.val()
            | self.wait_high.q.val()
            | self.timer.q.val().get_bit(self.timer_sign.val().index())
        {
            self.timer.d.next = self.timer_start.val();
        } else {
            self.timer.d.next = (self.timer.q.val() - self.one.val()) & self.timer_mask.val();
        }
        // High on each bit's middle: clocks_per_bit / 2 cycles after the first low sample for
        // the start bit, then every clocks_per_bit cycles.
        self.at_mid.d.next = (self.timer.q.val() == self.before_mid.val())
            & !(self.gate_idle.val() & !self.busy.q.val());
        self.bits_received.load.next = !self.in_data.q.val();
        self.bits_received.dec.next = self.at_mid.q.val();
        // One-hot state machine, one equation per state.
        self.busy.d.next = !self.sync1.q.val()
            | (self.busy.q.val()
                & !self.wait_high.q.val()
                & !(self.at_mid.q.val() & (self.in_start.q.val() | self.in_stop.q.val())));
        self.in_start.d.next = (!self.busy.q.val() & !self.sync1.q.val())
            | (self.in_start.q.val() & !self.at_mid.q.val());
        // A start bit that is high again at its middle was a glitch: back to idle.
        self.in_data.d.next = (self.in_start.q.val() & self.at_mid.q.val() & !self.sync1.q.val())
            | (self.in_data.q.val() & !(self.at_mid.q.val() & self.bits_received.done.val()));
        self.in_stop.d.next =
            (self.in_data.q.val() & self.at_mid.q.val() & self.bits_received.done.val())
                | (self.in_stop.q.val() & !self.at_mid.q.val());
        self.wait_high.d.next = !self.sync1.q.val()
            & (self.wait_high.q.val() | (self.in_stop.q.val() & self.at_mid.q.val()));
        if self.in_data.q.val() & self.at_mid.q.val() {
            // LSB first: each bit enters at the top and moves down.
            if self.sync1.q.val() {
                self.shift.d.next = (self.shift.q.val() >> 1) | self.msb.val();
            } else {
                self.shift.d.next = self.shift.q.val() >> 1;
            }
        }
        // At the stop bit's middle: the byte, and whether the stop bit was 0.
        self.out_valid.d.next = self.in_stop.q.val() & self.at_mid.q.val();
        if self.in_stop.q.val() & self.at_mid.q.val() {
            self.out_data.d.next = self.shift.q.val();
            self.out_error.d.next = !self.sync1.q.val();
        }
        if self.reset.val() {
            self.busy.d.next = true;
            self.in_start.d.next = false;
            self.in_data.d.next = false;
            self.in_stop.d.next = false;
            self.wait_high.d.next = true;
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
        // 4 and 5 take the gated mid-bit comparison, the others the plain one.
        for cpb in [4usize, 5, 6, 9] {
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

    #[test]
    fn shell_uart_rx_reset_mid_byte_waits_for_high_line() {
        let cpb = 8;
        let mut bench = Bench::new(UartRx::new(cpb as u32));
        // Reset in the low part of a 0x00 byte: its remaining 0 bits are not a start bit.
        let frame = uart_frame(0x00, cpb, true);
        receive(&mut bench, &frame[..3 * cpb], 0);
        bench.uut.reset.next = true;
        bench.tick();
        bench.uut.reset.next = false;
        assert_eq!(receive(&mut bench, &frame[3 * cpb..], 3 * cpb), vec![]);
        assert_eq!(receive(&mut bench, &frame, cpb), vec![(0x00, false)]);
    }
}
