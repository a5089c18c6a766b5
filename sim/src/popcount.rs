//! Popcount kernels and the CPU feature dispatch around them.
//!
//! The default x86-64 target has no POPCNT instruction, so `count_ones` would compile to a
//! dozen-instruction bit trick. Hot kernels are compiled twice — once with POPCNT (and AVX2 for
//! vectorized popcounts) enabled, once portable — and chosen at run time.

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

