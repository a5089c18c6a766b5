//! Binary weights from an ONNX float tensor, and the check that the float32 matrix product the
//! graph computes is exactly a multiple of the integer accumulator xnorc computes.
//!
//! An ONNX `MatMul`/`Conv` sums float32 products in an order the runtime picks. xnorc replaces it
//! with the integer S = Σ w·u and one float32 scale c per output channel (y = c·S). That is the
//! graph's own result, not an approximation, only when every partial sum in any order is
//! exact: each product is ±c·u and every partial sum is m·c with |m| ≤ K·max|u|, so all of them
//! are exact when c has few enough significant bits. Brevitas' binary weights (scale 1) and
//! power-of-two activation scales always pass; anything else is rejected with the reason.

use crate::bits::BitVec;
use crate::error::{ModelError, Result};
use crate::format::WeightValues;

/// A weight tensor split into integer codes and one float32 scale per output channel:
/// w = α_o·(2b − 1) (`Pm1`), w = α_o·b (`ZeroOne`) or w = α_o·q with q an int8 code (`Int`).
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    /// Meaning of the codes.
    pub values: WeightValues,
    /// Row-major bits, `rows × per_row` (empty for `Int`).
    pub bits: BitVec,
    /// Row-major int8 codes, `rows × per_row` (only for `Int`).
    pub ints: Vec<i8>,
    /// α per row (output channel).
    pub alpha: Vec<f32>,
}

impl LayerWeights {
    /// Binary weights.
    pub fn binary(values: WeightValues, bits: BitVec, alpha: Vec<f32>) -> LayerWeights {
        LayerWeights {
            values,
            bits,
            ints: Vec::new(),
            alpha,
        }
    }

    /// The integer value of weight `i` (row-major): ±1, 0/1 or the int8 code.
    pub fn code(&self, i: usize) -> i64 {
        match self.values {
            WeightValues::Pm1 => 2 * self.bits.get(i) as i64 - 1,
            WeightValues::ZeroOne => self.bits.get(i) as i64,
            WeightValues::Int => self.ints[i] as i64,
        }
    }

    /// The largest magnitude of a code.
    pub fn max_code(&self) -> i64 {
        match self.values {
            WeightValues::Int => self
                .ints
                .iter()
                .map(|&q| (q as i64).abs())
                .max()
                .unwrap_or(0),
            _ => 1,
        }
    }
}

/// Splits `w` (`rows` rows of `per_row` float32 weights, one row per output channel) into codes
/// and per-row scales: ±α in every row (±1 weights), else {0, α} in every row ({0, 1} weights),
/// else α·q with α a power of two and q in [−128, 127] (the int8 weights of a stem, a
/// projection shortcut or a head, quantized with a power-of-two scale).
pub fn split(w: &[f32], rows: usize, per_row: usize) -> Result<LayerWeights> {
    if let Some(alpha) = (0..rows)
        .map(|o| pm1_scale(&w[o * per_row..(o + 1) * per_row]))
        .collect::<Option<Vec<f32>>>()
    {
        let bits = BitVec::from_bools(&w.iter().map(|&v| v > 0.0).collect::<Vec<_>>());
        return Ok(LayerWeights::binary(WeightValues::Pm1, bits, alpha));
    }
    if let Some(alpha) = (0..rows)
        .map(|o| zero_one_scale(&w[o * per_row..(o + 1) * per_row]))
        .collect::<Option<Vec<f32>>>()
    {
        let bits = BitVec::from_bools(&w.iter().map(|&v| v != 0.0).collect::<Vec<_>>());
        return Ok(LayerWeights::binary(WeightValues::ZeroOne, bits, alpha));
    }
    if let Some(alpha) = (0..rows)
        .map(|o| int8_scale(&w[o * per_row..(o + 1) * per_row]))
        .collect::<Option<Vec<f32>>>()
    {
        let ints = w
            .iter()
            .enumerate()
            .map(|(i, &v)| (v / alpha[i / per_row.max(1)]) as i8)
            .collect();
        return Ok(LayerWeights {
            values: WeightValues::Int,
            bits: BitVec::zeros(0),
            ints,
            alpha,
        });
    }
    let row = (0..rows)
        .find(|&o| {
            let r = &w[o * per_row..(o + 1) * per_row];
            pm1_scale(r).is_none() && zero_one_scale(r).is_none()
        })
        .unwrap_or(0);
    let mut distinct: Vec<f32> = Vec::new();
    for &v in &w[row * per_row..(row + 1) * per_row] {
        if !distinct.contains(&v) && distinct.len() < 5 {
            distinct.push(v);
        }
    }
    Err(ModelError::new(format!(
        "the weights are neither binary nor int8: output channel {row} holds {distinct:?}…; \
         xnorc takes ±α or {{0, α}} per output channel (a 1-bit BipolarQuant/Quant), or int8 \
         codes times a power-of-two scale (an up to 8-bit Quant with a power-of-two scale, \
         Brevitas' Int8WeightPerTensorFixedPoint)"
    )))
}

/// α, a power of two, when every value of the row is α·q with q an integer in [−128, 127]:
/// the largest power of two that divides every value (an all-zero row takes α = 1).
fn int8_scale(row: &[f32]) -> Option<f32> {
    let lowest = row
        .iter()
        .filter(|v| **v != 0.0)
        .map(|&v| lowest_bit_exponent(v))
        .min();
    let Some(e) = lowest else {
        return Some(1.0);
    };
    let alpha = 2f64.powi(e);
    let alpha32 = alpha as f32;
    (alpha32 as f64 == alpha
        && alpha32 > 0.0
        && row
            .iter()
            .all(|&v| (-128.0..=127.0).contains(&(v as f64 / alpha))))
    .then_some(alpha32)
}

