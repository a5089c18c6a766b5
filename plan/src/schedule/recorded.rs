//! Recorded runs for buffer sizing: a run's state at evenly spaced cycles (checkpoints) and each
//! buffer's need between them, so that a run with one buffer resized need not start from reset.
//!
//! Sizing tries many sizes of one buffer against the run it last accepted (`latest`). A run
//! with buffer `i` at size `s` is that run, cycle for cycle, as long as `latest` never needed
//! more than `s` entries of `i` (the argument that makes a buffer at its need reproduce a run,
//! applied to a prefix). It therefore starts from the last checkpoint before `latest` first
//! needed more. Once it has diverged, it may come back: if at a checkpoint its whole state
//! equals `latest`'s there, and `latest` never needs more than `s` of `i` from there on, the
//! rest is `latest`'s, and the run stops. On a deep pipeline most sizes only shift a few beats
//! for a while, so a candidate costs the stretch where it differs rather than a whole run.
//!
//! Every run takes its checkpoints at the same cycles (multiples of `grid`): quiet stretches
//! are cut at them, which changes nothing (a stretch is skipped in any number of pieces).

use super::components::{Component, Source};
use super::cycles::{Progress, Run, Timing};
use super::state::State;
use std::rc::Rc;

/// How many checkpoints a run of the reference's length takes.
pub(super) const CHECKPOINTS: u64 = 512;

/// A run's state at the start of a checkpoint's cycle.
#[derive(PartialEq, Eq)]
pub(super) struct Checkpoint {
    state: Vec<State>,
    sent: usize,
    outputs: usize,
}

/// A finished run with its checkpoints.
pub(super) struct Recorded {
    pub(super) timing: Timing,
    /// Checkpoint k is the state at the start of cycle k · grid.
    checkpoints: Vec<Rc<Checkpoint>>,
    /// Per checkpoint k, each buffer's need in the cycles from it to the next (to the end for
    /// the last).
    needs: Vec<Rc<Vec<usize>>>,
}

impl Recorded {
    /// Buffer `i`'s need before each checkpoint (index k: cycles before k · grid).
    fn needs_before(&self, i: usize) -> Vec<usize> {
        let mut before = Vec::with_capacity(self.needs.len());
        let mut most = 0;
        for needs in &self.needs {
            before.push(most);
            most = most.max(needs[i]);
        }
        before
    }

    /// Buffer `i`'s need from each checkpoint on.
    fn needs_from(&self, i: usize) -> Vec<usize> {
        let mut from = vec![0; self.needs.len()];
        let mut most = 0;
        for (k, needs) in self.needs.iter().enumerate().rev() {
            most = most.max(needs[i]);
            from[k] = most;
        }
        from
    }
}

/// What runs are recorded against: the pipeline's wiring, its input and the checkpoints'
/// spacing.
pub(super) struct Recorder<'a> {
    pub(super) sources: &'a [Vec<Source>],
    pub(super) input_beats: usize,
    pub(super) frames: usize,
    pub(super) grid: u64,
}

/// `latest` and the buffer whose size differs from it in the run being recorded.
pub(super) struct Against<'a> {
    pub(super) latest: &'a Recorded,
    pub(super) buffer: usize,
    pub(super) size: usize,
}

