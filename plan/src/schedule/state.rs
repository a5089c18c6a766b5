//! Each component's control state in the cycle model: the counters and flags the generated RTL
//! keeps, and the valid flag of its output.

use super::components::{Component, SwgState};

/// A chain of register stages, each holding a flag (bit i: stage i; the last is the output).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Stages {
    bits: u64,
    len: u32,
}

impl Stages {
    pub(super) fn new(len: usize) -> Stages {
        assert!((1..=64).contains(&len), "1 to 64 register stages");
        Stages {
            bits: 0,
            len: len as u32,
        }
    }

    /// The last stage's flag.
    pub(super) fn last(&self) -> bool {
        self.bits >> (self.len - 1) & 1 == 1
    }

    pub(super) fn any(&self) -> bool {
        self.bits != 0
    }

    /// Every stage takes its predecessor's flag, the first takes `flag`.
    pub(super) fn shift(&mut self, flag: bool) {
        let mask = u64::MAX >> (64 - self.len);
        self.bits = (self.bits << 1 | u64::from(flag)) & mask;
    }

    /// Shifts until the most advanced flag is in the last stage (`u64::MAX` when empty).
    pub(super) fn cycles_to_last(&self) -> u64 {
        match self.bits {
            0 => u64::MAX,
            b => u64::from(self.len + b.leading_zeros() - 64),
        }
    }

    /// `cycles` shifts of `false` (none may push a flag out: see [`Stages::cycles_to_last`]).
    pub(super) fn shift_empty(&mut self, cycles: u64) {
        debug_assert!(cycles <= self.cycles_to_last());
        self.bits = self.bits.checked_shl(cycles.min(64) as u32).unwrap_or(0);
    }
}

#[derive(Clone, PartialEq, Eq)]
pub(super) enum State {
    Fifo {
        count: usize,
    },
    DwcUp {
        count: usize,
        out_valid: bool,
    },
    DwcDown {
        holding: bool,
        idx: usize,
    },
    Mvu {
        nf: usize,
        sf: usize,
        /// Per pipeline stage: does it hold a pass's last op?
        pipe: Stages,
        /// Beats in the output queue.
        queued: usize,
        /// Queue slots claimed (by beats queued or passes in flight, or by a beat that left
        /// last cycle, whose credit comes back this cycle): the credits left are the queue's
        /// size less these, so a state holds under any queue size that had room.
        claimed: usize,
        /// A beat left the queue last cycle: its slot's credit returns at this cycle's end.
        returning: bool,
    },
    Swg {
        s: SwgState,
        out_valid: bool,
    },
    Pool {
        iy: usize,
        ix: usize,
        cb: usize,
        out_valid: bool,
    },
    Scores {
        /// Valid flag of each register stage; the last one is the output's.
        pipe: Stages,
    },
    /// A scanning scores stage (`Component::Scores` with `scan`).
    Scan {
        /// Cycles of the current frame's scan still to run (0: idle or done).
        left: usize,
        /// The output beat is held.
        out_valid: bool,
    },
    Fork {
        /// Which outputs have taken the current input beat.
        taken: [bool; 2],
    },
    Pad {
        /// The next output beat's position within the pixel's.
        pos: usize,
        out_valid: bool,
    },
    MeanSign {
        /// Taking the frame (else reading it out).
        filling: bool,
        /// Beats written (filling) or reads issued (draining) of this frame.
        count: usize,
        /// The registered read, then the output register.
        pipe: Stages,
    },
}

impl State {
    pub(super) fn new(c: &Component) -> State {
        match *c {
            Component::Fifo { .. } => State::Fifo { count: 0 },
            Component::DwcUp { .. }
            | Component::Responses { .. }
            | Component::SplitThreshold { .. }
            | Component::Add { .. } => State::DwcUp {
                count: 0,
                out_valid: false,
            },
            Component::DwcDown { .. } => State::DwcDown {
                holding: false,
                idx: 0,
            },
            Component::Mvu {
                tree_registers,
                operand_registers,
                ..
            } => State::Mvu {
                nf: 0,
                sf: 0,
                pipe: Stages::new(2 + operand_registers + tree_registers),
                queued: 0,
                claimed: 0,
                returning: false,
            },
            Component::Swg { .. } => State::Swg {
                s: SwgState::default(),
                out_valid: false,
            },
            Component::PadChannels { .. } => State::Pad {
                pos: 0,
                out_valid: false,
            },
            Component::Pool { .. } | Component::Subsample { .. } => State::Pool {
                iy: 0,
                ix: 0,
                cb: 0,
                out_valid: false,
            },
            Component::Scores { scan: Some(_), .. } => State::Scan {
                left: 0,
                out_valid: false,
            },
            Component::Scores { depth, .. } | Component::Elementwise { depth, .. } => {
                State::Scores {
                    pipe: Stages::new(depth),
                }
            }
            Component::Fork => State::Fork { taken: [false; 2] },
            Component::MeanSign { .. } => State::MeanSign {
                filling: true,
                count: 0,
                pipe: Stages::new(2),
            },
        }
    }

    /// Output `port`'s valid flag; `valid_in` is input port 0's (a fork's outputs show it).
    pub(super) fn port_valid(&self, port: usize, valid_in: bool) -> bool {
        match self {
            State::Fork { taken } => valid_in && !taken[port],
            _ => self.out_valid(),
        }
    }

    fn out_valid(&self) -> bool {
        match self {
            State::Fifo { count } => *count > 0,
            State::DwcUp { out_valid, .. } => *out_valid,
            State::DwcDown { holding, .. } => *holding,
            State::Mvu { queued, .. } => *queued > 0,
            State::Swg { out_valid, .. } => *out_valid,
            State::Pool { out_valid, .. } | State::Pad { out_valid, .. } => *out_valid,
            State::Scores { pipe } | State::MeanSign { pipe, .. } => pipe.last(),
            State::Scan { out_valid, .. } => *out_valid,
            State::Fork { .. } => unreachable!("a fork's outputs are port_valid's"),
        }
    }
}
