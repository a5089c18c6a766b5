//! The residual stream's ops in the internal layout (H, W, C per frame): `add`, `affine` and
//! `sumpool`. The arithmetic is the IR's own (`Add::apply`, `Affine::apply`).

use crate::layout::{Buf, Geometry};
use xnorc_compiler::ir::{Add, Affine, Shape, SumPool};

fn ints(x: &Buf) -> &[i64] {
    match x {
        Buf::Int(d) => d,
        Buf::Bits(_) => unreachable!("validation keeps the residual stream integer"),
    }
}

/// Elementwise saturating sum of two operands of one layout.
pub(crate) fn add(op: &Add, a: &Buf, b: &Buf) -> Buf {
    Buf::Int(
        ints(a)
            .iter()
            .zip(ints(b))
            .map(|(&a, &b)| op.apply(a, b))
            .collect(),
    )
}

/// Per-channel affine: channel c of every pixel.
pub(crate) fn affine(op: &Affine, g: Geometry, x: &Buf) -> Buf {
    Buf::Int(
        ints(x)
            .iter()
            .enumerate()
            .map(|(i, &v)| op.apply(i % g.channels, v))
            .collect(),
    )
}

/// Window or global sums per channel.
pub(crate) fn sumpool(op: &SumPool, frames: usize, input: Shape, out: Shape, x: &Buf) -> Buf {
    let (Shape::Map { c, h, w }, Shape::Map { h: oh, w: ow, .. }) = (input, out) else {
        unreachable!("sumpool shapes are maps")
    };
    let (kh, kw, stride) = match *op {
        SumPool::Window { kernel, stride } => (kernel, kernel, stride),
        SumPool::Global => (h, w, 1),
    };
    let x = ints(x);
    let mut sums = vec![0i64; frames * oh * ow * c];
    for f in 0..frames {
        for oy in 0..oh {
            for ox in 0..ow {
                let dst = &mut sums[((f * oh + oy) * ow + ox) * c..][..c];
                for ky in 0..kh {
                    for kx in 0..kw {
                        let pixel = (f * h + oy * stride + ky) * w + ox * stride + kx;
                        for (d, &v) in dst.iter_mut().zip(&x[pixel * c..(pixel + 1) * c]) {
                            *d += v;
                        }
                    }
                }
            }
        }
    }
    Buf::Int(sums)
}

/// Bit = [N·x_i ≥ Σ x] over each frame's N elements (SiMaN's sign against the mean).
pub(crate) fn meansign(frames: usize, g: Geometry, x: &Buf) -> Buf {
    let x = ints(x);
    let n = g.pixels * g.channels;
    let words = g.words();
    let mut out = vec![0u64; frames * g.pixels * words];
    for (f, frame) in x.chunks_exact(n).enumerate() {
        let sum: i64 = frame.iter().sum();
        for (p, pixel) in frame.chunks_exact(g.channels).enumerate() {
            let dst = &mut out[(f * g.pixels + p) * words..][..words];
            for (c, &v) in pixel.iter().enumerate() {
                if n as i64 * v >= sum {
                    dst[c / 64] |= 1 << (c % 64);
                }
            }
        }
    }
    Buf::Bits(out)
}

/// The map with `before` zero channels in front of each pixel's and `after` behind.
pub(crate) fn pad_channels(
    before: usize,
    after: usize,
    frames: usize,
    out: Geometry,
    x: &Buf,
) -> Buf {
    let x = ints(x);
    let c = out.channels - before - after;
    let mut padded = vec![0i64; frames * out.pixels * out.channels];
    for (src, dst) in x.chunks_exact(c).zip(padded.chunks_exact_mut(out.channels)) {
        dst[before..before + c].copy_from_slice(src);
    }
    Buf::Int(padded)
}
