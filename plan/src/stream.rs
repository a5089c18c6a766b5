//! A stream between stages: elements per beat, bits per element, beats per frame; and the
//! order in which a map is streamed.

use serde::Serialize;

/// One stream between stages: `elems` elements of `bits` bits per beat (element i at bits
/// [i·bits, (i+1)·bits)), `beats` beats per frame, elements in logical order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stream {
    /// Elements per beat.
    pub elems: usize,
    /// Bits per element.
    pub bits: u32,
    /// Elements are two's complement.
    pub signed: bool,
    /// Beats per frame.
    pub beats: usize,
    /// Each beat also carries a valid flag above the elements (0: every element is a padded
    /// tap that must not count).
    pub valid_bit: bool,
}

impl Stream {
    /// Bits per beat.
    pub fn width(&self) -> usize {
        self.elems * self.bits as usize + usize::from(self.valid_bit)
    }
}

/// Bits of the two's complement register that holds every one of `values` (and −1 and 0): the
/// width of a stage's parameter fields and sums.
pub fn signed_bits(values: impl IntoIterator<Item = i128>) -> u32 {
    let (lo, hi) = values
        .into_iter()
        .fold((-1i128, 0i128), |(lo, hi), v| (lo.min(v), hi.max(v)));
    xnorc_compiler::ir::int_bits(lo as i64, hi as i64)
}

/// Stream position → logical (C, H, W) index for a map of `c`×`h`×`w` streamed pixel by pixel
/// with channel position j holding logical channel `order[j]` (the identity when `None`).
pub fn stream_to_logical(c: usize, h: usize, w: usize, order: Option<&[usize]>) -> Vec<usize> {
    let mut out = Vec::with_capacity(c * h * w);
    for y in 0..h {
        for x in 0..w {
            for j in 0..c {
                let ch = order.map_or(j, |o| o[j]);
                out.push((ch * h + y) * w + x);
            }
        }
    }
    out
}
