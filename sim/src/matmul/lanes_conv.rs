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

/// Patch words gathered per call of the lane kernel (32 KB), and counts it writes (64 KB): a
/// block of pixels whose patches and counts stay in L1/L2 from the gather through the kernel to
/// the finishing pass. Gathering whole frames instead (CNV's first layer: 518 KB of patches and
/// 1.8 MB of counts per frame) sent the counts out to L3 and back.
const BLOCK_PATCH_WORDS: usize = 4 << 10;
const BLOCK_COUNTS: usize = 16 << 10;

/// Output rows whose weighted plane counts an integer layer's finishing pass keeps in registers.
const FINISH_ROWS: usize = 32;

impl MatMulPlan {
    /// Ones of each row's weight words per kernel tap: `[row · taps + tap]`.
    pub(super) fn tap_ones(weights: &[u64], rows: usize, taps: usize, cw: usize) -> Vec<u32> {
        weights
            .chunks_exact(taps * cw)
            .take(rows)
            .flat_map(|row| row.chunks_exact(cw).map(pop))
            .collect()
    }

    /// Output pixels per block of [`MatMulPlan::conv_lanes`]: as many as fit the block's patch
    /// and count budgets, rounded down to a multiple of four vectors where that leaves any (the
    /// kernel's shared weight load; a remainder runs one vector at a time).
    fn block_pixels(&self, planes: usize) -> usize {
        let by_patches = BLOCK_PATCH_WORDS / (planes * self.pw).max(1);
        let by_counts = BLOCK_COUNTS / (planes * self.out_c).max(1);
        let pixels = by_patches.min(by_counts).max(1);
        // Pixels whose vectors (planes each) make whole groups of FRAMES.
        let step = (1..=crate::lanes::FRAMES)
            .find(|&n| (n * planes).is_multiple_of(crate::lanes::FRAMES))
            .unwrap_or(1);
        let whole = pixels - pixels % step;
        if whole > 0 {
            whole
        } else {
            pixels
        }
    }

    /// The layer on `frames` frames of `frame_words` words through `lanes`; `inline(always)`
    /// so that it compiles with its caller's target features (POPCNT for the plane counts).
    /// The frames' output pixels are taken in blocks ([`MatMulPlan::block_pixels`]), which may
    /// span frames: CNV's last convolutions have 9 and 1 output pixels, and a block of several
    /// frames still gives the kernel several vectors per weight load.
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
        let total = frames * out_pixels;
        let block = self.block_pixels(planes).min(total.max(1));
        let mut patches = vec![0u64; block * planes * pw];
        let mut counts = vec![0u32; block * planes * oc];
        let mut ranges = Vec::with_capacity(self.kh * self.kw);
        // Per pixel of the block: the segments counted as valid.
        let mut valid = vec![0usize; block];
        let combine = match (self.input, self.values) {
            (InputKind::Bits, BitWeights::Pm1) => Combine::Xor,
            _ => Combine::And,
        };
        for first in (0..total).step_by(block) {
            let n = block.min(total - first);
            for (k, (patch, valid)) in patches
                .chunks_exact_mut(planes * pw)
                .zip(valid.iter_mut())
                .take(n)
                .enumerate()
            {
                let (f, p) = ((first + k) / out_pixels, (first + k) % out_pixels);
                let frame = &x[f * frame_words..(f + 1) * frame_words];
                let (oy, ox) = (p / self.out_w, p % self.out_w);
                *valid = self.gather(frame, planes, in_pixels, oy, ox, patch, &mut ranges);
            }
            lanes.counts(n * planes, &patches, combine, &mut counts);
            for (k, pixel) in out[first * oc..(first + n) * oc]
                .chunks_exact_mut(oc)
                .enumerate()
            {
                let patch = &patches[k * planes * pw..(k + 1) * planes * pw];
                let counts = &counts[k * planes * oc..(k + 1) * planes * oc];
                let p = (first + k) % out_pixels;
                self.finish_pixel(pixel, patch, counts, planes, valid[k], p);
            }
        }
    }

    /// One output pixel's sums (`pixel`, out_c of them) from its patch (`planes` bit planes)
    /// and their counts; `p` is its position in the output map, `valid` its valid segments.
    #[inline(always)]
    fn finish_pixel(
        &self,
        pixel: &mut [i64],
        patch: &[u64],
        counts: &[u32],
        planes: usize,
        valid: usize,
        p: usize,
    ) {
        let (pw, oc) = (self.pw, self.out_c);
        let valid_taps = (valid * self.in_c) as i64;
        // Whole-row loops over the output channels, which the compiler vectorizes; border
        // pixels are corrected afterwards.
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
                // Σ_b 2^b·(2·c_b − u_b) = 2·Σ_b 2^b·c_b − U, U = Σ_b 2^b·u_b: the planes'
                // counts are weighted in registers a chunk of rows at a time, and the pixel's
                // sums written once (not read and written back per plane).
                let u: i64 = (0..planes)
                    .map(|b| (pop(&patch[b * pw..(b + 1) * pw]) as i64) << b)
                    .sum();
                for (c0, chunk) in (0..oc)
                    .step_by(FINISH_ROWS)
                    .zip(pixel.chunks_mut(FINISH_ROWS))
                {
                    let mut weighted = [0u64; FINISH_ROWS];
                    let weighted = &mut weighted[..chunk.len()];
                    for (b, plane) in counts.chunks_exact(oc).take(planes).enumerate() {
                        for (w, &c) in weighted.iter_mut().zip(&plane[c0..]) {
                            *w += u64::from(c) << b;
                        }
                    }
                    let ones = &self.row_ones[c0..c0 + chunk.len()];
                    for ((s, &w), &ones) in chunk.iter_mut().zip(weighted.iter()).zip(ones) {
                        *s = match values {
                            BitWeights::Pm1 => min * (2 * ones - valid_taps) + 2 * w as i64 - u,
                            BitWeights::ZeroOne => min * ones + w as i64,
                        };
                    }
                }
            }
        }
        let border = &self.border_taps[p];
        if border.is_empty() {
            return;
        }
        // The weight's ones on the padded taps: counted by ⊕ against zeros, and part of the
        // row's ones that the formulas take over valid taps only.
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
            let iy = self.input_row(oy, ky);
            for kx in 0..self.kw {
                if self.input_pixel(iy, ox, kx).is_none() {
                    taps.push(ky * self.kw + kx);
                }
            }
        }
        taps
    }
}
