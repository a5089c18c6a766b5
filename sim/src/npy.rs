//! NumPy `.npy` files (format versions 1.0–3.0): reading inputs and labels, writing scores and
//! dumps. C order, little-endian or single-byte types only; anything else is a clear error.

use std::fmt;
use std::path::Path;

/// Element types we read and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpyType {
    /// `|b1`
    Bool,
    /// `|u1`
    U8,
    /// `|i1`
    I8,
    /// `<u2`
    U16,
    /// `<i2`
    I16,
    /// `<u4`
    U32,
    /// `<i4`
    I32,
    /// `<u8`
    U64,
    /// `<i8`
    I64,
    /// `<f4`
    F32,
    /// `<f8`
    F64,
}

impl NpyType {
    fn from_descr(d: &str) -> Option<Self> {
        let (order, code) = d.split_at(1.min(d.len()));
        let little = matches!(order, "<" | "|" | "=");
        if !little {
            return None;
        }
        Some(match code {
            "b1" => NpyType::Bool,
            "u1" => NpyType::U8,
            "i1" => NpyType::I8,
            "u2" => NpyType::U16,
            "i2" => NpyType::I16,
            "u4" => NpyType::U32,
            "i4" => NpyType::I32,
            "u8" => NpyType::U64,
            "i8" => NpyType::I64,
            "f4" => NpyType::F32,
            "f8" => NpyType::F64,
            _ => return None,
        })
    }

    fn descr(self) -> &'static str {
        match self {
            NpyType::Bool => "|b1",
            NpyType::U8 => "|u1",
            NpyType::I8 => "|i1",
            NpyType::U16 => "<u2",
            NpyType::I16 => "<i2",
            NpyType::U32 => "<u4",
            NpyType::I32 => "<i4",
            NpyType::U64 => "<u8",
            NpyType::I64 => "<i8",
            NpyType::F32 => "<f4",
            NpyType::F64 => "<f8",
        }
    }

    /// NumPy's name of the type (`uint8`, `int64`, …).
    pub fn name(self) -> &'static str {
        match self {
            NpyType::Bool => "bool",
            NpyType::U8 => "uint8",
            NpyType::I8 => "int8",
            NpyType::U16 => "uint16",
            NpyType::I16 => "int16",
            NpyType::U32 => "uint32",
            NpyType::I32 => "int32",
            NpyType::U64 => "uint64",
            NpyType::I64 => "int64",
            NpyType::F32 => "float32",
            NpyType::F64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            NpyType::Bool | NpyType::U8 | NpyType::I8 => 1,
            NpyType::U16 | NpyType::I16 => 2,
            NpyType::U32 | NpyType::I32 | NpyType::F32 => 4,
            NpyType::U64 | NpyType::I64 | NpyType::F64 => 8,
        }
    }

    /// True for integer and bool types.
    pub fn is_integer(self) -> bool {
        !matches!(self, NpyType::F32 | NpyType::F64)
    }
}

/// An array read from a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Element type.
    pub dtype: NpyType,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Raw little-endian data, C order.
    pub data: Vec<u8>,
}

/// A problem with a `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

