//! The cycle model's run: every component stepped cycle by cycle (quiet stretches in one step)
//! with the source offering a beat every cycle and the sink always ready, and its timing.

use super::components::{chain_sources, Component, Source};
use super::quiet::{quiet_horizon, skip_ops};
use super::state::State;
use super::step::{claim, ready_in_of, step, Ports};
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

    /// Cycles from component `i`'s first input beat to its first output beat; 0 for one whose
    /// first output comes before its input (a channel padding's leading zero beats).
    pub fn component_latency(&self, i: usize) -> Option<u64> {
        match self.first_beats[i] {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
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

/// Runs `frames` frames of `input_beats` beats each through a chain of `components`, the
/// source offering a beat every cycle and the sink always ready.
pub fn simulate(components: &[Component], input_beats: usize, frames: usize) -> Timing {
    simulate_graph(
        components,
        &chain_sources(components.len()),
        input_beats,
        frames,
    )
}

/// [`simulate`] for components wired by `sources` (per component, where each input port reads
/// from; forks and joins make a graph). The last component's output is the core's.
///
/// Stretches of cycles in which no handshake fires and only MVUs count through their ops are
/// skipped in one step (`quiet::quiet_horizon`): a serial folding spends almost all of its 10⁵–10⁶
/// cycles per frame that way, so the run costs per beat rather than per cycle. The skip is
/// exact: `schedule::tests::skipping_quiet_cycles_changes_nothing` compares it with stepping every cycle.
pub fn simulate_graph(
    components: &[Component],
    sources: &[Vec<Source>],
    input_beats: usize,
    frames: usize,
) -> Timing {
    run(components, sources, input_beats, frames, true, None).expect("no reference to miss")
}

/// Does the run of `frames` frames emit its output beats exactly in the cycles `reference`
/// gives? Its timing if so; None as soon as a beat is late (or early).
pub(super) fn matches(
    components: &[Component],
    sources: &[Vec<Source>],
    input_beats: usize,
    reference: &[u64],
) -> Option<Timing> {
    run(
        components,
        sources,
        input_beats,
        reference.len(),
        true,
        Some(reference),
    )
}

/// The reader of every output port: `consumers[i][port]` = (component, input port), `None`
/// for the core's output (the last component's port 0).
fn consumers(n: usize, sources: &[Vec<Source>]) -> Vec<[Option<(usize, usize)>; 2]> {
    let mut out = vec![[None; 2]; n];
    for (c, ports) in sources.iter().enumerate() {
        for (k, source) in ports.iter().enumerate() {
            if let Source::Component { index, port } = *source {
                out[index][port] = Some((c, k));
            }
        }
    }
    out
}

/// The cycle model's run (see [`simulate_graph`]); `skip` off steps every cycle (for the test
/// of the skip). With a `reference`, it gives up (None) at the first output beat off its cycle.
pub(super) fn run(
    components: &[Component],
    sources: &[Vec<Source>],
    input_beats: usize,
    frames: usize,
    skip: bool,
    reference: Option<&[u64]>,
) -> Option<Timing> {
    let n = components.len();
    let readers = consumers(n, sources);
    // Sources flattened for the per-cycle loop: (producer, port) per input port, the core's
    // input as `INPUT`.
    const INPUT: usize = usize::MAX;
    let feeds: Vec<Vec<(usize, usize)>> = sources
        .iter()
        .map(|ports| {
            ports
                .iter()
                .map(|s| match *s {
                    Source::Input => (INPUT, 0),
                    Source::Component { index, port } => (index, port),
                })
                .collect()
        })
        .collect();
    let input_reader = feeds
        .iter()
        .enumerate()
        .find_map(|(i, f)| f.iter().position(|s| s.0 == INPUT).map(|k| (i, k)))
        .expect("a component reads the core's input");
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
    let mut ports = vec![Ports::default(); n];
    while output_cycles.len() < frames {
        steps += 1;
        // A stuck pipeline (a join whose shortcut is too short to let the other path fill)
        // is late for any reference; without one it is a bug.
        let stuck = |reference: Option<&[u64]>| -> Option<Timing> {
            assert!(
                reference.is_some(),
                "cycle model did not finish: a component never drains"
            );
            None
        };
        if steps >= limit {
            return stuck(reference);
        }
        // Valid into each input port: the source, or the producer's output port (components
        // are in topological order, so a fork's outputs already show its input).
        for i in 0..n {
            for (k, &(index, port)) in feeds[i].iter().enumerate() {
                ports[i].valid_in[k] = if index == INPUT {
                    sent < total_in
                } else {
                    state[index].port_valid(port, ports[index].valid_in[0])
                };
            }
        }
        // Ready flows backwards: each component's input ready may depend on its output ready.
        for i in (0..n).rev() {
            for (port, reader) in readers[i].iter().enumerate() {
                ports[i].ready_out[port] = match *reader {
                    Some((c, k)) => ports[c].ready_in[k],
                    None => port == 0 && i == n - 1,
                };
            }
            ports[i].ready_in = ready_in_of(&components[i], &state[i], &ports[i]);
        }
        let mut any_fire = false;
        for i in 0..n {
            let p = &mut ports[i];
            for k in 0..2 {
                p.fire_in[k] = p.valid_in[k] && p.ready_in[k];
                p.fire_out[k] = p.ready_out[k] && state[i].port_valid(k, p.valid_in[0]);
                any_fire |= p.fire_in[k] || p.fire_out[k];
            }
        }
        let input_fired = ports[input_reader.0].fire_in[input_reader.1];
        if skip && !any_fire {
            let horizon = (0..n)
                .map(|i| quiet_horizon(&components[i], &state[i], ports[i].ready_out[0]))
                .min()
                .unwrap_or(u64::MAX);
            if horizon == u64::MAX {
                return stuck(reference);
            }
            if horizon > 0 {
                // Every signal computed above holds for `horizon` cycles; only MVU counters move.
                for (c, s) in components.iter().zip(state.iter_mut()) {
                    skip_ops(c, s, horizon);
                }
                cycle += horizon;
                continue;
            }
        }
        if input_fired {
            input_cycles.push(cycle);
            sent += 1;
        }
        let output_fired = ports[n - 1].fire_out[0];
        if output_fired {
            output_cycles.push(cycle);
        }
        if let Some(reference) = reference {
            let k = output_cycles.len();
            // A skipped stretch has no output beat, so a beat is checked when it comes.
            let off = output_fired && cycle != reference[k - 1];
            if off || reference.get(k).is_some_and(|&r| cycle >= r) {
                return None;
            }
        }
        for (i, first) in first_beats.iter_mut().enumerate() {
            if ports[i].fire_in[0] && first.0.is_none() {
                first.0 = Some(cycle);
            }
            if ports[i].fire_out[0] && first.1.is_none() {
                first.1 = Some(cycle);
            }
        }
        for i in 0..n {
            // Slots a FIFO needed: a write needs count < depth before it (a write and a read in
            // the same cycle at count d still need depth d + 1).
            if let (State::Fifo { count }, true) = (&state[i], ports[i].fire_in[0]) {
                occupancy[i] = occupancy[i].max(count + 1);
            }
            // Credits an MVU needed: its claimed slots when it claims one more.
            if let Some(claimed) = claim(&components[i], &state[i], ports[i].valid_in[0]) {
                occupancy[i] = occupancy[i].max(claimed + 1);
            }
            step(&components[i], &mut state[i], &ports[i]);
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
