//! Integer input of few channels (CNV's RGB bytes, cnv-small's grey bytes) summed directly:
//! S = Σ over a patch's taps of w·x, with x the integer itself, not its bit planes.
//!
//! Through bit planes a word carries at most C bits of a tap (3 of 64 for RGB), and each of the
//! planes (8 for bytes) is a pass of its own: CNV's first layer was 82% of the simulator's
//! popcount words, 72 of them per output pixel and row for 27 taps. Directly, a tap costs one
//! AND and one ADD per output row, `ROWS` rows to a few vector registers: the sum of the x whose
//! weight bit is set, P = Σ_{w=1} x, gives the {0, 1} sum P and the ±1 sum 2·P − Σ x.
//! Padded taps are zero-padding (an integer input with minus-one padding is rejected, see
//! docs/semantics.md), so they are gathered as 0 and add nothing to either.
//!
//! [`DirectInt::worth_it`] decides per layer, from the work each way takes.

use super::{BitWeights, MatMulPlan};

/// Output rows summed together, their accumulators held in registers across the patch's taps
/// (four 256-bit registers of `i32`).
const ROWS: usize = 32;

/// A layer's weights as AND masks, tap-major: `masks[t · out_c + o]` is −1 where row o's weight
/// bit at tap t is set, else 0. Taps are (ky, kx, c), the patch's order.
#[derive(Debug, Clone)]
pub(super) struct DirectInt {
    taps: usize,
    masks: Vec<i32>,
}

impl DirectInt {
    /// Whether summing directly beats bit planes for a layer with `in_c` channels, `planes`
    /// bit planes of `cw` words per tap, and input values within `[min, max]` over `taps`
    /// kernel taps. Per tap and output row, bit planes cost planes·cw words, eight rows to a
    /// VPOPCNTQ (about three operations with its XOR and add); directly, C channels cost an AND
    /// and an ADD each, eight rows to a 256-bit register. The sums must fit an `i32`.
    pub(super) fn worth_it(
        in_c: usize,
        planes: usize,
        cw: usize,
        taps: usize,
        min: i64,
        max: i64,
    ) -> bool {
        let magnitude = min.unsigned_abs().max(max.unsigned_abs());
        let fits = (taps as u64)
            .checked_mul(in_c as u64)
            .and_then(|k| k.checked_mul(magnitude))
            .is_some_and(|bound| bound <= i32::MAX as u64);
        fits && 2 * in_c < 3 * planes * cw
    }

    /// The masks of `weights`, `rows` rows of `taps` kernel taps of `cw` words (the plan's
    /// patch rows), for `in_c` channels.
    pub(super) fn new(weights: &[u64], rows: usize, taps: usize, cw: usize, in_c: usize) -> Self {
        let k = taps * in_c;
        let mut masks = vec![0i32; k * rows];
        for (o, row) in weights.chunks_exact(taps * cw).take(rows).enumerate() {
            for tap in 0..taps {
                for c in 0..in_c {
                    let bit = row[tap * cw + c / 64] >> (c % 64) & 1;
                    masks[(tap * in_c + c) * rows + o] = -(bit as i32);
                }
            }
        }
        DirectInt { taps: k, masks }
    }
}

impl MatMulPlan {
    /// The layer on `frames` frames of integers (`x`: frames × pixels × in_c) through `direct`;
    /// `inline(always)` so that it compiles with its caller's target features.
    #[inline(always)]
    pub(super) fn run_direct(&self, direct: &DirectInt, frames: usize, x: &[i64], out: &mut [i64]) {
        let oc = self.out_c;
        let out_pixels = self.out_h * self.out_w;
        let in_frame = self.in_h * self.in_w * self.in_c;
        let mut patch = vec![0i32; direct.taps];
        let mut set = vec![0i32; oc];
        for (frame, out) in x
            .chunks_exact(in_frame)
            .zip(out.chunks_exact_mut(out_pixels * oc))
            .take(frames)
        {
            for (p, dst) in out.chunks_exact_mut(oc).enumerate() {
                self.gather_values(frame, p / self.out_w, p % self.out_w, &mut patch);
                sum_set(&direct.masks, &patch, oc, &mut set);
                match self.values {
                    BitWeights::ZeroOne => {
                        for (s, &v) in dst.iter_mut().zip(&set) {
                            *s = i64::from(v);
                        }
                    }
                    BitWeights::Pm1 => {
                        let all: i64 = patch.iter().map(|&v| i64::from(v)).sum();
                        for (s, &v) in dst.iter_mut().zip(&set) {
                            *s = 2 * i64::from(v) - all;
                        }
                    }
                }
            }
        }
    }

