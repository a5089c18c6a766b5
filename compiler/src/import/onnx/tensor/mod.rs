//! A [`TensorProto`]'s elements, whichever of its storage variants holds them.
//!
//! ONNX stores a tensor's elements either as little-endian `raw_data` or in the typed repeated
//! field of its data type (`float_data`, `int32_data`, ...; narrow integers, BOOL, FLOAT16 and
//! BFLOAT16 bit patterns all go in `int32_data`). [`TensorProto::to_f32`], [`TensorProto::to_f64`]
//! and [`TensorProto::to_i64`] read either, check the element count against the shape, and
//! convert only where the conversion is exact. Data kept outside the message (external files,
//! segments) and data types xnorc does not compute with are refused by name.

use super::tensor_proto::{DataLocation, DataType};
use super::{data_type_name, TensorProto};
use crate::error::{ModelError, Result};
use half::{bf16, f16};

/// The repeated field that holds a data type's elements when `raw_data` is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypedField {
    Float,
    Int32,
    Int64,
    Double,
    Uint64,
}

impl TypedField {
    const ALL: [TypedField; 5] = [
        TypedField::Float,
        TypedField::Int32,
        TypedField::Int64,
        TypedField::Double,
        TypedField::Uint64,
    ];

    fn name(self) -> &'static str {
        match self {
            TypedField::Float => "float_data",
            TypedField::Int32 => "int32_data",
            TypedField::Int64 => "int64_data",
            TypedField::Double => "double_data",
            TypedField::Uint64 => "uint64_data",
        }
    }
}

/// A tensor's elements widened to the family's widest type, which holds every value of the
/// supported data types exactly (FLOAT16 and BFLOAT16 widen to f32 exactly, every integer of 32
/// bits or less fits i64).
enum Elements {
    Float(Vec<f32>),
    Double(Vec<f64>),
    Int(Vec<i64>),
    UInt(Vec<u64>),
}

/// 2^63, the bound of i64 as a float (exactly representable in both f32 and f64).
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
/// 2^64, the bound of u64 as a float.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

impl TensorProto {
    /// The number of elements the shape describes (1 for a scalar).
    pub fn numel(&self) -> Result<usize> {
        self.dims.iter().try_fold(1usize, |count, &dim| {
            let dim = usize::try_from(dim)
                .map_err(|_| self.error(&format!("negative dimension {dim} in {:?}", self.dims)))?;
            count
                .checked_mul(dim)
                .ok_or_else(|| self.error(&format!("shape {:?} has too many elements", self.dims)))
        })
    }

    /// The elements as f32, in row-major order. Fails if a value (DOUBLE, a wide integer) is not
    /// exactly representable as f32, rather than rounding it silently.
    pub fn to_f32(&self) -> Result<Vec<f32>> {
        match self.elements()? {
            Elements::Float(v) => Ok(v),
            Elements::Double(v) => self.convert(&v, "f32", f64_to_f32),
            Elements::Int(v) => self.convert(&v, "f32", i64_to_f32),
            Elements::UInt(v) => self.convert(&v, "f32", u64_to_f32),
        }
    }

    /// The elements as f64, in row-major order. Fails if a 64-bit integer is beyond 2^53 and not
    /// exactly representable.
    pub fn to_f64(&self) -> Result<Vec<f64>> {
        match self.elements()? {
            Elements::Float(v) => Ok(v.into_iter().map(f64::from).collect()),
            Elements::Double(v) => Ok(v),
            Elements::Int(v) => self.convert(&v, "f64", i64_to_f64),
            Elements::UInt(v) => self.convert(&v, "f64", u64_to_f64),
        }
    }

