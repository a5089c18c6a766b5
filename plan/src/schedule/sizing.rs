//! FIFO and output-queue sizing: the least size of every buffer that keeps each output cycle of
//! a run with roomy buffers (see the module doc of `schedule`).

use super::components::{Component, Source};
use super::cycles::{simulate_graph, Timing};
use super::recorded::{Against, Recorder, CHECKPOINTS};
use xnorc_compiler::progress::Progress;

/// Frames the sizing run uses.
pub const SIZING_FRAMES: usize = 8;

/// A component's buffer size, if it has one: a FIFO's depth, an MVU's output queue.
pub(super) fn buffer(c: &mut Component) -> Option<&mut usize> {
    match c {
        Component::Fifo { depth, .. } => Some(depth),
        Component::Mvu { queue, .. } => Some(queue),
        _ => None,
    }
}

/// The size a buffer gets for the reference run: two frames' worth (an MVU's queue also
/// covers the passes in flight in its pipeline).
pub(super) fn generous(c: &Component) -> usize {
    match *c {
        Component::Fifo { beats, .. } => (2 * beats).max(2),
        Component::Mvu {
            nf,
            tree_registers,
            operand_registers,
            ..
        } => 2 * nf + operand_registers + tree_registers + 4,
        _ => 0,
    }
}

/// The least size a buffer may have.
pub(super) fn least(c: &Component) -> usize {
    match c {
        Component::Mvu { .. } => 1,
        _ => 2,
    }
}

/// Sizes every FIFO and MVU output queue (see the module doc of `schedule`) and returns the timing of the
/// sized pipeline.
///
/// Buffers are sized one at a time in stream order, the later ones still generous. A buffer's
/// *need* in the latest run (for a FIFO the largest count before one of its writes, for a
/// queue the most slots claimed with the one being claimed, both plus one) reproduces that run
/// exactly: every write or claim it allowed is still allowed. A need at the least size is
/// therefore taken as is; a larger need bounds a search (galloping from both ends, then
/// bisecting) for the smallest size that keeps every output cycle of the reference. A
/// candidate's run stops at its first late beat, starts where it first differs from the
/// latest run and stops where it rejoins it for good (see `recorded`); the run of the size
/// accepted gives the next buffer's need. The sized pipeline's run from reset is checked
/// against the reference at the end.
pub fn size_fifos(
    components: &mut [Component],
    sources: &[Vec<Source>],
    input_beats: usize,
    progress: &dyn Progress,
) -> Timing {
    size_fifos_with(components, sources, input_beats, CHECKPOINTS, progress)
}

/// How many buffers [`size_fifos`] sizes (what its progress counts): [`buffer`]'s.
pub fn buffers(components: &[Component]) -> usize {
    components
        .iter()
        .filter(|c| matches!(c, Component::Fifo { .. } | Component::Mvu { .. }))
        .count()
}

/// [`size_fifos`] with runs checkpointed `checkpoints` times (1: every candidate runs from
/// reset, for the test that checkpoints change nothing).
pub(super) fn size_fifos_with(
    components: &mut [Component],
    sources: &[Vec<Source>],
    input_beats: usize,
    checkpoints: u64,
    progress: &dyn Progress,
) -> Timing {
    let mut roomy = vec![0usize; components.len()];
    for (i, c) in components.iter_mut().enumerate() {
        let g = generous(c);
        if let Some(size) = buffer(c) {
            *size = g;
            roomy[i] = g;
        }
    }
    // The reference's length spaces the checkpoints (a run that keeps it is as long).
    let length = simulate_graph(components, sources, input_beats, SIZING_FRAMES)
        .output_cycles
        .last()
        .map_or(1, |&c| c + 1);
    let recorder = Recorder {
        sources,
        input_beats,
        frames: SIZING_FRAMES,
        grid: length.div_ceil(checkpoints).max(1),
    };
    let mut latest = recorder
        .record(components, None, None)
        .expect("no reference to miss");
    let reference = latest.timing.output_cycles.clone();
    let set_size = |components: &mut [Component], i: usize, d: usize| {
        if let Some(size) = buffer(&mut components[i]) {
            *size = d;
        }
    };
    for i in 0..components.len() {
        if buffer(&mut components[i]).is_none() {
            continue;
        }
        progress.advance(1);
        let floor = least(&components[i]);
        let need = latest.timing.occupancy[i].max(floor).min(roomy[i]);
        if need == floor {
            set_size(components, i, floor);
            continue;
        }
        // Output times are monotone non-increasing in size. A size at the need reproduces
        // `latest`; a smaller one that keeps the reference brings its own run. The least size
        // is near the floor for most buffers, and within a few entries of the need for a
        // shortcut's buffer or one behind a frame buffer, so the search gallops from both
        // ends at once (a probe can cost a whole run when the pipeline is deep: a late beat
        // only shows at the output), then bisects what is left.
        let (mut lo, mut hi) = (floor, need);
        let mut keeps = |components: &mut [Component], size: usize| -> bool {
            set_size(components, i, size);
            let against = Against {
                latest: &latest,
                buffer: i,
                size,
            };
            match recorder.record(components, Some(&reference), Some(&against)) {
                Some(run) => {
                    latest = run;
                    true
                }
                None => false,
            }
        };
        let mut step = 1;
        while lo < hi {
            let top = hi.saturating_sub(step).max(lo);
            if keeps(components, top) {
                hi = top;
            } else {
                lo = top + 1;
                break;
            }
            if lo == hi {
                break;
            }
            let bottom = (lo + step - 1).min(hi - 1);
            if keeps(components, bottom) {
                hi = bottom;
                break;
            }
            lo = bottom + 1;
            step *= 2;
        }
        while lo < hi {
            let mid = (lo + hi) / 2;
            if keeps(components, mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        set_size(components, i, lo);
    }
    // The sized pipeline's own run, which must keep the reference.
    let sized = simulate_graph(components, sources, input_beats, SIZING_FRAMES);
    assert_eq!(
        sized.output_cycles, reference,
        "buffer sizing changed the schedule"
    );
    sized
}
