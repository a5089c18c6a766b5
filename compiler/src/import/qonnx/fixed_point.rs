//! A multi-bit quantizer on an integer tensor as the model's integer `affine`: the exact
//! fixed-point form of code(u) = clamp(round(f(u) / s)) where f is the float32 BatchNorm / scale
//! chain the graph applies to the integer u.
//!
//! A residual network quantizes its stream to 8 bits after every BatchNorm and every add; as a
//! multi-level `threshold` that is 255 comparisons per channel, as an affine it is one multiply.
//!
//! code is monotone in u (every float32 step is), so its thresholds T_L (the least u whose code
//! reaches level L) say everything about it. An affine y = sat(⌊(m·u + B) / 2^k⌋) reaches L
//! exactly from T_L on when L·2^k − m·T_L ≤ B < L·2^k − m·(T_L − 1), for every level at once
//! (with half-even rounding each level's bound moves by its tie rule). For a given k that is a
//! set of linear conditions on m and B which pairs of levels turn into an interval of m, so the
//! least k with a solution is found exactly, float32's rounding quirks included, where one
//! exists. The result is then checked against the quantizer at every u of the input's range;
//! without a solution the caller keeps the exact threshold form.

use crate::format::ShiftRounding;
use crate::ir::shift_right;

mod hull;

/// Widest input range checked u by u (per channel).
pub const MAX_CHECKED_RANGE: i64 = 1 << 22;
/// Largest multiplier magnitude (32-bit signed): an 8-bit stem's BatchNorm over an 18-bit
/// accumulator can need over 20 bits to place every one of 255 boundaries where float32
/// rounding put it.
const MAX_MUL: i128 = (1 << 31) - 1;
/// Largest shift tried.
const MAX_SHIFT: u32 = 40;

/// The integer affine of every channel: y = sat(round((mul or neg_mul)·t + bias) / 2^shift)
/// with t = u + pre and the multiplier picked by the sign of t, saturated to a signed
/// `bits`-wide range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffineFit {
    /// Multiplier where t ≥ 0, per channel.
    pub mul: Vec<i64>,
    /// Multiplier where t < 0, per channel.
    pub neg_mul: Vec<i64>,
    /// Added to u first, per channel.
    pub pre: Vec<i64>,
    /// Added after the multiply, per channel.
    pub bias: Vec<i64>,
    /// The right shift.
    pub shift: u32,
    /// How the shift rounds.
    pub rounding: ShiftRounding,
    /// The signed saturation width.
    pub bits: u32,
}

/// The quantizer to express: `code(c, u)` is its exact integer result, monotone in u.
pub struct Target<'a> {
    /// Channels.
    pub channels: usize,
    /// The input's range [lo, hi].
    pub range: (i64, i64),
    /// The code range [min, max]: a signed `b`-bit range or an unsigned one [0, 2^b − 1].
    pub codes: (i64, i64),
    /// Whether half-even shifts may be tried (the quantizer rounds to the nearest, so a sum
    /// requantized to a coarser scale lands on exact ties).
    pub ties: bool,
    /// The exact code of u in channel c.
    pub code: &'a dyn Fn(usize, i64) -> i64,
}

