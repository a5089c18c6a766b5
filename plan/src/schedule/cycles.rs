//! The cycle model's run: every component stepped cycle by cycle (quiet stretches in one step)
//! with the source offering a beat every cycle and the sink always ready, and its timing.

use super::components::Component;
use super::quiet::{quiet_horizon, skip_ops};
use super::state::State;
use super::step::{claim, ready_in_of, step};
use serde::Serialize;

/// Timing of a stall-free run: the cycle each input beat was accepted and each frame's output
/// beat was emitted (cycle 0 is the first cycle after reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// Accepted input beats' cycles.
    pub input_cycles: Vec<u64>,
    /// Output beats' cycles (one per frame).
    pub output_cycles: Vec<u64>,
    /// Per FIFO (MVU queue), the size that would never have refused a write (a credit) in
    /// this run; 0 for other components.
    #[serde(skip)]
    pub occupancy: Vec<usize>,
    /// Per component: cycle of its first accepted input beat and of its first output beat.
    #[serde(skip)]
    pub first_beats: Vec<(Option<u64>, Option<u64>)>,
}

impl Timing {
    /// Cycles from a frame's first accepted input beat to its output beat (frame 0).
    pub fn latency(&self) -> u64 {
        self.output_cycles[0] - self.input_cycles[0]
    }

    /// Cycles from component `i`'s first input beat to its first output beat.
    pub fn component_latency(&self, i: usize) -> Option<u64> {
        match self.first_beats[i] {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        }
    }

    /// Cycles between the last two output beats: the steady-state initiation interval.
    pub fn ii(&self) -> u64 {
        let n = self.output_cycles.len();
        if n < 2 {
            return self.latency();
        }
        self.output_cycles[n - 1] - self.output_cycles[n - 2]
    }
}

/// Runs `frames` frames of `input_beats` beats each through `components`, the source offering a
/// beat every cycle and the sink always ready.
///
/// Stretches of cycles in which no handshake fires and only MVUs count through their ops are
/// skipped in one step (`quiet::quiet_horizon`): a serial folding spends almost all of its 10⁵–10⁶
/// cycles per frame that way, so the run costs per beat rather than per cycle. The skip is
/// exact: `schedule::tests::skipping_quiet_cycles_changes_nothing` compares it with stepping every cycle.
pub fn simulate(components: &[Component], input_beats: usize, frames: usize) -> Timing {
    run(components, input_beats, frames, true, None).expect("no reference to miss")
}

/// Does the run of `frames` frames emit its output beats exactly in the cycles `reference`
/// gives? Its timing if so; None as soon as a beat is late (or early).
pub(super) fn matches(
    components: &[Component],
    input_beats: usize,
    reference: &[u64],
) -> Option<Timing> {
    run(
        components,
        input_beats,
        reference.len(),
        true,
        Some(reference),
    )
}

/// The cycle model's run (see [`simulate`]); `skip` off steps every cycle (for the test of the
/// skip). With a `reference`, it gives up (None) at the first output beat off its cycle.
pub(super) fn run(
    components: &[Component],
    input_beats: usize,
    frames: usize,
    skip: bool,
    reference: Option<&[u64]>,
) -> Option<Timing> {
    let n = components.len();
    let mut state: Vec<State> = components.iter().map(State::new).collect();
    let mut occupancy = vec![0usize; n];
    let mut first_beats = vec![(None, None); n];
    let total_in = input_beats * frames;
    let (mut sent, mut input_cycles, mut output_cycles) = (0usize, Vec::new(), Vec::new());
    // Steps (a skipped stretch is one): a pipeline that still moves takes at most a few per
    // beat; a stuck one is caught at once when skipping, by this bound when not.
    let limit = 10_000_000u64 + 1000 * total_in as u64;
    let (mut cycle, mut steps) = (0u64, 0u64);
    // Per-cycle signals, allocated once (this loop runs millions of times for a CNV).
    let (mut valid_in, mut ready_out, mut ready_in) =
        (vec![false; n], vec![true; n], vec![false; n]);
    let (mut fire_in, mut fire_out) = (vec![false; n], vec![false; n]);
    while output_cycles.len() < frames {
        steps += 1;
        assert!(
            steps < limit,
            "cycle model did not finish: a component never drains"
        );
        // Valid into each component: the source for the first, else the previous one's output.
        for i in 0..n {
            valid_in[i] = if i == 0 {
                sent < total_in
            } else {
                state[i - 1].out_valid()
            };
        }
        // Ready flows backwards: each component's input ready may depend on its output ready.
        for i in (0..n).rev() {
            ready_out[i] = if i + 1 < n { ready_in[i + 1] } else { true };
            ready_in[i] = ready_in_of(&components[i], &state[i], ready_out[i]);
        }
        for i in 0..n {
            fire_in[i] = valid_in[i] && ready_in[i];
            fire_out[i] = state[i].out_valid() && ready_out[i];
        }
        if skip && !fire_in.iter().chain(&fire_out).any(|&f| f) {
            let horizon = (0..n)
                .map(|i| quiet_horizon(&components[i], &state[i], ready_out[i]))
                .min()
                .unwrap_or(u64::MAX);
            assert!(
                horizon != u64::MAX,
                "cycle model did not finish: a component never drains"
            );
            if horizon > 0 {
                // Every signal computed above holds for `horizon` cycles; only MVU counters move.
                for (c, s) in components.iter().zip(state.iter_mut()) {
                    skip_ops(c, s, horizon);
                }
                cycle += horizon;
                continue;
            }
        }
        if fire_in[0] {
            input_cycles.push(cycle);
            sent += 1;
        }
        if fire_out[n - 1] {
            output_cycles.push(cycle);
        }
        if let Some(reference) = reference {
            let k = output_cycles.len();
            // A skipped stretch has no output beat, so a beat is checked when it comes.
            let off = fire_out[n - 1] && cycle != reference[k - 1];
            if off || reference.get(k).is_some_and(|&r| cycle >= r) {
                return None;
            }
        }
        for (i, first) in first_beats.iter_mut().enumerate() {
            if fire_in[i] && first.0.is_none() {
                first.0 = Some(cycle);
            }
            if fire_out[i] && first.1.is_none() {
                first.1 = Some(cycle);
            }
        }
        for i in 0..n {
            // Slots a FIFO needed: a write needs count < depth before it (a write and a read in
            // the same cycle at count d still need depth d + 1).
            if let (State::Fifo { count }, true) = (&state[i], fire_in[i]) {
                occupancy[i] = occupancy[i].max(count + 1);
            }
            // Credits an MVU needed: its claimed slots when it claims one more.
            if let Some(claimed) = claim(&components[i], &state[i], valid_in[i]) {
                occupancy[i] = occupancy[i].max(claimed + 1);
            }
            step(
                &components[i],
                &mut state[i],
                valid_in[i],
                fire_in[i],
                fire_out[i],
                ready_out[i],
            );
        }
        cycle += 1;
    }
    Some(Timing {
        input_cycles,
        output_cycles,
        occupancy,
        first_beats,
    })
}
