//! The host link: reset synchronizer, UART, framers and the request FIFO in one block.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::countdown::Countdown;
use super::fifo::ByteFifo;
use super::reset::{ResetCopy, ResetSync};
use super::rx_framer::RxFramer;
use super::status_queue::StatusQueue;
use super::tx_framer::TxFramer;
use super::uart_rx::UartRx;
use super::uart_tx::UartTx;
use super::{LinkParams, ShellError};

/// The slow timers count at most `2^SLOW_TIMER_BITS` ticks (a counter of that many bits plus
/// its sign bit); it sets the prescaler.
const SLOW_TIMER_BITS: u32 = 11;

/// How the link's slow timers (request timeout, LED hold) count: in ticks of a free-running
/// prescaler of period `2^shift` cycles, the smallest period for which both take at most
/// `2^SLOW_TIMER_BITS` ticks. Whole cycles would need counters (carry chains) as wide as the
/// parameters, up to 24 bits, which on an iCE40 UP5K cannot run much above 70 MHz.
///
/// A timer started at an arbitrary cycle sees its first tick 1 to `2^shift` cycles later, so
/// counting `n` ticks takes between `(n - 1) * 2^shift + 1` and `n * 2^shift` cycles;
/// [`ticks_for`] picks the `n` that makes this at least the requested number of cycles. A
/// slow timer therefore lasts its parameter plus between 0 and `2 * 2^shift - 2` cycles:
/// exactly the parameter when `shift = 0`, i.e. when both parameters are at most
/// `2^SLOW_TIMER_BITS` cycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlowTimers {
    /// log2 of the prescaler period.
    pub shift: u32,
    /// Ticks the request timeout counts.
    pub timeout_ticks: u32,
    /// Ticks the LED hold counts.
    pub led_ticks: u32,
}

impl SlowTimers {
    pub(crate) fn new(params: &LinkParams) -> Self {
        let longest = params.timeout_cycles.max(params.led_cycles);
        let shift = (0..)
            .find(|&s| ticks_for(longest, s) <= 1 << SLOW_TIMER_BITS)
            .expect("a 24-bit count fits in ticks for some shift");
        Self {
            shift,
            timeout_ticks: ticks_for(params.timeout_cycles, shift),
            led_ticks: ticks_for(params.led_cycles, shift),
        }
    }
}

/// Ticks (of period `2^shift`) to count so that at least `cycles` cycles pass: 0 for 0
/// (done at once), else `ceil((cycles - 1) / 2^shift) + 1`; exactly `cycles` when `shift` is 0.
pub(crate) fn ticks_for(cycles: u32, shift: u32) -> u32 {
    if cycles == 0 {
        0
    } else {
        (cycles - 1).div_ceil(1 << shift) + 1
    }
}

/// The host link (protocol in [`crate::shell`]): its fields are the Verilog ports.
///
/// Besides the sub-blocks it holds the slow timers' shared prescaler (see
/// [timer precision](crate::shell#timer-precision)) and the LED hold timer.
#[derive(LogicBlock)]
pub struct Link {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Raw asynchronous active-high reset request (button, PLL not locked).
    pub reset_req: Signal<In, Bit>,
    /// Synchronized active-high reset for the rest of the design; the link runs from it, or
    /// with [`LinkParams::reset_copies`] from copies of it, one cycle later.
    pub reset: Signal<Out, Bit>,
    /// UART RX pin (idle high).
    pub uart_rx: Signal<In, Bit>,
    /// UART TX pin (idle high).
    pub uart_tx: Signal<Out, Bit>,
    /// Activity: high from a request's sync byte until its response is sent, and
    /// `led_cycles` after each response.
    pub led: Signal<Out, Bit>,
    /// Request stream to the core: payload byte.
    pub req_data: Signal<Out, Bits<8>>,
    /// Request stream to the core: valid.
    pub req_valid: Signal<Out, Bit>,
    /// Request stream to the core: ready.
    pub req_ready: Signal<In, Bit>,
    /// Response stream from the core: payload byte.
    pub resp_data: Signal<In, Bits<8>>,
    /// Response stream from the core: valid.
    pub resp_valid: Signal<In, Bit>,
    /// Response stream from the core: ready.
    pub resp_ready: Signal<Out, Bit>,
    rst: ResetSync,
    /// The reset's copies: the receive side, the transmit side, the request FIFO, and the
    /// status queue with the LED (see [`ResetCopy`]).
    reset_rx: ResetCopy,
    reset_tx: ResetCopy,
    reset_fifo: ResetCopy,
    reset_status: ResetCopy,
    receiver: UartRx,
    transmitter: UartTx,
    rx_framer: RxFramer,
    tx_framer: TxFramer,
    fifo: ByteFifo,
    /// Statuses of complete requests whose responses are not sent yet (the window of two).
    statuses: StatusQueue,
    /// Free-running, `done` pulses once every `2^shift` cycles: the slow timers' tick.
    prescaler: Countdown,
    led_timer: Countdown,
    led_hold: DFF<Bit>,
    led_on: DFF<Bit>,
}

