//! The host link: reset synchronizer, UART, framers and the request FIFO in one block.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

use super::fifo::ByteFifo;
use super::reset::ResetSync;
use super::rx_framer::RxFramer;
use super::tx_framer::TxFramer;
use super::uart_rx::UartRx;
use super::uart_tx::UartTx;
use super::{LinkParams, ShellError};

/// The host link (protocol in [`crate::shell`]): its fields are the Verilog ports.
#[derive(LogicBlock)]
pub struct Link {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Raw asynchronous active-high reset request (button, PLL not locked).
    pub reset_req: Signal<In, Bit>,
    /// Synchronized active-high reset for the rest of the design; the link runs from it too.
    pub reset: Signal<Out, Bit>,
    /// UART RX pin (idle high).
    pub uart_rx: Signal<In, Bit>,
    /// UART TX pin (idle high).
    pub uart_tx: Signal<Out, Bit>,
    /// Activity: high while a request is in progress and `led_cycles` after each response.
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
    receiver: UartRx,
    transmitter: UartTx,
    rx_framer: RxFramer,
    tx_framer: TxFramer,
    fifo: ByteFifo,
    led_count: DFF<Bits<24>>,
    led_hold: DFF<Bit>,
    led_on: DFF<Bit>,
    led_cycles: Constant<Bits<24>>,
    zero: Constant<Bits<24>>,
    one: Constant<Bits<24>>,
}

impl Link {
    /// The link for `params`, after checking them ([`LinkParams::validate`]).
    pub fn new(params: &LinkParams) -> Result<Self, ShellError> {
        params.validate()?;
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
            receiver: UartRx::new(params.clocks_per_bit),
            transmitter: UartTx::new(params.clocks_per_bit),
            rx_framer: RxFramer::new(params.request_bytes, params.timeout_cycles),
            tx_framer: TxFramer::new(params.response_bytes),
            fifo: Default::default(),
            led_count: Default::default(),
            led_hold: Default::default(),
            led_on: Default::default(),
            led_cycles: Constant::new(u64::from(params.led_cycles).into()),
            zero: Constant::new(0u64.into()),
            one: Constant::new(1u64.into()),
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
            receiver,
            transmitter,
            rx_framer,
            tx_framer,
            fifo
        );
        dff_setup!(self, clock, led_count, led_hold, led_on);
        // Reset: everything in the link runs from the synchronized reset.
        self.rst.reset_req.next = self.reset_req.val();
        self.reset.next = self.rst.reset.val();
        self.receiver.reset.next = self.rst.reset.val();
        self.transmitter.reset.next = self.rst.reset.val();
        self.rx_framer.reset.next = self.rst.reset.val();
        self.tx_framer.reset.next = self.rst.reset.val();
        // Pins.
        self.receiver.rx.next = self.uart_rx.val();
        self.uart_tx.next = self.transmitter.tx.val();
        // Request path: UART -> framer -> FIFO -> core.
        self.rx_framer.rx_data.next = self.receiver.data.val();
        self.rx_framer.rx_valid.next = self.receiver.valid.val();
        self.rx_framer.rx_error.next = self.receiver.frame_error.val();
        self.rx_framer.fifo_full.next = self.fifo.full.val();
        self.fifo.reset.next = self.rst.reset.val();
        self.fifo.push.next = self.rx_framer.push.val();
        self.fifo.push_data.next = self.rx_framer.push_data.val();
        self.req_data.next = self.fifo.pop_data.val();
        // Nothing is offered while the core is held in reset (the FIFO empties then).
        self.req_valid.next = !self.fifo.empty.val() & !self.rst.reset.val();
        self.fifo.pop.next = self.req_ready.val();
        // Response path: core -> framer -> UART.
        self.tx_framer.go.next = self.rx_framer.done.val();
        self.tx_framer.status.next = self.rx_framer.status.val();
        self.tx_framer.resp_data.next = self.resp_data.val();
        self.tx_framer.resp_valid.next = self.resp_valid.val();
        self.resp_ready.next = self.tx_framer.resp_ready.val();
        self.tx_framer.tx_busy.next = self.transmitter.busy.val();
        self.transmitter.data.next = self.tx_framer.tx_data.val();
        self.transmitter.start.next = self.tx_framer.tx_start.val();
        self.rx_framer.resp_sent.next = self.tx_framer.sent.val();
        // Activity LED, from a flip-flop so the pin does not glitch. After a response the hold
        // timer counts up from 0 to led_cycles. (Loading led_cycles into the counter instead,
        // at reset or to count down, made yosys split the 24-bit carry chain on iCE40 and
        // roughly halved the link's fmax.)
        if self.tx_framer.sent.val() {
            self.led_count.d.next = self.zero.val();
            self.led_hold.d.next = true;
        } else if self.led_hold.q.val() {
            if self.led_count.q.val() == self.led_cycles.val() {
                self.led_hold.d.next = false;
            } else {
                self.led_count.d.next = self.led_count.q.val() + self.one.val();
            }
        }
        self.led_on.d.next = self.rx_framer.active.val() | self.led_hold.q.val();
        if self.rst.reset.val() {
            self.led_count.d.next = self.zero.val();
            self.led_hold.d.next = false;
            self.led_on.d.next = false;
        }
        self.led.next = self.led_on.q.val();
    }
}
