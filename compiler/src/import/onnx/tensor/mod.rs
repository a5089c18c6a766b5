//! A [`TensorProto`]'s elements, whichever of its storage variants holds them.
//!
//! ONNX stores a tensor's elements either as little-endian `raw_data` or in the typed repeated
//! field of its data type (`float_data`, `int32_data`, ...; narrow integers, BOOL, FLOAT16 and
//! BFLOAT16 bit patterns all go in `int32_data`). [`TensorProto::to_f32`], [`TensorProto::to_f64`]
//! and [`TensorProto::to_i64`] read either, check the element count against the shape, and
//! convert only where the conversion is exact. Data kept outside the message (external files,
//! segments) and data types xnorc does not compute with are refused by name.

mod exact;
#[cfg(test)]
mod tests;

use super::tensor_proto::{DataLocation, DataType};
use super::{data_type_name, TensorProto};
use crate::error::{ModelError, Result};
use exact::{
    bf16_to_f32, f16_to_f32, f64_to_f32, f64_to_i64, i64_to_f32, i64_to_f64, u64_to_f32, u64_to_f64,
};

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
