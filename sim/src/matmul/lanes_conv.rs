//! Convolutions through the eight-lane kernel (`crate::lanes`): every output pixel's patch (one
//! per bit plane for integer input) is gathered as a vector of the layer's patch words, and all
//! of a frame's vectors meet the weight rows eight rows to a register.
//!
//! The kernel counts over whole patches, so a zero-padded border pixel's count includes its
//! padded segments: ⊕ against their zero words counts the weight's own ones there, which are
//! subtracted again (per row and kernel tap, precomputed); ∧ counts nothing there. The integer
//! and {0, 1} formulas need the weight's ones over the valid segments only, which is the row's
//! ones less the same padded part. Minus-one padding reads padded taps as stored zeros that
//! count as valid, so it needs no correction.

use super::{BitWeights, InputKind, MatMulPlan};
use crate::lanes::{Combine, RowLanes};
use crate::popcount::pop;

/// Patch words gathered per call of the lane kernel (128 KB: inside L2 beside the weights).
const PATCH_WORDS: usize = 16 << 10;

impl MatMulPlan {
    /// Ones of each row's weight words per kernel tap: `[row · taps + tap]`.
    pub(super) fn tap_ones(weights: &[u64], rows: usize, taps: usize, cw: usize) -> Vec<u32> {
        weights
            .chunks_exact(taps * cw)
            .take(rows)
            .flat_map(|row| row.chunks_exact(cw).map(pop))
            .collect()
    }

    /// The layer on `frames` frames of `frame_words` words through `lanes`; `inline(always)`
    /// so that it compiles with its caller's target features (POPCNT for the plane counts).
    #[inline(always)]
    pub(super) fn conv_lanes(
        &self,
        lanes: &RowLanes,
        frames: usize,
        planes: usize,
        x: &[u64],
        frame_words: usize,
        out: &mut [i64],
    ) {
        let (pw, oc) = (self.pw, self.out_c);
        let out_pixels = self.out_h * self.out_w;
        let in_pixels = self.in_h * self.in_w;
        // Vectors per frame; frames are gathered in groups whose patches stay near PATCH_WORDS,
        // so that small late layers (CNV's last convs have 9 and 1 output pixels) still give
        // the kernel several vectors per weight load.
        let per_frame = out_pixels * planes;
        let group = (PATCH_WORDS / (per_frame * pw)).clamp(1, frames.max(1));
        let mut patches = vec![0u64; group * per_frame * pw];
        let mut counts = vec![0u32; group * per_frame * oc];
        let mut ranges = Vec::with_capacity(self.kh * self.kw);
        // Per output pixel: the segments counted as valid (the same in every frame).
        let mut valid = vec![0usize; out_pixels];
        let combine = match (self.input, self.values) {
            (InputKind::Bits, BitWeights::Pm1) => Combine::Xor,
            _ => Combine::And,
        };
        for first in (0..frames).step_by(group) {
            let n = group.min(frames - first);
            for k in 0..n {
                let frame = &x[(first + k) * frame_words..(first + k + 1) * frame_words];
                let frame_patches = &mut patches[k * per_frame * pw..(k + 1) * per_frame * pw];
                for (p, (patch, valid)) in frame_patches
                    .chunks_exact_mut(planes * pw)
                    .zip(valid.iter_mut())
                    .enumerate()
                {
                    let (oy, ox) = (p / self.out_w, p % self.out_w);
                    *valid = self.gather(frame, planes, in_pixels, oy, ox, patch, &mut ranges);
                }
            }
            lanes.counts(n * per_frame, &patches, combine, &mut counts);
            for k in 0..n {
                let f = first + k;
                let dst = &mut out[f * out_pixels * oc..(f + 1) * out_pixels * oc];
                let patches = &patches[k * per_frame * pw..(k + 1) * per_frame * pw];
                let counts = &counts[k * per_frame * oc..(k + 1) * per_frame * oc];
                self.finish_frame(dst, patches, counts, planes, &valid);
            }
        }
    }

