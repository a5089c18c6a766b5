//! NumPy `.npy` files and `.npz` archives: reading inputs and labels, writing scores and dumps.
//!
//! Reading takes `.npy` format versions 1.0–3.0 in C order with little-endian or single-byte
//! element types (bool, (u)int8/16/32/64, float32/64); anything else is an error naming the file
//! and what is wrong, never a panic. The declared shape is checked against the bytes the file (or
//! archive member) really holds before its data is read, so a hostile header cannot ask for a
//! huge allocation. A `.npz` archive (what `numpy.savez` and `numpy.savez_compressed` write) is
//! read too: `FILE.npz:name` takes the array `name`, a bare `FILE.npz` its only array. Files are
//! told apart by their first bytes, then by the `.npz` extension. Writing is always `.npy`.
//!
//! Libraries: the header is parsed and written by `ndarray-npy`'s `npy::header` module (its value
//! is a `py_literal` Python literal), archives are read by `zip`; the data stays the raw
//! little-endian bytes of the file. Why these: `npyz` (0.9, needs no `ndarray`) was the other
//! candidate, but its header reader multiplies the declared shape unchecked (a header claiming
//! 2^40 × 2^40 × 2^40 elements panics wherever overflow checks are on, as in tests and debug
//! builds) and its `npz` feature pins `zip` 0.6 with every default feature (AES, and the bzip2
//! and zstd C libraries: 119 crates). `ndarray-npy` (0.10) keeps the shape as written and refuses
//! unknown header keys as numpy does, and comes from `ndarray`'s maintainers; its typed reading
//! into `ndarray` arrays is not used here, so `ndarray` is compiled for nothing, the price of that
//! parser. `zip` (9) with only its deflate feature reads what numpy writes (stored or deflated
//! members, ZIP64 headers).

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ndarray_npy::npy::header::{Header, Layout, ParseHeaderError, ReadHeaderError};
use py_literal::Value as PyValue;
use zip::ZipArchive;

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

/// An array read from a `.npy` file (or one array of a `.npz` archive).
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Element type.
    pub dtype: NpyType,
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Raw little-endian data, C order.
    pub data: Vec<u8>,
}

/// A problem with a `.npy` file or `.npz` archive; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyError(pub String);

impl fmt::Display for NpyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NpyError {}

const MAGIC: &[u8] = b"\x93NUMPY";
/// Longest header read (numpy writes a few hundred bytes, and refuses over 10,000 by default).
const MAX_HEADER_LEN: usize = 1 << 20;
/// The first bytes of a zip archive: a member's local header, or the end of an empty archive.
const ZIP_MAGIC: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];
/// Bytes reserved up front for an archive member's data (its declared size is only a claim).
const MEMBER_RESERVE: usize = 1 << 26;

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
        read_npy(&mut &bytes[..], bytes.len() as u64, true)
    }

    /// Reads a `.npy` file, or one array of a `.npz` archive: `FILE.npz:name` names it, a bare
    /// `FILE.npz` must hold exactly one. Errors name the file (and the array).
    pub fn read(path: &Path) -> Result<Self, NpyError> {
        let (file, member) = split_member(path);
        let cannot = |e: io::Error| NpyError(format!("{}: cannot read: {e}", file.display()));
        let mut f = File::open(&file).map_err(cannot)?;
        let meta = f.metadata().map_err(cannot)?;
        if meta.is_file() {
            read_file(BufReader::new(f), meta.len(), &file, member.as_deref())
        } else {
            // A pipe or device: its size is known only once read.
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).map_err(cannot)?;
            let size = bytes.len() as u64;
            read_file(io::Cursor::new(bytes), size, &file, member.as_deref())
        }
    }

    /// The `.npy` bytes of this array (format version 1.0; 2.0 if the header outgrows 64 KiB).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = Header {
            type_descriptor: PyValue::String(self.dtype.descr().to_string()),
            layout: Layout::Standard,
            shape: self.shape.clone(),
        };
        let mut out = header
            .to_bytes()
            .expect("a shape's header fits .npy version 2.0");
        out.extend_from_slice(&self.data);
        out
    }
}

