//! Tensors as the model file stores them: a dtype, a shape and base64-encoded little-endian data.
//!
//! Binary tensors are packed 8 bits per byte, LSB first, row-major, with zero padding bits in the
//! last byte (NumPy: `np.packbits(bits.ravel(), bitorder="little")`).

use crate::bits::BitVec;
use crate::error::{ModelError, Result};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Element type of a stored tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// One bit per element, packed LSB first.
    Bits,
    /// Unsigned 8-bit integers.
    Uint8,
    /// Signed 8-bit integers.
    Int8,
    /// Signed 32-bit little-endian integers.
    Int32,
    /// Signed 64-bit little-endian integers.
    Int64,
    /// IEEE 754 binary32, little endian.
    Float32,
    /// IEEE 754 binary64, little endian.
    Float64,
}

impl DType {
    /// The name used in model files.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bits => "bits",
            DType::Uint8 => "uint8",
            DType::Int8 => "int8",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
        }
    }

    fn byte_len(self, numel: usize) -> Option<usize> {
        match self {
            DType::Bits => Some(numel.div_ceil(8)),
            DType::Uint8 | DType::Int8 => Some(numel),
            DType::Int32 | DType::Float32 => numel.checked_mul(4),
            DType::Int64 | DType::Float64 => numel.checked_mul(8),
        }
    }
}

/// A tensor as stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorDef {
    /// Element type.
    pub dtype: DType,
    /// Dimensions, row-major.
    pub shape: Vec<usize>,
    /// Base64 (standard alphabet, padded) of the packed little-endian data.
    pub data: String,
}