    /// The elements as i64, in row-major order. Float data is accepted only if every value is an
    /// exact integer within i64's range; UINT64 values above i64::MAX fail.
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        match self.elements()? {
            Elements::Float(v) => self.convert(&v, "i64", |x| f64_to_i64(f64::from(x))),
            Elements::Double(v) => self.convert(&v, "i64", f64_to_i64),
            Elements::Int(v) => Ok(v),
            Elements::UInt(v) => self.convert(&v, "i64", |x| i64::try_from(x).ok()),
        }
    }

    /// Whether the data type is a floating-point one whose elements [`TensorProto::to_f32`]
    /// reads (FLOAT, FLOAT16, BFLOAT16, DOUBLE), as opposed to integers and BOOL.
    pub fn is_float(&self) -> bool {
        matches!(
            DataType::try_from(self.data_type()),
            Ok(DataType::Float | DataType::Float16 | DataType::Bfloat16 | DataType::Double)
        )
    }

    /// An error about this tensor, naming it.
    fn error(&self, what: &str) -> ModelError {
        let name = match self.name() {
            "" => "unnamed tensor".to_owned(),
            // Debug formatting escapes control characters from the untrusted name.
            name => format!("tensor {name:?}"),
        };
        ModelError::new(format!("{name}: {what}"))
    }

    /// The data type's name, for messages.
    fn type_name(&self) -> &'static str {
        data_type_name(self.data_type())
    }

    /// Converts every element with `exact`, failing at the first one it cannot convert exactly.
    fn convert<T: Copy + std::fmt::Display, U>(
        &self,
        values: &[T],
        target: &str,
        exact: impl Fn(T) -> Option<U>,
    ) -> Result<Vec<U>> {
        values
            .iter()
            .enumerate()
            .map(|(index, &v)| {
                exact(v).ok_or_else(|| {
                    self.error(&format!(
                        "element {index} ({} value {v}) is not exactly representable as {target}",
                        self.type_name()
                    ))
                })
            })
            .collect()
    }

    /// The data type, its bytes per element in `raw_data` and its typed field, after refusing
    /// what this reader cannot read (external or segmented data, other data types).
    fn storage(&self) -> Result<(DataType, usize, TypedField)> {
        self.check_location()?;
        let unsupported = || {
            self.error(&format!(
                "has data type {} ({}), which this reader does not support",
                self.type_name(),
                self.data_type()
            ))
        };
        let data_type = DataType::try_from(self.data_type()).map_err(|_| unsupported())?;
        let (width, field) = match data_type {
            DataType::Float => (4, TypedField::Float),
            DataType::Uint8 | DataType::Int8 | DataType::Bool => (1, TypedField::Int32),
            DataType::Uint16 | DataType::Int16 | DataType::Float16 | DataType::Bfloat16 => {
                (2, TypedField::Int32)
            }
            DataType::Int32 => (4, TypedField::Int32),
            DataType::Int64 => (8, TypedField::Int64),
            DataType::Double => (8, TypedField::Double),
            DataType::Uint32 => (4, TypedField::Uint64),
            DataType::Uint64 => (8, TypedField::Uint64),
            DataType::Undefined => return Err(self.error("has no data type (UNDEFINED)")),
            DataType::String => {
                return Err(self.error("is a STRING tensor; only numeric tensors can be read"))
            }
            _ => return Err(unsupported()),
        };
        Ok((data_type, width, field))
    }

    /// Refuses data that is not wholly inside this message.
    fn check_location(&self) -> Result<()> {
        // The raw value, not the enum getter, which would read an unknown location as DEFAULT.
        let location = self.data_location.unwrap_or(DataLocation::Default as i32);
        if location == DataLocation::External as i32 {
            let file = self
                .external_data
                .iter()
                .find(|entry| entry.key() == "location")
                .map_or_else(
                    || "no location given".to_owned(),
                    |e| format!("{:?}", e.value()),
                );
            return Err(self.error(&format!(
                "keeps its data in an external file ({file}), which is not supported; save \
                 the model with its data inside (onnx.save_model(..., \
                 save_as_external_data=False))"
            )));
        }
        if location != DataLocation::Default as i32 {
            return Err(self.error(&format!("unknown data_location {location}")));
        }
        if self.segment.is_some() {
            return Err(self.error("is one segment of a larger tensor, which is not supported"));
        }
        Ok(())
    }

    /// How many values a typed field holds.
    fn typed_len(&self, field: TypedField) -> usize {
        match field {
            TypedField::Float => self.float_data.len(),
            TypedField::Int32 => self.int32_data.len(),
            TypedField::Int64 => self.int64_data.len(),
            TypedField::Double => self.double_data.len(),
            TypedField::Uint64 => self.uint64_data.len(),
        }
    }

    /// The elements, checked against the shape, from whichever field holds them.
    fn elements(&self) -> Result<Elements> {
        let (data_type, width, expected) = self.storage()?;
        let numel = self.numel()?;
        let mut typed = TypedField::ALL
            .into_iter()
            .filter(|&f| self.typed_len(f) > 0);
        match &self.raw_data {
            Some(raw) => {
                if let Some(field) = typed.next() {
                    return Err(self.error(&format!(
                        "has both raw_data and {}; only one may hold the data",
                        field.name()
                    )));
                }
                self.check_raw_len(raw.len(), width, numel)?;
                self.decode_raw(data_type, raw)
            }
            None => {
                if let Some(field) = typed.find(|&f| f != expected) {
                    return Err(self.error(&format!(
                        "has {} set, but {} data belongs in {} or raw_data",
                        field.name(),
                        self.type_name(),
                        expected.name()
                    )));
                }
                // Counted before decoding, so a huge shape with little data is refused without
                // allocating for the shape.
                self.check_count(self.typed_len(expected), numel)?;
                self.decode_typed(data_type)
            }
        }
    }

    fn check_raw_len(&self, len: usize, width: usize, numel: usize) -> Result<()> {
        if !len.is_multiple_of(width) {
            return Err(self.error(&format!(
                "raw_data has {len} bytes, not a whole number of {width}-byte {} elements",
                self.type_name()
            )));
        }
        self.check_count(len / width, numel)
    }

    fn check_count(&self, count: usize, numel: usize) -> Result<()> {
        if count != numel {
            return Err(self.error(&format!(
                "holds {count} elements, but its shape {:?} needs {numel}",
                self.dims
            )));
        }
        Ok(())
    }

    /// Decodes little-endian fixed-width `raw_data`; its length has been checked.
    fn decode_raw(&self, data_type: DataType, raw: &[u8]) -> Result<Elements> {
        let int = |values: Vec<i64>| Ok(Elements::Int(values));
        match data_type {
            DataType::Float => Ok(Elements::Float(le(raw).map(f32::from_le_bytes).collect())),
            DataType::Float16 => Ok(Elements::Float(
                le(raw).map(|w| f16_to_f32(u16::from_le_bytes(w))).collect(),
            )),
            DataType::Bfloat16 => Ok(Elements::Float(
                le(raw)
                    .map(|w| bf16_to_f32(u16::from_le_bytes(w)))
                    .collect(),
            )),
            DataType::Double => Ok(Elements::Double(le(raw).map(f64::from_le_bytes).collect())),
            DataType::Uint8 => int(raw.iter().map(|&b| i64::from(b)).collect()),
            DataType::Int8 => int(le(raw).map(|w| i64::from(i8::from_le_bytes(w))).collect()),
            DataType::Bool => self.bools(raw),
            DataType::Uint16 => int(le(raw).map(|w| i64::from(u16::from_le_bytes(w))).collect()),
            DataType::Int16 => int(le(raw).map(|w| i64::from(i16::from_le_bytes(w))).collect()),
            DataType::Int32 => int(le(raw).map(|w| i64::from(i32::from_le_bytes(w))).collect()),
            DataType::Uint32 => int(le(raw).map(|w| i64::from(u32::from_le_bytes(w))).collect()),
            DataType::Int64 => int(le(raw).map(i64::from_le_bytes).collect()),
            DataType::Uint64 => Ok(Elements::UInt(le(raw).map(u64::from_le_bytes).collect())),
            _ => Err(self.error("has an unsupported data type")),
        }
    }

    /// BOOL raw data is one byte an element, and the spec allows only 0 and 1.
    fn bools(&self, raw: &[u8]) -> Result<Elements> {
        match raw.iter().position(|&b| b > 1) {
            Some(index) => Err(self.error(&format!(
                "raw_data byte {index} is {}, but BOOL elements must be 0 or 1",
                raw.get(index).copied().unwrap_or_default()
            ))),
            None => Ok(Elements::Int(raw.iter().map(|&b| i64::from(b)).collect())),
        }
    }

    /// Decodes the typed field of this data type; its length has been checked.
    fn decode_typed(&self, data_type: DataType) -> Result<Elements> {
        // A 16-bit float's bit pattern from `int32_data`, where ONNX keeps it in the low 16 bits.
        let half_bits = |widen: fn(u16) -> f32| -> Result<Elements> {
            let bits = self.int32s_in(0, i64::from(u16::MAX))?;
            // In 0..=65535 after the check, so the cast keeps every bit.
            Ok(Elements::Float(
                bits.into_iter().map(|b| widen(b as u16)).collect(),
            ))
        };
        match data_type {
            DataType::Float => Ok(Elements::Float(self.float_data.clone())),
            DataType::Double => Ok(Elements::Double(self.double_data.clone())),
            DataType::Int64 => Ok(Elements::Int(self.int64_data.clone())),
            DataType::Uint64 => Ok(Elements::UInt(self.uint64_data.clone())),
            DataType::Uint32 => self.uint32s().map(Elements::Int),
            DataType::Float16 => half_bits(f16_to_f32),
            DataType::Bfloat16 => half_bits(bf16_to_f32),
            DataType::Uint8 => self.int32s_in(0, 255).map(Elements::Int),
            DataType::Int8 => self.int32s_in(-128, 127).map(Elements::Int),
            DataType::Bool => self.int32s_in(0, 1).map(Elements::Int),
            DataType::Uint16 => self.int32s_in(0, i64::from(u16::MAX)).map(Elements::Int),
            DataType::Int16 => self
                .int32s_in(i64::from(i16::MIN), i64::from(i16::MAX))
                .map(Elements::Int),
            DataType::Int32 => Ok(Elements::Int(
                self.int32_data.iter().map(|&v| i64::from(v)).collect(),
            )),
            _ => Err(self.error("has an unsupported data type")),
        }
    }

    /// `int32_data` widened, refusing values outside the narrower type's range rather than
    /// wrapping them.
    fn int32s_in(&self, min: i64, max: i64) -> Result<Vec<i64>> {
        self.int32_data
            .iter()
            .enumerate()
            .map(|(index, &v)| {
                let v = i64::from(v);
                if (min..=max).contains(&v) {
                    Ok(v)
                } else {
                    Err(self.error(&format!(
                        "int32_data[{index}] = {v} is out of range for {}",
                        self.type_name()
                    )))
                }
            })
            .collect()
    }

    /// `uint64_data` of a UINT32 tensor, refusing values above u32::MAX.
    fn uint32s(&self) -> Result<Vec<i64>> {
        self.uint64_data
            .iter()
            .enumerate()
            .map(|(index, &v)| {
                u32::try_from(v).map(i64::from).map_err(|_| {
                    self.error(&format!(
                        "uint64_data[{index}] = {v} is out of range for UINT32"
                    ))
                })
            })
            .collect()
    }
}

