//! The residual stream's integer ops: `add`, `affine` and `sumpool` (docs/semantics.md, "The
//! residual stream"). Each op's arithmetic lives here once, in exact integers, for the
//! simulator and for the range derivation; the naive evaluator of the tests is written apart.

/// The range of a signed `bits`-wide register: [−2^(bits−1), 2^(bits−1) − 1].
pub fn signed_range(bits: u32) -> (i64, i64) {
    (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
}

/// `v` clamped to a signed `bits`-wide register, or `v` itself without saturation.
fn saturate(v: i64, bits: Option<u32>) -> i64 {
    match bits {
        Some(b) => {
            let (lo, hi) = signed_range(b);
            v.clamp(lo, hi)
        }
        None => v,
    }
}

/// y = sat((a << shift[0]) + (b << shift[1])).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Add {
    /// Left shift of each operand.
    pub shift: [u32; 2],
    /// Signed width the sum saturates to, if any.
    pub saturate: Option<u32>,
}

impl Add {
    /// The output for operands `a` and `b` (validation keeps every sum of the operands' ranges
    /// within 62 bits).
    pub fn apply(&self, a: i64, b: i64) -> i64 {
        saturate((a << self.shift[0]) + (b << self.shift[1]), self.saturate)
    }
}

/// Per channel c: t = x + pre[c]; u = (t ≥ 0 ? mul[c] : neg_mul[c])·t + bias[c];
/// y = sat(⌊u / 2^shift⌋), or sat(round_half_even(u / 2^shift)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Affine {
    /// Multiplier where t ≥ 0, per channel.
    pub mul: Vec<i64>,
    /// Multiplier where t < 0, per channel.
    pub neg_mul: Vec<i64>,
    /// Added to x before the multiply, per channel.
    pub pre: Vec<i64>,
    /// Added after the multiply, per channel.
    pub bias: Vec<i64>,
    /// Arithmetic right shift.
    pub shift: u32,
    /// Round u / 2^shift to the nearest, ties to even, instead of down.
    pub round_half_even: bool,
    /// Signed width the result saturates to, if any.
    pub saturate: Option<u32>,
}

/// u / 2^shift rounded down, or to the nearest with ties to even.
pub fn shift_right(u: i128, shift: u32, half_even: bool) -> i128 {
    // `>>` on a signed integer is arithmetic: the floor.
    let q = u >> shift;
    if !half_even || shift == 0 {
        return q;
    }
    let rem = u - (q << shift);
    let half = 1i128 << (shift - 1);
    if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    }
}

impl Affine {
    /// u = (t ≥ 0 ? mul : neg_mul)·t + bias with t = x + pre, before shift and saturation
    /// (validation keeps it within 62 bits over the input's range).
    pub fn product(&self, c: usize, x: i64) -> i64 {
        let t = x + self.pre[c];
        let m = if t >= 0 { self.mul[c] } else { self.neg_mul[c] };
        m * t + self.bias[c]
    }

    /// Channel `c`'s output for input `x`.
    pub fn apply(&self, c: usize, x: i64) -> i64 {
        let y = shift_right(self.product(c, x) as i128, self.shift, self.round_half_even);
        saturate(y as i64, self.saturate)
    }

    /// True when the multipliers differ by the sign of t (PReLU, ReLU), not a plain affine.
    pub fn is_piecewise(&self) -> bool {
        self.mul != self.neg_mul
    }
}

/// The windows of a `sumpool`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumPool {
    /// A square `kernel` window moved by `stride`.
    Window {
        /// Window size.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// The whole map, per channel.
    Global,
}