impl Link {
    /// The link for `params`, after checking them ([`LinkParams::validate`]).
    pub fn new(params: &LinkParams) -> Result<Self, ShellError> {
        params.validate()?;
        let slow = SlowTimers::new(params);
        Ok(Self {
            clock: Default::default(),
            reset_req: Default::default(),
            reset: Default::default(),
            uart_rx: Default::default(),
            uart_tx: Default::default(),
            led: Default::default(),
            req_data: Default::default(),
            req_valid: Default::default(),
            req_ready: Default::default(),
            resp_data: Default::default(),
            resp_valid: Default::default(),
            resp_ready: Default::default(),
            rst: Default::default(),
            reset_rx: ResetCopy::new(params.reset_copies),
            reset_tx: ResetCopy::new(params.reset_copies),
            reset_fifo: ResetCopy::new(params.reset_copies),
            reset_status: ResetCopy::new(params.reset_copies),
            receiver: UartRx::new(params.clocks_per_bit),
            transmitter: UartTx::new(params.clocks_per_bit),
            rx_framer: RxFramer::new(params.request_bytes, slow.timeout_ticks),
            tx_framer: TxFramer::new(params.response_bytes),
            fifo: Default::default(),
            statuses: Default::default(),
            prescaler: Countdown::new((1 << slow.shift) - 1),
            led_timer: Countdown::new(slow.led_ticks),
            led_hold: Default::default(),
            led_on: Default::default(),
        })
    }
}

impl Logic for Link {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(
            self,
            clock,
            rst,
            reset_rx,
            reset_tx,
            reset_fifo,
            reset_status,
            receiver,
            transmitter,
            rx_framer,
            tx_framer,
            fifo,
            statuses,
            prescaler,
            led_timer
        );
        dff_setup!(self, clock, led_hold, led_on);
        // Reset: each part of the link runs from its copy of the synchronized reset (one cycle
        // after it, as the board's instances do, or the reset itself).
        self.rst.reset_req.next = self.reset_req.val();
        self.reset.next = self.rst.reset.val();
        self.reset_rx.d.next = self.rst.reset.val();
        self.reset_tx.d.next = self.rst.reset.val();
        self.reset_fifo.d.next = self.rst.reset.val();
        self.reset_status.d.next = self.rst.reset.val();
        self.receiver.reset.next = self.reset_rx.q.val();
        self.rx_framer.reset.next = self.reset_rx.q.val();
        self.transmitter.reset.next = self.reset_tx.q.val();
        self.tx_framer.reset.next = self.reset_tx.q.val();
        // Pins.
        self.receiver.rx.next = self.uart_rx.val();
        self.uart_tx.next = self.transmitter.tx.val();
        // Request path: UART -> framer -> FIFO -> core.
        self.rx_framer.rx_data.next = self.receiver.data.val();
        self.rx_framer.rx_valid.next = self.receiver.valid.val();
        self.rx_framer.rx_error.next = self.receiver.frame_error.val();
        self.rx_framer.fifo_full.next = self.fifo.full.val();
        self.fifo.reset.next = self.reset_fifo.q.val();
        self.fifo.push.next = self.rx_framer.push.val();
        self.fifo.push_data.next = self.rx_framer.push_data.val();
        self.req_data.next = self.fifo.pop_data.val();
        // Nothing is offered while the core is held in reset (the FIFO empties then).
        self.req_valid.next = !self.fifo.empty.val() & !self.reset_fifo.q.val();
        self.fifo.pop.next = self.req_ready.val();
        // Statuses: queued when a request is complete, dropped once its response is sent.
        // The request side hunts for the next request as soon as the queue takes a status.
        self.statuses.reset.next = self.reset_status.q.val();
        self.statuses.push.next = self.rx_framer.done.val() & !self.statuses.full.val();
        self.statuses.push_data.next = self.rx_framer.status.val();
        self.rx_framer.status_full.next = self.statuses.full.val();
        self.statuses.pop.next = self.tx_framer.sent.val();
        // Response path: core -> framer -> UART.
        self.tx_framer.go.next = !self.statuses.empty.val();
        self.tx_framer.status.next = self.statuses.head.val();
        self.tx_framer.resp_data.next = self.resp_data.val();
        self.tx_framer.resp_valid.next = self.resp_valid.val();
        self.resp_ready.next = self.tx_framer.resp_ready.val();
        self.tx_framer.tx_busy.next = self.transmitter.busy.val();
        self.transmitter.data.next = self.tx_framer.tx_data.val();
        self.transmitter.start.next = self.tx_framer.tx_start.val();
        // Slow time base: the prescaler reloads itself, so done pulses every 2^shift cycles.
        self.prescaler.load.next = self.prescaler.done.val();
        self.prescaler.dec.next = true;
        self.rx_framer.tick.next = self.prescaler.done.val();
        // Activity LED, from a flip-flop so the pin does not glitch. After a response the hold
        // timer counts led_ticks ticks (at least led_cycles cycles, see SlowTimers).
        self.led_timer.load.next = self.tx_framer.sent.val();
        self.led_timer.dec.next = self.prescaler.done.val();
        self.led_hold.d.next =
            self.tx_framer.sent.val() | (self.led_hold.q.val() & !self.led_timer.done.val());
        self.led_on.d.next =
            self.rx_framer.active.val() | !self.statuses.empty.val() | self.led_hold.q.val();
        if self.reset_status.q.val() {
            self.led_hold.d.next = false;
            self.led_on.d.next = false;
        }
        self.led.next = self.led_on.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::MAX_COUNT;

