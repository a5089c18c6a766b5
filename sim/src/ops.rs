//! The non-matrix ops in the internal layout: thresholds, max-pool, flatten, class scores.

use crate::layout::{Buf, Geometry};
use crate::split::SplitPlan;
use xnorc_compiler::ir::{ChannelRule, MaxPool, Scores, Shape, Threshold};

/// One-level thresholds as `(sign, t)`: out bit = sign·S ≥ t, which covers S ≥ T (sign 1),
/// S ≤ T (sign −1, t = −T) and constants (sign 0, t = 0 for 1 and t = 1 for 0).
pub(crate) struct ThresholdPlan {
    levels: usize,
    binary: Vec<(i64, i64)>,
    /// The same one-level rules as 64-channel words for the AVX-512 path, when it runs.
    words: Option<RuleWords>,
    rules: Vec<ChannelRule>,
    /// Channels deciding on partial sums of the tiled layer before (they read its input too).
    pub split: Option<SplitPlan>,
}

impl ThresholdPlan {
    pub fn new(t: &Threshold, split: Option<SplitPlan>) -> Self {
        let binary: Vec<(i64, i64)> = t
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
        let words = (t.levels == 1 && RuleWords::available()).then(|| RuleWords::new(&binary));
        ThresholdPlan {
            levels: t.levels,
            words,
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
        match &self.words {
            Some(rule_words) => rule_words.apply(x, c, &mut out),
            None => self.binary_words(x, c, words, &mut out),
        }
        if let (Some(split), Some(input)) = (&self.split, layer_input) {
            split.apply(frames, g, x, input, &mut out);
        }
        Buf::Bits(out)
    }

    /// One-level thresholds of every pixel's `c` sums of `x`, one word per 64 channels.
    fn binary_words(&self, x: &[i64], c: usize, words: usize, out: &mut [u64]) {
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
    }
}

/// One-level thresholds 64 channels to a word, for AVX-512: a channel's bit is
/// (S ≥ thr & ge) | (S ≤ thr & le) | constant, eight channels per compare.
struct RuleWords {
    /// Per channel, padded to whole words: t for sign·S ≥ t with sign 1, −t with sign −1.
    thr: Vec<i64>,
    /// Per word: the channels that compare S ≥ thr, those that compare S ≤ thr, and those
    /// that are constant 1.
    ge: Vec<u64>,
    le: Vec<u64>,
    ones: Vec<u64>,
}

impl RuleWords {
    fn available() -> bool {
        crate::popcount::avx512().f
    }

    fn new(binary: &[(i64, i64)]) -> Self {
        let words = binary.len().div_ceil(64);
        let mut rw = RuleWords {
            thr: vec![0; words * 64],
            ge: vec![0; words],
            le: vec![0; words],
            ones: vec![0; words],
        };
        for (i, &(sign, t)) in binary.iter().enumerate() {
            let bit = 1u64 << (i % 64);
            match sign {
                1 => (rw.thr[i], rw.ge[i / 64]) = (t, rw.ge[i / 64] | bit),
                -1 => (rw.thr[i], rw.le[i / 64]) = (-t, rw.le[i / 64] | bit),
                _ if 0 >= t => rw.ones[i / 64] |= bit,
                _ => {}
            }
        }
        rw
    }

    /// Thresholds every pixel's `c` sums of `x` into `out`'s words.
    fn apply(&self, x: &[i64], c: usize, out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a RuleWords exists only when available() found AVX-512F.
        unsafe {
            self.apply_avx512(x, c, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (x, c, out);
            unreachable!("available() is false off x86-64")
        }
    }

    /// # Safety
    /// The CPU has AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn apply_avx512(&self, x: &[i64], c: usize, out: &mut [u64]) {
        use std::arch::x86_64::*;
        let words = self.ge.len();
        for (src, dst) in x.chunks_exact(c).zip(out.chunks_exact_mut(words)) {
            for (w, word) in dst.iter_mut().enumerate() {
                let n = (c - 64 * w).min(64);
                let (mut ge, mut le) = (0u64, 0u64);
                for g in 0..n.div_ceil(8) {
                    let at = 64 * w + 8 * g;
                    let keep = (0xFFu16 >> (8 - (n - 8 * g).min(8))) as u8;
                    // SAFETY: `keep` covers the channels present from `at` on; `thr` is padded
                    // to whole words, so its 8 values from `at` are inside it.
                    let (s, t) = unsafe {
                        (
                            _mm512_maskz_loadu_epi64(keep, src.as_ptr().add(at).cast()),
                            _mm512_loadu_epi64(self.thr.as_ptr().add(at).cast()),
                        )
                    };
                    ge |= (_mm512_mask_cmpge_epi64_mask(keep, s, t) as u64) << (8 * g);
                    le |= (_mm512_mask_cmple_epi64_mask(keep, s, t) as u64) << (8 * g);
                }
                *word = (ge & self.ge[w]) | (le & self.le[w]) | self.ones[w];
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_words_equal_the_rule_by_rule_thresholds() {
        if !RuleWords::available() {
            eprintln!("no AVX-512F on this CPU: the rule-word path is not used here");
            return;
        }
        let mut state = 0x5eed_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Channel counts across the 8-lane groups and word boundaries.
        for c in [1usize, 5, 8, 13, 64, 70, 130] {
            // Every rule kind: S ≥ t, S ≤ T, constant 1, constant 0 (sign 0 with t 1).
            let binary: Vec<(i64, i64)> = (0..c)
                .map(|_| {
                    let t = (next() % 41) as i64 - 20;
                    match next() % 4 {
                        0 => (1, t),
                        1 => (-1, t),
                        2 => (0, 0),
                        _ => (0, 1),
                    }
                })
                .collect();
            let pixels = 7;
            let x: Vec<i64> = (0..pixels * c).map(|_| (next() % 41) as i64 - 20).collect();
            let words = c.div_ceil(64);
            let mut got = vec![u64::MAX; pixels * words];
            RuleWords::new(&binary).apply(&x, c, &mut got);
            let mut naive = vec![0u64; pixels * words];
            for (i, &s) in x.iter().enumerate() {
                let (p, ch) = (i / c, i % c);
                let (sign, t) = binary[ch];
                if sign * s >= t {
                    naive[p * words + ch / 64] |= 1 << (ch % 64);
                }
            }
            assert_eq!(got, naive, "{c} channels");
        }
    }
}