/// Splits `FILE.npz:name` into the archive and the array's name, unless a file has that path.
fn split_member(path: &Path) -> (PathBuf, Option<String>) {
    if !path.exists() {
        if let Some((file, name)) = path.to_str().and_then(|s| s.rsplit_once(".npz:")) {
            if !name.is_empty() {
                return (PathBuf::from(format!("{file}.npz")), Some(name.to_string()));
            }
        }
    }
    (path.to_path_buf(), None)
}

/// Reads `file` (`size` bytes): a zip archive by its first bytes, or by its `.npz` extension
/// when they are not `.npy` ones; else `.npy`.
fn read_file<R: Read + Seek>(
    mut r: R,
    size: u64,
    file: &Path,
    member: Option<&str>,
) -> Result<NpyArray, NpyError> {
    let at = |e: NpyError| NpyError(format!("{}: {}", file.display(), e.0));
    let mut head = [0u8; 4];
    let n = fill(&mut r, &mut head).map_err(at)?;
    r.seek(SeekFrom::Start(0))
        .map_err(|e| at(NpyError(format!("cannot read: {e}"))))?;
    let zip_magic = n == head.len() && ZIP_MAGIC.contains(&&head[..]);
    let npy_magic = n > 0 && head[..n] == MAGIC[..n];
    let npz_name = file.extension().is_some_and(|e| e == "npz");
    if member.is_some() || zip_magic || (npz_name && !npy_magic) {
        read_npz(r, file, member)
    } else {
        read_npy(&mut r, size, true).map_err(at)
    }
}

/// One array of a `.npz` archive: the one named, or the only one.
fn read_npz<R: Read + Seek>(r: R, file: &Path, member: Option<&str>) -> Result<NpyArray, NpyError> {
    let shown = file.display();
    let mut zip = ZipArchive::new(r)
        .map_err(|e| NpyError(format!("{shown}: not a NumPy .npz archive: {e}")))?;
    let entries = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NpyError(format!("{shown}: bad .npz archive: {e}")))?;
    // numpy names a member after its array plus ".npy"; directories hold no array.
    let entries: Vec<String> = entries.into_iter().filter(|e| !e.ends_with('/')).collect();
    let array_name = |e: &str| e.strip_suffix(".npy").unwrap_or(e).to_string();
    let names = entries.iter().map(|e| array_name(e)).collect::<Vec<_>>();
    let listed = if names.is_empty() {
        "no arrays".to_string()
    } else {
        names.join(", ")
    };
    let entry = match member {
        Some(name) => entries
            .iter()
            .find(|e| *e == name)
            .or_else(|| entries.iter().find(|e| array_name(e) == name))
            .ok_or_else(|| {
                NpyError(format!(
                    "{shown}: no array named '{name}'; it holds {listed}"
                ))
            })?,
        None => match entries.as_slice() {
            [one] => one,
            [] => return Err(NpyError(format!("{shown}: holds no arrays"))),
            many => {
                return Err(NpyError(format!(
                    "{shown}: holds {} arrays ({listed}); name one, as in {shown}:{}",
                    many.len(),
                    names[0]
                )))
            }
        },
    };
    let at = |e: NpyError| NpyError(format!("{shown}:{}: {}", array_name(entry), e.0));
    let mut data = zip
        .by_name(entry)
        .map_err(|e| at(NpyError(format!("cannot read: {e}"))))?;
    let size = data.size();
    read_npy(&mut data, size, false).map_err(at)
}