/// The affine equal to `target.code` at every u of the range, at the least shift, if there is
/// one.
pub fn fit(target: &Target) -> Option<AffineFit> {
    let (lo, hi) = target.range;
    if hi < lo || hi - lo > MAX_CHECKED_RANGE {
        return None;
    }
    let (qmin, qmax) = target.codes;
    let signed = (2..=32).find(|&b| (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1) == (qmin, qmax));
    let unsigned = (1..=31).find(|&b| (0, (1i64 << b) - 1) == (qmin, qmax));
    let bits = match (signed, unsigned) {
        (Some(b), _) => b,
        (None, Some(b)) => b + 1,
        // A narrow range (−127..127) is not a saturation of a power-of-two width.
        (None, None) => return None,
    };
    let levels: Vec<Levels> = (0..target.channels)
        .map(|c| Levels::of(target, c))
        .collect::<Option<_>>()?;
    let roundings: &[ShiftRounding] = if target.ties {
        &[ShiftRounding::Floor, ShiftRounding::HalfEven]
    } else {
        &[ShiftRounding::Floor]
    };
    let (shift, rounding) = roundings
        .iter()
        .filter_map(|&r| Some((least_common_shift(&levels, r)?, r)))
        .min_by_key(|&(k, _)| k)?;
    let half_even = rounding == ShiftRounding::HalfEven;
    let mut out = AffineFit {
        mul: Vec::new(),
        neg_mul: Vec::new(),
        pre: Vec::new(),
        bias: Vec::new(),
        shift,
        rounding,
        bits,
    };
    for (c, l) in levels.iter().enumerate() {
        let (m, b) = l.line(shift, rounding)?;
        let p = if unsigned.is_some() {
            clamp_at_zero(m, b, (shift, half_even), target.range)?
        } else {
            Params {
                mul: m,
                neg_mul: m,
                pre: 0,
                bias: b,
            }
        };
        // The proof: the quantizer's own code at every u.
        if (lo..=hi).any(|u| p.at(u, (shift, half_even), bits) != (target.code)(c, u)) {
            return None;
        }
        out.mul.push(p.mul);
        out.neg_mul.push(p.neg_mul);
        out.pre.push(p.pre);
        out.bias.push(p.bias);
    }
    Some(out)
}

/// The least shift every channel can take with `rounding`: the largest of the channels' least
/// shifts. A line at k is one at k + 1 with m and B doubled, so a channel's feasible shifts are
/// all those from its least on, and a channel that takes the largest least shift found so far
/// needs no search of its own. Each channel then costs one `line` (quadratic in its levels)
/// instead of one per shift below its least: 255-level stems and joins of a residual network
/// imported ten times faster.
fn least_common_shift(levels: &[Levels], rounding: ShiftRounding) -> Option<u32> {
    let mut k = 0;
    for l in levels {
        if l.line(k, rounding).is_none() {
            k = (k + 1..=MAX_SHIFT).find(|&k| l.line(k, rounding).is_some())?;
        }
    }
    Some(k)
}

/// One channel's code as thresholds: level L (qmin < L ≤ qmax) is reached from u = T_L on
/// (read through u → −u when the code falls with u).
struct Levels {
    /// (L, T_L), T_L in [lo, hi + 1] (lo: reached everywhere; hi + 1: nowhere).
    at: Vec<(i64, i64)>,
    range: (i64, i64),
    /// The code falls with u: the thresholds are those of code(−u).
    falling: bool,
}

impl Levels {
    fn of(target: &Target, c: usize) -> Option<Levels> {
        let (lo, hi) = target.range;
        let code = |u: i64| (target.code)(c, u);
        let falling = code(lo) > code(hi);
        // Read a falling code at −u, over [−hi, −lo], where it rises.
        let (a, b) = if falling { (-hi, -lo) } else { (lo, hi) };
        let rising = |u: i64| if falling { code(-u) } else { code(u) };
        let at = (target.codes.0 + 1..=target.codes.1)
            .map(|level| {
                // The least u in [a, b + 1] with rising(u) ≥ level (b + 1: none).
                let (mut l, mut r) = (a, b + 1);
                while l < r {
                    let mid = l + (r - l) / 2;
                    if rising(mid) >= level {
                        r = mid;
                    } else {
                        l = mid + 1;
                    }
                }
                (level, l)
            })
            .collect();
        Some(Levels {
            at,
            range: (a, b),
            falling,
        })
    }

