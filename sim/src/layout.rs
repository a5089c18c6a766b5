//! The simulator's internal tensor layout and conversions to and from the IR's logical order.
//!
//! Feature maps are stored pixel-major with channels innermost (H, W, C), so that one pixel's
//! channels are contiguous: binary data packs a pixel's C channels into ⌈C/64⌉ words (LSB first,
//! zero tail), integer data stores C `i64` per pixel. A vector of n elements is one pixel of n
//! channels. The logical order (what users see in npy files and dumps) is C, H, W.

use xnorc_compiler::ir::{Shape, ValueType};

/// Pixels and channels of a shape in the internal layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub pixels: usize,
    pub channels: usize,
}

impl Geometry {
    pub fn of(shape: Shape) -> Self {
        match shape {
            Shape::Flat(n) => Geometry {
                pixels: 1,
                channels: n,
            },
            Shape::Map { c, h, w } => Geometry {
                pixels: h * w,
                channels: c,
            },
        }
    }

    /// Words per pixel of binary data.
    pub fn words(&self) -> usize {
        self.channels.div_ceil(64)
    }
}

/// Input frames as the caller holds them: one byte per element, logical (C, H, W) order,
/// frame after frame. Binary inputs are given as stored bits (0 or 1) in `U8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frames<'a> {
    /// Unsigned bytes (binary 0/1, or uint8 data).
    U8(&'a [u8]),
    /// Signed bytes (int8 data).
    I8(&'a [i8]),
}

impl<'a> Frames<'a> {
    /// Total elements.
    pub fn len(&self) -> usize {
        match self {
            Frames::U8(d) => d.len(),
            Frames::I8(d) => d.len(),
        }
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i` as an integer.
    #[inline]
    pub fn get(&self, i: usize) -> i64 {
        match self {
            Frames::U8(d) => d[i] as i64,
            Frames::I8(d) => d[i] as i64,
        }
    }

    /// Elements `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> Frames<'a> {
        match *self {
            Frames::U8(d) => Frames::U8(&d[start..end]),
            Frames::I8(d) => Frames::I8(&d[start..end]),
        }
    }
}

/// Packs up to 64 bytes holding 0 or 1 into a word, byte i to bit i.
#[inline]
pub(crate) fn pack_bytes(bytes: &[u8]) -> u64 {
    let mut word = 0u64;
    // Byte i's low bit sits at bit 8i; the multiply moves bit 8i to bit 56 + i without
    // collisions or carries into the top byte, which the shift then extracts.
    let gather =
        |lane: u64| (lane & 0x0101_0101_0101_0101).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let mut chunks = bytes.chunks_exact(8);
    for (k, eight) in chunks.by_ref().enumerate() {
        word |= gather(u64::from_le_bytes(eight.try_into().expect("8 bytes"))) << (8 * k);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut lane = [0u8; 8];
        lane[..rest.len()].copy_from_slice(rest);
        word |= gather(u64::from_le_bytes(lane)) << (8 * (bytes.len() / 8));
    }
    word
}

/// Packs rows of `channels` bytes holding 0 or 1 into rows of `words` words, byte i of a row
/// to bit i: with AVX-512BW one test of 64 bytes against 1 gives a word (its mask register),
/// otherwise [`pack_bytes`].
fn pack_rows(bytes: &[u8], channels: usize, words: usize, out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    if crate::popcount::avx512().bw {
        // SAFETY: avx512() found AVX-512F and BW.
        return unsafe { pack_rows_avx512(bytes, channels, words, out) };
    }
    for (src, dst) in bytes
        .chunks_exact(channels)
        .zip(out.chunks_exact_mut(words))
    {
        for (chunk, word) in src.chunks(64).zip(dst.iter_mut()) {
            *word = pack_bytes(chunk);
        }
    }
}

/// [`pack_rows`] with AVX-512BW: a masked load of up to 64 bytes (none read past the row) and
/// one byte test per word.
///
/// # Safety
/// The CPU has AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn pack_rows_avx512(bytes: &[u8], channels: usize, words: usize, out: &mut [u64]) {
    use std::arch::x86_64::*;
    let ones = _mm512_set1_epi8(1);
    for (src, dst) in bytes
        .chunks_exact(channels)
        .zip(out.chunks_exact_mut(words))
    {
        for (chunk, word) in src.chunks(64).zip(dst.iter_mut()) {
            let keep = u64::MAX >> (64 - chunk.len());
            // SAFETY: the mask covers chunk.len() bytes, all inside `chunk`; masked-off bytes
            // are neither read nor faulted on.
            let v = unsafe { _mm512_maskz_loadu_epi8(keep, chunk.as_ptr().cast()) };
            *word = _mm512_test_epi8_mask(v, ones);
        }
    }
}