/// Reads one `.npy` array of `size` bytes from `r`. `size_is_real` is false when `size` is only
/// declared (an archive member's), so that no more is reserved up front than the data brings.
fn read_npy(r: &mut impl Read, size: u64, size_is_real: bool) -> Result<NpyArray, NpyError> {
    let err = |m: &str| NpyError(m.to_string());
    let mut pre = [0u8; 12];
    if fill(r, &mut pre[..8])? < 8 || &pre[..6] != MAGIC {
        return Err(err(
            "not a NumPy .npy file (bad magic); save arrays with numpy.save",
        ));
    }
    let len_bytes = match (pre[6], pre[7]) {
        (1, 0) => 2,
        (2 | 3, 0) => 4,
        (major, minor) => {
            return Err(NpyError(format!(
                "unsupported .npy format version {major}.{minor}"
            )))
        }
    };
    let pre_len = 8 + len_bytes;
    if fill(r, &mut pre[8..pre_len])? < len_bytes {
        return Err(err("truncated header"));
    }
    let pre = &pre[..pre_len];
    let header_len = if len_bytes == 2 {
        u16::from_le_bytes([pre[8], pre[9]]) as usize
    } else {
        u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]) as usize
    };
    let data_at = (pre.len() + header_len) as u64;
    if data_at > size {
        return Err(err("truncated header"));
    }
    if header_len > MAX_HEADER_LEN {
        return Err(NpyError(format!(
            "header of {header_len} bytes is too long (numpy writes a few hundred)"
        )));
    }
    let header = Header::from_reader(&mut pre.chain(&mut *r)).map_err(header_error)?;
    let dtype = match &header.type_descriptor {
        PyValue::String(d) => NpyType::from_descr(d),
        _ => None,
    }
    .ok_or_else(|| {
        let descr = match &header.type_descriptor {
            PyValue::String(d) => d.clone(),
            other => other.to_string(),
        };
        NpyError(format!(
            "unsupported dtype '{descr}'; use bool, (u)int8/16/32/64 or float32/64, little endian"
        ))
    })?;
    if header.layout.is_fortran() {
        return Err(err(
            "array is in Fortran order; save a C-ordered array (np.ascontiguousarray)",
        ));
    }
    let shape = header.shape;
    let expected = shape
        .iter()
        .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("shape too large"))?;
    let mismatch = |held: u64| {
        NpyError(format!(
            "data has {held} bytes, but shape {shape:?} of {} needs {expected}",
            dtype.name()
        ))
    };
    if size - data_at != expected as u64 {
        return Err(mismatch(size - data_at));
    }
    let reserve = if size_is_real {
        expected
    } else {
        expected.min(MEMBER_RESERVE)
    };
    let mut data = Vec::with_capacity(reserve);
    // One byte more than needed, to see data running past the declared size.
    r.take(expected as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| NpyError(format!("cannot read data: {e}")))?;
    if data.len() != expected {
        return Err(mismatch(data.len() as u64));
    }
    Ok(NpyArray { dtype, shape, data })
}

/// Reads until `buf` is full or the input ends; the count read.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, NpyError> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(NpyError(format!("cannot read: {e}"))),
        }
    }
    Ok(n)
}

/// What is wrong with a header, in words.
fn header_error(e: ReadHeaderError) -> NpyError {
    let m = match e {
        ReadHeaderError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "truncated header".to_string()
        }
        ReadHeaderError::Io(e) => format!("cannot read: {e}"),
        ReadHeaderError::Parse(p) => match p {
            ParseHeaderError::MagicString => {
                "not a NumPy .npy file (bad magic); save arrays with numpy.save".to_string()
            }
            ParseHeaderError::Version { major, minor } => {
                format!("unsupported .npy format version {major}.{minor}")
            }
            ParseHeaderError::HeaderLengthOverflow(n) => {
                format!("header of {n} bytes is too long (numpy writes a few hundred)")
            }
            ParseHeaderError::NonAscii | ParseHeaderError::Utf8Parse(_) => {
                "header is not text".to_string()
            }
            ParseHeaderError::UnknownKey(k) => format!("header has an unknown key {k}"),
            // ndarray-npy 0.10 calls the missing shape "shaper".
            ParseHeaderError::MissingKey(k) if k.starts_with("shape") => {
                "header has no 'shape'".to_string()
            }
            ParseHeaderError::MissingKey(k) => format!("header has no '{k}'"),
            ParseHeaderError::IllegalValue { key, value } if key == "shape" => {
                format!("bad shape {value}")
            }
            ParseHeaderError::IllegalValue { key, .. } => format!("header has no valid '{key}'"),
            ParseHeaderError::DictParse(_) => "header is not a Python literal".to_string(),
            ParseHeaderError::MetaNotDict(v) => format!("header is not a Python dict: {v}"),
            ParseHeaderError::MissingNewline => "header does not end with a newline".to_string(),
        },
    };
    NpyError(m)
}

#[cfg(test)]
mod tests;
