//! The non-matrix ops in the internal layout: thresholds, max-pool, flatten, class scores.

use crate::layout::{Buf, Geometry};
use crate::split::SplitPlan;
use xnorc_compiler::ir::{ChannelRule, MaxPool, Scores, Shape, Threshold};

/// One-level thresholds as `(sign, t)`: out bit = sign·S ≥ t, which covers S ≥ T (sign 1),
/// S ≤ T (sign −1, t = −T) and constants (sign 0, t = 0 for 1 and t = 1 for 0).
pub(crate) struct ThresholdPlan {
    levels: usize,
    binary: Vec<(i64, i64)>,
    rules: Vec<ChannelRule>,
    /// Channels deciding on partial sums of the tiled layer before (they read its input too).
    pub split: Option<SplitPlan>,
}

impl ThresholdPlan {
    pub fn new(t: &Threshold, split: Option<SplitPlan>) -> Self {
        let binary = t
            .channels
            .iter()
            .map(|r| match r {
                ChannelRule::Ge(t) => (1, t[0]),
                ChannelRule::Le(t) => (-1, -t[0]),
                ChannelRule::Const(v) => (0, 1 - *v as i64),
                // A placeholder 0; `SplitPlan::apply` writes the bit.
                ChannelRule::Split(_) => (0, 1),
            })
            .collect();
        ThresholdPlan {
            levels: t.levels,
            binary,
            rules: t.channels.clone(),
            split,
        }
    }

    /// Thresholds the sums `x`; `layer_input` is the producing layer's input, which split
    /// channels need (present exactly when `self.split` is).
    pub fn run(&self, frames: usize, g: Geometry, x: &Buf, layer_input: Option<&Buf>) -> Buf {
        let Buf::Int(x) = x else {
            unreachable!("threshold input is integer")
        };
        let c = g.channels;
        if self.levels > 1 {
            let out = x
                .iter()
                .enumerate()
                .map(|(i, &s)| self.rules[i % c].apply(s) as i64)
                .collect();
            return Buf::Int(out);
        }
        let words = g.words();
        let mut out = vec![0u64; frames * g.pixels * words];
        for (src, dst) in x.chunks_exact(c).zip(out.chunks_exact_mut(words)) {
            for ((s64, t64), word) in src
                .chunks(64)
                .zip(self.binary.chunks(64))
                .zip(dst.iter_mut())
            {
                // Build the word in a register; one store per 64 channels.
                let mut w = 0u64;
                for (i, (&s, &(sign, t))) in s64.iter().zip(t64).enumerate() {
                    w |= ((sign * s >= t) as u64) << i;
                }
                *word = w;
            }
        }
        if let (Some(split), Some(input)) = (&self.split, layer_input) {
            split.apply(frames, g, x, input, &mut out);
        }
        Buf::Bits(out)
    }
}

/// Max-pool: OR of packed words for binary data (max of ±1), max for integers.
pub(crate) fn maxpool(p: &MaxPool, frames: usize, input: Shape, out: Shape, x: &Buf) -> Buf {
    let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (input, out) else {
        unreachable!("maxpool shapes are maps")
    };
    // Words (binary) or values (integer) per pixel.
    let per = match x {
        Buf::Bits(_) => c.div_ceil(64),
        Buf::Int(_) => c,
    };
    let in_frame = h * w * per;
    let out_frame = oh * ow * per;
    let window = |f: usize, oy: usize, ox: usize| {
        (0..p.kernel).flat_map(move |ky| {
            (0..p.kernel)
                .map(move |kx| f * in_frame + ((oy * p.stride + ky) * w + ox * p.stride + kx) * per)
        })
    };
    match x {
        Buf::Bits(d) => {
            let mut out = vec![0u64; frames * out_frame];
            for f in 0..frames {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let dst = &mut out[f * out_frame + (oy * ow + ox) * per..][..per];
                        for src in window(f, oy, ox) {
                            for (o, i) in dst.iter_mut().zip(&d[src..src + per]) {
                                *o |= i;
                            }
                        }
                    }
                }
            }
            Buf::Bits(out)
        }
        Buf::Int(d) => {
            let mut out = vec![i64::MIN; frames * out_frame];
            for f in 0..frames {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let dst = &mut out[f * out_frame + (oy * ow + ox) * per..][..per];
                        for src in window(f, oy, ox) {
                            for (o, &i) in dst.iter_mut().zip(&d[src..src + per]) {
                                *o = (*o).max(i);
                            }
                        }
                    }
                }
            }
            Buf::Int(out)
        }
    }
}

/// Flatten: internal (H, W, C) of a map to a vector in logical (C, H, W) order.
pub(crate) fn flatten(frames: usize, input: Geometry, x: &Buf) -> Buf {
    if input.pixels == 1 {
        return x.clone();
    }
    let n = input.pixels * input.channels;
    let logical = x.to_logical(frames, input);
    let flat = Geometry {
        pixels: 1,
        channels: n,
    };
    match x {
        Buf::Bits(_) => {
            Buf::from_logical(&logical, frames, flat, xnorc_compiler::ir::ValueType::Bits)
        }
        Buf::Int(_) => Buf::Int(logical),
    }
}

/// Class scores: scale·S + offset per class (binary inputs count as ±1).
pub(crate) fn scores(s: &Scores, frames: usize, classes: usize, x: &Buf) -> Vec<i64> {
    let mut out = Vec::with_capacity(frames * classes);
    match x {
        Buf::Int(d) => {
            for frame in d.chunks_exact(classes) {
                for ((&v, &a), &b) in frame.iter().zip(&s.scale).zip(&s.offset) {
                    out.push(a * v + b);
                }
            }
        }
        Buf::Bits(d) => {
            let words = classes.div_ceil(64);
            for frame in d.chunks_exact(words) {
                for k in 0..classes {
                    let v = 2 * ((frame[k / 64] >> (k % 64)) & 1) as i64 - 1;
                    out.push(s.scale[k] * v + s.offset[k]);
                }
            }
        }
    }
    out
}
