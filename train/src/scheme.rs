//! How each method turns a layer's trained tensors into the binary weights the model stores:
//! the host-side half of the weight forms (masks, tiles, codebook assignment), shared by the
//! forward pass (`net`), the flip count (`trainer`) and the export (`export`), so all three see
//! the same bits.
//!
//! Rules follow the methods' code as ../shared/reference/seed-training.md reads it, with
//! xnorc's sign(0) = +1 where the code would produce 0 (a measure-zero case for float latents).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// The lower median (torch.median's) of `v`.
fn lower_median(v: &mut [f32]) -> f32 {
    v.sort_by(f32::total_cmp);
    v[(v.len() - 1) / 2]
}

/// SiMaN's weight mask of one filter: |standardized w| above the filter's lower median
/// (unbiased variance, ε 1e-5), so a filter of n weights has ⌊n/2⌋ ones absent ties.
pub fn magnitude_mask(filter: &[f32]) -> Vec<bool> {
    let x = standardized_magnitude(filter);
    let median = lower_median(&mut x.clone());
    x.iter().map(|&v| v > median).collect()
}

fn standardized_magnitude(filter: &[f32]) -> Vec<f32> {
    let n = filter.len() as f32;
    let mean = filter.iter().sum::<f32>() / n;
    let var = filter.iter().map(|w| (w - mean) * (w - mean)).sum::<f32>() / (n - 1.0).max(1.0);
    let sd = (var + 1e-5).sqrt();
    filter.iter().map(|w| ((w - mean) / sd).abs()).collect()
}

/// SiMaN's per-step weight treatment, written back into the latent weights: each filter
/// centred on its mean, then every magnitude clamped into the layer's [P_q, P_(100−q)]
/// percentiles of |w| (q = 15·(1 − epoch/epochs), so the clamp relaxes to none).
pub fn siman_center_and_clamp(w: &mut [f32], filters: usize, epoch: usize, epochs: usize) {
    let per = w.len() / filters;
    for f in w.chunks_mut(per) {
        let mean = f.iter().sum::<f32>() / per as f32;
        f.iter_mut().for_each(|x| *x -= mean);
    }
    let q = 15.0 * (1.0 - epoch as f64 / epochs as f64);
    if q <= 0.0 {
        return;
    }
    let mut mags: Vec<f32> = w.iter().map(|x| x.abs()).collect();
    mags.sort_by(f32::total_cmp);
    let (lo, hi) = (percentile(&mags, q), percentile(&mags, 100.0 - q));
    for x in w.iter_mut() {
        let m = x.abs().clamp(lo, hi);
        *x = if *x >= 0.0 { m } else { -m };
    }
}

/// The `q`-th percentile of sorted values, linearly interpolated (numpy's default).
fn percentile(sorted: &[f32], q: f64) -> f32 {
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let (i, frac) = (pos.floor() as usize, (pos - pos.floor()) as f32);
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] + frac * (sorted[j] - sorted[i])
}

/// TBN's tile of a layer tiled `p` times: the latent scores viewed as `p` rows of L, summed
/// over the rows; bit j is set (+1) when the sum is positive (TBN's rule: 0 ↦ −1).
pub fn tile_bits(scores: &[f32], p: usize) -> Vec<bool> {
    let l = scores.len() / p;
    (0..l)
        .map(|j| (0..p).map(|i| scores[i * l + j]).sum::<f32>() > 0.0)
        .collect()
}

/// TBN's scale of each chunk of L consecutive weights: the mean magnitude of its latents.
pub fn chunk_alphas(latent: &[f32], p: usize) -> Vec<f32> {
    let l = latent.len() / p;
    latent
        .chunks(l)
        .map(|c| c.iter().map(|x| x.abs()).sum::<f32>() / l as f32)
        .collect()
}

/// The mean magnitude of each of `filters` filters (SiMaN's α init, SNN's α).
pub fn filter_mean_magnitude(w: &[f32], filters: usize) -> Vec<f32> {
    let per = w.len() / filters;
    w.chunks(per)
        .map(|f| f.iter().map(|x| x.abs()).sum::<f32>() / per as f32)
        .collect()
}

/// Entries of a 3×3 codebook.
pub const KERNEL: usize = 9;

/// SNN's assignment: each latent kernel to the codebook entry nearest in L2, which for ±1
/// entries is the largest dot product; ties go to the first entry.
pub fn assign(latent: &[f32], memory: &[f32]) -> Vec<usize> {
    latent
        .chunks(KERNEL)
        .map(|k| {
            let mut best = (0, f32::NEG_INFINITY);
            for (e, entry) in memory.chunks(KERNEL).enumerate() {
                let dot: f32 = k.iter().zip(entry).map(|(a, b)| a * b).sum();
                if dot > best.1 {
                    best = (e, dot);
                }
            }
            best.0
        })
        .collect()
}

/// The ±1 pattern of a 9-bit number (bit i → tap i).
fn pattern(code: usize) -> [f32; KERNEL] {
    std::array::from_fn(|i| if code >> i & 1 == 1 { 1.0 } else { -1.0 })
}

fn code_of(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .map(|(i, &v)| usize::from(v >= 0.0) << i)
        .sum()
}