    /// (m, B) with every level reached where ⌊(m·u + B) / 2^k⌋ (or its half-even rounding)
    /// says, the least m ≥ 0 that allows one; in the channel's own direction of u.
    fn line(&self, k: u32, rounding: ShiftRounding) -> Option<(i64, i64)> {
        let (lo, hi) = self.range;
        let one = 1i128 << k;
        // Level L is reached where v = m·u + B ≥ L·2^k + o_L.
        let offset = |level: i64| -> i128 {
            match rounding {
                ShiftRounding::Floor => 0,
                // Round half to even reaches L at (L − ½)·2^k when L is even, just above it
                // when L is odd.
                ShiftRounding::HalfEven if k == 0 => 0,
                ShiftRounding::HalfEven => -(one / 2) + (level & 1) as i128,
            }
        };
        // Lower bounds on B: levels reached within the range (at T_L). Upper bounds: levels
        // not reached just below T_L (T_L − 1 in range).
        let lower: Vec<(i128, i128)> = self
            .at
            .iter()
            .filter(|&&(_, t)| t <= hi)
            .map(|&(l, t)| (l as i128 * one + offset(l), t.max(lo) as i128))
            .collect();
        let upper: Vec<(i128, i128)> = self
            .at
            .iter()
            .filter(|&&(_, t)| t > lo)
            .map(|&(l, t)| (l as i128 * one + offset(l), t as i128))
            .collect();
        // B ≥ n_i − m·t_i for lower i and B < n_j − m·(t_j − 1) for upper j: a B exists iff
        // n_i − n_j < m·(t_i − t_j + 1) for every pair, which bounds m (module `hull`).
        let (m_lo, _) = hull::multiplier_range(&lower, &upper, MAX_MUL)?;
        let m = m_lo;
        let b = match lower.iter().map(|&(n, t)| n - m * t).max() {
            Some(b) => b,
            None => upper.iter().map(|&(n, t)| n - m * (t - 1)).min()? - 1,
        };
        let b = i64::try_from(b).ok()?;
        let m = i64::try_from(m).ok()?;
        // Back to the channel's u: a falling code's line is m·(−u) + B.
        Some(if self.falling { (-m, b) } else { (m, b) })
    }
}

/// One channel's affine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Params {
    mul: i64,
    neg_mul: i64,
    pre: i64,
    bias: i64,
}

impl Params {
    /// The affine at u, saturated to a signed `bits`-wide range, as the model's `affine`
    /// computes it (docs/semantics.md).
    fn at(self, u: i64, (shift, half_even): (u32, bool), bits: u32) -> i64 {
        let t = (u + self.pre) as i128;
        let m = if t >= 0 { self.mul } else { self.neg_mul } as i128;
        let v = shift_right(m * t + self.bias as i128, shift, half_even);
        let half = 1i128 << (bits - 1);
        v.clamp(-half, half - 1) as i64
    }
}

