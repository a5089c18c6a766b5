//! What a matrix layer reads at each position of its input stream: the (input channel, ky, kx)
//! tap of its weights — through a sliding-window generator for a convolution — and so the weight
//! bit of each of the unit's rows (its outputs, then the probe rows of split channels) there.

use super::layer::Input;
use crate::schedule::WindowGeometry;
use crate::split;
use crate::stage::Swg;
use crate::stream::{stream_to_logical, Stream};
use xnorc_compiler::ir::{Geometry, MatMul, Node, PadMode, Shape, SplitRule, Weights};

/// Stream position i of the layer's input → (input channel, ky, kx) of the weights.
pub(super) type Tap = Box<dyn Fn(usize) -> (usize, usize, usize)>;

/// Does a layer's window flag padded taps invalid (binary data zero-padded, which is neither
/// +1 nor −1)? Checked for binary inputs only.
pub(crate) fn padding_masked(mm: &MatMul) -> bool {
    matches!(mm.geometry, Geometry::Conv { padding, pad_mode, .. }
        if pad_mode == PadMode::Zero && !padding.is_none())
}

/// The layer's taps and, for a convolution, its window generator with the stream that feeds
/// it (the generator emits SIMD channels of one tap per beat; `channel_blocks_outer` for a unit
/// that shares codebook responses or decodes whole kernels).
pub(super) fn taps(
    node: &Node,
    mm: &MatMul,
    binary: bool,
    simd: usize,
    channel_blocks_outer: bool,
    input: &Input,
) -> (Tap, Option<(Swg, Stream)>) {
    let w = &mm.weights;
    let in_order = input.order.clone();
    let logical = move |j: usize| in_order.as_ref().map_or(j, |o| o[j]);
    match mm.geometry {
        Geometry::Dense => match input.flattened {
            // The stream brings the flattened map pixel by pixel (H, W, C); the weights are
            // indexed in the model's (C, H, W) order.
            Some((c, h, wd)) => {
                let order = stream_to_logical(c, h, wd, input.order.as_deref());
                (Box::new(move |i| (order[i], 0, 0)), None)
            }
            None => (Box::new(move |i| (logical(i), 0, 0)), None),
        },
        Geometry::Conv {
            stride, padding, ..
        } => {
            let (c, h, wd) = input.map.expect("conv on a map");
            let Shape::Map { h: oh, w: ow, .. } = node.shape else {
                unreachable!()
            };
            let swg = Swg {
                c,
                simd,
                masked: binary && padding_masked(mm),
                window: WindowGeometry {
                    cb: c / simd,
                    h,
                    w: wd,
                    kh: w.kh,
                    kw: w.kw,
                    stride,
                    pad_top: padding.top,
                    pad_left: padding.left,
                    out_h: oh,
                    out_w: ow,
                    rows: (w.kh + stride).next_power_of_two(),
                    channel_blocks_outer,
                },
            };
            let swg_in = Stream {
                elems: simd,
                beats: h * wd * c / simd,
                ..input.stream
            };
            let (kw, c) = (w.kw, w.in_channels);
            (
                Box::new(move |i| (logical(i % c), i / c / kw, i / c % kw)),
                Some((swg, swg_in)),
            )
        }
    }
}

/// The weight bits of every row the unit computes: output channels, then one probe row per
/// split channel (`crate::split`).
pub(super) struct RowBits<'a> {
    w: &'a Weights,
    o: usize,
    tap: Tap,
    /// The split channels: (channel, its rule, the probed run).
    pub splits: Vec<(usize, &'a SplitRule, usize)>,
}

impl<'a> RowBits<'a> {
    /// The rows of a layer with weights `w` and `o` outputs read through `tap`.
    pub fn new(
        w: &'a Weights,
        o: usize,
        tap: Tap,
        splits: Vec<(usize, &'a SplitRule, usize)>,
    ) -> Self {
        RowBits { w, o, tap, splits }
    }

    /// Inputs per output (K).
    pub fn inputs(&self) -> usize {
        self.w.taps()
    }

    /// Stream position i → (input channel, ky, kx).
    pub fn tap(&self, i: usize) -> (usize, usize, usize) {
        (self.tap)(i)
    }

    /// The weights' flat index within a filter.
    pub fn flat(&self, c: usize, ky: usize, kx: usize) -> usize {
        (c * self.w.kh + ky) * self.w.kw + kx
    }

    /// The layer's own weight bit of output channel `o` at (input channel, ky, kx).
    pub fn weight(&self, o: usize, c: usize, ky: usize, kx: usize) -> bool {
        self.w.bit(o, c, ky, kx)
    }

    /// Integer weight of output channel `row` at input position i (integer weights have no
    /// probe rows).
    pub fn value(&self, row: usize, i: usize) -> i64 {
        let (c, ky, kx) = self.tap(i);
        self.w.value(row, c, ky, kx)
    }

    /// Weight bit of the unit's row `row` (output channel, or probe row) at input position i.
    pub fn bit(&self, row: usize, i: usize) -> bool {
        let (c, ky, kx) = self.tap(i);
        match row.checked_sub(self.o) {
            None => self.w.bit(row, c, ky, kx),
            Some(q) => self.splits.get(q).is_some_and(|&(ch, rule, j)| {
                let run = (rule.runs[j].start, rule.runs[j].end);
                split::probe_bit(
                    self.w.values,
                    run,
                    self.flat(c, ky, kx),
                    self.w.bit(ch, c, ky, kx),
                )
            }),
        }
    }
}
