//! The link's counter: a down-counter whose terminal condition is its sign bit, sized to its
//! parameter when the design is built.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// Register width: every count the link uses (at most `2^24`) fits with its sign bit.
pub const COUNT_BITS: usize = 25;

/// Two's-complement layout of a count down from `start` (which may be -1): the index of the
/// sign bit (the narrowest width that holds `start` as a non-negative number, plus one bit)
/// and the mask of the bits in use.
pub(crate) fn layout(start: i64) -> (usize, u64) {
    assert!((-1..1 << (COUNT_BITS - 1)).contains(&start));
    let sign = (64 - start.max(0).leading_zeros()) as usize;
    (sign, (1u64 << (sign + 1)) - 1)
}

/// `start` as a `sign + 1`-bit two's-complement value.
pub(crate) fn encode(start: i64, mask: u64) -> u64 {
    (start as u64) & mask
}

/// Counts `n` events, for any `n` in `0..=2^24` chosen when the design is built.
///
/// `load` (priority over `dec`) restarts the count; `done` is high once `dec` has been seen
/// `n` times since (at once for `n = 0`), and stays high until the next `load` (a further
/// `dec` keeps it high for the next `2^w` decrements, `w` its width; no user does that).
/// Reloading on `done` with `dec` always high makes a timer of period `n + 1` whose `done` is
/// a one-cycle pulse.
///
/// Why this shape (the link's clock speed rests on it): the register holds `n - 1` after a
/// load and counts down; it reaches -1, whose sign bit is `done`, after exactly `n`
/// decrements. `done` is thus a flip-flop output: no comparator, and the only logic from the
/// register back into itself is the decrement's carry chain (iCE40 `SB_CARRY`) and a
/// constant load, which yosys maps onto the flip-flops' synchronous set/reset pins rather than
/// into LUTs. The register is 25 bits wide in the Verilog, but the bits above the
/// sign bit are masked to a constant 0, so synthesis keeps only the `ceil(log2(n)) + 1` bits
/// the parameter needs and the carry chain is that short (a 25-bit chain alone limits an
/// iCE40 UP5K to about 75 MHz; 13 bits reach 110 MHz).
#[derive(LogicBlock)]
pub struct Countdown {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Restart the count (synchronous; wins over `dec`).
    pub load: Signal<In, Bit>,
    /// One event.
    pub dec: Signal<In, Bit>,
    /// `n` events seen since the last `load`; straight from a flip-flop.
    pub done: Signal<Out, Bit>,
    value: DFF<Bits<COUNT_BITS>>,
    start: Constant<Bits<COUNT_BITS>>,
    mask: Constant<Bits<COUNT_BITS>>,
    sign: Constant<Bits<5>>,
    one: Constant<Bits<COUNT_BITS>>,
}

impl Countdown {
    /// Counter of `n` events.
    ///
    /// # Panics
    /// If `n > 2^24`.
    pub fn new(n: u32) -> Self {
        assert!(n <= 1 << 24);
        let start = i64::from(n) - 1;
        let (sign, mask) = layout(start);
        Self {
            clock: Default::default(),
            load: Default::default(),
            dec: Default::default(),
            done: Default::default(),
            value: Default::default(),
            start: Constant::new(encode(start, mask).into()),
            mask: Constant::new(mask.into()),
            sign: Constant::new((sign as u64).into()),
            one: Constant::new(1u64.into()),
        }
    }
}

impl Logic for Countdown {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, value);
        self.done.next = self.value.q.val().get_bit(self.sign.val().index());
        if self.load.val() {
            self.value.d.next = self.start.val();
        } else if self.dec.val() {
            self.value.d.next = (self.value.q.val() - self.one.val()) & self.mask.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::Bench;

    #[test]
    fn shell_countdown_layout() {
        assert_eq!(layout(-1), (0, 1));
        assert_eq!(layout(0), (0, 1));
        assert_eq!(layout(1), (1, 3));
        assert_eq!(layout(2), (2, 7));
        assert_eq!(layout(415), (9, 0x3FF));
        assert_eq!(layout((1 << 24) - 1), (24, (1 << 25) - 1));
        assert_eq!(encode(-1, 3), 3);
    }

    /// `dec` pulses after a load until `done`, with `gap` idle cycles between them.
    fn events_until_done(bench: &mut Bench<Countdown>, gap: usize) -> u32 {
        bench.uut.load.next = true;
        bench.tick();
        bench.uut.load.next = false;
        let mut events = 0;
        while !bench.uut.done.val() {
            bench.uut.dec.next = true;
            bench.tick();
            bench.uut.dec.next = false;
            events += 1;
            for _ in 0..gap {
                bench.tick();
            }
            assert!(events <= 1 << 24);
        }
        events
    }

    #[test]
    fn shell_countdown_counts_n_events() {
        for n in [0u32, 1, 2, 3, 4, 7, 8, 9, 255, 256, 1000] {
            let mut bench = Bench::new(Countdown::new(n));
            for gap in [0, 2] {
                assert_eq!(events_until_done(&mut bench, gap), n, "n {n} gap {gap}");
            }
            // Stays done until reloaded.
            for _ in 0..3 {
                bench.tick();
                assert!(bench.uut.done.val());
            }
        }
    }

    #[test]
    fn shell_countdown_as_periodic_timer() {
        for n in [0u32, 1, 2, 5, 416] {
            let mut bench = Bench::new(Countdown::new(n));
            let mut pulses = Vec::new();
            bench.uut.dec.next = true;
            for cycle in 0..5 * (n as u64 + 1) + 3 {
                bench.uut.load.next = bench.uut.done.val();
                bench.tick();
                if bench.uut.done.val() {
                    pulses.push(cycle);
                }
            }
            let periods: Vec<u64> = pulses.windows(2).map(|w| w[1] - w[0]).collect();
            assert!(periods.len() >= 3, "n {n}");
            assert!(
                periods.iter().all(|&p| p == u64::from(n) + 1),
                "n {n}: {periods:?}"
            );
        }
    }
}
