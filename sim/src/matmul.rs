//! Dense and convolution layers: S = Σ w·x by popcounts over packed words.
//!
//! A convolution gathers, per output pixel, a patch of kh·kw segments (one per kernel tap
//! position, ⌈C/64⌉ words each) and popcounts it against each weight row laid out the same way.
//! A dense layer's patch is its input vector. With zero padding, padded segments are skipped:
//! words past C are zero in both operands, so a segment contributes exactly its C taps.
//!
//! Per valid segment (C taps), with X the input bits and W the weight bits:
//! - ±1 weights, binary x:       C − 2·popcount(W ⊕ X)
//! - {0,1} weights, binary x:    2·popcount(W ∧ X) − popcount(W)
//! - integer x = min + Σ_b 2^b·U_b (bit planes of x − min):
//!   ±1:    min·(2·popcount(W) − C) + Σ_b 2^b·(2·popcount(W ∧ U_b) − popcount(U_b))
//!   {0,1}: min·popcount(W) + Σ_b 2^b·popcount(W ∧ U_b)
//!
//! With minus_one padding, padded binary taps are the stored bit 0 (= −1) and count as valid.

mod direct_int;
mod lanes_conv;

use crate::lanes::{Combine, RowLanes};
use crate::layout::Buf;
use crate::popcount::{and_pop, pop, xor_pop};
use direct_int::DirectInt;
use xnorc_compiler::ir::WeightValues;
use xnorc_compiler::ir::{
    int_bits, Geometry as LayerGeometry, MatMul, Node, PadMode, Padding, Shape, ValueType,
};

/// What a stored weight bit means (integer weights have a plan of their own).
#[derive(Debug, Clone, Copy)]
enum BitWeights {
    Pm1,
    ZeroOne,
}

#[derive(Debug, Clone, Copy)]
enum InputKind {
    Bits,
    Int { min: i64, planes: usize },
}

/// A matrix layer prepared for simulation: weights re-laid out as patch rows.
#[derive(Debug, Clone)]
pub(crate) struct MatMulPlan {
    values: BitWeights,
    input: InputKind,
    in_c: usize,
    in_h: usize,
    in_w: usize,
    out_c: usize,
    out_h: usize,
    out_w: usize,
    kh: usize,
    kw: usize,
    stride: usize,
    padding: Padding,
    /// Padded taps are skipped (zero mode) rather than read as −1.
    skip_padded: bool,
    /// Words per input pixel (per bit plane).
    cw: usize,
    /// Words per patch (per bit plane): kh·kw·cw.
    pw: usize,
    /// out_c rows of pw words.
    weights: Vec<u64>,
    /// Set bits per weight row.
    row_ones: Vec<i64>,
    /// The rows eight to a register, on a CPU with AVX-512 VPOPCNTDQ.
    lanes: Option<RowLanes>,
    /// Integer input of few channels, summed without bit planes (`direct_int`).
    direct: Option<DirectInt>,
    /// Ones per row and kernel tap, and per output pixel the taps on zero padding
    /// (`lanes_conv`'s padding correction; both empty without `lanes`).
    tap_ones: Vec<u32>,
    border_taps: Vec<Vec<usize>>,
}

