//! The statuses of requests whose responses have not been sent yet: two entries, the link's
//! window.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// Two-entry first-word-fall-through queue of status bytes, in flip-flops, with a synchronous
/// reset.
///
/// The request side pushes a request's status when the request is complete; the response
/// side sends the head's response and pops it once the response's last stop bit is out. Two
/// entries are the protocol's window: a host may have two requests outstanding, so a second
/// request can complete while the first one's response is still waiting for the core or on
/// the line.
///
/// Same structure as [`super::ByteFifo`], two slots deep, written out slot by slot as that
/// one is (each slot a named flip-flop, so every equation renders as plain Verilog): `head` (slot 0), `empty` and `full`
/// come straight from flip-flops, occupancy is a thermometer code, a pop moves slot 1 down.
/// A push while full is ignored unless it comes with a pop; a pop while empty is ignored.
#[derive(LogicBlock, Default)]
pub struct StatusQueue {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous active-high reset: empty.
    pub reset: Signal<In, Bit>,
    /// Append `push_data` this cycle.
    pub push: Signal<In, Bit>,
    /// Status to append.
    pub push_data: Signal<In, Bits<8>>,
    /// Both entries in use.
    pub full: Signal<Out, Bit>,
    /// Remove the head this cycle.
    pub pop: Signal<In, Bit>,
    /// The oldest status (valid while `empty` is low).
    pub head: Signal<Out, Bits<8>>,
    /// No entry.
    pub empty: Signal<Out, Bit>,
    slot0: DFF<Bits<8>>,
    slot1: DFF<Bits<8>>,
    used0: DFF<Bit>,
    used1: DFF<Bit>,
    grow: Signal<Local, Bit>,
    shrink: Signal<Local, Bit>,
}

impl Logic for StatusQueue {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, slot0, slot1, used0, used1);
        self.full.next = self.used1.q.val();
        self.empty.next = !self.used0.q.val();
        self.head.next = self.slot0.q.val();
        self.grow.next = self.push.val() & !(self.pop.val() & self.used0.q.val());
        self.shrink.next = self.pop.val() & self.used0.q.val() & !self.push.val();
        self.used0.d.next =
            self.grow.val() | (self.used0.q.val() & !(self.shrink.val() & !self.used1.q.val()));
        self.used1.d.next =
            (self.grow.val() & self.used0.q.val()) | (self.used1.q.val() & !self.shrink.val());
        if self.pop.val() {
            self.slot0.d.next = self.push_data.val();
            if self.used1.q.val() {
                self.slot0.d.next = self.slot1.q.val();
            }
            self.slot1.d.next = self.push_data.val();
        } else if self.push.val() {
            if !self.used0.q.val() {
                self.slot0.d.next = self.push_data.val();
            }
            if self.used0.q.val() & !self.used1.q.val() {
                self.slot1.d.next = self.push_data.val();
            }
        }
        if self.reset.val() {
            self.used0.d.next = false;
            self.used1.d.next = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::{Bench, Rng};
    use std::collections::VecDeque;

    #[test]
    fn shell_status_queue_matches_queue_model() {
        let mut bench = Bench::new(StatusQueue::default());
        let mut model: VecDeque<u8> = VecDeque::new();
        let mut rng = Rng::new(11);
        for cycle in 0..3000 {
            let push_bias = if (cycle / 50) % 2 == 0 { 3 } else { 1 };
            let push = rng.chance(push_bias, 4);
            let pop = rng.chance(4 - push_bias, 4);
            let status = rng.byte() & 0x0F;
            let reset = rng.chance(1, 200);
            bench.uut.push.next = push;
            bench.uut.push_data.next = u64::from(status).into();
            bench.uut.pop.next = pop;
            bench.uut.reset.next = reset;
            bench.settle();
            assert_eq!(bench.uut.empty.val(), model.is_empty(), "cycle {cycle}");
            assert_eq!(bench.uut.full.val(), model.len() == 2, "cycle {cycle}");
            if let Some(&head) = model.front() {
                assert_eq!(bench.uut.head.val().to_u8(), head, "cycle {cycle}");
            }
            if reset {
                model.clear();
            } else {
                if pop {
                    model.pop_front();
                }
                if push && model.len() < 2 {
                    model.push_back(status);
                }
            }
            bench.tick();
        }
    }
}
