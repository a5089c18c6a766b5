//! The multiplier interval of one channel's line, from its level points in O(L log L).
//!
//! Every pair of a lower point i (a level reached at t_i: B ≥ n_i − m·t_i) and an upper point
//! j (a level not reached at t_j − 1: B < n_j − m·(t_j − 1)) bounds m: a B exists iff
//! n_i − n_j < m·(t_i − t_j + 1). Where t_j ≤ t_i that is m > the slope from (t_j, n_j) to
//! (t_i + 1, n_i); where t_j ≥ t_i + 2 it is m < the slope from (t_i + 1, n_i) to (t_j, n_j);
//! t_j = t_i + 1 bounds nothing, as n grows with the level. The steepest slope from a point to
//! the points on its left is at a vertex of their lower convex hull, so each query costs a
//! binary search instead of a pass over all L points: a 255-level channel was 65,025 pairs of
//! 128-bit divisions per shift tried, most of the import of a residual network's 8-bit stream.

/// A point (t, n): a threshold and its level's bound on the line.
type Point = (i128, i128);

/// The cross product of (a − o) and (b − o): positive when o → a → b turns left.
fn cross(o: Point, a: Point, b: Point) -> i128 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// The lower convex hull of points added in increasing t.
#[derive(Default)]
struct LowerHull(Vec<Point>);

impl LowerHull {
    fn push(&mut self, p: Point) {
        let h = &mut self.0;
        if let Some(&last) = h.last() {
            if last.0 == p.0 {
                // Of two points at one t, only the lower can be steepest to the right.
                if p.1 >= last.1 {
                    return;
                }
                h.pop();
            }
        }
        while h.len() >= 2 && cross(h[h.len() - 2], h[h.len() - 1], p) <= 0 {
            h.pop();
        }
        h.push(p);
    }

    /// The hull point from which the slope to `q` (right of every point) is steepest. Along
    /// the hull that slope rises while the next vertex lies below the line to `q`, then falls.
    fn steepest_to(&self, q: Point) -> Option<Point> {
        let h = &self.0;
        let (mut l, mut r) = (0, h.len().checked_sub(1)?);
        while l < r {
            let mid = (l + r) / 2;
            if cross(h[mid], h[mid + 1], q) > 0 {
                l = mid + 1;
            } else {
                r = mid;
            }
        }
        Some(h[l])
    }
}

/// The interval [m_lo, m_hi] of integer multipliers m ≥ 0 (at most `max_mul`) that every pair
/// of `lower` and `upper` points (each (n, t), in level order, so t never falls and n rises)
/// allows, or `None` when it is empty.
pub(super) fn multiplier_range(
    lower: &[(i128, i128)],
    upper: &[(i128, i128)],
    max_mul: i128,
) -> Option<(i128, i128)> {
    // m > (n_i − n_j) / (t_i + 1 − t_j) over t_j ≤ t_i: sweep the lower points up in t,
    // adding the upper points at or below each.
    let mut m_lo = 0i128;
    let mut hull = LowerHull::default();
    let mut next = 0;
    for &(ni, ti) in lower {
        while next < upper.len() && upper[next].1 <= ti {
            hull.push((upper[next].1, upper[next].0));
            next += 1;
        }
        if let Some((tj, nj)) = hull.steepest_to((ti + 1, ni)) {
            m_lo = m_lo.max((ni - nj).div_euclid(ti + 1 - tj) + 1);
        }
    }
    // m < (n_j − n_i) / (t_j − t_i − 1) over t_j > t_i + 1: the least slope to the right is
    // the steepest to the left with t mirrored, so sweep down in t.
    let mut m_hi = max_mul;
    let mut hull = LowerHull::default();
    let mut next = upper.len();
    for &(ni, ti) in lower.iter().rev() {
        while next > 0 && upper[next - 1].1 > ti + 1 {
            next -= 1;
            hull.push((-upper[next].1, upper[next].0));
        }
        if let Some((neg_tj, nj)) = hull.steepest_to((-(ti + 1), ni)) {
            let (x, d) = (nj - ni, -neg_tj - ti - 1);
            m_hi = m_hi.min(x.div_euclid(d) + (x.rem_euclid(d) != 0) as i128 - 1);
        }
    }
    (m_lo <= m_hi).then_some((m_lo, m_hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Every pair, as the condition reads.
    fn every_pair(
        lower: &[(i128, i128)],
        upper: &[(i128, i128)],
        max_mul: i128,
    ) -> Option<(i128, i128)> {
        let (mut m_lo, mut m_hi) = (0i128, max_mul);
        for &(ni, ti) in lower {
            for &(nj, tj) in upper {
                let (n, d) = (ni - nj, ti - tj + 1);
                if d > 0 {
                    m_lo = m_lo.max((n as f64 / d as f64).floor() as i128 + 1);
                } else if d < 0 {
                    m_hi = m_hi.min((n as f64 / d as f64).ceil() as i128 - 1);
                } else if n >= 0 {
                    return None;
                }
            }
        }
        (m_lo <= m_hi).then_some((m_lo, m_hi))
    }

    #[test]
    fn the_hull_finds_the_interval_every_pair_gives() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut nonempty = 0;
        for _ in 0..4000 {
            // L levels 2^k apart with the half-even offsets' ±1 jitter, their thresholds
            // where a line m·t + B reaches them (sometimes moved by one, as float32 rounding
            // moves them) or anywhere.
            let levels = rng.gen_range(1..40);
            let k = rng.gen_range(0..6);
            let n: Vec<i128> = (0..levels)
                .map(|l| ((l as i128) << k) + if k > 0 { rng.gen_range(0..2) } else { 0 })
                .collect();
            let (m, b) = (rng.gen_range(1..20i128), rng.gen_range(-50..50i128));
            let random = rng.gen_bool(0.3);
            let mut t: Vec<i128> = n
                .iter()
                .map(|&n| match random {
                    true => rng.gen_range(-20..200),
                    false => (n - b).div_euclid(m) + rng.gen_bool(0.05) as i128,
                })
                .collect();
            t.sort();
            let span = rng.gen_range(t[levels / 2]..=t[levels - 1] + 2);
            let points: Vec<(i128, i128)> = n.into_iter().zip(t).collect();
            let lower: Vec<_> = points.iter().copied().filter(|p| p.1 <= span).collect();
            let upper: Vec<_> = points.iter().copied().filter(|p| p.1 > -20).collect();
            let max_mul = rng.gen_range(1..1000);
            let expected = every_pair(&lower, &upper, max_mul);
            nonempty += expected.is_some() as usize;
            assert_eq!(
                multiplier_range(&lower, &upper, max_mul),
                expected,
                "{lower:?} {upper:?}"
            );
        }
        assert!(nonempty > 500, "{nonempty}");
    }
}
