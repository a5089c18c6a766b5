//! Float32 kernels for layers whose input is a constant. The calibration trace (see
//! `calibrate`) runs the whole graph on one frame as constants, so every layer, pool and
//! normalization must also fold; these compute what ONNX computes, each product and sum
//! rounded to float32 (summed in index order: the runtime's order is its own, and the trace
//! only measures ranges and the float graph's outputs).

use crate::import::qonnx::values::Const;

/// A convolution's geometry on a `[1, C, H, W]` input.
#[derive(Debug, Clone, Copy)]
pub struct ConvGeometry {
    /// Input channels, height and width.
    pub input: (usize, usize, usize),
    /// Kernel height and width.
    pub kernel: (usize, usize),
    /// The stride (both axes).
    pub stride: usize,
    /// Padding: top, left, bottom, right (with zeros).
    pub pads: [usize; 4],
    /// Output height and width.
    pub out: (usize, usize),
}

/// A dense layer (`geometry` None: x is `[1, k]`) or a convolution: `rows` holds `o` rows of
/// `k` weights (a convolution's row is C × kh × kw), `bias` one value or one per row.
pub fn layer(
    x: &Const,
    rows: &[f32],
    (o, k): (usize, usize),
    bias: Option<&[f32]>,
    geometry: Option<ConvGeometry>,
) -> Const {
    let x: Vec<f32> = x.as_f32();
    let b = |row: usize| bias.map_or(0.0, |b| if b.len() == 1 { b[0] } else { b[row] });
    let Some(g) = geometry else {
        let out = (0..o)
            .map(|row| {
                let w = &rows[row * k..(row + 1) * k];
                w.iter().zip(&x).fold(0f32, |s, (w, x)| s + w * x) + b(row)
            })
            .collect();
        return Const::f32(vec![1, o], out);
    };
    let (c, h, w) = g.input;
    let (kh, kw) = g.kernel;
    let (oh, ow) = g.out;
    let mut out = Vec::with_capacity(o * oh * ow);
    for row in 0..o {
        let weights = &rows[row * k..(row + 1) * k];
        for y in 0..oh {
            for xo in 0..ow {
                let mut sum = 0f32;
                for ch in 0..c {
                    for dy in 0..kh {
                        for dx in 0..kw {
                            // Coordinates in the unpadded input; outside it the pad is 0.0.
                            let iy = (y * g.stride + dy) as isize - g.pads[0] as isize;
                            let ix = (xo * g.stride + dx) as isize - g.pads[1] as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let v = x[(ch * h + iy as usize) * w + ix as usize];
                            sum += weights[(ch * kh + dy) * kw + dx] * v;
                        }
                    }
                }
                out.push(sum + b(row));
            }
        }
    }
    Const::f32(vec![1, o, oh, ow], out)
}

/// How a pool combines its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// The largest value.
    Max,
    /// The float32 sum divided by the window's size.
    Average,
}

/// A `k`×`k` pool moved by `stride` over a `[1, C, H, W]` constant (no padding), or over the
/// whole map per channel when `window` is None; the output is `[1, C, H', W']`.
pub fn pool(x: &Const, kind: PoolKind, window: Option<(usize, usize)>) -> Const {
    let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3]);
    let (k_h, k_w, stride) = match window {
        Some((k, s)) => (k, k, s),
        None => (h, w, 1),
    };
    let (oh, ow) = ((h - k_h) / stride + 1, (w - k_w) / stride + 1);
    let x = x.as_f32();
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for y in 0..oh {
            for xo in 0..ow {
                let values = (0..k_h).flat_map(|dy| {
                    let row = (ch * h + y * stride + dy) * w + xo * stride;
                    x[row..row + k_w].iter().copied()
                });
                out.push(match kind {
                    PoolKind::Max => values.fold(f32::NEG_INFINITY, f32::max),
                    PoolKind::Average => values.fold(0f32, |s, v| s + v) / (k_h * k_w) as f32,
                });
            }
        }
    }
    Const::f32(vec![1, c, oh, ow], out)
}

/// Every element of a constant of `shape` mapped by `f(channel, value)`, channel = axis 1.
pub fn per_channel(x: &Const, f: impl Fn(usize, f32) -> f32) -> Const {
    let channels = x.shape.get(1).copied().unwrap_or(1).max(1);
    let inner: usize = x.shape.iter().skip(2).product();
    let values = x
        .as_f32()
        .iter()
        .enumerate()
        .map(|(i, &v)| f((i / inner.max(1)) % channels, v))
        .collect();
    Const::f32(x.shape.clone(), values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_padded_strided_convolution_by_hand() {
        // One 3×3 channel 1..9, one 2×2 kernel of ones, stride 2, padding 1 all round: the
        // windows see [0 0; 0 1], [0 0; 2 3], [0 4; 0 7], [5 6; 8 9].
        let x = Const::f32(vec![1, 1, 3, 3], (1..=9).map(|v| v as f32).collect());
        let g = ConvGeometry {
            input: (1, 3, 3),
            kernel: (2, 2),
            stride: 2,
            pads: [1, 1, 1, 1],
            out: (2, 2),
        };
        let y = layer(&x, &[1.0; 4], (1, 4), Some(&[0.5]), Some(g));
        assert_eq!(y.shape, [1, 1, 2, 2]);
        assert_eq!(y.as_f32(), [1.5, 5.5, 11.5, 28.5]);
    }

    #[test]
    fn pools_by_hand() {
        let x = Const::f32(
            vec![1, 1, 2, 4],
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9.0],
        );
        let max = pool(&x, PoolKind::Max, Some((2, 2)));
        assert_eq!(max.as_f32(), [6.0, 9.0]);
        let avg = pool(&x, PoolKind::Average, Some((2, 2)));
        assert_eq!(avg.as_f32(), [3.5, 5.75]);
        let global = pool(&x, PoolKind::Average, None);
        assert_eq!(
            (global.shape.clone(), global.as_f32()),
            (vec![1, 1, 1, 1], vec![4.625])
        );
    }
}