const MAGIC: &[u8] = b"\x93NUMPY";

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Integer (or bool) elements as `i64`; `None` for floats or u64 values above i64::MAX.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        let d = &self.data;
        Some(match self.dtype {
            NpyType::Bool | NpyType::U8 => d.iter().map(|&b| b as i64).collect(),
            NpyType::I8 => d.iter().map(|&b| b as i8 as i64).collect(),
            NpyType::U16 => d
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            NpyType::I16 => d
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            NpyType::U32 => d
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().expect("4")) as i64)
                .collect(),
            NpyType::I32 => d
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().expect("4")) as i64)
                .collect(),
            NpyType::U64 => d
                .chunks_exact(8)
                .map(|c| i64::try_from(u64::from_le_bytes(c.try_into().expect("8"))).ok())
                .collect::<Option<Vec<_>>>()?,
            NpyType::I64 => d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8")))
                .collect(),
            NpyType::F32 | NpyType::F64 => return None,
        })
    }

    /// `float32` elements; `None` for any other type (float64 data would be rounded).
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        (self.dtype == NpyType::F32).then(|| {
            self.data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4")))
                .collect()
        })
    }

    /// Builds a `float32` array.
    pub fn from_f32(shape: Vec<usize>, values: &[f32]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        NpyArray {
            dtype: NpyType::F32,
            shape,
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    /// Builds an `int64`/`int32`/`uint8`/`bool` array from values (must fit the type).
    pub fn from_i64(dtype: NpyType, shape: Vec<usize>, values: &[i64]) -> Self {
        assert_eq!(shape.iter().product::<usize>(), values.len());
        let data = match dtype {
            NpyType::Bool | NpyType::U8 => values.iter().map(|&v| v as u8).collect(),
            NpyType::I8 => values.iter().map(|&v| v as i8 as u8).collect(),
            NpyType::I32 => values
                .iter()
                .flat_map(|&v| (v as i32).to_le_bytes())
                .collect(),
            NpyType::I64 => values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
            other => panic!("from_i64 does not write {}", other.name()),
        };
        NpyArray { dtype, shape, data }
    }

    /// Parses `.npy` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, NpyError> {
        let err = |m: &str| NpyError(m.to_string());
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(err(
                "not a NumPy .npy file (bad magic); save arrays with numpy.save",
            ));
        }
        let (header_len, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 => {
                if bytes.len() < 12 {
                    return Err(err("truncated header"));
                }
                (
                    u32::from_le_bytes(bytes[8..12].try_into().expect("4")) as usize,
                    12,
                )
            }
            v => return Err(NpyError(format!("unsupported .npy format version {v}"))),
        };
        let header = bytes
            .get(start..start + header_len)
            .ok_or_else(|| err("truncated header"))?;
        let header = std::str::from_utf8(header).map_err(|_| err("header is not text"))?;
        let descr = dict_value(header, "descr").ok_or_else(|| err("header has no 'descr'"))?;
        let descr = descr.trim_matches(|c| c == '\'' || c == '"');
        let dtype = NpyType::from_descr(descr).ok_or_else(|| {
            NpyError(format!(
                "unsupported dtype '{descr}'; use bool, (u)int8/16/32/64 or float32/64, little endian"
            ))
        })?;
        match dict_value(header, "fortran_order") {
            Some("False") => {}
            Some("True") => {
                return Err(err(
                    "array is in Fortran order; save a C-ordered array (np.ascontiguousarray)",
                ))
            }
            _ => return Err(err("header has no valid 'fortran_order'")),
        }
        let shape_text = dict_value(header, "shape").ok_or_else(|| err("header has no 'shape'"))?;
        let shape =
            parse_shape(shape_text).ok_or_else(|| NpyError(format!("bad shape {shape_text}")))?;
        let numel = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| err("shape too large"))?;
        let data = &bytes[start + header_len..];
        let expected = numel
            .checked_mul(dtype.size())
            .ok_or_else(|| err("shape too large"))?;
        if data.len() != expected {
            return Err(NpyError(format!(
                "data has {} bytes, but shape {:?} of {} needs {}",
                data.len(),
                shape,
                dtype.name(),
                expected
            )));
        }
        Ok(NpyArray {
            dtype,
            shape,
            data: data.to_vec(),
        })
    }

    /// Reads a `.npy` file; errors name the file.
    pub fn read(path: &Path) -> Result<Self, NpyError> {
        let bytes = std::fs::read(path)
            .map_err(|e| NpyError(format!("{}: cannot read: {e}", path.display())))?;
        Self::parse(&bytes).map_err(|e| NpyError(format!("{}: {}", path.display(), e.0)))
    }

    /// The `.npy` (version 1.0) bytes of this array.
    pub fn to_bytes(&self) -> Vec<u8> {
        let shape = match self.shape.as_slice() {
            [one] => format!("({one},)"),
            dims => format!(
                "({})",
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut header = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
            self.dtype.descr(),
            shape
        );
        // Pad so that magic + version + length + header is a multiple of 64 bytes.
        let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
        header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
        header.push('\n');
        let mut out = Vec::with_capacity(header.len() + 10 + self.data.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(&self.data);
        out
    }
}

/// The text of `key`'s value in a Python dict literal (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let at = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[at + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&rest[..=i]);
                }
            }
            ',' | '}' if depth == 0 => return Some(rest[..i].trim()),
            _ => {}
        }
    }
    None
}

fn parse_shape(text: &str) -> Option<Vec<usize>> {
    let inner = text.trim().strip_prefix('(')?.strip_suffix(')')?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_header_alignment() {
        let a = NpyArray::from_i64(NpyType::I32, vec![2, 3], &[1, -2, 3, -4, 5, -6]);
        let bytes = a.to_bytes();
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let b = NpyArray::parse(&bytes).unwrap();
        assert_eq!(b, a);
        assert_eq!(b.to_i64().unwrap(), vec![1, -2, 3, -4, 5, -6]);
    }

    #[test]
    fn parses_numpy_written_header() {
        // Bytes as numpy 1.26 writes np.array([[1, 0, 1]], dtype=bool).
        let mut bytes = b"\x93NUMPY\x01\x00v\x00".to_vec();
        let mut h = "{'descr': '|b1', 'fortran_order': False, 'shape': (1, 3), }".to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        bytes[8] = h.len() as u8;
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(&[1, 0, 1]);
        let a = NpyArray::parse(&bytes).unwrap();
        assert_eq!(a.dtype, NpyType::Bool);
        assert_eq!(a.shape, vec![1, 3]);
        assert_eq!(a.to_i64().unwrap(), vec![1, 0, 1]);
    }

    #[test]
    fn rejects_bad_files() {
        assert!(NpyArray::parse(b"hello").is_err());
        let a = NpyArray::from_i64(NpyType::I64, vec![2], &[1, 2]);
        let mut bytes = a.to_bytes();
        bytes.pop();
        assert!(NpyArray::parse(&bytes).unwrap_err().0.contains("needs 16"));
        let mut be = a.to_bytes();
        let at = be.windows(3).position(|w| w == b"<i8").unwrap();
        be[at] = b'>';
        assert!(NpyArray::parse(&be).is_err());
    }
}