/// Largest tensor we accept, in elements: far above any BNN layer, low enough that a hostile
/// shape cannot make us allocate without bound before the data length check catches it.
const MAX_ELEMENTS: usize = 1 << 34;

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl TensorDef {
    /// Number of elements, or an error if the shape is empty of dimensions or overflows.
    pub fn numel(&self) -> Result<usize> {
        let mut n: usize = 1;
        for &d in &self.shape {
            n = n
                .checked_mul(d)
                .filter(|&n| n <= MAX_ELEMENTS)
                .ok_or_else(|| {
                    ModelError::new(format!("shape {:?} is too large", self.shape))
                        .at_field("shape")
                })?;
        }
        Ok(n)
    }

    /// Checks that the shape equals `expected`.
    pub fn expect_shape(&self, expected: &[usize]) -> Result<()> {
        if self.shape != expected {
            return Err(ModelError::new(format!(
                "expected shape {:?}, found {:?}",
                expected, self.shape
            ))
            .at_field("shape"));
        }
        Ok(())
    }

    fn expect_dtype(&self, allowed: &[DType]) -> Result<()> {
        if !allowed.contains(&self.dtype) {
            let names: Vec<&str> = allowed.iter().map(|d| d.name()).collect();
            return Err(ModelError::new(format!(
                "dtype {} is not allowed here; expected {}",
                self.dtype.name(),
                names.join(" or ")
            ))
            .at_field("dtype"));
        }
        Ok(())
    }

    /// Decodes the base64 data and checks its length against dtype and shape.
    fn raw_bytes(&self) -> Result<Vec<u8>> {
        let numel = self.numel()?;
        let expected = self.dtype.byte_len(numel).ok_or_else(|| {
            ModelError::new(format!("shape {:?} is too large", self.shape)).at_field("shape")
        })?;
        // Compare the encoded length first so that a huge bogus string is rejected cheaply.
        let encoded_expected = expected.div_ceil(3) * 4;
        if self.data.len() != encoded_expected {
            let got = self.data.len() / 4 * 3;
            return Err(ModelError::new(format!(
                "{} data holds about {} bytes but shape {:?} of {} needs {} bytes",
                self.dtype.name(),
                got,
                self.shape,
                self.dtype.name(),
                expected
            ))
            .at_field("data")
            .with_hint("data is base64 of the packed little-endian values, row-major"));
        }
        let bytes = b64()
            .decode(self.data.as_bytes())
            .map_err(|e| ModelError::new(format!("invalid base64: {e}")).at_field("data"))?;
        if bytes.len() != expected {
            return Err(ModelError::new(format!(
                "data holds {} bytes but shape {:?} of {} needs {} bytes",
                bytes.len(),
                self.shape,
                self.dtype.name(),
                expected
            ))
            .at_field("data"));
        }
        Ok(bytes)
    }

    /// Decodes a `bits` tensor.
    pub fn to_bits(&self) -> Result<BitVec> {
        self.expect_dtype(&[DType::Bits])?;
        let numel = self.numel()?;
        let bytes = self.raw_bytes()?;
        BitVec::from_packed_bytes(numel, &bytes).ok_or_else(|| {
            ModelError::new(format!(
                "padding bits after the {numel} bits of data must be zero"
            ))
            .at_field("data")
            .with_hint("pack with np.packbits(bits, bitorder=\"little\")")
        })
    }

    /// Decodes an integer tensor (any integer dtype) to `i64`.
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        self.expect_dtype(&[DType::Uint8, DType::Int8, DType::Int32, DType::Int64])?;
        let bytes = self.raw_bytes()?;
        Ok(match self.dtype {
            DType::Uint8 => bytes.iter().map(|&b| b as i64).collect(),
            DType::Int8 => bytes.iter().map(|&b| b as i8 as i64).collect(),
            DType::Int32 => bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64)
                .collect(),
            _ => bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        })
    }

    /// Decodes a float tensor (float32 or float64) to `f64`, rejecting NaN and infinities.
    pub fn to_f64(&self) -> Result<Vec<f64>> {
        self.expect_dtype(&[DType::Float32, DType::Float64])?;
        let bytes = self.raw_bytes()?;
        let values: Vec<f64> = match self.dtype {
            DType::Float32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")) as f64)
                .collect(),
            _ => bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        };
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(
                ModelError::new(format!("element {i} is {v}; parameters must be finite"))
                    .at_field("data"),
            );
        }
        Ok(values)
    }

    /// Encodes packed bits.
    pub fn from_bits(shape: Vec<usize>, bits: &BitVec) -> Self {
        TensorDef {
            dtype: DType::Bits,
            shape,
            data: b64().encode(bits.to_packed_bytes()),
        }
    }

    /// Encodes `i64` values.
    pub fn from_i64(shape: Vec<usize>, values: &[i64]) -> Self {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorDef {
            dtype: DType::Int64,
            shape,
            data: b64().encode(bytes),
        }
    }

    /// Encodes `i8` values (integer weights) one byte each.
    pub fn from_i8(shape: Vec<usize>, values: &[i8]) -> Self {
        let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        TensorDef {
            dtype: DType::Int8,
            shape,
            data: b64().encode(bytes),
        }
    }

    /// Encodes `f32` values (an imported graph's parameters, kept in their own precision).
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Self {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorDef {
            dtype: DType::Float32,
            shape,
            data: b64().encode(bytes),
        }
    }

    /// Encodes `f64` values.
    pub fn from_f64(shape: Vec<usize>, values: &[f64]) -> Self {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        TensorDef {
            dtype: DType::Float64,
            shape,
            data: b64().encode(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let t = TensorDef::from_i64(vec![3], &[-5, 0, i64::MAX]);
        assert_eq!(t.to_i64().unwrap(), vec![-5, 0, i64::MAX]);
        let f = TensorDef::from_f64(vec![2], &[0.1, -3e-300]);
        assert_eq!(f.to_f64().unwrap(), vec![0.1, -3e-300]);
        let b = BitVec::from_bools(&[true, false, true]);
        assert_eq!(TensorDef::from_bits(vec![3], &b).to_bits().unwrap(), b);
    }

    #[test]
    fn decodes_numpy_style_little_endian() {
        // int32 [1, -2] little endian, float32 [1.5]
        let t = TensorDef {
            dtype: DType::Int32,
            shape: vec![2],
            data: b64().encode([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]),
        };
        assert_eq!(t.to_i64().unwrap(), vec![1, -2]);
        let f = TensorDef {
            dtype: DType::Float32,
            shape: vec![1],
            data: b64().encode(1.5f32.to_le_bytes()),
        };
        assert_eq!(f.to_f64().unwrap(), vec![1.5]);
    }

    #[test]
    fn rejects_non_finite_and_bad_lengths() {
        let nan = TensorDef::from_f64(vec![1], &[f64::NAN]);
        assert!(nan.to_f64().unwrap_err().message.contains("NaN"));
        let mut short = TensorDef::from_i64(vec![2], &[1, 2]);
        short.shape = vec![3];
        assert!(short.to_i64().is_err());
        let huge = TensorDef {
            dtype: DType::Bits,
            shape: vec![usize::MAX, 2],
            data: String::new(),
        };
        assert!(huge.to_bits().is_err());
    }
}
