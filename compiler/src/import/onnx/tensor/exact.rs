//! Exact numeric conversions of tensor elements: 16-bit floats widened to f32, and the
//! narrowings [`super::TensorProto`]'s readers allow only when no value changes.

use half::{bf16, f16};

/// 2^63, the bound of i64 as a float (exactly representable in both f32 and f64).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
/// 2^64, the bound of u64 as a float.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// IEEE 754 binary16 bits as f32: exact, as every binary16 value is a binary32 value. A NaN
/// stays a NaN with its sign and payload, made quiet (as IEEE 754 conversions do).
pub(super) fn f16_to_f32(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// bfloat16 bits as f32: exact, bfloat16 being the top half of a binary32. NaNs as for
/// [`f16_to_f32`].
pub(super) fn bf16_to_f32(bits: u16) -> f32 {
    bf16::from_bits(bits).to_f32()
}

/// `x` as f32 if that is exact (NaN counts as exact: it stays NaN).
pub(super) fn f64_to_f32(x: f64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) == x || x.is_nan()).then_some(y)
}

/// `x` as f32 if that is exact. The round trip alone is not enough: values near i64::MAX round
/// up to 2^63, which saturates back to i64::MAX, so 2^63 itself is excluded.
pub(super) fn i64_to_f32(x: i64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) < TWO_POW_63 && y as i64 == x).then_some(y)
}

/// `x` as f32 if that is exact (2^64 excluded, as for [`i64_to_f32`]).
pub(super) fn u64_to_f32(x: u64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) < TWO_POW_64 && y as u64 == x).then_some(y)
}

/// `x` as f64 if that is exact (2^63 excluded, as for [`i64_to_f32`]).
pub(super) fn i64_to_f64(x: i64) -> Option<f64> {
    let y = x as f64;
    (y < TWO_POW_63 && y as i64 == x).then_some(y)
}

/// `x` as f64 if that is exact (2^64 excluded, as for [`i64_to_f32`]).
pub(super) fn u64_to_f64(x: u64) -> Option<f64> {
    let y = x as f64;
    (y < TWO_POW_64 && y as u64 == x).then_some(y)
}

/// `x` as i64 if it is an integer in i64's range (which excludes NaN and infinities).
pub(super) fn f64_to_i64(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&x)).then_some(x as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_specific_values() {
        let expect = [
            (0x0000, 0.0f32),
            (0x8000, -0.0),
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x03ff, 6.097_555e-5),
            (0x0400, 6.103_515_6e-5),
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ];
        for (bits, value) in expect {
            let got = f16_to_f32(bits);
            assert_eq!(got.to_bits(), value.to_bits(), "{bits:#06x}");
        }
        assert!(f16_to_f32(0x7e00).is_nan());
        assert!(f16_to_f32(0xfc01).is_nan());
    }

    /// The expected f32 bits of a NaN widened from a 16-bit float: its sign and payload kept,
    /// quiet (the top fraction bit set), as IEEE 754 conversions and numpy give.
    fn quiet_nan(sign: u32, payload_at_f32: u32) -> u32 {
        sign << 31 | 0x7fc0_0000 | payload_at_f32
    }

    #[test]
    fn float16_every_bit_pattern_matches_the_definition() {
        // binary16: value = (-1)^s × 2^(e-15) × (1 + f/1024), subnormals 2^-14 × f/1024.
        for bits in 0..=u16::MAX {
            let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
            let e = i32::from((bits >> 10) & 0x1f);
            let f = f64::from(bits & 0x3ff);
            let got = f16_to_f32(bits);
            let expected = match e {
                0 => sign * 2f64.powi(-14) * (f / 1024.0),
                31 if f == 0.0 => sign * f64::INFINITY,
                31 => {
                    let nan = quiet_nan(u32::from(bits >> 15), u32::from(bits & 0x3ff) << 13);
                    assert_eq!(got.to_bits(), nan, "{bits:#06x}");
                    continue;
                }
                _ => sign * 2f64.powi(e - 15) * (1.0 + f / 1024.0),
            };
            assert_eq!(f64::from(got).to_bits(), expected.to_bits(), "{bits:#06x}");
        }
    }

    #[test]
    fn bfloat16_every_bit_pattern_matches_the_definition() {
        // bfloat16 is the top 16 bits of a binary32, so widening is a shift, NaNs made quiet.
        for bits in 0..=u16::MAX {
            let got = bf16_to_f32(bits).to_bits();
            let wide = u32::from(bits) << 16;
            if f32::from_bits(wide).is_nan() {
                assert_eq!(
                    got,
                    quiet_nan(wide >> 31, wide & 0x007f_ffff),
                    "{bits:#06x}"
                );
            } else {
                assert_eq!(got, wide, "{bits:#06x}");
            }
        }
    }
}
