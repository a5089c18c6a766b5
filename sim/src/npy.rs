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
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

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

    /// The numpy-written files of tests/fixtures/npy (made by its make_npy_fixtures.py).
    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/npy")
            .join(name)
    }

    const FRAMES: [i64; 12] = [1, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1];

    /// `.npy` bytes with `dict` as the header, padded as numpy pads it.
    fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut h = dict.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    /// A `.npz` archive of `members` (name, bytes), deflated or stored.
    fn npz(dir: &Path, file: &str, members: &[(&str, Vec<u8>)], deflate: bool) -> PathBuf {
        let path = dir.join(file);
        let mut zip = ZipWriter::new(File::create(&path).unwrap());
        let method = if deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        for (name, bytes) in members {
            zip.start_file(
                *name,
                SimpleFileOptions::default().compression_method(method),
            )
            .unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
        path
    }

    fn err(path: &str) -> String {
        NpyArray::read(Path::new(path)).unwrap_err().0
    }

    #[test]
    fn reads_every_dtype_numpy_writes() {
        let at = |name: &str| {
            let spec = format!("{}:{name}", fixture("dtypes.npz").display());
            let a = NpyArray::read(Path::new(&spec)).unwrap();
            assert_eq!(a.shape, vec![3], "{name}");
            assert_eq!(a.dtype.descr()[1..], *name, "{name}");
            a
        };
        let ints: [(&str, [i64; 3]); 9] = [
            ("b1", [1, 0, 1]),
            ("u1", [0, 1, 255]),
            ("i1", [-128, 0, 127]),
            ("u2", [0, 1, 65535]),
            ("i2", [-32768, 0, 32767]),
            ("u4", [0, 1, u32::MAX as i64]),
            ("i4", [i32::MIN as i64, 0, i32::MAX as i64]),
            ("u8", [0, 1, i64::MAX]),
            ("i8", [i64::MIN, 0, i64::MAX]),
        ];
        for (name, want) in ints {
            assert_eq!(at(name).to_i64().unwrap(), want, "{name}");
        }
        assert_eq!(at("f4").to_f32().unwrap(), vec![-1.5, 0.0, 3.25]);
        let f8 = at("f8");
        let f8: Vec<f64> = f8
            .data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(f8, vec![-1.5, 0.0, 3.25]);
    }

    #[test]
    fn reads_header_versions_2_and_3() {
        for file in ["v2.npy", "v3.npy"] {
            let a = NpyArray::read(&fixture(file)).unwrap();
            assert_eq!((a.dtype, a.shape.clone()), (NpyType::U8, vec![3, 4]));
            assert_eq!(a.to_i64().unwrap(), FRAMES);
        }
    }

    #[test]
    fn refuses_big_endian_and_fortran_order_as_numpy_writes_them() {
        let e = NpyArray::read(&fixture("big_endian.npy")).unwrap_err().0;
        assert!(e.contains("big_endian.npy: unsupported dtype '>i4'"), "{e}");
        let e = NpyArray::read(&fixture("fortran.npy")).unwrap_err().0;
        assert!(e.contains("fortran.npy: array is in Fortran order"), "{e}");
    }

    #[test]
    fn npz_single_array_needs_no_name() {
        // np.savez_compressed: one deflated member, arr_0.npy.
        let path = fixture("frames_compressed.npz");
        for spec in [
            path.display().to_string(),
            format!("{}:arr_0", path.display()),
            format!("{}:arr_0.npy", path.display()),
        ] {
            let a = NpyArray::read(Path::new(&spec)).unwrap();
            assert_eq!((a.dtype, a.shape.clone()), (NpyType::Bool, vec![3, 4]));
            assert_eq!(a.to_i64().unwrap(), FRAMES);
        }
    }

    #[test]
    fn npz_named_array() {
        // np.savez: stored members with ZIP64 headers.
        let spec = |name: &str| format!("{}:{name}", fixture("frames_labels.npz").display());
        let frames = NpyArray::read(Path::new(&spec("frames"))).unwrap();
        assert_eq!(frames.shape, vec![3, 4]);
        assert_eq!(frames.to_i64().unwrap(), FRAMES);
        let labels = NpyArray::read(Path::new(&spec("labels"))).unwrap();
        assert_eq!(
            (labels.dtype, labels.shape.clone()),
            (NpyType::I64, vec![3])
        );
        assert_eq!(labels.to_i64().unwrap(), vec![1, 0, 1]);
        let e = err(&spec("weights"));
        assert!(
            e.ends_with("frames_labels.npz: no array named 'weights'; it holds frames, labels"),
            "{e}"
        );
    }

    #[test]
    fn npz_with_several_arrays_and_no_name_lists_them() {
        let path = fixture("frames_labels.npz");
        let e = NpyArray::read(&path).unwrap_err().0;
        let shown = path.display();
        assert_eq!(
            e,
            format!("{shown}: holds 2 arrays (frames, labels); name one, as in {shown}:frames")
        );
    }

    #[test]
    fn npz_written_here_round_trips_and_names_the_member_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = NpyArray::from_i64(NpyType::I32, vec![2, 2], &[1, -2, 3, -4]);
        let b = NpyArray::from_f32(vec![3], &[0.5, 1.5, -2.0]);
        for deflate in [false, true] {
            let path = npz(
                dir.path(),
                "ab.npz",
                &[("a.npy", a.to_bytes()), ("b.npy", b.to_bytes())],
                deflate,
            );
            let spec = |name: &str| format!("{}:{name}", path.display());
            assert_eq!(NpyArray::read(Path::new(&spec("a"))).unwrap(), a);
            assert_eq!(NpyArray::read(Path::new(&spec("b"))).unwrap(), b);
        }
        // A bad member is reported as FILE.npz:name: what is wrong.
        let mut short = a.to_bytes();
        short.pop();
        let path = npz(dir.path(), "bad.npz", &[("x.npy", short)], true);
        let e = NpyArray::read(&path).unwrap_err().0;
        assert!(
            e.contains("bad.npz:x: data has 15 bytes, but shape [2, 2] of int32 needs 16"),
            "{e}"
        );
        // An archive holding nothing, and a file that is no archive.
        let path = npz(dir.path(), "empty.npz", &[], false);
        assert!(NpyArray::read(&path)
            .unwrap_err()
            .0
            .ends_with("empty.npz: holds no arrays"));
        let garbage = dir.path().join("garbage.npz");
        std::fs::write(&garbage, b"not a zip").unwrap();
        let e = NpyArray::read(&garbage).unwrap_err().0;
        assert!(e.contains("garbage.npz: not a NumPy .npz archive"), "{e}");
        // Content decides over the extension: .npy bytes named .npz still read.
        let misnamed = dir.path().join("plain.npz");
        std::fs::write(&misnamed, a.to_bytes()).unwrap();
        assert_eq!(NpyArray::read(&misnamed).unwrap(), a);
        // A file whose name really has the suffix wins over the FILE.npz:name reading.
        let colon = dir.path().join("odd.npz:a");
        std::fs::write(&colon, b.to_bytes()).unwrap();
        assert_eq!(NpyArray::read(&colon).unwrap(), b);
    }

    #[test]
    fn hostile_headers_fail_before_allocating() {
        // 10^12 one-byte elements declared, 4 bytes held: refused from the sizes alone.
        let huge = npy_with_header(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000, 1000000), }",
            &[1, 0, 1, 1],
        );
        let e = NpyArray::parse(&huge).unwrap_err().0;
        assert_eq!(
            e,
            "data has 4 bytes, but shape [1000000, 1000000] of uint8 needs 1000000000000"
        );
        // The same inside an archive, where the member's size is only declared.
        let dir = tempfile::tempdir().unwrap();
        let path = npz(dir.path(), "huge.npz", &[("big.npy", huge)], true);
        let e = NpyArray::read(&path).unwrap_err().0;
        assert!(e.contains("huge.npz:big: data has 4 bytes"), "{e}");
        // A deflated member whose sizes (local and central headers) claim 3 GB, as its header
        // does: the data stream runs dry long before, and no more than 64 MiB is reserved.
        let claimed = 3_000_000_000usize;
        let mut liar = npy_with_header(
            &format!("{{'descr': '|u1', 'fortran_order': False, 'shape': ({claimed},), }}"),
            &[1, 0, 1, 1],
        );
        let declared = (liar.len() - 4 + claimed) as u32;
        liar.extend_from_slice(&[0; 1000]);
        let path = npz(dir.path(), "liar.npz", &[("big.npy", liar)], true);
        let mut zip = std::fs::read(&path).unwrap();
        let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        for at in [22, central + 24] {
            zip[at..at + 4].copy_from_slice(&declared.to_le_bytes());
        }
        std::fs::write(&path, zip).unwrap();
        let e = NpyArray::read(&path).unwrap_err().0;
        assert!(
            e.contains("liar.npz:big: data has 1004 bytes, but shape [3000000000]"),
            "{e}"
        );
        // An element count that overflows: an error, not a panic.
        let overflow = npy_with_header(
            "{'descr': '<i8', 'fortran_order': False, \
             'shape': (1099511627776, 1099511627776, 1099511627776), }",
            &[],
        );
        assert_eq!(NpyArray::parse(&overflow).unwrap_err().0, "shape too large");
        // A header length of 4 GiB: refused before it is read.
        let mut long = b"\x93NUMPY\x02\x00".to_vec();
        long.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        long.extend_from_slice(b"{'descr': '|u1', ");
        assert_eq!(NpyArray::parse(&long).unwrap_err().0, "truncated header");
        let mut long = b"\x93NUMPY\x02\x00".to_vec();
        long.extend_from_slice(&(2u32 << 20).to_le_bytes());
        long.resize(12 + (2 << 20), b' ');
        let e = NpyArray::parse(&long).unwrap_err().0;
        assert_eq!(
            e,
            "header of 2097152 bytes is too long (numpy writes a few hundred)"
        );
    }

    #[test]
    fn header_errors_say_what_is_wrong() {
        let data = [1u8, 0, 1, 1];
        let cases = [
            (
                "{'fortran_order': False, 'shape': (1, 4), }",
                "header has no 'descr'",
            ),
            (
                "{'descr': '|u1', 'fortran_order': False, }",
                "header has no 'shape'",
            ),
            (
                "{'descr': '|u1', 'shape': (1, 4), }",
                "header has no 'fortran_order'",
            ),
            (
                "{'descr': '|u1', 'fortran_order': 1, 'shape': (1, 4), }",
                "header has no valid 'fortran_order'",
            ),
            (
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1, -4), }",
                "bad shape (1, -4)",
            ),
            (
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 4), 'x': 1, }",
                "header has an unknown key 'x'",
            ),
            (
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 4), }",
                "unsupported dtype '<c8'",
            ),
            (
                "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1, 4), }",
                "unsupported dtype '[('a', '<i4')]'",
            ),
            (
                "{'descr': '|u1', 'fortran_order': True, 'shape': (1, 4), }",
                "array is in Fortran order",
            ),
            ("[1, 2]", "header is not a Python dict: [1, 2]"),
            ("{'descr': oops}", "header is not a Python literal"),
            ("{'descr': '\u{e9}'}", "header is not text"),
        ];
        for (header, want) in cases {
            let e = NpyArray::parse(&npy_with_header(header, &data))
                .unwrap_err()
                .0;
            assert!(e.starts_with(want), "{header}: {e}");
        }
        let mut v = npy_with_header(
            "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }",
            &data,
        );
        v[6] = 4;
        assert_eq!(
            NpyArray::parse(&v).unwrap_err().0,
            "unsupported .npy format version 4.0"
        );
        for short in [&v[..0], &v[..7], &v[..9], &v[..40]] {
            assert!(NpyArray::parse(short).is_err());
        }
        let e = err("/nonexistent/x.npz:frames");
        assert!(e.starts_with("/nonexistent/x.npz: cannot read:"), "{e}");
    }
}