/// For an unsigned code range: the line v = m·u + b with a kink where its result turns to 0,
/// so that the side beyond the kink, whose multiplier is 0, reads round(bias / 2^k) = 0 (the
/// saturation only clips the top). Rising: the kink is at p, the least u whose result is ≥ 0,
/// and the line is the t ≥ 0 side. Falling: p is the least u whose result is ≤ 0 and the line
/// is the t < 0 side. Without a negative result in the range, no kink. The line must read 0
/// at the kink, which a slope of more than one code per step may jump over (then `None`).
fn clamp_at_zero(m: i64, b: i64, rounding: (u32, bool), (lo, hi): (i64, i64)) -> Option<Params> {
    let plain = Params {
        mul: m,
        neg_mul: m,
        pre: 0,
        bias: b,
    };
    let y = |u: i64| shift_right(m as i128 * u as i128 + b as i128, rounding.0, rounding.1);
    if y(lo) >= 0 && y(hi) >= 0 {
        return Some(plain);
    }
    // The least u in [lo, hi + 1] where `past` holds (monotone along u).
    let least = |past: &dyn Fn(i64) -> bool| {
        let (mut l, mut r) = (lo, hi + 1);
        while l < r {
            let mid = l + (r - l) / 2;
            if past(mid) {
                r = mid;
            } else {
                l = mid + 1;
            }
        }
        l
    };
    let (p, params) = if m > 0 {
        let p = least(&|u| y(u) >= 0);
        let bias = m as i128 * p as i128 + b as i128;
        (
            bias,
            Params {
                mul: m,
                neg_mul: 0,
                pre: -p,
                bias: i64::try_from(bias).ok()?,
            },
        )
    } else {
        let p = least(&|u| y(u) <= 0);
        let bias = m as i128 * p as i128 + b as i128;
        (
            bias,
            Params {
                mul: 0,
                neg_mul: m,
                pre: -p,
                bias: i64::try_from(bias).ok()?,
            },
        )
    };
    // The constant side must read 0.
    (shift_right(p, rounding.0, rounding.1) == 0).then_some(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fits `code` over [lo, hi] and checks the fit at every u with an independent evaluation.
    fn fits(codes: (i64, i64), range: (i64, i64), ties: bool, code: &dyn Fn(i64) -> i64) -> bool {
        let target = Target {
            channels: 1,
            range,
            codes,
            ties,
            code: &|_, u| code(u),
        };
        let Some(f) = fit(&target) else {
            return false;
        };
        for u in range.0..=range.1 {
            let t = u + f.pre[0];
            let m = if t >= 0 { f.mul[0] } else { f.neg_mul[0] };
            let v = (m * t + f.bias[0]) as f64 / 2f64.powi(f.shift as i32);
            let r = match f.rounding {
                ShiftRounding::Floor => v.floor(),
                ShiftRounding::HalfEven => {
                    let fl = v.floor();
                    let frac = v - fl;
                    if frac > 0.5 || (frac == 0.5 && fl % 2.0 != 0.0) {
                        fl + 1.0
                    } else {
                        fl
                    }
                }
            };
            let lim = 2f64.powi(f.bits as i32 - 1);
            let y = r.clamp(-lim, lim - 1.0) as i64;
            assert_eq!(y, code(u), "u = {u}: {f:?}");
        }
        true
    }

    fn round_half_even(x: f64) -> f64 {
        let r = x.round();
        if (x - x.trunc()).abs() == 0.5 {
            2.0 * (x / 2.0).round()
        } else {
            r
        }
    }

    #[test]
    fn batchnorm_requantization_is_an_affine() {
        // code = clamp(round(a·u + b)), rising and falling, signed and unsigned (a and b with
        // no exact ties: those are the next test's).
        for slope in [0.3712f64, -0.3712, 0.004113, 1.5013] {
            let signed =
                |u: i64| round_half_even(slope * u as f64 - 5.2301).clamp(-128.0, 127.0) as i64;
            assert!(
                fits((-128, 127), (-600, 600), true, &signed),
                "signed, slope {slope}"
            );
            let unsigned =
                |u: i64| round_half_even(slope * u as f64 - 5.2301).clamp(0.0, 255.0) as i64;
            // Unsigned codes clamp at a kink, where the line must read 0: a slope above one
            // code per step can jump over 0 (left to the thresholds).
            let kink = slope.abs() <= 1.0;
            assert_eq!(
                fits((0, 255), (-600, 600), true, &unsigned),
                kink,
                "unsigned, slope {slope}"
            );
        }
    }

    #[test]
    fn ties_to_even_need_half_even_shifts() {
        // A sum requantized to a scale four times coarser: every fourth u is a tie.
        let code = |u: i64| round_half_even(u as f64 / 4.0).clamp(-128.0, 127.0) as i64;
        assert!(!fits((-128, 127), (-300, 300), false, &code));
        assert!(fits((-128, 127), (-300, 300), true, &code));
    }

    #[test]
    fn irregular_codes_are_refused() {
        // Monotone but not any line: steps of 1 then of 3.
        let code = |u: i64| if u < 10 { u } else { 10 + (u - 10) / 3 };
        assert!(!fits((-128, 127), (0, 60), true, &code));
        // Narrow ranges are not a saturation.
        assert!(!fits((-127, 127), (0, 10), true, &|u| u));
    }
}