/// A batch of one node's values in the internal layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Buf {
    /// Packed bits: `frames × pixels × words` words.
    Bits(Vec<u64>),
    /// Integers: `frames × pixels × channels` values.
    Int(Vec<i64>),
}

impl Buf {
    /// Converts input frames to the internal layout.
    pub fn from_frames(x: Frames<'_>, frames: usize, g: Geometry, vtype: ValueType) -> Buf {
        match (x, vtype, g.pixels) {
            // The common case of binary vectors: pack 64 bytes into a word at a time.
            (Frames::U8(d), ValueType::Bits, 1) => {
                let words = g.words();
                let mut out = vec![0u64; frames * words];
                pack_rows(&d[..frames * g.channels], g.channels, words, &mut out);
                Buf::Bits(out)
            }
            _ => {
                let values: Vec<i64> = (0..x.len()).map(|i| x.get(i)).collect();
                Buf::from_logical(&values, frames, g, vtype)
            }
        }
    }

    /// Converts logical-order (C, H, W) values of `frames` frames to the internal layout.
    /// Binary values are given as their stored bit (0 or 1).
    pub fn from_logical(values: &[i64], frames: usize, g: Geometry, vtype: ValueType) -> Buf {
        let per_frame = g.pixels * g.channels;
        debug_assert_eq!(values.len(), frames * per_frame);
        match vtype {
            ValueType::Bits => {
                let words = g.words();
                let mut out = vec![0u64; frames * g.pixels * words];
                for f in 0..frames {
                    let src = &values[f * per_frame..(f + 1) * per_frame];
                    let dst = &mut out[f * g.pixels * words..(f + 1) * g.pixels * words];
                    for c in 0..g.channels {
                        for p in 0..g.pixels {
                            if src[c * g.pixels + p] != 0 {
                                dst[p * words + c / 64] |= 1 << (c % 64);
                            }
                        }
                    }
                }
                Buf::Bits(out)
            }
            ValueType::Int { .. } => {
                let mut out = vec![0i64; frames * per_frame];
                for f in 0..frames {
                    for c in 0..g.channels {
                        for p in 0..g.pixels {
                            out[f * per_frame + p * g.channels + c] =
                                values[f * per_frame + c * g.pixels + p];
                        }
                    }
                }
                Buf::Int(out)
            }
        }
    }

    /// Converts back to logical (C, H, W) order; bits become 0 or 1.
    pub fn to_logical(&self, frames: usize, g: Geometry) -> Vec<i64> {
        let per_frame = g.pixels * g.channels;
        let mut out = vec![0i64; frames * per_frame];
        for f in 0..frames {
            for c in 0..g.channels {
                for p in 0..g.pixels {
                    out[f * per_frame + c * g.pixels + p] = match self {
                        Buf::Bits(d) => {
                            let words = g.words();
                            ((d[(f * g.pixels + p) * words + c / 64] >> (c % 64)) & 1) as i64
                        }
                        Buf::Int(d) => d[f * per_frame + p * g.channels + c],
                    };
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` bytes of 0 or 1 from xorshift64 `state`.
    fn random_bits(n: usize, state: &mut u64) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *state ^= *state << 13;
                *state ^= *state >> 7;
                *state ^= *state << 17;
                (*state & 1) as u8
            })
            .collect()
    }

    #[test]
    fn pack_bytes_matches_bit_loop() {
        let mut state = 0x1234_5678_9abc_def0u64;
        for len in 0..=64 {
            for _ in 0..50 {
                let bytes = random_bits(len, &mut state);
                let naive = bytes
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (i, &b)| w | ((b as u64) << i));
                assert_eq!(pack_bytes(&bytes), naive, "{bytes:?}");
            }
        }
        assert_eq!(pack_bytes(&[1; 64]), u64::MAX);
    }

    #[test]
    fn packed_rows_match_bit_loop_at_every_width() {
        // Row widths across word boundaries: the masked tail of the AVX-512 path included.
        let mut state = 0x0bad_cafe_u64;
        for channels in [1usize, 7, 63, 64, 65, 127, 128, 784] {
            let rows = 5;
            let bytes = random_bits(rows * channels, &mut state);
            let words = channels.div_ceil(64);
            let mut got = vec![u64::MAX; rows * words];
            pack_rows(&bytes, channels, words, &mut got);
            let mut naive = vec![0u64; rows * words];
            for (i, &b) in bytes.iter().enumerate() {
                let (r, c) = (i / channels, i % channels);
                naive[r * words + c / 64] |= (b as u64) << (c % 64);
            }
            assert_eq!(got, naive, "{channels} channels");
        }
    }
}
