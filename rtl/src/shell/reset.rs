//! Reset synchronizer: turns the raw, asynchronous reset request from the pins into the
//! design's synchronous reset.
//!
//! rust-hdl 0.46 has no reset type: its flip-flops (`DFF`) only take their `initial` value at
//! configuration, and its `AutoReset` widget only covers power-up. A button or a PLL losing
//! lock needs more: the reset must assert even while the clock is unusable, and must release
//! on a clock edge so no flip-flop sees it go away too close to one. That needs flip-flops
//! with an asynchronous set, which rust-hdl cannot express, so [`AsyncSetFlop`] is a small
//! leaf block with a hand-written Verilog body and a matching Rust model.

use rust_hdl_core::prelude::*;
use rust_hdl_widgets::prelude::*;

/// One flip-flop with an asynchronous, active-high set; `q` is 1 at configuration.
///
/// Leaf block: the Rust `update` models it for rust-hdl's simulator, and `hdl` gives the
/// Verilog (`always @(posedge clock or posedge set)`) that yosys maps to a set/reset flip-flop
/// (e.g. iCE40 `SB_DFFS`/`SB_DFFR`).
#[derive(LogicBlock)]
pub struct AsyncSetFlop {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Asynchronous set: forces `q` to 1 immediately, whatever the clock does.
    pub set: Signal<In, Bit>,
    /// Data sampled on the rising edge while `set` is low.
    pub d: Signal<In, Bit>,
    /// Output.
    pub q: Signal<Out, Bit>,
}

impl Default for AsyncSetFlop {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            set: Default::default(),
            d: Default::default(),
            // Matches the Verilog `initial`: in reset from configuration on.
            q: Signal::new_with_default(true),
        }
    }
}

impl Logic for AsyncSetFlop {
    fn update(&mut self) {
        if self.set.val() {
            self.q.next = true;
        } else if self.clock.pos_edge() {
            self.q.next = self.d.val();
        }
    }

    fn connect(&mut self) {
        self.q.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "\
initial q = 1'b1;

always @(posedge clock or posedge set) begin
   if (set) q <= 1'b1;
   else q <= d;
end
"
            .into(),
        )
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "async_set_flop".into(),
            clock: "clock".into(),
            inputs: vec!["d".into()],
            outputs: vec!["q".into()],
        }]
    }
}

/// A registered copy of the synchronized reset for one part of the design (`q` is 1 at
/// configuration, like the reset it copies), or with `registered` false the reset itself.
///
/// Leaf block, like [`AsyncSetFlop`]: rust-hdl cannot mark a register `keep`, and yosys merges
/// registers with the same input back into one. A copy per sub-block lets the placer put each
/// beside the logic it resets: on the LFE5U-85F the one reset register's route to the link's
/// far side was the critical path at 100 MHz (10.4 ns). See
/// [`crate::shell::LinkParams::reset_copies`] for when.
#[derive(LogicBlock)]
pub struct ResetCopy {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// The reset to copy.
    pub d: Signal<In, Bit>,
    /// `d`, one rising edge late (or `d`).
    pub q: Signal<Out, Bit>,
    // A construction-time choice; LogicBlock fields must be blocks, so a constant.
    registered: Constant<Bit>,
}

impl ResetCopy {
    /// A copy (`registered`) or a wire.
    pub fn new(registered: bool) -> Self {
        Self {
            clock: Default::default(),
            d: Default::default(),
            // Matches the Verilog `initial`: in reset from configuration on.
            q: Signal::new_with_default(true),
            registered: Constant::new(registered),
        }
    }
}

impl Logic for ResetCopy {
    fn update(&mut self) {
        // A wire follows at once; a copy on the rising edge.
        if !self.registered.val() || self.clock.pos_edge() {
            self.q.next = self.d.val();
        }
    }

    fn connect(&mut self) {
        self.q.connect();
    }

    fn hdl(&self) -> Verilog {
        // `registered` is the constant's localparam in the module rust-hdl writes.
        Verilog::Custom(
            "\
generate
    if (registered) begin : copy
        initial q = 1'b1;
        // keep: yosys merges registers with the same input back into one.
        (* keep *) always @(posedge clock) q <= d;
    end else begin : same
        /* verilator lint_off UNUSEDSIGNAL */
        wire unused_clock = clock;
        /* verilator lint_on UNUSEDSIGNAL */
        always @(*) q = d;
    end
endgenerate
"
            .into(),
        )
    }

    fn timing(&self) -> Vec<TimingInfo> {
        vec![TimingInfo {
            name: "reset_copy".into(),
            clock: "clock".into(),
            inputs: vec!["d".into()],
            outputs: vec!["q".into()],
        }]
    }
}

/// Reset synchronizer: `reset` asserts on the first rising clock edge after `reset_req` rises
/// (however short the request), stays high while it is high, and deasserts on a rising clock
/// edge 18 cycles after `reset_req` falls (2 synchronizer stages + 16 hold cycles). It is also
/// high for 18 cycles after configuration, so a separate power-on reset is not needed.
///
/// Structure: two [`AsyncSetFlop`]s shift a 0 in once the request is gone (the classic
/// asynchronous-capture, synchronous-release pair; the second stage absorbs metastability of
/// the first when the request releases near an edge), then a 5-bit counter holds the reset
/// for 16 more cycles. A third [`AsyncSetFlop`], set by the request too, registers
/// "synchronizer still set or count not done" two cycles ahead (the counter restarts at 2 for
/// that), so a request shorter than a clock period is caught. `reset` comes from a plain
/// flip-flop that copies it, held inverted (`run`, 0 at configuration, since an iCE40
/// flip-flop starts at 0), so no path reaches the design's logic from the request pin: with
/// an asynchronous set on this last flip-flop as well, yosys put a LUT of the request after it
/// on iCE40, and the pin's request was in front of the core's next-state logic (the UP5K's
/// critical path on some placements, docs/benchmarks.md). Every register it resets is
/// synchronous, so asserting at an edge rather than at once loses nothing: without a clock
/// they do not change either.
#[derive(LogicBlock)]
pub struct ResetSync {
    /// Core clock.
    pub clock: Signal<In, Clock>,
    /// Raw active-high request (button, PLL not locked); not synchronized.
    pub reset_req: Signal<In, Bit>,
    /// Synchronized active-high reset.
    pub reset: Signal<Out, Bit>,
    meta: AsyncSetFlop,
    sync: AsyncSetFlop,
    pre: AsyncSetFlop,
    run: DFF<Bit>,
    hold: DFF<Bits<5>>,
    one: Constant<Bits<5>>,
    two: Constant<Bits<5>>,
}

