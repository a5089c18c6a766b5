//! One cycle of one component: its input ready, and its next state from the handshakes that
//! fired — the same decisions the generated RTL makes from the same counters.

use super::components::{swg_available, swg_write_ok, Component};
use super::state::State;

/// Per port: the valid, ready and fire signals of one component in one cycle (port 1 only for
/// a fork's second output and a join's second input).
#[derive(Clone, Copy, Default)]
pub(super) struct Ports {
    pub valid_in: [bool; 2],
    pub ready_in: [bool; 2],
    pub ready_out: [bool; 2],
    pub fire_in: [bool; 2],
    pub fire_out: [bool; 2],
}

/// A component's input readies in this cycle, given its outputs' (ready flows backwards: an
/// input ready may depend on the output ready) and, for a join, its inputs' valids.
pub(super) fn ready_in_of(c: &Component, s: &State, p: &Ports) -> [bool; 2] {
    match (c, s) {
        (Component::Fork, State::Fork { taken }) => {
            let done = |k: usize| taken[k] || p.ready_out[k];
            [done(0) && done(1), false]
        }
        (Component::Add { .. }, State::DwcUp { out_valid, .. }) => {
            let free = !*out_valid || p.ready_out[0];
            [p.valid_in[1] && free, p.valid_in[0] && free]
        }
        _ => [ready_one(c, s, p.ready_out[0]), false],
    }
}

/// The input ready of a component with one input and one output.
fn ready_one(c: &Component, s: &State, ready_out: bool) -> bool {
    match (c, s) {
        (Component::Fifo { depth, .. }, State::Fifo { count }) => *count < *depth,
        // From registers only: the completing beat waits for an empty output register.
        (Component::DwcUp { ratio }, State::DwcUp { count, out_valid }) => {
            *count + 1 != *ratio || !*out_valid
        }
        (
            Component::Responses { .. } | Component::SplitThreshold { .. },
            State::DwcUp { out_valid, .. },
        ) => !*out_valid || ready_out,
        (Component::DwcDown { ratio }, State::DwcDown { holding, idx }) => {
            !*holding || (ready_out && *idx == ratio - 1)
        }
        (
            Component::Mvu { sf: sfs, queue, .. },
            State::Mvu {
                nf, sf, claimed, ..
            },
        ) => *nf == 0 && (*sf != sfs - 1 || claimed < queue),
        (Component::Swg { geometry, .. }, State::Swg { s, .. }) => swg_write_ok(s, geometry),
        (Component::Pool { .. } | Component::Subsample { .. }, State::Pool { out_valid, .. }) => {
            !*out_valid || ready_out
        }
        (&Component::PadChannels { before, own, .. }, State::Pad { pos, out_valid }) => {
            (before..before + own).contains(pos) && (!*out_valid || ready_out)
        }
        (Component::Scores { .. } | Component::Elementwise { .. }, State::Scores { pipe }) => {
            !pipe.last() || ready_out
        }
        // From registers only: idle, and the last frame's beat gone.
        (Component::Scores { .. }, State::Scan { left, out_valid }) => *left == 0 && !*out_valid,
        (Component::MeanSign { .. }, State::MeanSign { filling, .. }) => *filling,
        _ => unreachable!("state matches component"),
    }
}