impl Recorder<'_> {
    /// Records the run of `components`; with a `reference`, None as soon as a beat is off its
    /// cycle. With `against`, the run starts and may stop where it agrees with `latest` (see
    /// the module doc); its result is the same as a run from reset.
    pub(super) fn record(
        &self,
        components: &[Component],
        reference: Option<&[u64]>,
        against: Option<&Against>,
    ) -> Option<Recorded> {
        let mut run = Run::new(components, self.sources, self.input_beats, self.frames);
        let mut checkpoints: Vec<Rc<Checkpoint>> = Vec::new();
        let mut needs: Vec<Rc<Vec<usize>>> = Vec::new();
        let mut rejoin = None;
        if let Some(a) = against {
            let before = a.latest.needs_before(a.buffer);
            let k = before.iter().rposition(|&need| need <= a.size).unwrap_or(0);
            self.resume(&mut run, a.latest, k);
            checkpoints.extend_from_slice(&a.latest.checkpoints[..k]);
            needs.extend_from_slice(&a.latest.needs[..k]);
            rejoin = Some(a.latest.needs_from(a.buffer));
        }
        loop {
            let next = checkpoints.len() as u64 * self.grid;
            if run.cycle == next {
                if needs.len() < checkpoints.len() {
                    needs.push(Rc::new(run.take_recent_needs()));
                }
                let here = Checkpoint {
                    state: run.state.clone(),
                    sent: run.sent,
                    outputs: run.output_cycles.len(),
                };
                if let (Some(a), Some(from)) = (against, &rejoin) {
                    let k = checkpoints.len();
                    if let Some(done) = rejoined(&run, &here, k, a, from) {
                        checkpoints.extend_from_slice(&a.latest.checkpoints[k..]);
                        needs.extend_from_slice(&a.latest.needs[k..]);
                        return Some(Recorded {
                            timing: done,
                            checkpoints,
                            needs,
                        });
                    }
                }
                checkpoints.push(Rc::new(here));
            }
            // Quiet stretches end at the next checkpoint's cycle.
            let next = checkpoints.len() as u64 * self.grid;
            match run.advance(true, next - run.cycle, reference) {
                Progress::Going => {}
                Progress::Done => break,
                Progress::Late => return None,
            }
        }
        if needs.len() < checkpoints.len() {
            needs.push(Rc::new(run.take_recent_needs()));
        }
        Some(Recorded {
            timing: run.timing(),
            checkpoints,
            needs,
        })
    }

    /// Puts `run` where `latest` was at its checkpoint `k`.
    fn resume(&self, run: &mut Run, latest: &Recorded, k: usize) {
        let at = &latest.checkpoints[k];
        let cycle = k as u64 * self.grid;
        let t = &latest.timing;
        run.state.clone_from(&at.state);
        run.sent = at.sent;
        run.cycle = cycle;
        run.input_cycles = t.input_cycles[..at.sent].to_vec();
        run.output_cycles = t.output_cycles[..at.outputs].to_vec();
        raise_to_needs(&mut run.occupancy, &latest.needs[..k]);
        let before = |c: Option<u64>| c.filter(|&c| c < cycle);
        run.first_beats = t
            .first_beats
            .iter()
            .map(|&(a, b)| (before(a), before(b)))
            .collect();
    }
}

/// Raises each buffer's `occupancy` to its need in each of `intervals`.
fn raise_to_needs(occupancy: &mut [usize], intervals: &[Rc<Vec<usize>>]) {
    for needs in intervals {
        for (o, &n) in occupancy.iter_mut().zip(needs.iter()) {
            *o = (*o).max(n);
        }
    }
}

/// If the run, at its checkpoint `k` (`here`), is back on `latest`'s track for good (same
/// state, and `latest` needs no more of the buffer than its size from here on): the whole
/// run's timing, its past joined to `latest`'s future.
fn rejoined(
    run: &Run,
    here: &Checkpoint,
    k: usize,
    a: &Against,
    needs_from: &[usize],
) -> Option<Timing> {
    let theirs = a.latest.checkpoints.get(k)?;
    if **theirs != *here || needs_from[k] > a.size {
        return None;
    }
    let t = &a.latest.timing;
    // A component that had its first beat in `latest` before here has had it in this run too
    // (a guard: equal states with different pasts are not expected, but would make the joined
    // first beats wrong, so such a run goes on).
    let mut first_beats = Vec::with_capacity(run.first_beats.len());
    for (&(a_in, a_out), &(b_in, b_out)) in run.first_beats.iter().zip(&t.first_beats) {
        let join = |mine: Option<u64>, theirs: Option<u64>| match (mine, theirs) {
            (Some(c), _) => Some(Some(c)),
            (None, Some(c)) if c < run.cycle => None,
            (None, theirs) => Some(theirs),
        };
        first_beats.push((join(a_in, b_in)?, join(a_out, b_out)?));
    }
    let mut occupancy = run.occupancy.to_vec();
    raise_to_needs(&mut occupancy, &a.latest.needs[k..]);
    let joined = |mine: &[u64], theirs: &[u64]| [mine, &theirs[mine.len()..]].concat();
    Some(Timing {
        input_cycles: joined(&run.input_cycles, &t.input_cycles),
        output_cycles: joined(&run.output_cycles, &t.output_cycles),
        occupancy,
        first_beats,
    })
}