/// Iterates over little-endian words of `N` bytes; a partial trailing word is never produced.
fn le<const N: usize>(raw: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    raw.as_chunks::<N>().0.iter().copied()
}

/// IEEE 754 binary16 bits as f32: exact, as every binary16 value is a binary32 value. A NaN
/// stays a NaN with its sign and payload, made quiet (as IEEE 754 conversions do).
fn f16_to_f32(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// bfloat16 bits as f32: exact, bfloat16 being the top half of a binary32. NaNs as for
/// [`f16_to_f32`].
fn bf16_to_f32(bits: u16) -> f32 {
    bf16::from_bits(bits).to_f32()
}

/// `x` as f32 if that is exact (NaN counts as exact: it stays NaN).
fn f64_to_f32(x: f64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) == x || x.is_nan()).then_some(y)
}

/// `x` as f32 if that is exact. The round trip alone is not enough: values near i64::MAX round
/// up to 2^63, which saturates back to i64::MAX, so 2^63 itself is excluded.
fn i64_to_f32(x: i64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) < TWO_POW_63 && y as i64 == x).then_some(y)
}

/// `x` as f32 if that is exact (2^64 excluded, as for [`i64_to_f32`]).
fn u64_to_f32(x: u64) -> Option<f32> {
    let y = x as f32;
    (f64::from(y) < TWO_POW_64 && y as u64 == x).then_some(y)
}

