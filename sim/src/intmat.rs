//! Dense and convolution layers with multi-bit integer weights (stems, shortcut projections and
//! heads of residual networks): S = Σ w·x by multiply-accumulate over the internal layout.
//!
//! These layers are few and small next to the binary ones, so plain `i64` loops serve; the
//! patch order (kernel position, then channel) keeps the inner loop over contiguous channels.

use crate::layout::Buf;
use xnorc_compiler::ir::{Geometry as LayerGeometry, MatMul, Node, PadMode, Padding, Shape};

/// A matrix layer with integer weights, re-laid out as patch rows.
#[derive(Debug, Clone)]
pub(crate) struct IntMatMulPlan {
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
    /// A padded tap is −1 (minus_one mode) rather than skipped.
    pad_minus_one: bool,
    /// out_c rows of kh·kw·in_c weights, (ky, kx, c) order.
    weights: Vec<i64>,
}

impl IntMatMulPlan {
    pub fn new(m: &MatMul, input: &Node, output_shape: Shape) -> Self {
        let w = &m.weights;
        let dims = |s: Shape| match s {
            Shape::Flat(_) => (1, 1),
            Shape::Map { h, w, .. } => (h, w),
        };
        let ((in_h, in_w), (out_h, out_w)) = (dims(input.shape), dims(output_shape));
        let (stride, padding, pad_minus_one) = match m.geometry {
            LayerGeometry::Dense => (1, Padding::default(), false),
            LayerGeometry::Conv {
                stride,
                padding,
                pad_mode,
            } => (stride, padding, pad_mode == PadMode::MinusOne),
        };
        let mut weights = Vec::with_capacity(w.count());
        for o in 0..w.out_channels {
            for ky in 0..w.kh {
                for kx in 0..w.kw {
                    for c in 0..w.in_channels {
                        weights.push(w.value(o, c, ky, kx));
                    }
                }
            }
        }
        IntMatMulPlan {
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
            pad_minus_one,
            weights,
        }
    }

    /// Runs `frames` frames: input batch in, accumulators (frames × pixels × out_c) out.
    pub fn run(&self, frames: usize, x: &Buf) -> Buf {
        let in_frame = self.in_h * self.in_w * self.in_c;
        let values = match x {
            Buf::Int(d) => std::borrow::Cow::Borrowed(d.as_slice()),
            Buf::Bits(words) => std::borrow::Cow::Owned(self.unpack(frames, words)),
        };
        let patch = self.kh * self.kw * self.in_c;
        let out_pixels = self.out_h * self.out_w;
        let mut out = vec![0i64; frames * out_pixels * self.out_c];
        for f in 0..frames {
            let frame = &values[f * in_frame..(f + 1) * in_frame];
            for oy in 0..self.out_h {
                for ox in 0..self.out_w {
                    let dst = &mut out[((f * out_pixels) + oy * self.out_w + ox) * self.out_c..]
                        [..self.out_c];
                    for (o, s) in dst.iter_mut().enumerate() {
                        let row = &self.weights[o * patch..(o + 1) * patch];
                        *s = self.dot(frame, row, oy, ox);
                    }
                }
            }
        }
        Buf::Int(out)
    }

    /// One output of the weight row `row` at output pixel (oy, ox).
    fn dot(&self, frame: &[i64], row: &[i64], oy: usize, ox: usize) -> i64 {
        let mut s = 0;
        for ky in 0..self.kh {
            for kx in 0..self.kw {
                let iy = (oy * self.stride + ky)
                    .checked_sub(self.padding.top)
                    .filter(|&y| y < self.in_h);
                let ix = (ox * self.stride + kx)
                    .checked_sub(self.padding.left)
                    .filter(|&x| x < self.in_w);
                let w = &row[(ky * self.kw + kx) * self.in_c..][..self.in_c];
                match (iy, ix) {
                    (Some(y), Some(x)) => {
                        let px = &frame[(y * self.in_w + x) * self.in_c..][..self.in_c];
                        s += w.iter().zip(px).map(|(a, b)| a * b).sum::<i64>();
                    }
                    _ if self.pad_minus_one => s -= w.iter().sum::<i64>(),
                    _ => {}
                }
            }
        }
        s
    }

    /// Packed binary input as ±1 values, pixel-major.
    fn unpack(&self, frames: usize, words: &[u64]) -> Vec<i64> {
        let per_pixel = self.in_c.div_ceil(64);
        let pixels = frames * self.in_h * self.in_w;
        let mut out = Vec::with_capacity(pixels * self.in_c);
        for p in 0..pixels {
            let w = &words[p * per_pixel..(p + 1) * per_pixel];
            out.extend((0..self.in_c).map(|c| 2 * ((w[c / 64] >> (c % 64)) & 1) as i64 - 1));
        }
        out
    }
}
