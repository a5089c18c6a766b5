//! The request FIFO: 8 bytes between the UART receiver and the core.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// 8-byte first-word-fall-through FIFO with a synchronous reset, in flip-flops.
///
/// Why not rust-hdl's `SynchronousFIFO`: it has no reset (a reset in the middle of a frame
/// would leave stale bytes for the core), its RAM costs an iCE40 block RAM the core may need
/// for weights, and its generated Verilog trips Verilator's WIDTH lint. Eight bytes are
/// plenty: the UART delivers a byte every 10 bit times, so the core may stall for about
/// 80 bit times before a byte is lost.
///
/// Structure: bytes enter at `slot0` and every slot moves up one on a push, so all slots share
/// one enable; the oldest byte is at `slot[count - 1]`. The head therefore stays put when a
/// push happens without a pop, and `pop_data` is stable while `empty` is low and `pop` is
/// not asserted.
///
/// - `push` with `push_data` is ignored while `full` (the writer checks `full` first).
/// - `pop` removes the head (ignored while `empty`).
#[derive(LogicBlock)]
pub struct ByteFifo {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: empty.
    pub reset: Signal<In, Bit>,
    /// Write `push_data` this cycle.
    pub push: Signal<In, Bit>,
    /// Byte to write.
    pub push_data: Signal<In, Bits<8>>,
    /// No room: a push now would be ignored.
    pub full: Signal<Out, Bit>,
    /// Remove the head this cycle.
    pub pop: Signal<In, Bit>,
    /// The oldest byte (valid while `empty` is low).
    pub pop_data: Signal<Out, Bits<8>>,
    /// Nothing to pop.
    pub empty: Signal<Out, Bit>,
    slot0: DFF<Bits<8>>,
    slot1: DFF<Bits<8>>,
    slot2: DFF<Bits<8>>,
    slot3: DFF<Bits<8>>,
    slot4: DFF<Bits<8>>,
    slot5: DFF<Bits<8>>,
    slot6: DFF<Bits<8>>,
    slot7: DFF<Bits<8>>,
    count: DFF<Bits<4>>,
    do_push: Signal<Local, Bit>,
    do_pop: Signal<Local, Bit>,
    zero: Constant<Bits<4>>,
    one: Constant<Bits<4>>,
    two: Constant<Bits<4>>,
    three: Constant<Bits<4>>,
    four: Constant<Bits<4>>,
    five: Constant<Bits<4>>,
    six: Constant<Bits<4>>,
    seven: Constant<Bits<4>>,
}

impl Default for ByteFifo {
    fn default() -> Self {
        let c = |v: u64| Constant::new(v.into());
        Self {
            clock: Default::default(),
            reset: Default::default(),
            push: Default::default(),
            push_data: Default::default(),
            full: Default::default(),
            pop: Default::default(),
            pop_data: Default::default(),
            empty: Default::default(),
            slot0: Default::default(),
            slot1: Default::default(),
            slot2: Default::default(),
            slot3: Default::default(),
            slot4: Default::default(),
            slot5: Default::default(),
            slot6: Default::default(),
            slot7: Default::default(),
            count: Default::default(),
            do_push: Default::default(),
            do_pop: Default::default(),
            zero: c(0),
            one: c(1),
            two: c(2),
            three: c(3),
            four: c(4),
            five: c(5),
            six: c(6),
            seven: c(7),
        }
    }
}

impl Logic for ByteFifo {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, slot0, slot1, slot2, slot3, slot4, slot5, slot6, slot7, count);
        // count is 0..=8: bit 3 alone means 8.
        self.full.next = self.count.q.val().get_bit(3);
        self.empty.next = !self.count.q.val().any();
        self.do_push.next = self.push.val() & !self.count.q.val().get_bit(3);
        self.do_pop.next = self.pop.val() & self.count.q.val().any();
        if self.do_push.val() {
            self.slot0.d.next = self.push_data.val();
            self.slot1.d.next = self.slot0.q.val();
            self.slot2.d.next = self.slot1.q.val();
            self.slot3.d.next = self.slot2.q.val();
            self.slot4.d.next = self.slot3.q.val();
            self.slot5.d.next = self.slot4.q.val();
            self.slot6.d.next = self.slot5.q.val();
            self.slot7.d.next = self.slot6.q.val();
        }
        if self.do_push.val() & !self.do_pop.val() {
            self.count.d.next = self.count.q.val() + self.one.val();
        } else if self.do_pop.val() & !self.do_push.val() {
            self.count.d.next = self.count.q.val() - self.one.val();
        }
        // Head = slot[count - 1] (slot0 when empty: the value is then unused).
        self.pop_data.next = self.slot0.q.val();
        if self.count.q.val() == self.two.val() {
            self.pop_data.next = self.slot1.q.val();
        }
        if self.count.q.val() == self.three.val() {
            self.pop_data.next = self.slot2.q.val();
        }
        if self.count.q.val() == self.four.val() {
            self.pop_data.next = self.slot3.q.val();
        }
        if self.count.q.val() == self.five.val() {
            self.pop_data.next = self.slot4.q.val();
        }
        if self.count.q.val() == self.six.val() {
            self.pop_data.next = self.slot5.q.val();
        }
        if self.count.q.val() == self.seven.val() {
            self.pop_data.next = self.slot6.q.val();
        }
        if self.count.q.val().get_bit(3) {
            self.pop_data.next = self.slot7.q.val();
        }
        if self.reset.val() {
            self.count.d.next = self.zero.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{Bench, Rng};
    use std::collections::VecDeque;

    #[test]
    fn shell_fifo_matches_queue_model() {
        let mut bench = Bench::new(ByteFifo::default());
        let mut model: VecDeque<u8> = VecDeque::new();
        let mut rng = Rng::new(5);
        let mut held: Option<u8> = None;
        for cycle in 0..4000 {
            // Phases with more pushes, then more pops, to visit full and empty often.
            let push_bias = if (cycle / 200) % 2 == 0 { 3 } else { 1 };
            let push = rng.chance(push_bias, 4);
            let pop = rng.chance(4 - push_bias, 4);
            let byte = rng.byte();
            bench.uut.push.next = push;
            bench.uut.push_data.next = u64::from(byte).into();
            bench.uut.pop.next = pop;
            bench.settle();
            assert_eq!(bench.uut.empty.val(), model.is_empty());
            assert_eq!(bench.uut.full.val(), model.len() == 8);
            if let Some(&head) = model.front() {
                assert_eq!(bench.uut.pop_data.val().to_u8(), head);
                // Stable while waiting: the head seen last cycle is still the head.
                if let Some(h) = held {
                    assert_eq!(h, head);
                }
            }
            held = None;
            let popped = pop && !model.is_empty();
            if !popped {
                held = model.front().copied();
            }
            if push && model.len() < 8 {
                model.push_back(byte);
            }
            if popped {
                model.pop_front();
            }
            bench.tick();
        }
    }

    #[test]
    fn shell_fifo_reset_empties() {
        let mut bench = Bench::new(ByteFifo::default());
        bench.uut.push.next = true;
        for b in 0..5u64 {
            bench.uut.push_data.next = b.into();
            bench.tick();
        }
        bench.uut.push.next = false;
        bench.uut.reset.next = true;
        bench.tick();
        bench.uut.reset.next = false;
        bench.settle();
        assert!(bench.uut.empty.val());
    }
}