    fn params(timeout_cycles: u32, led_cycles: u32) -> LinkParams {
        LinkParams {
            clocks_per_bit: 4,
            request_bytes: 1,
            response_bytes: 1,
            timeout_cycles,
            led_cycles,
            reset_copies: false,
        }
    }

    #[test]
    fn shell_slow_timers_exact_when_short() {
        let slow = SlowTimers::new(&params(160, 50));
        assert_eq!(
            slow,
            SlowTimers {
                shift: 0,
                timeout_ticks: 160,
                led_ticks: 50
            }
        );
        let slow = SlowTimers::new(&params(2048, 0));
        assert_eq!(
            slow,
            SlowTimers {
                shift: 0,
                timeout_ticks: 2048,
                led_ticks: 0
            }
        );
        assert_eq!(SlowTimers::new(&params(2049, 0)).shift, 1);
    }

    #[test]
    fn shell_slow_timers_for_48mhz_115200_baud() {
        // The board flow's values: 100 byte times of timeout, 50 ms of LED.
        let slow = SlowTimers::new(&params(417_000, 2_400_000));
        assert_eq!(slow.shift, 11);
        let slow = SlowTimers::new(&params(417_000, 3_000_000));
        assert_eq!(
            slow,
            SlowTimers {
                shift: 11,
                timeout_ticks: 205,
                led_ticks: 1466
            }
        );
    }

    #[test]
    fn shell_slow_timers_bounds() {
        // Counting n ticks after an arbitrary start takes (n - 1) * P + 1 ..= n * P cycles:
        // never less than asked, at most 2P - 2 more.
        for cycles in (0..5000).chain([MAX_COUNT - 1, MAX_COUNT]) {
            for shift in 0..15 {
                let p = 1u64 << shift;
                let n = u64::from(ticks_for(cycles, shift));
                let c = u64::from(cycles);
                if c == 0 {
                    assert_eq!(n, 0);
                    continue;
                }
                assert!((n - 1) * p + 1 >= c, "{cycles} {shift}");
                assert!(n * p <= c + 2 * p - 2, "{cycles} {shift}");
            }
        }
        // Any valid parameters fit the tick counters.
        let slow = SlowTimers::new(&params(MAX_COUNT, MAX_COUNT));
        assert!(slow.timeout_ticks <= 1 << SLOW_TIMER_BITS);
        assert_eq!(slow.shift, 14);
    }
}
