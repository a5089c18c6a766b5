//! Popcount kernels and the CPU feature dispatch around them.
//!
//! The default x86-64 target has no POPCNT instruction, so `count_ones` would compile to a
//! dozen-instruction bit trick. Hot kernels are compiled twice — once with POPCNT (and AVX2 for
//! vectorized popcounts) enabled, once portable — and chosen at run time; binary matrix layers
//! have an AVX-512 kernel of their own (`lanes`).

/// Σ popcount(a ^ b).
#[inline(always)]
pub(crate) fn xor_pop(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// Σ popcount(a & b).
#[inline(always)]
pub(crate) fn and_pop(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Σ popcount(a).
#[inline(always)]
pub(crate) fn pop(a: &[u64]) -> u32 {
    a.iter().map(|x| x.count_ones()).sum()
}

/// True when this CPU has the features the fast variants are compiled for.
pub(crate) fn fast_cpu() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::OnceLock;
        static FAST: OnceLock<bool> = OnceLock::new();
        *FAST.get_or_init(|| {
            std::arch::is_x86_feature_detected!("popcnt")
                && std::arch::is_x86_feature_detected!("avx2")
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The AVX-512 extensions the simulator's fastest kernels use, detected once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx512 {
    /// AVX-512F: the thresholds (`ops`).
    pub f: bool,
    /// F and BW: the input packing (`layout`).
    pub bw: bool,
    /// F and VPOPCNTDQ: the matrix kernel (`lanes`).
    pub vpopcntdq: bool,
}

/// What this CPU has of [`Avx512`] (all false off x86-64).
pub(crate) fn avx512() -> Avx512 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        use std::sync::OnceLock;
        static HAS: OnceLock<Avx512> = OnceLock::new();
        *HAS.get_or_init(|| {
            let f = has!("avx512f");
            Avx512 {
                f,
                bw: f && has!("avx512bw"),
                vpopcntdq: f && has!("avx512vpopcntdq"),
            }
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        Avx512 {
            f: false,
            bw: false,
            vpopcntdq: false,
        }
    }
}

/// Measured XOR+popcount throughput of this machine, in 64-bit words per second summed over
/// `threads` threads: the ceiling the simulator's binary layers can reach. On a CPU with
/// AVX-512 VPOPCNTDQ that is the eight-lane matrix kernel's rate (`lanes`), otherwise POPCNT's.
pub fn xor_popcount_rate(threads: usize, seconds: f64) -> f64 {
    if crate::lanes::RowLanes::available() {
        return lanes_rate(threads, seconds);
    }
    let words = 1024;
    let a = probe_words(words, 0x9E37_79B9_7F4A_7C15);
    let b = probe_words(words, 0xC2B2_AE3D_27D4_EB4F);
    words_per_second(threads, seconds, words, || {
        || {
            std::hint::black_box(measure_pass(&a, &b));
        }
    })
}

/// `n` distinct probe words: i · `odd` for i < n.
fn probe_words(n: usize, odd: u64) -> Vec<u64> {
    (0..n as u64).map(|i| i.wrapping_mul(odd)).collect()
}

/// Runs a pass made by `make_pass` (one per thread, with its own buffers; each pass popcounts
/// `words` words) on each of `threads` threads for `seconds`, and sums their words per second.
fn words_per_second<P: FnMut()>(
    threads: usize,
    seconds: f64,
    words: usize,
    make_pass: impl Fn() -> P + Sync,
) -> f64 {
    use std::time::Instant;
    let per_thread = || -> f64 {
        let mut pass = make_pass();
        let start = Instant::now();
        let mut done = 0u64;
        while start.elapsed().as_secs_f64() < seconds {
            for _ in 0..256 {
                pass();
            }
            done += 256 * words as u64;
        }
        done as f64 / start.elapsed().as_secs_f64()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(per_thread)).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("probe thread"))
            .sum()
    })
}

/// One pass of the probe with the same feature dispatch as the simulator's kernels.
fn measure_pass(a: &[u64], b: &[u64]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if fast_cpu() {
        #[target_feature(enable = "popcnt,avx2")]
        unsafe fn fast(a: &[u64], b: &[u64]) -> u32 {
            xor_pop(std::hint::black_box(a), b)
        }
        // SAFETY: fast_cpu() checked popcnt and avx2.
        return unsafe { fast(a, b) };
    }
    xor_pop(std::hint::black_box(a), b)
}

/// [`xor_popcount_rate`] through the eight-lane kernel: 64 rows of 16 words (8 KB, L1-resident)
/// against as many vectors per pass as share a weight load.
fn lanes_rate(threads: usize, seconds: f64) -> f64 {
    use crate::lanes::{Combine, RowLanes, FRAMES};
    let (rows, words, frames) = (64, 16, FRAMES);
    let lanes = RowLanes::new(
        &probe_words(rows * words, 0x9E37_79B9_7F4A_7C15),
        rows,
        words,
    );
    let x = probe_words(frames * words, 0xC2B2_AE3D_27D4_EB4F);
    let (lanes, x) = (&lanes, &x);
    words_per_second(threads, seconds, rows * words * frames, || {
        let mut counts = vec![0u32; frames * rows];
        move || {
            lanes.counts(frames, std::hint::black_box(x), Combine::Xor, &mut counts);
            std::hint::black_box(&mut counts);
        }
    })
}