/// The exponent of x's lowest set bit: x = M·2^e with M odd (x finite and non-zero).
fn lowest_bit_exponent(x: f32) -> i32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    let (m, e) = if exponent == 0 {
        (mantissa, -149)
    } else {
        (mantissa | 0x80_0000, exponent - 150)
    };
    e + m.trailing_zeros() as i32
}

/// α when every value of the row is +α or −α (α > 0).
fn pm1_scale(row: &[f32]) -> Option<f32> {
    let a = row.first()?.abs();
    (a > 0.0 && a.is_finite() && row.iter().all(|v| v.abs() == a)).then_some(a)
}

/// α when every value of the row is 0 or α (α of either sign; an all-zero row takes α = 1).
fn zero_one_scale(row: &[f32]) -> Option<f32> {
    let a = row.iter().copied().find(|&v| v != 0.0).unwrap_or(1.0);
    (a.is_finite() && row.iter().all(|&v| v == 0.0 || v == a)).then_some(a)
}

/// Significant bits of a finite float32 (the odd integer M of x = M·2^e has this many bits).
fn significant_bits(x: f32) -> u32 {
    if x == 0.0 {
        return 0;
    }
    let bits = x.to_bits();
    let exponent = (bits >> 23) & 0xff;
    let mantissa = bits & 0x7f_ffff;
    let m = if exponent == 0 {
        mantissa
    } else {
        mantissa | 0x80_0000
    };
    32 - m.leading_zeros() - m.trailing_zeros()
}

/// Bits of a non-negative integer.
fn bit_length(m: u64) -> u32 {
    64 - m.leading_zeros()
}

/// c = α·s exactly as a float32 value, if it is one (α·s of two float32 values is exact in f64).
pub fn exact_product(alpha: f32, s: f32) -> Option<f32> {
    let p = alpha as f64 * s as f64;
    let f = p as f32;
    (f as f64 == p && f.is_finite()).then_some(f)
}

/// Whether every m·c with |m| ≤ `max_multiple` is a float32 value, so that any float32 sum of
/// terms ±c·u (|Σ|u|| ≤ `max_multiple`) is exact whatever the order.
pub fn multiples_exact(c: f32, max_multiple: u64) -> bool {
    if c == 0.0 {
        return true;
    }
    significant_bits(c) + bit_length(max_multiple) <= 24
        && (max_multiple as f64) * (c.abs() as f64) <= f32::MAX as f64
}

/// Whether `bias + m·c` is a float32 value for every |m| ≤ `max_multiple`, i.e. whether a bias
/// folded into the sum at any point keeps every partial sum exact: both lie on the grid of the
/// finer one's lowest bit, and the largest sum fits 24 bits of that grid.
pub fn biased_multiples_exact(c: f32, bias: f32, max_multiple: u64) -> bool {
    if bias == 0.0 {
        return multiples_exact(c, max_multiple);
    }
    let lowest = lowest_bit_exponent;
    let grid = if c == 0.0 {
        lowest(bias)
    } else {
        lowest(c).min(lowest(bias))
    };
    let scale = |x: f32| x.abs() as f64 / 2f64.powi(grid);
    let largest = scale(bias) + max_multiple as f64 * scale(c);
    largest < (1u64 << 24) as f64 && largest * 2f64.powi(grid) <= f32::MAX as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_pm1_zero_one_and_int8_rows() {
        let w = split(&[1.0, -1.0, 0.5, 0.5], 2, 2).unwrap();
        assert_eq!(w.values, WeightValues::Pm1);
        assert_eq!(w.alpha, [1.0, 0.5]);
        assert_eq!(w.bits, BitVec::from_bools(&[true, false, true, true]));
        let z = split(&[0.0, 2.0, 0.0, 0.0, -3.0, -3.0], 3, 2).unwrap();
        assert_eq!(z.values, WeightValues::ZeroOne);
        assert_eq!(z.alpha, [2.0, 1.0, -3.0]);
        // Multiples of a power of two are int8 codes, per row: 0.5·[2, 1] and 2^−3·[−8, 3].
        let q = split(&[1.0, 0.5, -1.0, 0.375], 2, 2).unwrap();
        assert_eq!(q.values, WeightValues::Int);
        assert_eq!(q.alpha, [0.5, 0.125]);
        assert_eq!(q.ints, [2, 1, -8, 3]);
        assert_eq!((0..4).map(|i| q.code(i)).collect::<Vec<_>>(), [2, 1, -8, 3]);
        // 0.3 is no multiple of a power of two within int8; 1 and 2^−8 would need code 256.
        for w in [[1.0, 0.3], [1.0, 1.0 / 256.0]] {
            let err = split(&w, 1, 2).unwrap_err();
            assert!(err.message.contains("neither binary nor int8"), "{err}");
        }
    }

    #[test]
    fn exactness_counts_significant_bits() {
        // 1.0 has 1 significant bit: 2^23 multiples fit, 2^24 + 1 does not.
        assert!(multiples_exact(1.0, (1 << 23) - 1));
        assert!(!multiples_exact(1.0, 1 << 24));
        // 0.1f32 has 24 significant bits: even m = 3 can round.
        assert!(!multiples_exact(0.1, 3));
        // 2^-7 (Q1.7 input scale) with 8-bit codes on a 27-tap conv: 27·128 < 2^12.
        assert!(multiples_exact(1.0 / 128.0, 27 * 128));
        // A bias of 0.5 with c = 1: 0.5 + m is exact up to 2^23 − 1.
        assert!(biased_multiples_exact(1.0, 0.5, 1000));
        assert!(!biased_multiples_exact(1.0, 0.5, 1 << 23));
        assert_eq!(exact_product(0.5, 3.0), Some(1.5));
        assert_eq!(exact_product(0.1, 0.1), None);
    }
}