    /// Output pixel (oy, ox)'s patch of one frame (pixels × in_c integers) in (ky, kx, c) order,
    /// zero on padded taps.
    #[inline(always)]
    fn gather_values(&self, frame: &[i64], oy: usize, ox: usize, patch: &mut [i32]) {
        let c = self.in_c;
        for ky in 0..self.kh {
            let iy = self.input_row(oy, ky);
            for kx in 0..self.kw {
                let dst = &mut patch[(ky * self.kw + kx) * c..][..c];
                if let Some(p) = self.input_pixel(iy, ox, kx) {
                    let src = &frame[p * c..][..c];
                    // In range: `DirectInt::worth_it` checked that every sum fits an i32.
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = s as i32;
                    }
                } else {
                    dst.fill(0);
                }
            }
        }
    }
}

/// `set[o]` = Σ_t patch[t] where row o's bit at tap t is set, `ROWS` rows at a time with their
/// sums in registers.
#[inline(always)]
fn sum_set(masks: &[i32], patch: &[i32], oc: usize, set: &mut [i32]) {
    let mut o = 0;
    while o + ROWS <= oc {
        let mut acc = [0i32; ROWS];
        for (t, &v) in patch.iter().enumerate() {
            let m: &[i32; ROWS] = masks[t * oc + o..][..ROWS].try_into().expect("ROWS masks");
            for (a, &mask) in acc.iter_mut().zip(m) {
                *a += v & mask;
            }
        }
        set[o..o + ROWS].copy_from_slice(&acc);
        o += ROWS;
    }
    if o < oc {
        let rest = &mut set[o..];
        rest.fill(0);
        for (t, &v) in patch.iter().enumerate() {
            for (a, &mask) in rest.iter_mut().zip(&masks[t * oc + o..(t + 1) * oc]) {
                *a += v & mask;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_for_few_channels_of_bytes_only() {
        // CNV's RGB bytes (3 channels, 8 planes of one word, 3×3 taps), cnv-small's grey ones.
        assert!(DirectInt::worth_it(3, 8, 1, 9, 0, 255));
        assert!(DirectInt::worth_it(1, 8, 1, 9, 0, 255));
        // 64 channels of bytes fill their words: bit planes are cheaper.
        assert!(!DirectInt::worth_it(64, 8, 1, 9, 0, 255));
        // A dense layer on 784 bytes (tfc-u8): 13 words a plane.
        assert!(!DirectInt::worth_it(784, 8, 13, 1, 0, 255));
        // Sums that could leave an i32 stay on bit planes.
        assert!(!DirectInt::worth_it(3, 31, 1, 9, i64::from(i32::MIN), 0));
    }

    #[test]
    fn set_sums_equal_a_tap_by_tap_loop() {
        // 37 rows (one block of ROWS and a remainder), 9 taps of 3 channels, signed values.
        let (rows, taps, in_c, cw) = (37, 9, 3, 1);
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let weights: Vec<u64> = (0..rows * taps * cw).map(|_| next() & 0b111).collect();
        let patch: Vec<i32> = (0..taps * in_c)
            .map(|_| (next() % 256) as i32 - 128)
            .collect();
        let direct = DirectInt::new(&weights, rows, taps, cw, in_c);
        let mut got = vec![i32::MIN; rows];
        sum_set(&direct.masks, &patch, rows, &mut got);
        for (o, &g) in got.iter().enumerate() {
            let mut want = 0;
            for tap in 0..taps {
                for c in 0..in_c {
                    if weights[o * taps + tap] >> c & 1 == 1 {
                        want += patch[tap * in_c + c];
                    }
                }
            }
            assert_eq!(g, want, "row {o}");
        }
    }
}