impl MatMulPlan {
    pub fn new(m: &MatMul, input: &Node, output_shape: Shape) -> Self {
        let w = &m.weights;
        let (in_h, in_w) = match input.shape {
            Shape::Flat(_) => (1, 1),
            Shape::Map { h, w, .. } => (h, w),
        };
        let (out_h, out_w) = match output_shape {
            Shape::Flat(_) => (1, 1),
            Shape::Map { h, w, .. } => (h, w),
        };
        let (stride, padding, skip_padded) = match m.geometry {
            LayerGeometry::Dense => (1, Padding::default(), false),
            LayerGeometry::Conv {
                stride,
                padding,
                pad_mode,
            } => (stride, padding, pad_mode == PadMode::Zero),
        };
        let cw = w.in_channels.div_ceil(64);
        let pw = w.kh * w.kw * cw;
        let mut weights = vec![0u64; w.out_channels * pw];
        for o in 0..w.out_channels {
            for c in 0..w.in_channels {
                for ky in 0..w.kh {
                    for kx in 0..w.kw {
                        if w.bit(o, c, ky, kx) {
                            let word = o * pw + (ky * w.kw + kx) * cw + c / 64;
                            weights[word] |= 1 << (c % 64);
                        }
                    }
                }
            }
        }
        let input_kind = match input.vtype {
            ValueType::Bits => InputKind::Bits,
            ValueType::Int { min, max } => InputKind::Int {
                min,
                planes: int_bits(0, max - min) as usize,
            },
        };
        let row_ones = weights.chunks_exact(pw).map(|r| pop(r) as i64).collect();
        let taps = w.kh * w.kw;
        let direct = match input.vtype {
            ValueType::Int { min, max } => {
                let planes = int_bits(0, max - min) as usize;
                DirectInt::worth_it(w.in_channels, planes, cw, taps, min, max)
                    .then(|| DirectInt::new(&weights, w.out_channels, taps, cw, w.in_channels))
            }
            ValueType::Bits => None,
        };
        let lanes = (RowLanes::available() && direct.is_none())
            .then(|| RowLanes::new(&weights, w.out_channels, pw));
        let mut plan = MatMulPlan {
            lanes,
            direct,
            tap_ones: Vec::new(),
            border_taps: Vec::new(),
            row_ones,
            values: match w.values {
                WeightValues::ZeroOne => BitWeights::ZeroOne,
                WeightValues::Pm1 => BitWeights::Pm1,
                WeightValues::Int => unreachable!("integer layers run on IntMatMulPlan"),
            },
            input: input_kind,
            in_c: w.in_channels,
            in_h,
            in_w,
            out_c: w.out_channels,
            out_h,
            out_w,
            kh: w.kh,
            kw: w.kw,
            stride,
            padding,
            skip_padded,
            cw,
            pw,
            weights,
        };
        if plan.lanes.is_some() {
            plan.tap_ones = Self::tap_ones(&plan.weights, plan.out_c, plan.kh * plan.kw, cw);
            plan.border_taps = plan.border_taps();
        }
        plan
    }

    /// Runs `frames` frames: input batch in, accumulators (frames × pixels × out_c) out.
    pub fn run(&self, frames: usize, x: &Buf) -> Buf {
        let out_pixels = self.out_h * self.out_w;
        let mut out = vec![0i64; frames * out_pixels * self.out_c];
        if let (Some(direct), Buf::Int(d)) = (&self.direct, x) {
            self.run_direct_dispatch(direct, frames, d, &mut out);
            return Buf::Int(out);
        }
        let planes_buf;
        let (planes, stride) = match (x, self.input) {
            (Buf::Bits(d), InputKind::Bits) => (1, (d.as_slice(), self.in_h * self.in_w * self.cw)),
            (Buf::Int(d), InputKind::Int { min, planes }) => {
                planes_buf = self.bit_planes(frames, d, min, planes);
                (
                    planes,
                    (
                        planes_buf.as_slice(),
                        planes * self.in_h * self.in_w * self.cw,
                    ),
                )
            }
            _ => unreachable!("input buffer kind matches the node's value type"),
        };
        self.run_frames(frames, planes, stride.0, stride.1, &mut out);
        Buf::Int(out)
    }

    /// Splits integer inputs into bit planes of (x − min): plane-major, then pixel, then word.
    fn bit_planes(&self, frames: usize, d: &[i64], min: i64, planes: usize) -> Vec<u64> {
        let pixels = self.in_h * self.in_w;
        let frame_words = planes * pixels * self.cw;
        let mut out = vec![0u64; frames * frame_words];
        for f in 0..frames {
            for p in 0..pixels {
                let values = &d[(f * pixels + p) * self.in_c..(f * pixels + p + 1) * self.in_c];
                for (word, chunk) in values.chunks(64).enumerate() {
                    // Build each plane's word in a register, 64 channels at a time.
                    for b in 0..planes {
                        let bits = chunk
                            .iter()
                            .enumerate()
                            .fold(0u64, |w, (i, &v)| w | ((((v - min) as u64) >> b) & 1) << i);
                        out[f * frame_words + (b * pixels + p) * self.cw + word] = bits;
                    }
                }
            }
        }
        out
    }