    /// One frame's sums from its patches and their counts: `dst` is out_pixels × out_c.
    #[inline(always)]
    fn finish_frame(
        &self,
        dst: &mut [i64],
        patches: &[u64],
        counts: &[u32],
        planes: usize,
        valid: &[usize],
    ) {
        let (pw, oc) = (self.pw, self.out_c);
        for (p, pixel) in dst.chunks_exact_mut(oc).enumerate() {
            let counts = &counts[p * planes * oc..(p + 1) * planes * oc];
            let valid_taps = (valid[p] * self.in_c) as i64;
            // Whole-row loops over the output channels, which the compiler vectorizes;
            // border pixels are corrected afterwards.
            match (self.input, self.values) {
                (InputKind::Bits, BitWeights::Pm1) => {
                    for (s, &c) in pixel.iter_mut().zip(counts) {
                        *s = valid_taps - 2 * c as i64;
                    }
                }
                (InputKind::Bits, BitWeights::ZeroOne) => {
                    for ((s, &c), &ones) in pixel.iter_mut().zip(counts).zip(&self.row_ones) {
                        *s = 2 * c as i64 - ones;
                    }
                }
                (InputKind::Int { min, .. }, values) => {
                    for (s, &ones) in pixel.iter_mut().zip(&self.row_ones) {
                        *s = match values {
                            BitWeights::Pm1 => min * (2 * ones - valid_taps),
                            BitWeights::ZeroOne => min * ones,
                        };
                    }
                    for (b, plane) in counts.chunks_exact(oc).enumerate() {
                        let u = pop(&patches[(p * planes + b) * pw..][..pw]) as i64;
                        match values {
                            BitWeights::Pm1 => {
                                for (s, &c) in pixel.iter_mut().zip(plane) {
                                    *s += (2 * c as i64 - u) << b;
                                }
                            }
                            BitWeights::ZeroOne => {
                                for (s, &c) in pixel.iter_mut().zip(plane) {
                                    *s += (c as i64) << b;
                                }
                            }
                        }
                    }
                }
            }
            let border = &self.border_taps[p];
            if border.is_empty() {
                continue;
            }
            // The weight's ones on the padded taps: counted by ⊕ against zeros, and part
            // of the row's ones that the formulas take over valid taps only.
            let taps = self.kh * self.kw;
            for (o, s) in pixel.iter_mut().enumerate() {
                let po: i64 = border
                    .iter()
                    .map(|&t| self.tap_ones[o * taps + t] as i64)
                    .sum();
                *s += match (self.input, self.values) {
                    (InputKind::Bits, BitWeights::Pm1) => 2 * po,
                    (InputKind::Bits, BitWeights::ZeroOne) => po,
                    (InputKind::Int { min, .. }, BitWeights::Pm1) => -2 * min * po,
                    (InputKind::Int { min, .. }, BitWeights::ZeroOne) => -min * po,
                };
            }
        }
    }

    /// Per output pixel, the kernel taps that fall on zero padding (none with minus-one
    /// padding, whose padded taps count).
    pub(super) fn border_taps(&self) -> Vec<Vec<usize>> {
        (0..self.out_h * self.out_w)
            .map(|p| self.padded_taps(p / self.out_w, p % self.out_w))
            .collect()
    }

    fn padded_taps(&self, oy: usize, ox: usize) -> Vec<usize> {
        if !self.skip_padded {
            return Vec::new();
        }
        let mut taps = Vec::new();
        for ky in 0..self.kh {
            let iy = (oy * self.stride + ky) as isize - self.padding.top as isize;
            for kx in 0..self.kw {
                let ix = (ox * self.stride + kx) as isize - self.padding.left as isize;
                let inside =
                    iy >= 0 && ix >= 0 && (iy as usize) < self.in_h && (ix as usize) < self.in_w;
                if !inside {
                    taps.push(ky * self.kw + kx);
                }
            }
        }
        taps
    }
}
