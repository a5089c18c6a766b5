//! One cycle of one component: its input ready, and its next state from the handshakes that
//! fired — the same decisions the generated RTL makes from the same counters.

use super::components::{swg_available, swg_write_ok, Component};
use super::state::State;

/// A component's input ready in this cycle, given its output's (ready flows backwards: each
/// component's input ready may depend on its output ready).
pub(super) fn ready_in_of(c: &Component, s: &State, ready_out: bool) -> bool {
    match (c, s) {
        (Component::Fifo { depth, .. }, State::Fifo { count }) => *count < *depth,
        (
            Component::DwcUp { .. }
            | Component::Responses { .. }
            | Component::SplitThreshold { .. },
            State::DwcUp { out_valid, .. },
        ) => !*out_valid || ready_out,
        (Component::DwcDown { ratio }, State::DwcDown { holding, idx }) => {
            !*holding || (ready_out && *idx == ratio - 1)
        }
        (
            Component::Mvu { sf: sfs, .. },
            State::Mvu {
                nf, sf, credits, ..
            },
        ) => *nf == 0 && (*sf != sfs - 1 || *credits > 0),
        (Component::Swg { geometry, .. }, State::Swg { s, .. }) => swg_write_ok(s, geometry),
        (Component::Pool { .. }, State::Pool { out_valid, .. }) => !*out_valid || ready_out,
        (Component::Scores { .. }, State::Scores { pipe }) => !pipe.last() || ready_out,
        _ => unreachable!("state matches component"),
    }
}

/// Steps a component through one cycle.
pub(super) fn step(
    c: &Component,
    s: &mut State,
    valid_in: bool,
    fire_in: bool,
    fire_out: bool,
    ready_out: bool,
) {
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
                nf: nfs, sf: sfs, ..
            },
            State::Mvu {
                nf,
                sf,
                pipe,
                queued,
                credits,
            },
        ) => {
            let issue = mvu_issues(*nf, *sf, *sfs, *credits, valid_in);
            let claims = issue && *sf == sfs - 1;
            // A last op leaving the result register writes its beat into the queue.
            let finishing = pipe.last();
            *queued = *queued + usize::from(finishing) - usize::from(fire_out);
            *credits = *credits + usize::from(fire_out) - usize::from(claims);
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
        (Component::Scores { .. }, State::Scores { pipe }) => {
            // One clock enable for all stages: they advance together or not at all.
            let ce = !pipe.last() || ready_out;
            if ce {
                pipe.shift(fire_in);
            }
        }
        _ => unreachable!("state matches component"),
    }
}

/// Does an MVU at op (nf, sf) with `credits` issue this cycle? Pass 0 needs an input beat; a
/// pass's last op needs a credit.
pub(super) fn mvu_issues(nf: usize, sf: usize, sfs: usize, credits: usize, valid_in: bool) -> bool {
    (nf != 0 || valid_in) && (sf != sfs - 1 || credits > 0)
}

/// For an MVU about to claim a credit this cycle: the slots already claimed.
pub(super) fn claim(c: &Component, s: &State, valid_in: bool) -> Option<usize> {
    match (c, s) {
        (
            Component::Mvu { sf: sfs, queue, .. },
            State::Mvu {
                nf, sf, credits, ..
            },
        ) if *sf == sfs - 1 && mvu_issues(*nf, *sf, *sfs, *credits, valid_in) => {
            Some(queue - credits)
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
