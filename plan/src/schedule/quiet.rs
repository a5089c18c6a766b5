//! Quiet stretches: cycles in which no handshake fires and only MVU op counters move, which the
//! cycle model jumps over in one step.

use super::components::{swg_available, Component};
use super::state::State;
use super::step::mvu_issues;

/// In a cycle in which no handshake fires: for how many cycles from this one on the component
/// would change nothing but an MVU's op counter (or a scanning scores stage's), so that its
/// `valid`/`ready` signals (and with everyone's, the whole pipeline's) stay as they are — 0 if
/// this cycle already changes more, `u64::MAX` if it changes nothing at all.
pub(super) fn quiet_horizon(c: &Component, s: &State, ready_out: bool) -> u64 {
    match (c, s) {
        (
            Component::Mvu { sf: sfs, queue, .. },
            State::Mvu {
                nf,
                sf,
                pipe,
                claimed,
                returning,
                ..
            },
        ) => {
            // A credit coming back may let the pass's last op issue.
            if *returning {
                return 0;
            }
            // A pass's last op in flight shifts along unseen until it reaches the queue.
            let in_flight = pipe.cycles_to_last();
            let ops = if mvu_issues(*nf, *sf, *sfs, claimed < queue, false) {
                // Ops up to the pass's last issue alone; the last claims a credit.
                (sfs - 1 - sf) as u64
            } else {
                u64::MAX // waiting for input (pass 0) or for a credit
            };
            in_flight.min(ops)
        }
        // With no beat leaving, an empty output register loads the next tap if it can.
        (Component::Swg { geometry, .. }, State::Swg { s, out_valid })
            if !*out_valid && swg_available(s, geometry) =>
        {
            0
        }
        // A scan counts on unseen until its last cycle, which shows the output beat.
        (Component::Scores { .. }, State::Scan { left, .. }) if *left > 0 => (*left - 1) as u64,
        // Register stages move whenever the last is free.
        (Component::Scores { .. } | Component::Elementwise { .. }, State::Scores { pipe })
            if (!pipe.last() || ready_out) && pipe.any() =>
        {
            0
        }
        // Channel padding loads its zero beats on its own.
        (&Component::PadChannels { before, own, .. }, State::Pad { pos, out_valid })
            if (!*out_valid || ready_out) && !(before..before + own).contains(pos) =>
        {
            0
        }
        // A meansign reading out issues reads on its own; its pipeline moves as register stages.
        (Component::MeanSign { .. }, State::MeanSign { filling, pipe, .. })
            if (!pipe.last() || ready_out) && (!*filling || pipe.any()) =>
        {
            0
        }
        // Buffers, converters and the pool change only when a beat moves; so does the rest.
        _ => u64::MAX,
    }
}

/// Advances an MVU by `cycles` quiet cycles (see [`quiet_horizon`]): its ops within the pass
/// (no claim, no input) and its last ops in flight (none reaching the queue); a scan by as many
/// of its cycles; other components stay as they are.
pub(super) fn skip_ops(c: &Component, s: &mut State, cycles: u64) {
    if let State::Scan { left, .. } = s {
        if *left > 0 {
            *left -= cycles as usize;
        }
        return;
    }
    if let (
        Component::Mvu { sf: sfs, queue, .. },
        State::Mvu {
            nf,
            sf,
            claimed,
            pipe,
            ..
        },
    ) = (c, s)
    {
        if mvu_issues(*nf, *sf, *sfs, *claimed < *queue, false) {
            *sf += cycles as usize;
            debug_assert!(*sf < *sfs, "a skip stays within the pass");
        }
        // Nothing reaches the queue within the stretch.
        pipe.shift_empty(cycles);
    }
}