/// 2^τ distinct random ±1 kernels (SNN's initial patterns and memory).
pub fn initial_patterns(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut used = vec![false; 1 << KERNEL];
    let mut out = Vec::with_capacity(n * KERNEL);
    while out.len() < n * KERNEL {
        let code = rng.gen_range(0..1usize << KERNEL);
        if !std::mem::replace(&mut used[code], true) {
            out.extend(pattern(code));
        }
    }
    out
}

/// SNN's refinement after a step: the memory takes sign(P) where |P| ≥ 1e-3 (else keeps its
/// entry), an entry repeating an earlier one's pattern is replaced (in P and the memory) by a
/// random unused pattern, and P is clamped to [−3, 3].
pub fn refresh_codebook(patterns: &mut [f32], memory: &mut [f32], rng: &mut ChaCha8Rng) {
    for (m, &p) in memory.iter_mut().zip(patterns.iter()) {
        if p.abs() >= 1e-3 {
            *m = if p >= 0.0 { 1.0 } else { -1.0 };
        }
    }
    let mut used = vec![false; 1 << KERNEL];
    let mut repeats = Vec::new();
    for (e, row) in memory.chunks(KERNEL).enumerate() {
        if std::mem::replace(&mut used[code_of(row)], true) {
            repeats.push(e);
        }
    }
    for e in repeats {
        let code = loop {
            let c = rng.gen_range(0..1usize << KERNEL);
            if !used[c] {
                break c;
            }
        };
        used[code] = true;
        let fresh = pattern(code);
        memory[e * KERNEL..(e + 1) * KERNEL].copy_from_slice(&fresh);
        patterns[e * KERNEL..(e + 1) * KERNEL].copy_from_slice(&fresh);
    }
    for p in patterns.iter_mut() {
        *p = p.clamp(-3.0, 3.0);
    }
}

/// RBONN's channel mask: the ⌊0.4·O⌋ channels of smallest |s| (the code's intent; its
/// positional use of argsort is a quirk not kept), ties to the lower channel.
pub fn smallest_scale_mask(scale: &[f32]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..scale.len()).collect();
    order.sort_by(|&a, &b| scale[a].abs().total_cmp(&scale[b].abs()).then(a.cmp(&b)));
    let mut mask = vec![false; scale.len()];
    for &o in &order[..scale.len() * 2 / 5] {
        mask[o] = true;
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn magnitude_mask_keeps_the_upper_half_of_each_filter() {
        // Mean 0: |standardized w| orders as |w| = 1, 0, 1.5, 0.5; the lower median is 0.5.
        let mask = magnitude_mask(&[1.0, 0.0, -1.5, 0.5]);
        assert_eq!(mask, vec![true, false, true, false]);
        // Ties at the median stay 0 (torch's strict >): distances .875 .125 1.625 .875.
        let tied = magnitude_mask(&[1.0, 0.0, -1.5, 1.0]);
        assert_eq!(tied, vec![false, false, true, false]);
        // Odd count: (n − 1)/2 ones.
        assert_eq!(
            magnitude_mask(&[3.0, 1.0, 2.0, 0.0, 9.0])
                .iter()
                .filter(|&&b| b)
                .count(),
            2
        );
    }

    #[test]
    fn tiles_sum_the_rows_and_alphas_average_the_chunks() {
        // p = 2, L = 3: rows [1, -2, 0.5] and [-3, 1, 0.5] → sums [-2, -1, 1].
        let s = [1.0, -2.0, 0.5, -3.0, 1.0, 0.5];
        assert_eq!(tile_bits(&s, 2), vec![false, false, true]);
        assert_eq!(chunk_alphas(&s, 2), vec![3.5 / 3.0, 4.5 / 3.0]);
        // A zero sum is −1, as TBN's where(s > 0, 1, −1).
        assert_eq!(tile_bits(&[1.0, -1.0], 2), vec![false]);
    }

    #[test]
    fn assignment_is_the_nearest_entry_first_on_ties() {
        let memory: Vec<f32> = [pattern(0), pattern(511), pattern(1)].concat();
        let mut k = [0.3f32; 9];
        assert_eq!(assign(&k, &memory), vec![1]);
        k = [-0.3; 9];
        assert_eq!(assign(&k, &memory), vec![0]);
        // Equally near entries 0 and 2 (differ at tap 0, latent 0 there): the first.
        k[0] = 0.0;
        assert_eq!(assign(&k, &memory), vec![0]);
    }

    #[test]
    fn refresh_replaces_repeated_patterns_and_clamps() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut p: Vec<f32> = [pattern(5), pattern(5)].concat();
        p[0] *= 4.0;
        let mut m = p.clone();
        refresh_codebook(&mut p, &mut m, &mut rng);
        assert_ne!(code_of(&m[..9]), code_of(&m[9..]));
        assert_eq!(code_of(&m[..9]), 5);
        assert!(p.iter().all(|v| v.abs() <= 3.0));
        assert_eq!(initial_patterns(512, &mut rng).len(), 512 * 9);
    }

    #[test]
    fn the_mask_takes_the_smallest_two_fifths() {
        let mask = smallest_scale_mask(&[0.5, -0.1, 2.0, 0.3, -4.0]);
        assert_eq!(mask, vec![false, true, false, true, false]);
    }
}
