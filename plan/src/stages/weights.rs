//! The unit's weight memory: a codebook layer's index layout (the planes its lanes decode from),
//! the memory words (dense bits or τ-bit indices, address row·SF + sf), each distinct row stored
//! once, and where the memory lives.

use super::window::RowBits;
use crate::folding::{LayerFolding, MemoryStyle, LUT_MEMORY_BITS};
use crate::lane::Lane;
use crate::stage::CodebookDecode;
use xnorc_compiler::ir::{Geometry, MatMul, WeightStore};

/// A codebook convolution's index layout and planes (`None` for every other layer), `simd`
/// channels per op, decoding whole kernels or tap by tap.
pub(super) fn codebook_decode(
    mm: &MatMul,
    simd: usize,
    whole_kernels: bool,
) -> Option<CodebookDecode> {
    let w = &mm.weights;
    match (&w.store, mm.geometry) {
        (WeightStore::Codebook(cb), Geometry::Conv { .. }) => Some(CodebookDecode {
            tau: cb.tau,
            entries: cb.entries,
            channel_blocks: w.in_channels / simd,
            planes: (0..w.kh * w.kw)
                .map(|t| {
                    (0..1usize << cb.tau)
                        .map(|j| j < cb.entries && cb.bits.get(j * w.kh * w.kw + t))
                        .collect()
                })
                .collect(),
            whole_kernels,
        }),
        _ => None,
    }
}

/// The weight memory's words, each distinct row once (`nf` passes of `sf` ops, `pe` × `simd`
/// lanes), and where it lives: as the folding says, else in logic up to `LUT_MEMORY_BITS`.
pub(super) fn weight_memory(
    mm: &MatMul,
    lane: Lane,
    decode: Option<&CodebookDecode>,
    (nf, sf): (usize, usize),
    (pe, simd): (usize, usize),
    bits: &RowBits,
    cfg: &LayerFolding,
) -> (Vec<Vec<bool>>, MemoryStyle) {
    let w = &mm.weights;
    let (weight_words, row_len) = match (decode, &w.store) {
        (Some(d), WeightStore::Codebook(cb)) => {
            // Row nf, channel block b: the τ-bit index of filter nf·PE + pe, channel b·SIMD + s.
            let tau = cb.tau as usize;
            let words = (0..nf * d.channel_blocks)
                .map(|addr| {
                    let (f, b) = (addr / d.channel_blocks, addr % d.channel_blocks);
                    (0..pe * simd)
                        .flat_map(|l| {
                            let (oc, (c, _, _)) =
                                (f * pe + l / simd, bits.tap(b * simd + l % simd));
                            let index = cb.indices[oc * w.in_channels + c];
                            (0..tau).map(move |i| (index >> i) & 1 == 1)
                        })
                        .collect()
                })
                .collect::<Vec<Vec<bool>>>();
            (words, d.channel_blocks)
        }
        (_, WeightStore::Int(_)) => {
            // Lane l = pe·SIMD + s holds the weight of filter nf·PE + pe, input sf·SIMD + s, in
            // `width` bits two's complement.
            let width = match lane {
                Lane::Mul { weight_bits } => weight_bits as usize,
                _ => unreachable!("integer weights run on mul lanes"),
            };
            let words = (0..nf * sf)
                .map(|addr| {
                    let (f, s) = (addr / sf, addr % sf);
                    (0..pe * simd)
                        .flat_map(|l| {
                            let v = bits.value(f * pe + l / simd, s * simd + l % simd);
                            (0..width).map(move |i| (v >> i) & 1 == 1)
                        })
                        .collect()
                })
                .collect::<Vec<Vec<bool>>>();
            (words, sf)
        }
        _ => {
            let words = (0..nf * sf)
                .map(|addr| {
                    let (f, s) = (addr / sf, addr % sf);
                    (0..pe * simd)
                        .map(|b| bits.bit(f * pe + b / simd, s * simd + b % simd))
                        .collect()
                })
                .collect::<Vec<Vec<bool>>>();
            (words, sf)
        }
    };
    // Store each distinct row once: a tiled layer's passes repeat its tile's filters.
    let rows = distinct_rows(&weight_words, row_len);
    let mut weight_words = weight_words;
    weight_words.truncate(rows * row_len);
    let memory_bits = weight_words.len() * weight_words[0].len();
    let memory = cfg.memory.unwrap_or(if memory_bits <= LUT_MEMORY_BITS {
        MemoryStyle::Lut
    } else {
        MemoryStyle::Block
    });
    (weight_words, memory)
}

/// The smallest number of rows (a divisor of `words.len() / row_len`) whose repetition gives
/// every row: a tiled layer's repeated filters are stored once.
fn distinct_rows(words: &[Vec<bool>], row_len: usize) -> usize {
    let rows = words.len() / row_len;
    (1..=rows)
        .filter(|r| rows.is_multiple_of(*r))
        .find(|&r| (r * row_len..words.len()).all(|i| words[i] == words[i - r * row_len]))
        .unwrap_or(rows)
}
