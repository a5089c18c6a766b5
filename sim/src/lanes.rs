//! The binary matrix kernel for CPUs with AVX-512's 64-bit popcount (VPOPCNTDQ): eight weight
//! rows side by side in the eight lanes of one register, so each input word, broadcast, meets
//! eight rows in one XOR (or AND) and one popcount, and the eight counts come out in their
//! lanes with no horizontal sum. Its vectors are a dense layer's frames, or a convolution's
//! patches (`matmul::lanes_conv`). On a CPU without VPOPCNTDQ the scalar kernels in `matmul`
//! run instead.
//!
//! One VPOPCNTQ does the work of eight POPCNTs; measured on tfc, cnv-small and cnv in
//! docs/benchmarks.md ("AVX-512 kernels").

/// Weight rows regrouped eight to a block: block `b`, word `i`, lane `j` holds word `i` of row
/// `8b + j` (zero past the last row; those lanes' counts are never read).
#[derive(Debug, Clone)]
pub(crate) struct RowLanes {
    rows: usize,
    words: usize,
    blocks: usize,
    data: Vec<u64>,
}

/// How a weight word meets an input word before the popcount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// popcount(w ⊕ x): ±1 weights.
    Xor,
    /// popcount(w ∧ x): {0, 1} weights.
    And,
}

/// Lanes in a 512-bit register of 64-bit words.
const LANES: usize = 8;

/// Vectors that share each weight load (measured: 8 was no faster on cnv or tfc).
pub(crate) const FRAMES: usize = 4;

impl RowLanes {
    /// Regroups `rows` rows of `words` words each (row-major).
    pub fn new(weights: &[u64], rows: usize, words: usize) -> Self {
        let blocks = rows.div_ceil(LANES);
        let mut data = vec![0u64; blocks * words * LANES];
        for (row, w) in weights.chunks_exact(words).enumerate().take(rows) {
            let (b, j) = (row / LANES, row % LANES);
            for (i, &word) in w.iter().enumerate() {
                data[(b * words + i) * LANES + j] = word;
            }
        }
        RowLanes {
            rows,
            words,
            blocks,
            data,
        }
    }

    /// True when this CPU has AVX-512F and VPOPCNTDQ.
    pub fn available() -> bool {
        crate::popcount::avx512().vpopcntdq
    }

    /// For each of `frames` input vectors of `words` words (`x`, frame-major), the popcount of
    /// every row against it: `counts[frame · rows + row]`. Only call when
    /// [`RowLanes::available`].
    pub fn counts(&self, frames: usize, x: &[u64], combine: Combine, counts: &mut [u32]) {
        assert!(
            Self::available(),
            "RowLanes::counts needs AVX-512 VPOPCNTDQ"
        );
        assert!(
            x.len() >= frames * self.words,
            "input shorter than its frames"
        );
        assert!(
            counts.len() >= frames * self.rows,
            "counts shorter than its frames"
        );
        #[cfg(target_arch = "x86_64")]
        {
            let mut f = 0;
            // SAFETY (every call below): available() checked avx512f and avx512vpopcntdq, and
            // the asserts above that x and counts hold the frames.
            while f + FRAMES <= frames {
                match combine {
                    Combine::Xor => unsafe { self.block_frames::<FRAMES, true>(f, x, counts) },
                    Combine::And => unsafe { self.block_frames::<FRAMES, false>(f, x, counts) },
                }
                f += FRAMES;
            }
            while f < frames {
                match combine {
                    Combine::Xor => unsafe { self.block_frames::<1, true>(f, x, counts) },
                    Combine::And => unsafe { self.block_frames::<1, false>(f, x, counts) },
                }
                f += 1;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (frames, x, combine, counts);
            unreachable!("available() is false off x86-64")
        }
    }

    /// Frames `first..first + N`: every block of eight rows against each of them, the weight
    /// register loaded once for the N frames; `XOR` picks ⊕ over ∧.
    ///
    /// # Safety
    /// The CPU has AVX-512F and VPOPCNTDQ; `x` holds frames up to `first + N` and `counts`
    /// their rows.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    unsafe fn block_frames<const N: usize, const XOR: bool>(
        &self,
        first: usize,
        x: &[u64],
        counts: &mut [u32],
    ) {
        use std::arch::x86_64::*;
        let (words, rows) = (self.words, self.rows);
        let xs: [*const u64; N] = std::array::from_fn(|k| x[(first + k) * words..].as_ptr());
        let mut lanes = [0u32; LANES];
        for b in 0..self.blocks {
            let block = self.data[b * words * LANES..].as_ptr();
            let mut acc = [_mm512_setzero_si512(); N];
            for i in 0..words {
                // SAFETY: block word i is LANES = 8 u64 inside `data`; frame k has `words` words.
                let w = unsafe { _mm512_loadu_epi64(block.add(i * LANES).cast()) };
                for k in 0..N {
                    let xv = _mm512_set1_epi64(unsafe { *xs[k].add(i) } as i64);
                    let met = match XOR {
                        true => _mm512_xor_si512(w, xv),
                        false => _mm512_and_si512(w, xv),
                    };
                    acc[k] = _mm512_add_epi64(acc[k], _mm512_popcnt_epi64(met));
                }
            }
            let row = b * LANES;
            let full = row + LANES <= rows;
            for (k, a) in acc.iter().enumerate() {
                // Counts fit 32 bits (a row has far fewer than 2^32 bits): narrow the lanes.
                let narrow = _mm512_cvtepi64_epi32(*a);
                let at = (first + k) * rows + row;
                if full {
                    // SAFETY: counts holds rows `row..row + 8` of frame first + k.
                    unsafe {
                        _mm256_storeu_si256(counts[at..at + LANES].as_mut_ptr().cast(), narrow)
                    };
                } else {
                    // SAFETY: `lanes` is LANES = 8 u32.
                    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), narrow) };
                    counts[at..at + rows - row].copy_from_slice(&lanes[..rows - row]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: a fixed stream of words for the test.
    fn words(n: usize, mut s: u64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                s ^= s >> 12;
                s ^= s << 25;
                s ^= s >> 27;
                s.wrapping_mul(0x2545_F491_4F6C_DD1D)
            })
            .collect()
    }

    #[test]
    fn lane_counts_equal_a_row_by_row_popcount() {
        if !RowLanes::available() {
            // The scalar kernels are the only path on this CPU; nothing of this one runs.
            eprintln!("no AVX-512 VPOPCNTDQ on this CPU: the lane kernel is not used here");
            return;
        }
        // 13 rows (a partial second block), 5 words, 7 frames (one group of 4 and 3 singles).
        let (rows, n, frames) = (13, 5, 7);
        let w = words(rows * n, 1);
        let x = words(frames * n, 2);
        let lanes = RowLanes::new(&w, rows, n);
        for combine in [Combine::Xor, Combine::And] {
            let mut got = vec![u32::MAX; frames * rows];
            lanes.counts(frames, &x, combine, &mut got);
            for f in 0..frames {
                for o in 0..rows {
                    let mut naive = 0;
                    for i in 0..n {
                        let (a, b) = (w[o * n + i], x[f * n + i]);
                        let met = if combine == Combine::Xor {
                            a ^ b
                        } else {
                            a & b
                        };
                        for bit in 0..64 {
                            naive += (met >> bit) & 1;
                        }
                    }
                    assert_eq!(got[f * rows + o] as u64, naive, "frame {f} row {o}");
                }
            }
        }
    }
}