/// Steps a component through one cycle.
pub(super) fn step(c: &Component, s: &mut State, p: &Ports) {
    match (c, &mut *s) {
        (Component::Fork, State::Fork { taken }) => {
            if p.fire_in[0] {
                *taken = [false; 2];
            } else if p.valid_in[0] {
                for (taken, ready) in taken.iter_mut().zip(p.ready_out) {
                    *taken = *taken || ready;
                }
            }
            return;
        }
        (Component::Add { .. }, State::DwcUp { out_valid, .. }) => {
            // Both inputs fire together, or neither does.
            *out_valid = p.fire_in[0] || (*out_valid && !p.fire_out[0]);
            return;
        }
        _ => {}
    }
    let (valid_in, fire_in, fire_out, ready_out) =
        (p.valid_in[0], p.fire_in[0], p.fire_out[0], p.ready_out[0]);
    match (c, s) {
        (Component::Fifo { .. }, State::Fifo { count }) => {
            *count = *count + usize::from(fire_in) - usize::from(fire_out);
        }
        (
            Component::DwcUp { ratio }
            | Component::Responses { ratio, .. }
            | Component::SplitThreshold { ratio, .. },
            State::DwcUp { count, out_valid },
        ) => {
            let completes = fire_in && *count + 1 == *ratio;
            if fire_in {
                *count = if completes { 0 } else { *count + 1 };
            }
            *out_valid = completes || (*out_valid && !fire_out);
        }
        (Component::DwcDown { ratio }, State::DwcDown { holding, idx }) => {
            if fire_out {
                if *idx == ratio - 1 {
                    *idx = 0;
                    *holding = fire_in;
                } else {
                    *idx += 1;
                }
            } else if fire_in {
                *holding = true;
                *idx = 0;
            }
        }
        (
            Component::Mvu {
                nf: nfs,
                sf: sfs,
                queue,
                ..
            },
            State::Mvu {
                nf,
                sf,
                pipe,
                queued,
                claimed,
                returning,
            },
        ) => {
            let issue = mvu_issues(*nf, *sf, *sfs, *claimed < *queue, valid_in);
            let claims = issue && *sf == sfs - 1;
            // A last op leaving the result register writes its beat into the queue.
            let finishing = pipe.last();
            *queued = *queued + usize::from(finishing) - usize::from(fire_out);
            // A beat's credit comes back through a register, the cycle after it leaves.
            *claimed = *claimed + usize::from(claims) - usize::from(*returning);
            *returning = fire_out;
            pipe.shift(claims);
            if issue {
                *sf += 1;
                if *sf == *sfs {
                    *sf = 0;
                    *nf = (*nf + 1) % nfs;
                }
            }
        }
        (Component::Swg { geometry: g, .. }, State::Swg { s, out_valid }) => {
            let ce = !*out_valid || ready_out;
            let mut read_frame_end = false;
            let (cb, w, kh, kw, out_h, out_w, h) = (g.cb, g.w, g.kh, g.kw, g.out_h, g.out_w, g.h);
            if ce {
                let avail = swg_available(s, g);
                *out_valid = avail;
                if avail {
                    let mut counters = [
                        (&mut s.rcb, cb),
                        (&mut s.kx, kw),
                        (&mut s.ky, kh),
                        (&mut s.ox, out_w),
                        (&mut s.oy, out_h),
                    ];
                    // Channel blocks outer: (kx, ky, channel block) innermost first, as the
                    // generator's counters.
                    if g.channel_blocks_outer {
                        counters[..3].rotate_left(1);
                    }
                    read_frame_end = advance(&mut counters);
                }
            }
            let mut write_frame_end = false;
            if fire_in {
                write_frame_end = advance(&mut [(&mut s.wcb, cb), (&mut s.wx, w), (&mut s.wy, h)]);
            }
            s.d += i32::from(write_frame_end) - i32::from(read_frame_end);
        }
        (
            &Component::Pool {
                cb: cbs,
                h,
                w,
                k,
                out_h,
                out_w,
                ..
            },
            State::Pool {
                iy,
                ix,
                cb,
                out_valid,
            },
        ) => {
            let completes = fire_in
                && *iy < out_h * k
                && *ix < out_w * k
                && *iy % k == k - 1
                && *ix % k == k - 1;
            if fire_in {
                advance(&mut [(cb, cbs), (ix, w), (iy, h)]);
            }
            *out_valid = completes || (*out_valid && !fire_out);
        }
        (
            Component::Scores {
                scan: Some(classes),
                ..
            },
            State::Scan { left, out_valid },
        ) => {
            // The scan's last select cycle registers the output beat.
            if *left > 0 {
                *left -= 1;
                *out_valid = *left == 0;
            }
            if fire_out {
                *out_valid = false;
            }
            if fire_in {
                *left = super::components::scan_cycles(*classes);
            }
        }
        (Component::Scores { .. } | Component::Elementwise { .. }, State::Scores { pipe }) => {
            // One clock enable for all stages: they advance together or not at all.
            let ce = !pipe.last() || ready_out;
            if ce {
                pipe.shift(fire_in);
            }
        }
        (
            &Component::Subsample {
                cb: cbs,
                h,
                w,
                stride,
                ..
            },
            State::Pool {
                iy,
                ix,
                cb,
                out_valid,
            },
        ) => {
            let keeps = fire_in && *iy % stride == 0 && *ix % stride == 0;
            if fire_in {
                advance(&mut [(cb, cbs), (ix, w), (iy, h)]);
            }
            *out_valid = keeps || (*out_valid && !fire_out);
        }
        (
            &Component::PadChannels {
                before, own, after, ..
            },
            State::Pad { pos, out_valid },
        ) => {
            let ce = !*out_valid || ready_out;
            let loads = if (before..before + own).contains(pos) {
                fire_in
            } else {
                ce
            };
            if loads {
                *pos = (*pos + 1) % (before + own + after);
            }
            *out_valid = loads || (*out_valid && !fire_out);
        }
        (
            &Component::MeanSign { beats, .. },
            State::MeanSign {
                filling,
                count,
                pipe,
            },
        ) => {
            let ce = !pipe.last() || ready_out;
            if *filling {
                if fire_in {
                    *count += 1;
                    if *count == beats {
                        (*filling, *count) = (false, 0);
                    }
                }
                if ce {
                    pipe.shift(false);
                }
            } else if ce {
                // A read issues with every move of the pipeline.
                pipe.shift(true);
                *count += 1;
                if *count == beats {
                    (*filling, *count) = (true, 0);
                }
            }
        }
        _ => unreachable!("state matches component"),
    }
}

/// Does an MVU at op (nf, sf) issue this cycle, given whether a credit is left? Pass 0 needs an
/// input beat; a pass's last op needs a credit.
pub(super) fn mvu_issues(nf: usize, sf: usize, sfs: usize, credit: bool, valid_in: bool) -> bool {
    (nf != 0 || valid_in) && (sf != sfs - 1 || credit)
}

/// For an MVU about to claim a credit this cycle: the slots already claimed.
pub(super) fn claim(c: &Component, s: &State, valid_in: bool) -> Option<usize> {
    match (c, s) {
        (
            Component::Mvu { sf: sfs, queue, .. },
            State::Mvu {
                nf, sf, claimed, ..
            },
        ) if *sf == sfs - 1 && mvu_issues(*nf, *sf, *sfs, claimed < queue, valid_in) => {
            Some(*claimed)
        }
        _ => None,
    }
}

/// Advances nested counters (innermost first, each with its limit); true when all wrap.
fn advance(counters: &mut [(&mut usize, usize)]) -> bool {
    for (value, limit) in counters.iter_mut() {
        **value += 1;
        if **value < *limit {
            return false;
        }
        **value = 0;
    }
    true
}
