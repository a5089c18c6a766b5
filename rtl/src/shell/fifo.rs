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
/// Structure: the oldest byte is always in `slot0`, so `pop_data`, `empty` and `full` come
/// straight from flip-flops (nothing between them and the core). Occupancy is a thermometer
/// code (`used_i` = slot `i` holds a byte). A pop moves every byte down one slot; a push writes
/// the first free slot (the last occupied one when it comes with a pop). Each slot's next
/// value therefore depends only on its neighbour, the pushed byte and a few flags. The head
/// only changes on a pop (or when a byte arrives in an empty FIFO), so `pop_data` is stable
/// while `empty` is low and `pop` is not asserted.
///
/// - `push` with `push_data` is ignored while `full`, unless `pop` is high too: then the head
///   leaves and the byte takes the freed slot. (The writer checks `full` first anyway.)
/// - `pop` removes the head (ignored while `empty`).
///
/// The slots' enables and next values look only at `push`, `pop` and two occupancy flags, so
/// they are single LUTs: a pop while empty and a push while full just shift or rewrite slots
/// that are not in use.
#[derive(LogicBlock, Default)]
pub struct ByteFifo {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: empty.
    pub reset: Signal<In, Bit>,
    /// Write `push_data` this cycle.
    pub push: Signal<In, Bit>,
    /// Byte to write.
    pub push_data: Signal<In, Bits<8>>,
    /// No room: a push now would be ignored (unless with a pop).
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
    used0: DFF<Bit>,
    used1: DFF<Bit>,
    used2: DFF<Bit>,
    used3: DFF<Bit>,
    used4: DFF<Bit>,
    used5: DFF<Bit>,
    used6: DFF<Bit>,
    used7: DFF<Bit>,
    /// The occupancy goes up by one / down by one this cycle.
    grow: Signal<Local, Bit>,
    shrink: Signal<Local, Bit>,
}

impl Logic for ByteFifo {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, slot0, slot1, slot2, slot3, slot4, slot5, slot6, slot7, used0, used1,
            used2, used3, used4, used5, used6, used7
        );
        self.full.next = self.used7.q.val();
        self.empty.next = !self.used0.q.val();
        self.pop_data.next = self.slot0.q.val();
        // A push while full without a pop changes nothing (used7 stays set, no slot is free).
        self.grow.next = self.push.val() & !(self.pop.val() & self.used0.q.val());
        self.shrink.next = self.pop.val() & self.used0.q.val() & !self.push.val();
        // Occupancy (thermometer): grow sets the first clear flag, shrink clears the last set.
        self.used0.d.next =
            self.grow.val() | (self.used0.q.val() & !(self.shrink.val() & !self.used1.q.val()));
        self.used1.d.next = (self.grow.val() & self.used0.q.val())
            | (self.used1.q.val() & !(self.shrink.val() & !self.used2.q.val()));
        self.used2.d.next = (self.grow.val() & self.used1.q.val())
            | (self.used2.q.val() & !(self.shrink.val() & !self.used3.q.val()));
        self.used3.d.next = (self.grow.val() & self.used2.q.val())
            | (self.used3.q.val() & !(self.shrink.val() & !self.used4.q.val()));
        self.used4.d.next = (self.grow.val() & self.used3.q.val())
            | (self.used4.q.val() & !(self.shrink.val() & !self.used5.q.val()));
        self.used5.d.next = (self.grow.val() & self.used4.q.val())
            | (self.used5.q.val() & !(self.shrink.val() & !self.used6.q.val()));
        self.used6.d.next = (self.grow.val() & self.used5.q.val())
            | (self.used6.q.val() & !(self.shrink.val() & !self.used7.q.val()));
        self.used7.d.next =
            (self.grow.val() & self.used6.q.val()) | (self.used7.q.val() & !self.shrink.val());
        // Slots: on a pop each takes its upper neighbour, or the pushed byte if that one is
        // free (the slot that becomes the last occupied one); without a pop only the first
        // free slot takes the pushed byte.
        if self.pop.val() {
            self.slot0.d.next = self.push_data.val();
            if self.used1.q.val() {
                self.slot0.d.next = self.slot1.q.val();
            }
            self.slot1.d.next = self.push_data.val();
            if self.used2.q.val() {
                self.slot1.d.next = self.slot2.q.val();
            }
            self.slot2.d.next = self.push_data.val();
            if self.used3.q.val() {
                self.slot2.d.next = self.slot3.q.val();
            }
            self.slot3.d.next = self.push_data.val();
            if self.used4.q.val() {
                self.slot3.d.next = self.slot4.q.val();
            }
            self.slot4.d.next = self.push_data.val();
            if self.used5.q.val() {
                self.slot4.d.next = self.slot5.q.val();
            }
            self.slot5.d.next = self.push_data.val();
            if self.used6.q.val() {
                self.slot5.d.next = self.slot6.q.val();
            }
            self.slot6.d.next = self.push_data.val();
            if self.used7.q.val() {
                self.slot6.d.next = self.slot7.q.val();
            }
            self.slot7.d.next = self.push_data.val();
        } else if self.push.val() {
            if !self.used0.q.val() {
                self.slot0.d.next = self.push_data.val();
            }
            if self.used0.q.val() & !self.used1.q.val() {
                self.slot1.d.next = self.push_data.val();
            }
            if self.used1.q.val() & !self.used2.q.val() {
                self.slot2.d.next = self.push_data.val();
            }
            if self.used2.q.val() & !self.used3.q.val() {
                self.slot3.d.next = self.push_data.val();
            }
            if self.used3.q.val() & !self.used4.q.val() {
                self.slot4.d.next = self.push_data.val();
            }
            if self.used4.q.val() & !self.used5.q.val() {
                self.slot5.d.next = self.push_data.val();
            }
            if self.used5.q.val() & !self.used6.q.val() {
                self.slot6.d.next = self.push_data.val();
            }
            if self.used6.q.val() & !self.used7.q.val() {
                self.slot7.d.next = self.push_data.val();
            }
        }
        if self.reset.val() {
            self.used0.d.next = false;
            self.used1.d.next = false;
            self.used2.d.next = false;
            self.used3.d.next = false;
            self.used4.d.next = false;
            self.used5.d.next = false;
            self.used6.d.next = false;
            self.used7.d.next = false;
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
            if popped {
                model.pop_front();
            }
            // A push while full only goes in when a pop makes room in the same cycle.
            if push && model.len() < 8 {
                model.push_back(byte);
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