    /// Runs [`MatMulPlan::run_direct`], compiled with AVX2 when the CPU has it.
    fn run_direct_dispatch(&self, direct: &DirectInt, frames: usize, x: &[i64], out: &mut [i64]) {
        #[cfg(target_arch = "x86_64")]
        if crate::popcount::fast_cpu() {
            // SAFETY: fast_cpu() checked that this CPU supports popcnt and avx2.
            return unsafe { self.run_direct_fast(direct, frames, x, out) };
        }
        self.run_direct(direct, frames, x, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn run_direct_fast(
        &self,
        direct: &DirectInt,
        frames: usize,
        x: &[i64],
        out: &mut [i64],
    ) {
        self.run_direct(direct, frames, x, out)
    }

    /// Runs the popcount loops, compiled with POPCNT/AVX2 when the CPU has them.
    fn run_frames(
        &self,
        frames: usize,
        planes: usize,
        x: &[u64],
        frame_words: usize,
        out: &mut [i64],
    ) {
        #[cfg(target_arch = "x86_64")]
        if crate::popcount::fast_cpu() {
            // SAFETY: fast_cpu() checked that this CPU supports popcnt and avx2.
            return unsafe { self.run_frames_fast(frames, planes, x, frame_words, out) };
        }
        self.run_frames_kernel(frames, planes, x, frame_words, out)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt,avx2")]
    unsafe fn run_frames_fast(
        &self,
        frames: usize,
        planes: usize,
        x: &[u64],
        frame_words: usize,
        out: &mut [i64],
    ) {
        self.run_frames_kernel(frames, planes, x, frame_words, out)
    }

    /// The loops themselves; `inline(always)` so that each caller compiles them with its own
    /// target features (and the popcount helpers with them).
    #[inline(always)]
    fn run_frames_kernel(
        &self,
        frames: usize,
        planes: usize,
        x: &[u64],
        frame_words: usize,
        out: &mut [i64],
    ) {
        let single_pixel = self.kh * self.kw == 1 && self.out_h * self.out_w == 1;
        if let (true, InputKind::Bits) = (single_pixel && self.in_h * self.in_w == 1, self.input) {
            // Dense on binary input: the frame is the patch; no gather, one word range.
            return self.dense_bits(frames, x, out);
        }
        if let Some(lanes) = &self.lanes {
            // Dense layers on integer vectors too: one vector per bit plane.
            return self.conv_lanes(lanes, frames, planes, x, frame_words, out);
        }
        if let (true, InputKind::Int { min, planes }) =
            (single_pixel && self.in_h * self.in_w == 1, self.input)
        {
            return self.dense_int(frames, planes, min, x, out);
        }
        let out_pixels = self.out_h * self.out_w;
        let in_pixels = self.in_h * self.in_w;
        let mut patch = vec![0u64; planes * self.pw];
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(self.kh * self.kw);
        let mut plane_ones = vec![0i64; planes];
        for f in 0..frames {
            let frame = &x[f * frame_words..(f + 1) * frame_words];
            for oy in 0..self.out_h {
                for ox in 0..self.out_w {
                    let valid_segments =
                        self.gather(frame, planes, in_pixels, oy, ox, &mut patch, &mut ranges);
                    let valid_taps = (valid_segments * self.in_c) as i64;
                    let dst = &mut out[(f * out_pixels + oy * self.out_w + ox) * self.out_c..]
                        [..self.out_c];
                    match self.input {
                        InputKind::Bits => self.bits_rows(&patch, &ranges, valid_taps, dst),
                        InputKind::Int { min, .. } => {
                            for (b, ones) in plane_ones.iter_mut().enumerate() {
                                let u = &patch[b * self.pw..(b + 1) * self.pw];
                                *ones = ranges.iter().map(|&(s, e)| pop(&u[s..e]) as i64).sum();
                            }
                            self.int_rows(&patch, &ranges, valid_taps, min, &plane_ones, dst)
                        }
                    }
                }
            }
        }
    }

    /// Dense layer on binary vectors: S = K − 2·popcount(W ⊕ X) (±1) or 2·popcount(W ∧ X) − |W|.
    /// Four frames share each weight row: one load of a weight word feeds four independent
    /// popcount chains, which matters most for narrow layers (one word per row).
    #[inline(always)]
    fn dense_bits(&self, frames: usize, x: &[u64], out: &mut [i64]) {
        let k = self.in_c as i64;
        let (pw, oc) = (self.pw, self.out_c);
        let finish = |o: usize, count: u32| -> i64 {
            match self.values {
                BitWeights::Pm1 => k - 2 * count as i64,
                BitWeights::ZeroOne => 2 * count as i64 - self.row_ones[o],
            }
        };
        let combine = |w: u64, x: u64| -> u32 {
            match self.values {
                BitWeights::Pm1 => (w ^ x).count_ones(),
                BitWeights::ZeroOne => (w & x).count_ones(),
            }
        };
        let x = &x[..frames * pw];
        let out = &mut out[..frames * oc];
        if let Some(lanes) = &self.lanes {
            let combine = match self.values {
                BitWeights::Pm1 => Combine::Xor,
                BitWeights::ZeroOne => Combine::And,
            };
            let mut counts = vec![0u32; frames * oc];
            lanes.counts(frames, x, combine, &mut counts);
            for (dst, c) in out.chunks_exact_mut(oc).zip(counts.chunks_exact(oc)) {
                for (o, (s, &count)) in dst.iter_mut().zip(c).enumerate() {
                    *s = finish(o, count);
                }
            }
            return;
        }
        let mut xs = x.chunks_exact(4 * pw);
        let mut outs = out.chunks_exact_mut(4 * oc);
        for (x4, out4) in xs.by_ref().zip(outs.by_ref()) {
            let (x0, rest) = x4.split_at(pw);
            let (x1, rest) = rest.split_at(pw);
            let (x2, x3) = rest.split_at(pw);
            for (o, row) in self.weights.chunks_exact(pw).enumerate() {
                let (mut c0, mut c1, mut c2, mut c3) = (0, 0, 0, 0);
                for (i, &w) in row.iter().enumerate() {
                    c0 += combine(w, x0[i]);
                    c1 += combine(w, x1[i]);
                    c2 += combine(w, x2[i]);
                    c3 += combine(w, x3[i]);
                }
                out4[o] = finish(o, c0);
                out4[oc + o] = finish(o, c1);
                out4[2 * oc + o] = finish(o, c2);
                out4[3 * oc + o] = finish(o, c3);
            }
        }
        for (frame, dst) in xs
            .remainder()
            .chunks_exact(pw)
            .zip(outs.into_remainder().chunks_exact_mut(oc))
        {
            for (o, (row, s)) in self
                .weights
                .chunks_exact(pw)
                .zip(dst.iter_mut())
                .enumerate()
            {
                let count = row.iter().zip(frame).map(|(&w, &x)| combine(w, x)).sum();
                *s = finish(o, count);
            }
        }
    }

    /// Dense layer on integer vectors through bit planes U_b of x − min (see the module doc).
    #[inline(always)]
    fn dense_int(&self, frames: usize, planes: usize, min: i64, x: &[u64], out: &mut [i64]) {
        let (pw, oc, k) = (self.pw, self.out_c, self.in_c as i64);
        let mut u_ones = vec![0i64; planes];
        for (frame, dst) in x
            .chunks_exact(planes * pw)
            .zip(out.chunks_exact_mut(oc))
            .take(frames)
        {
            for (b, ones) in u_ones.iter_mut().enumerate() {
                *ones = pop(&frame[b * pw..(b + 1) * pw]) as i64;
            }
            for (o, (row, s)) in self
                .weights
                .chunks_exact(pw)
                .zip(dst.iter_mut())
                .enumerate()
            {
                let mut acc = 0i64;
                for (b, plane) in frame.chunks_exact(pw).enumerate() {
                    let both = and_pop(row, plane) as i64;
                    acc += match self.values {
                        BitWeights::Pm1 => (2 * both - u_ones[b]) << b,
                        BitWeights::ZeroOne => both << b,
                    };
                }
                *s = acc
                    + match self.values {
                        BitWeights::Pm1 => min * (2 * self.row_ones[o] - k),
                        BitWeights::ZeroOne => min * self.row_ones[o],
                    };
            }
        }
    }

    /// Fills `patch` for output pixel (oy, ox) and the word ranges of its valid segments.
    /// Returns the number of valid segments.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn gather(
        &self,
        frame: &[u64],
        planes: usize,
        in_pixels: usize,
        oy: usize,
        ox: usize,
        patch: &mut [u64],
        ranges: &mut Vec<(usize, usize)>,
    ) -> usize {
        ranges.clear();
        // A window wholly inside the frame: each kernel row is kw·cw consecutive words of
        // every plane, copied at once.
        let (y0, x0) = (
            (oy * self.stride) as isize - self.padding.top as isize,
            (ox * self.stride) as isize - self.padding.left as isize,
        );
        let interior = y0 >= 0
            && x0 >= 0
            && y0 as usize + self.kh <= self.in_h
            && x0 as usize + self.kw <= self.in_w;
        if interior {
            let row = self.kw * self.cw;
            for ky in 0..self.kh {
                let p = (y0 as usize + ky) * self.in_w + x0 as usize;
                for b in 0..planes {
                    let src = (b * in_pixels + p) * self.cw;
                    let dst = b * self.pw + ky * row;
                    copy_words(&mut patch[dst..dst + row], &frame[src..src + row]);
                }
            }
            ranges.push((0, self.kh * row));
            return self.kh * self.kw;
        }
        let mut valid = 0;
        for ky in 0..self.kh {
            let iy = self.input_row(oy, ky);
            for kx in 0..self.kw {
                let seg = (ky * self.kw + kx) * self.cw;
                let pixel = self.input_pixel(iy, ox, kx);
                for b in 0..planes {
                    let dst = &mut patch[b * self.pw + seg..b * self.pw + seg + self.cw];
                    if let Some(p) = pixel {
                        let src = (b * in_pixels + p) * self.cw;
                        copy_words(dst, &frame[src..src + self.cw]);
                    } else {
                        dst.fill(0);
                    }
                }
                if pixel.is_some() || !self.skip_padded {
                    valid += 1;
                    match ranges.last_mut() {
                        Some(last) if last.1 == seg => last.1 = seg + self.cw,
                        _ => ranges.push((seg, seg + self.cw)),
                    }
                }
            }
        }
        valid
    }

    /// The input row kernel row ky of output row oy reads; None on padding.
    #[inline(always)]
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        (oy * self.stride + ky)
            .checked_sub(self.padding.top)
            .filter(|&iy| iy < self.in_h)
    }

    /// The input pixel kernel column kx of output column ox reads in input row `iy` (from
    /// [`MatMulPlan::input_row`]); None on padding.
    #[inline(always)]
    fn input_pixel(&self, iy: Option<usize>, ox: usize, kx: usize) -> Option<usize> {
        let ix = (ox * self.stride + kx).checked_sub(self.padding.left)?;
        (ix < self.in_w).then_some(iy? * self.in_w + ix)
    }

    #[inline(always)]
    fn bits_rows(&self, x: &[u64], ranges: &[(usize, usize)], valid_taps: i64, dst: &mut [i64]) {
        for (o, s) in dst.iter_mut().enumerate() {
            let w = &self.weights[o * self.pw..(o + 1) * self.pw];
            *s = match self.values {
                BitWeights::Pm1 => {
                    let m: u32 = ranges
                        .iter()
                        .map(|&(a, b)| xor_pop(&w[a..b], &x[a..b]))
                        .sum();
                    valid_taps - 2 * m as i64
                }
                BitWeights::ZeroOne => {
                    let both: u32 = ranges
                        .iter()
                        .map(|&(a, b)| and_pop(&w[a..b], &x[a..b]))
                        .sum();
                    let ones: u32 = ranges.iter().map(|&(a, b)| pop(&w[a..b])).sum();
                    2 * both as i64 - ones as i64
                }
            };
        }
    }

    #[inline(always)]
    fn int_rows(
        &self,
        patch: &[u64],
        ranges: &[(usize, usize)],
        valid_taps: i64,
        min: i64,
        plane_ones: &[i64],
        dst: &mut [i64],
    ) {
        for (o, s) in dst.iter_mut().enumerate() {
            let w = &self.weights[o * self.pw..(o + 1) * self.pw];
            let w_ones: i64 = ranges.iter().map(|&(a, b)| pop(&w[a..b]) as i64).sum();
            let mut acc = 0i64;
            for (b, &u_ones) in plane_ones.iter().enumerate() {
                let u = &patch[b * self.pw..(b + 1) * self.pw];
                let both: i64 = ranges
                    .iter()
                    .map(|&(a, z)| and_pop(&w[a..z], &u[a..z]) as i64)
                    .sum();
                acc += match self.values {
                    BitWeights::Pm1 => (2 * both - u_ones) << b,
                    BitWeights::ZeroOne => both << b,
                };
            }
            *s = acc
                + match self.values {
                    BitWeights::Pm1 => min * (2 * w_ones - valid_taps),
                    BitWeights::ZeroOne => min * w_ones,
                };
        }
    }

    /// Whether this layer sums its integer input directly (`direct_int`), without popcounts.
    pub fn sums_directly(&self) -> bool {
        self.direct.is_some()
    }

    /// Words per frame of this layer in its popcount form (for the popcount-bound estimate),
    /// also when it is summed directly.
    pub fn words_per_frame(&self) -> u64 {
        let planes = match self.input {
            InputKind::Bits => 1,
            InputKind::Int { planes, .. } => planes,
        };
        (self.out_h * self.out_w * self.out_c * self.pw * planes) as u64
    }
}

/// Copies `src` into `dst` (the same length). A window's rows are short (a 3×3 window of one
/// word per tap: 3 words), and `copy_from_slice` of a length unknown at compile time is a
/// call to memmove: 16% of cnv-small's time for one-word copies, 9% for three-word rows. Up to
/// four words are moved one by one, inline.
#[inline(always)]
fn copy_words(dst: &mut [u64], src: &[u64]) {
    debug_assert_eq!(dst.len(), src.len());
    if dst.len() > 4 {
        return dst.copy_from_slice(src);
    }
    // A loop bounded by 4, not a match of fixed-size copies: LLVM merged those arms back into
    // one memmove of the variable length.
    for (d, s) in dst.iter_mut().zip(src).take(4) {
        *d = *s;
    }
}
