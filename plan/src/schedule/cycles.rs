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
    let mut run = Run::new(components, sources, input_beats, frames);
    loop {
        match run.advance(skip, u64::MAX, reference) {
            Progress::Going => {}
            Progress::Done => return Some(run.timing()),
            Progress::Late => return None,
        }
    }
}

/// Where a run stands after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Progress {
    /// More to run.
    Going,
    /// Every frame's output beat is out.
    Done,
    /// An output beat came off the reference's cycle (or the pipeline is stuck).
    Late,
}

/// A run in progress: the components' states and what the run has recorded so far, advanced a
/// cycle (or a quiet stretch) at a time. Its state at a cycle can be copied out and put back
/// (buffer sizing resumes runs from checkpoints).
pub(super) struct Run<'a> {
    components: &'a [Component],
    /// Per component and input port: (producer, port), the core's input as `INPUT`.
    feeds: Vec<Vec<(usize, usize)>>,
    readers: Vec<[Option<(usize, usize)>; 2]>,
    /// The input port that reads the core's input.
    input_reader: (usize, usize),
    total_in: usize,
    frames: usize,
    /// Steps (a skipped stretch is one) before a run is taken as stuck.
    limit: u64,
    steps: u64,
    /// Per-cycle signals, allocated once (the loop runs millions of times for a CNV).
    ports: Vec<Ports>,
    pub(super) state: Vec<State>,
    /// Per buffer, the size that would never have refused a write (a credit) so far.
    pub(super) occupancy: Vec<usize>,
    /// The same since the last [`Run::take_recent_needs`].
    recent: Vec<usize>,
    pub(super) first_beats: Vec<(Option<u64>, Option<u64>)>,
    pub(super) sent: usize,
    pub(super) input_cycles: Vec<u64>,
    pub(super) output_cycles: Vec<u64>,
    pub(super) cycle: u64,
}

const INPUT: usize = usize::MAX;

impl<'a> Run<'a> {
    /// A run from reset of `frames` frames of `input_beats` beats each.
    pub(super) fn new(
        components: &'a [Component],
        sources: &[Vec<Source>],
        input_beats: usize,
        frames: usize,
    ) -> Run<'a> {
        let n = components.len();
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
        let total_in = input_beats * frames;
        Run {
            components,
            readers: consumers(n, sources),
            feeds,
            input_reader,
            total_in,
            frames,
            // A pipeline that still moves takes at most a few steps per beat; a stuck one is
            // caught at once when skipping, by this bound when not.
            limit: 10_000_000u64 + 1000 * total_in as u64,
            steps: 0,
            ports: vec![Ports::default(); n],
            state: components.iter().map(State::new).collect(),
            occupancy: vec![0; n],
            recent: vec![0; n],
            first_beats: vec![(None, None); n],
            sent: 0,
            input_cycles: Vec::new(),
            output_cycles: Vec::new(),
            cycle: 0,
        }
    }

    /// Each buffer's need since the last call (or the start), and a fresh count from here.
    pub(super) fn take_recent_needs(&mut self) -> Vec<usize> {
        std::mem::replace(&mut self.recent, vec![0; self.components.len()])
    }

    /// The timing of the run so far (all of it once [`Progress::Done`]).
    pub(super) fn timing(self) -> Timing {
        Timing {
            input_cycles: self.input_cycles,
            output_cycles: self.output_cycles,
            occupancy: self.occupancy,
            first_beats: self.first_beats,
        }
    }

    /// Runs one cycle, or a quiet stretch of at most `max_skip` cycles when `skip` is on.
    pub(super) fn advance(
        &mut self,
        skip: bool,
        max_skip: u64,
        reference: Option<&[u64]>,
    ) -> Progress {
        if self.output_cycles.len() >= self.frames {
            return Progress::Done;
        }
        let n = self.components.len();
        let (components, state, ports) = (self.components, &mut self.state, &mut self.ports);
        self.steps += 1;
        // A stuck pipeline (a join whose shortcut is too short to let the other path fill)
        // is late for any reference; without one it is a bug.
        let stuck = || {
            assert!(
                reference.is_some(),
                "cycle model did not finish: a component never drains"
            );
            Progress::Late
        };
        if self.steps >= self.limit {
            return stuck();
        }
        // Valid into each input port: the source, or the producer's output port (components
        // are in topological order, so a fork's outputs already show its input).
        for i in 0..n {
            for (k, &(index, port)) in self.feeds[i].iter().enumerate() {
                ports[i].valid_in[k] = if index == INPUT {
                    self.sent < self.total_in
                } else {
                    state[index].port_valid(port, ports[index].valid_in[0])
                };
            }
        }
        // Ready flows backwards: each component's input ready may depend on its output ready.
        for i in (0..n).rev() {
            for (port, reader) in self.readers[i].iter().enumerate() {
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
        if skip && !any_fire {
            let horizon = (0..n)
                .map(|i| quiet_horizon(&components[i], &state[i], ports[i].ready_out[0]))
                .min()
                .unwrap_or(u64::MAX);
            if horizon == u64::MAX {
                return stuck();
            }
            if horizon > 0 {
                // Every signal computed above holds for the stretch; only MVU counters move.
                // (A shorter stretch than the horizon is as exact: the next step sees the
                // same signals and goes on.)
                let cycles = horizon.min(max_skip);
                for (c, s) in components.iter().zip(state.iter_mut()) {
                    skip_ops(c, s, cycles);
                }
                self.cycle += cycles;
                return Progress::Going;
            }
        }
        let cycle = self.cycle;
        let (reader, port) = self.input_reader;
        if ports[reader].fire_in[port] {
            self.input_cycles.push(cycle);
            self.sent += 1;
        }
        let output_fired = ports[n - 1].fire_out[0];
        if output_fired {
            self.output_cycles.push(cycle);
        }
        if let Some(reference) = reference {
            let k = self.output_cycles.len();
            // A skipped stretch has no output beat, so a beat is checked when it comes.
            let off = output_fired && cycle != reference[k - 1];
            if off || reference.get(k).is_some_and(|&r| cycle >= r) {
                return Progress::Late;
            }
        }
        for (i, first) in self.first_beats.iter_mut().enumerate() {
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
            let mut need = 0;
            if let (State::Fifo { count }, true) = (&state[i], ports[i].fire_in[0]) {
                need = count + 1;
            }
            // Credits an MVU needed: its claimed slots when it claims one more.
            if let Some(claimed) = claim(&components[i], &state[i], ports[i].valid_in[0]) {
                need = claimed + 1;
            }
            if need > 0 {
                self.occupancy[i] = self.occupancy[i].max(need);
                self.recent[i] = self.recent[i].max(need);
            }
            step(&components[i], &mut state[i], &ports[i]);
        }
        self.cycle += 1;
        Progress::Going
    }
}