/// `x` as f64 if that is exact (2^63 excluded, as for [`i64_to_f32`]).
fn i64_to_f64(x: i64) -> Option<f64> {
    let y = x as f64;
    (y < TWO_POW_63 && y as i64 == x).then_some(y)
}

/// `x` as f64 if that is exact (2^64 excluded, as for [`i64_to_f32`]).
fn u64_to_f64(x: u64) -> Option<f64> {
    let y = x as f64;
    (y < TWO_POW_64 && y as u64 == x).then_some(y)
}

/// `x` as i64 if it is an integer in i64's range (which excludes NaN and infinities).
fn f64_to_i64(x: f64) -> Option<i64> {
    (x.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&x)).then_some(x as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::onnx::tensor_proto::Segment;
    use crate::import::onnx::StringStringEntryProto;

    /// A tensor named "t" of `data_type` and shape `dims`, without data.
    fn tensor(data_type: DataType, dims: &[i64]) -> TensorProto {
        TensorProto {
            name: Some("t".into()),
            data_type: Some(data_type as i32),
            dims: dims.to_vec(),
            ..TensorProto::default()
        }
    }

    fn floats(values: &[f32]) -> TensorProto {
        TensorProto {
            float_data: values.to_vec(),
            ..tensor(DataType::Float, &[values.len() as i64])
        }
    }

    fn raw(data_type: DataType, dims: &[i64], bytes: &[u8]) -> TensorProto {
        TensorProto {
            raw_data: Some(bytes.to_vec()),
            ..tensor(data_type, dims)
        }
    }

    fn int32s(data_type: DataType, values: &[i32]) -> TensorProto {
        TensorProto {
            int32_data: values.to_vec(),
            ..tensor(data_type, &[values.len() as i64])
        }
    }

    /// One tensor written both ways: raw little-endian bytes and the ONNX typed field.
    struct Case {
        data_type: DataType,
        raw: Vec<u8>,
        typed: TensorProto,
        expected: Vec<f64>,
    }

    fn le_bytes<const N: usize, T: Copy>(values: &[T], to: fn(T) -> [u8; N]) -> Vec<u8> {
        values.iter().flat_map(|&v| to(v)).collect()
    }

    fn cases() -> Vec<Case> {
        let typed = |f: fn(&mut TensorProto)| {
            let mut t = TensorProto::default();
            f(&mut t);
            t
        };
        vec![
            Case {
                data_type: DataType::Float,
                raw: le_bytes(&[1.5f32, -0.25], f32::to_le_bytes),
                typed: typed(|t| t.float_data = vec![1.5, -0.25]),
                expected: vec![1.5, -0.25],
            },
            Case {
                data_type: DataType::Uint8,
                raw: vec![0, 255],
                typed: typed(|t| t.int32_data = vec![0, 255]),
                expected: vec![0.0, 255.0],
            },
            Case {
                data_type: DataType::Int8,
                raw: vec![0x80, 0x7f],
                typed: typed(|t| t.int32_data = vec![-128, 127]),
                expected: vec![-128.0, 127.0],
            },
            Case {
                data_type: DataType::Uint16,
                raw: vec![0xff, 0xff, 0x01, 0x00],
                typed: typed(|t| t.int32_data = vec![65535, 1]),
                expected: vec![65535.0, 1.0],
            },
            Case {
                data_type: DataType::Int16,
                raw: vec![0x00, 0x80, 0xff, 0x7f],
                typed: typed(|t| t.int32_data = vec![-32768, 32767]),
                expected: vec![-32768.0, 32767.0],
            },
            Case {
                data_type: DataType::Int32,
                raw: le_bytes(&[-7i32, 1 << 20], i32::to_le_bytes),
                typed: typed(|t| t.int32_data = vec![-7, 1 << 20]),
                expected: vec![-7.0, 1_048_576.0],
            },
            Case {
                data_type: DataType::Int64,
                raw: le_bytes(&[-3i64, 1 << 40], i64::to_le_bytes),
                typed: typed(|t| t.int64_data = vec![-3, 1 << 40]),
                expected: vec![-3.0, 1_099_511_627_776.0],
            },
            Case {
                data_type: DataType::Bool,
                raw: vec![1, 0],
                typed: typed(|t| t.int32_data = vec![1, 0]),
                expected: vec![1.0, 0.0],
            },
            Case {
                data_type: DataType::Float16,
                // 1.0 = 0x3c00, -2.0 = 0xc000
                raw: vec![0x00, 0x3c, 0x00, 0xc0],
                typed: typed(|t| t.int32_data = vec![0x3c00, 0xc000]),
                expected: vec![1.0, -2.0],
            },
            Case {
                data_type: DataType::Bfloat16,
                // 1.0 = 0x3f80, -0.5 = 0xbf00
                raw: vec![0x80, 0x3f, 0x00, 0xbf],
                typed: typed(|t| t.int32_data = vec![0x3f80, 0xbf00]),
                expected: vec![1.0, -0.5],
            },
            Case {
                data_type: DataType::Double,
                raw: le_bytes(&[0.1f64, -8.0], f64::to_le_bytes),
                typed: typed(|t| t.double_data = vec![0.1, -8.0]),
                expected: vec![0.1, -8.0],
            },
            Case {
                data_type: DataType::Uint32,
                raw: le_bytes(&[u32::MAX, 2], u32::to_le_bytes),
                typed: typed(|t| t.uint64_data = vec![u32::MAX.into(), 2]),
                expected: vec![4_294_967_295.0, 2.0],
            },
            Case {
                data_type: DataType::Uint64,
                raw: le_bytes(&[1u64 << 50, 9], u64::to_le_bytes),
                typed: typed(|t| t.uint64_data = vec![1 << 50, 9]),
                expected: vec![1_125_899_906_842_624.0, 9.0],
            },
        ]
    }

    #[test]
    fn raw_and_typed_storage_agree_for_every_data_type() {
        for case in cases() {
            let name = case.data_type.as_str_name();
            let raw = raw(case.data_type, &[2], &case.raw);
            let typed = TensorProto {
                name: Some("t".into()),
                data_type: Some(case.data_type as i32),
                dims: vec![2],
                ..case.typed
            };
            for t in [&raw, &typed] {
                assert_eq!(t.to_f64().unwrap(), case.expected, "{name}");
            }
        }
    }

    #[test]
    fn narrowing_conversions_are_exact_or_refused() {
        let double = |v: f64| TensorProto {
            double_data: vec![v],
            ..tensor(DataType::Double, &[])
        };
        assert_eq!(double(0.5).to_f32().unwrap(), vec![0.5]);
        let err = double(0.1).to_f32().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": element 0 (DOUBLE value 0.1) is not exactly representable as f32"
        );
        assert!(double(1e300).to_f32().is_err());
        assert!(double(f64::NAN).to_f32().unwrap()[0].is_nan());
        assert_eq!(double(f64::INFINITY).to_f32().unwrap(), vec![f32::INFINITY]);

        let int64 = |v: i64| TensorProto {
            int64_data: vec![v],
            ..tensor(DataType::Int64, &[])
        };
        assert_eq!(int64(1 << 24).to_f32().unwrap(), vec![16_777_216.0]);
        assert!(int64((1 << 24) + 1).to_f32().is_err());
        assert_eq!(
            int64(-(1 << 40)).to_f32().unwrap(),
            vec![-1_099_511_627_776.0]
        );
        assert!(int64(i64::MAX).to_f32().is_err());
        assert!(int64(i64::MAX).to_f64().is_err());
        assert_eq!(
            int64(i64::MIN).to_f64().unwrap(),
            vec![-9_223_372_036_854_775_808.0]
        );
        assert!(int64((1 << 53) + 1).to_f64().is_err());

        let uint64 = |v: u64| TensorProto {
            uint64_data: vec![v],
            ..tensor(DataType::Uint64, &[])
        };
        assert!(uint64(u64::MAX).to_f64().is_err());
        assert!(uint64(u64::MAX).to_i64().is_err());
        assert_eq!(
            uint64(1 << 63).to_f64().unwrap(),
            vec![9_223_372_036_854_775_808.0]
        );
        assert_eq!(uint64(i64::MAX as u64).to_i64().unwrap(), vec![i64::MAX]);
    }

    #[test]
    fn float_data_converts_to_i64_only_when_integral() {
        assert_eq!(floats(&[3.0, -2.0, 0.0]).to_i64().unwrap(), vec![3, -2, 0]);
        let err = floats(&[1.0, 1.5]).to_i64().unwrap_err();
        assert!(err.message.contains("element 1 (FLOAT value 1.5)"), "{err}");
        assert!(floats(&[1e30]).to_i64().is_err());
        assert!(floats(&[f32::NAN]).to_i64().is_err());
        assert!(floats(&[f32::INFINITY]).to_i64().is_err());
        assert_eq!(floats(&[-9.223372e18]).to_i64().unwrap(), vec![i64::MIN]);
        assert!(floats(&[9.223372e18]).to_i64().is_err());
        let double = TensorProto {
            double_data: vec![-7.0],
            ..tensor(DataType::Double, &[])
        };
        assert_eq!(double.to_i64().unwrap(), vec![-7]);
    }

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

    #[test]
    fn element_counts_must_match_the_shape() {
        let scalar = TensorProto {
            float_data: vec![7.0],
            ..tensor(DataType::Float, &[])
        };
        assert_eq!(scalar.numel().unwrap(), 1);
        assert_eq!(scalar.to_f32().unwrap(), vec![7.0]);

        let empty = tensor(DataType::Float, &[0, 4]);
        assert_eq!(empty.to_f32().unwrap(), Vec::<f32>::new());
        let empty_raw = raw(DataType::Float, &[0], &[]);
        assert_eq!(empty_raw.to_f32().unwrap(), Vec::<f32>::new());

        let err = tensor(DataType::Float, &[]).to_f32().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": holds 0 elements, but its shape [] needs 1"
        );

        let short = TensorProto {
            int64_data: vec![1, 2, 3],
            ..tensor(DataType::Int64, &[2, 2])
        };
        assert!(short.to_i64().is_err());

        let ragged = raw(DataType::Float, &[1], &[0, 0, 128]);
        assert!(ragged
            .to_f32()
            .unwrap_err()
            .message
            .contains("raw_data has 3 bytes"));

        let negative = tensor(DataType::Float, &[2, -1]);
        assert!(negative
            .numel()
            .unwrap_err()
            .message
            .contains("negative dimension -1"));
        assert!(negative.to_f32().is_err());

        // A shape whose product overflows must fail, not wrap or allocate.
        let huge = tensor(DataType::Float, &[i64::MAX, i64::MAX, 4]);
        assert!(huge
            .numel()
            .unwrap_err()
            .message
            .contains("too many elements"));
        let big = TensorProto {
            float_data: vec![1.0],
            ..tensor(DataType::Float, &[1 << 40])
        };
        assert!(big.to_f32().is_err());
    }

    #[test]
    fn storage_mistakes_are_refused() {
        let both = TensorProto {
            float_data: vec![1.0],
            ..raw(DataType::Float, &[1], &1f32.to_le_bytes())
        };
        let err = both.to_f32().unwrap_err();
        assert!(
            err.message.contains("both raw_data and float_data"),
            "{err}"
        );

        let wrong = TensorProto {
            float_data: vec![1.0],
            ..tensor(DataType::Int64, &[1])
        };
        let err = wrong.to_i64().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": has float_data set, but INT64 data belongs in int64_data or raw_data"
        );

        let err = int32s(DataType::Uint8, &[256]).to_i64().unwrap_err();
        assert!(err
            .message
            .contains("int32_data[0] = 256 is out of range for UINT8"));
        assert!(int32s(DataType::Float16, &[-1]).to_f32().is_err());
        assert!(int32s(DataType::Bfloat16, &[0x1_0000]).to_f32().is_err());
        let big_u32 = TensorProto {
            uint64_data: vec![1 << 32],
            ..tensor(DataType::Uint32, &[1])
        };
        assert!(big_u32.to_i64().is_err());
        let err = raw(DataType::Bool, &[2], &[1, 2]).to_i64().unwrap_err();
        assert!(err.message.contains("raw_data byte 1 is 2"), "{err}");
    }

    #[test]
    fn unsupported_tensors_are_named_in_the_error() {
        let external = TensorProto {
            external_data: vec![StringStringEntryProto {
                key: Some("location".into()),
                value: Some("weights.bin".into()),
            }],
            data_location: Some(DataLocation::External as i32),
            ..floats(&[1.0])
        };
        let err = external.to_f32().unwrap_err();
        assert!(
            err.message
                .starts_with("tensor \"t\": keeps its data in an external file (\"weights.bin\")"),
            "{err}"
        );
        let unknown_location = TensorProto {
            data_location: Some(7),
            ..floats(&[1.0])
        };
        let err = unknown_location.to_f32().unwrap_err();
        assert_eq!(err.message, "tensor \"t\": unknown data_location 7");
        let segment = TensorProto {
            segment: Some(Segment {
                begin: Some(0),
                end: Some(1),
            }),
            ..floats(&[1.0])
        };
        assert!(segment.to_f32().unwrap_err().message.contains("segment"));

        for (data_type, expect) in [
            (DataType::String as i32, "STRING"),
            (DataType::Complex64 as i32, "COMPLEX64"),
            (DataType::Float8e4m3fn as i32, "FLOAT8E4M3FN"),
            (0, "UNDEFINED"),
            (77, "unknown"),
        ] {
            let t = TensorProto {
                data_type: Some(data_type),
                ..tensor(DataType::Float, &[])
            };
            let err = t.to_f64().unwrap_err();
            assert!(err.message.starts_with("tensor \"t\""), "{err}");
            assert!(err.message.contains(expect), "{err}");
        }
        let unnamed = TensorProto {
            data_type: Some(DataType::String as i32),
            ..TensorProto::default()
        };
        assert!(unnamed
            .to_f32()
            .unwrap_err()
            .message
            .starts_with("unnamed tensor:"));
    }

    #[test]
    fn float_types_are_told_apart_from_integers() {
        for (data_type, float) in [
            (DataType::Float, true),
            (DataType::Float16, true),
            (DataType::Bfloat16, true),
            (DataType::Double, true),
            (DataType::Int64, false),
            (DataType::Bool, false),
        ] {
            assert_eq!(tensor(data_type, &[]).is_float(), float, "{data_type:?}");
        }
    }
}