impl Default for ResetSync {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset_req: Default::default(),
            reset: Default::default(),
            meta: Default::default(),
            sync: Default::default(),
            pre: Default::default(),
            run: Default::default(),
            hold: Default::default(),
            one: Constant::new(1u64.into()),
            two: Constant::new(2u64.into()),
        }
    }
}

impl Logic for ResetSync {
    #[hdl_gen]
    fn update(&mut self) {
        clock!(self, clock, meta, sync, pre);
        dff_setup!(self, clock, hold, run);
        self.meta.set.next = self.reset_req.val();
        self.sync.set.next = self.reset_req.val();
        self.pre.set.next = self.reset_req.val();
        self.meta.d.next = false;
        self.sync.d.next = self.meta.q.val();
        // Count clean cycles after the synchronized request is gone, from 2 up to 16 (bit 4).
        if self.sync.q.val() {
            self.hold.d.next = self.two.val();
        } else if !self.hold.q.val().get_bit(4) {
            self.hold.d.next = self.hold.q.val() + self.one.val();
        }
        // "sync still set or 16 cycles not counted", two cycles ahead: meta is sync's next
        // value, and bit 4 (14 increments from 2) is set two cycles before 16 clean cycles
        // have passed.
        self.pre.d.next = self.meta.q.val() | self.sync.q.val() | !self.hold.q.val().get_bit(4);
        self.run.d.next = !self.pre.q.val();
        self.reset.next = !self.run.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::sim::Bench;

    /// Cycles until `reset` falls, checking it only changes on rising edges.
    fn cycles_until_release(bench: &mut Bench<ResetSync>) -> usize {
        let mut n = 0;
        while bench.uut.reset.val() {
            bench.uut.clock.next = true.into();
            bench.settle();
            let after_rise = bench.uut.reset.val();
            bench.uut.clock.next = false.into();
            bench.settle();
            assert_eq!(
                bench.uut.reset.val(),
                after_rise,
                "changed on a falling edge"
            );
            n += 1;
            assert!(n < 100, "reset never released");
        }
        n
    }

    #[test]
    fn shell_reset_power_on_and_release() {
        let mut bench = Bench::new(ResetSync::default());
        // In reset from configuration, released after 2 + 16 edges.
        assert!(bench.uut.reset.val());
        assert_eq!(cycles_until_release(&mut bench), 18);
        for _ in 0..50 {
            bench.tick();
            assert!(!bench.uut.reset.val());
        }
    }

    /// One rising and one falling clock edge.
    fn edge(bench: &mut Bench<ResetSync>) {
        bench.uut.clock.next = true.into();
        bench.settle();
        bench.uut.clock.next = false.into();
        bench.settle();
    }

    #[test]
    fn shell_reset_asserts_at_the_next_edge_and_holds() {
        let mut bench = Bench::new(ResetSync::default());
        cycles_until_release(&mut bench);
        // Request rises between edges: reset follows at the next rising edge.
        bench.uut.reset_req.next = true;
        bench.settle();
        assert!(!bench.uut.reset.val(), "asserted before an edge");
        edge(&mut bench);
        assert!(bench.uut.reset.val());
        for _ in 0..5 {
            bench.tick();
            assert!(bench.uut.reset.val());
        }
        // Request falls: still held for at least 16 cycles, released on an edge.
        bench.uut.reset_req.next = false;
        bench.settle();
        assert!(bench.uut.reset.val());
        let n = cycles_until_release(&mut bench);
        assert!(n >= 16, "held {n} cycles");
        assert_eq!(n, 18);
    }

    #[test]
    fn shell_reset_short_glitch_is_stretched() {
        let mut bench = Bench::new(ResetSync::default());
        cycles_until_release(&mut bench);
        // A pulse shorter than a clock period, with no edge while it is high: caught by the
        // asynchronous stages, it asserts the reset at the next edge.
        bench.uut.reset_req.next = true;
        bench.settle();
        bench.uut.reset_req.next = false;
        bench.settle();
        assert!(!bench.uut.reset.val());
        edge(&mut bench);
        assert!(bench.uut.reset.val());
        assert_eq!(cycles_until_release(&mut bench), 17);
    }

    #[test]
    fn shell_reset_request_during_hold_restarts_count() {
        let mut bench = Bench::new(ResetSync::default());
        cycles_until_release(&mut bench);
        bench.uut.reset_req.next = true;
        bench.tick();
        bench.uut.reset_req.next = false;
        for _ in 0..10 {
            bench.tick();
        }
        bench.uut.reset_req.next = true;
        bench.tick();
        bench.uut.reset_req.next = false;
        bench.settle();
        assert_eq!(cycles_until_release(&mut bench), 18);
    }
}
