//! A minimal protobuf wire-format decoder: just enough to read ONNX files without a dependency.
//!
//! [`Reader`] walks the fields of one message as (field number, [`WireValue`]) pairs; the free
//! functions turn a [`WireValue`] into the scalar, string or repeated type a schema expects.
//! Everything here reads untrusted bytes, so every length is checked against the bytes that are
//! actually left before it is used, nothing is allocated ahead of the data that backs it, and
//! every problem is a [`DecodeError`], never a panic.
//!
//! Groups (wire types 3 and 4) are rejected: they are deprecated, no ONNX message uses them, and
//! skipping one correctly would need a nesting-aware scan that buys nothing here.

use std::fmt;

/// The largest field number protobuf allows (2^29 - 1).
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// A varint takes at most 10 bytes: 64 bits at 7 bits a byte.
const MAX_VARINT_LEN: usize = 10;

/// Why some bytes could not be decoded, with the path to the field that failed when known.
///
/// `message` is the whole text, path included, e.g.
/// `"ModelProto.graph.node[3].attribute[1]: truncated varint"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What went wrong, prefixed with the dotted path of the field, outermost first.
    pub message: String,
    /// Whether `message` already starts with a path, so that the next segment added in front is
    /// joined with a dot rather than with ": ".
    has_path: bool,
}

impl DecodeError {
    /// An error with a message and no path yet; callers add the path with [`DecodeError::at`].
    pub fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
            has_path: false,
        }
    }

    /// Puts `segment` (a field name such as `node[3]`, or a message name) in front of the path,
    /// as the error travels out of the message it happened in.
    pub fn at(mut self, segment: &str) -> Self {
        self.message = if self.has_path {
            format!("{segment}.{}", self.message)
        } else {
            format!("{segment}: {}", self.message)
        };
        self.has_path = true;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

/// One field's value as it appears on the wire, before the schema gives it a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireValue<'a> {
    /// Wire type 0: int32, int64, uint32, uint64, sint*, bool and enum fields.
    Varint(u64),
    /// Wire type 1: fixed64, sfixed64 and double fields.
    Fixed64(u64),
    /// Wire type 2: strings, bytes, embedded messages and packed repeated fields.
    Bytes(&'a [u8]),
    /// Wire type 5: fixed32, sfixed32 and float fields.
    Fixed32(u32),
}

impl WireValue<'_> {
    /// The wire type's name, for messages about a field that came with the wrong one.
    fn kind(&self) -> &'static str {
        match self {
            WireValue::Varint(_) => "varint",
            WireValue::Fixed64(_) => "fixed64",
            WireValue::Bytes(_) => "length-delimited",
            WireValue::Fixed32(_) => "fixed32",
        }
    }

    /// The error for a field whose wire type does not match the schema.
    fn unexpected(&self, expected: &str) -> DecodeError {
        DecodeError::new(format!(
            "expected a {expected} value, found wire type {}",
            self.kind()
        ))
    }
}

/// Walks the fields of one encoded message, in the order they were written.
///
/// After the first error the reader is exhausted: the rest of the bytes cannot be framed
/// reliably, so nothing more is yielded.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over the encoding of one message (without any length prefix).
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// Whether every field has been read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next field, `Ok(None)` at the end of the message.
    pub fn next_field(&mut self) -> Result<Option<(u32, WireValue<'a>)>, DecodeError> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let field = self.read_field();
        if field.is_err() {
            self.rest = &[];
        }
        field.map(Some)
    }

    fn read_field(&mut self) -> Result<(u32, WireValue<'a>), DecodeError> {
        // The reader does not know field names, so it says which number failed in the message
        // itself; the caller's path then says which message it was.
        let tag = read_varint(&mut self.rest)
            .map_err(|e| DecodeError::new(format!("field tag: {}", e.message)))?;
        let number = field_number(tag)?;
        let value = self
            .read_value(tag & 7)
            .map_err(|e| DecodeError::new(format!("field {number}: {}", e.message)))?;
        Ok((number, value))
    }

    fn read_value(&mut self, wire_type: u64) -> Result<WireValue<'a>, DecodeError> {
        match wire_type {
            0 => read_varint(&mut self.rest).map(WireValue::Varint),
            1 => take_array::<8>(&mut self.rest).map(|b| WireValue::Fixed64(u64::from_le_bytes(b))),
            2 => self.read_length_delimited().map(WireValue::Bytes),
            5 => take_array::<4>(&mut self.rest).map(|b| WireValue::Fixed32(u32::from_le_bytes(b))),
            3 | 4 => Err(DecodeError::new(
                "groups (wire types 3 and 4) are not supported",
            )),
            other => Err(DecodeError::new(format!("invalid wire type {other}"))),
        }
    }

    fn read_length_delimited(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = read_varint(&mut self.rest)?;
        let left = self.rest.len();
        // try_from rather than `as`: a length beyond usize must fail, not wrap (32-bit targets).
        let (value, rest) = usize::try_from(len)
            .ok()
            .and_then(|n| self.rest.split_at_checked(n))
            .ok_or_else(|| {
                DecodeError::new(format!("length {len} exceeds the {left} bytes left"))
            })?;
        self.rest = rest;
        Ok(value)
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, WireValue<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_field().transpose()
    }
}

/// The field number of a tag, which must be in 1..=2^29-1.
fn field_number(tag: u64) -> Result<u32, DecodeError> {
    match tag >> 3 {
        0 => Err(DecodeError::new("field number 0 is invalid")),
        n if n > MAX_FIELD_NUMBER => Err(DecodeError::new(format!(
            "field number {n} is out of range"
        ))),
        // In range, so it fits; the fallback is never taken.
        n => u32::try_from(n).map_err(|_| DecodeError::new("field number out of range")),
    }
}

/// Reads one varint from the front of `rest` and advances past it.
fn read_varint(rest: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for index in 0..MAX_VARINT_LEN {
        let Some((&byte, tail)) = rest.split_first() else {
            return Err(DecodeError::new("truncated varint"));
        };
        *rest = tail;
        // The tenth byte carries bit 63 only; anything more would not fit in 64 bits (or, with
        // the continuation bit, would make the varint longer than 10 bytes).
        if index == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(DecodeError::new(
                "varint longer than 10 bytes or over 64 bits",
            ));
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::new("varint longer than 10 bytes"))
}

/// Takes `N` bytes from the front of `rest`.
fn take_array<const N: usize>(rest: &mut &[u8]) -> Result<[u8; N], DecodeError> {
    let Some((head, tail)) = rest.split_first_chunk::<N>() else {
        return Err(DecodeError::new(format!(
            "truncated fixed{} value ({} bytes left)",
            N * 8,
            rest.len()
        )));
    };
    *rest = tail;
    Ok(*head)
}

/// A varint field as the raw u64 (uint64, and the source of every other varint type).
pub fn uint64(value: WireValue<'_>) -> Result<u64, DecodeError> {
    match value {
        WireValue::Varint(v) => Ok(v),
        other => Err(other.unexpected("varint")),
    }
}

/// An int64 field: the varint's bits reinterpreted, as protobuf encodes negatives in 10 bytes.
pub fn int64(value: WireValue<'_>) -> Result<i64, DecodeError> {
    uint64(value).map(|v| v as i64)
}

/// An int32 or enum field. Protobuf parsers truncate a wider value to 32 bits, so this does too.
pub fn int32(value: WireValue<'_>) -> Result<i32, DecodeError> {
    uint64(value).map(|v| v as i32)
}

/// A float field (fixed32, IEEE 754 binary32).
pub fn float(value: WireValue<'_>) -> Result<f32, DecodeError> {
    match value {
        WireValue::Fixed32(v) => Ok(f32::from_bits(v)),
        other => Err(other.unexpected("fixed32")),
    }
}

/// A double field (fixed64, IEEE 754 binary64).
pub fn double(value: WireValue<'_>) -> Result<f64, DecodeError> {
    match value {
        WireValue::Fixed64(v) => Ok(f64::from_bits(v)),
        other => Err(other.unexpected("fixed64")),
    }
}

/// A bytes field (or an embedded message's encoding).
pub fn bytes<'a>(value: WireValue<'a>) -> Result<&'a [u8], DecodeError> {
    match value {
        WireValue::Bytes(b) => Ok(b),
        other => Err(other.unexpected("length-delimited")),
    }
}

/// A string field, which must be valid UTF-8: names are compared and printed later, and a lossy
/// decoding could make two different names equal.
pub fn string(value: WireValue<'_>) -> Result<String, DecodeError> {
    let b = bytes(value)?;
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|e| DecodeError::new(format!("invalid UTF-8 in string: {e}")))
}

/// Appends one occurrence of a repeated uint64 field: either one unpacked varint, or a packed
/// run of varints. Parsers must accept both, whatever the schema's `packed` option says.
pub fn push_uint64s(value: WireValue<'_>, out: &mut Vec<u64>) -> Result<(), DecodeError> {
    push_varints(value, out, |v| v)
}

/// Appends one occurrence of a repeated int64 field (packed or unpacked).
pub fn push_int64s(value: WireValue<'_>, out: &mut Vec<i64>) -> Result<(), DecodeError> {
    push_varints(value, out, |v| v as i64)
}

/// Appends one occurrence of a repeated int32 field (packed or unpacked), truncating each value
/// to 32 bits as protobuf parsers do.
pub fn push_int32s(value: WireValue<'_>, out: &mut Vec<i32>) -> Result<(), DecodeError> {
    push_varints(value, out, |v| v as i32)
}

/// Decodes one occurrence of a repeated varint field and converts each value, so that the
/// integer types share the packed/unpacked handling.
fn push_varints<T>(
    value: WireValue<'_>,
    out: &mut Vec<T>,
    convert: fn(u64) -> T,
) -> Result<(), DecodeError> {
    match value {
        WireValue::Varint(v) => out.push(convert(v)),
        WireValue::Bytes(mut packed) => {
            // Growth follows the varints actually decoded, so no length is trusted up front.
            while !packed.is_empty() {
                let v = read_varint(&mut packed)
                    .map_err(|e| DecodeError::new(format!("{} in a packed run", e.message)))?;
                out.push(convert(v));
            }
        }
        other => return Err(other.unexpected("varint or packed varint")),
    }
    Ok(())
}

/// Appends one occurrence of a repeated float field: one fixed32, or a packed run of them.
pub fn push_floats(value: WireValue<'_>, out: &mut Vec<f32>) -> Result<(), DecodeError> {
    match value {
        WireValue::Fixed32(v) => out.push(f32::from_bits(v)),
        WireValue::Bytes(packed) => {
            let words = packed_words::<4>(packed)?;
            out.extend(words.iter().map(|w| f32::from_le_bytes(*w)));
        }
        other => return Err(other.unexpected("fixed32 or packed fixed32")),
    }
    Ok(())
}

/// Appends one occurrence of a repeated double field: one fixed64, or a packed run of them.
pub fn push_doubles(value: WireValue<'_>, out: &mut Vec<f64>) -> Result<(), DecodeError> {
    match value {
        WireValue::Fixed64(v) => out.push(f64::from_bits(v)),
        WireValue::Bytes(packed) => {
            let words = packed_words::<8>(packed)?;
            out.extend(words.iter().map(|w| f64::from_le_bytes(*w)));
        }
        other => return Err(other.unexpected("fixed64 or packed fixed64")),
    }
    Ok(())
}

/// Splits a packed run of fixed-width values, which must be a whole number of them.
fn packed_words<const N: usize>(packed: &[u8]) -> Result<&[[u8; N]], DecodeError> {
    match packed.as_chunks::<N>() {
        (words, []) => Ok(words),
        _ => Err(DecodeError::new(format!(
            "packed fixed{} run of {} bytes is not a multiple of {N}",
            N * 8,
            packed.len()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a varint the way protobuf writers do.
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    fn tag(field: u64, wire_type: u64) -> Vec<u8> {
        varint(field << 3 | wire_type)
    }

    fn len_field(field: u64, body: &[u8]) -> Vec<u8> {
        let mut out = tag(field, 2);
        out.extend(varint(body.len() as u64));
        out.extend_from_slice(body);
        out
    }

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, WireValue<'_>)>, DecodeError> {
        Reader::new(bytes).collect()
    }

    #[test]
    fn reads_every_wire_type() {
        let mut msg = tag(1, 0);
        msg.extend(varint(300));
        msg.extend(tag(2, 1));
        msg.extend(0x0102_0304_0506_0708u64.to_le_bytes());
        msg.extend(len_field(3, b"abc"));
        msg.extend(tag(4, 5));
        msg.extend(1.5f32.to_bits().to_le_bytes());
        assert_eq!(
            fields(&msg).unwrap(),
            vec![
                (1, WireValue::Varint(300)),
                (2, WireValue::Fixed64(0x0102_0304_0506_0708)),
                (3, WireValue::Bytes(b"abc")),
                (4, WireValue::Fixed32(0x3fc0_0000)),
            ]
        );
    }

    #[test]
    fn varint_extremes() {
        for v in [0, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let bytes = varint(v);
            assert_eq!(read_varint(&mut bytes.as_slice()).unwrap(), v);
        }
        // -1 as an int64 is ten bytes: nine 0xff and a final 0x01.
        let minus_one = varint(-1i64 as u64);
        assert_eq!(minus_one.len(), 10);
        assert_eq!(int64(WireValue::Varint(u64::MAX)).unwrap(), -1);
        assert_eq!(int32(WireValue::Varint(-5i64 as u64)).unwrap(), -5);
        // A non-canonical (padded) varint is still valid.
        assert_eq!(read_varint(&mut [0x81, 0x80, 0x00].as_slice()).unwrap(), 1);
    }

    #[test]
    fn malformed_varints_are_errors() {
        let truncated = [0x80u8, 0x80];
        assert_eq!(
            read_varint(&mut truncated.as_slice()).unwrap_err().message,
            "truncated varint"
        );
        let eleven = [0xffu8; 11];
        assert!(read_varint(&mut eleven.as_slice()).is_err());
        // Ten bytes, but the last one sets bits above 63.
        let mut overflow = vec![0xffu8; 9];
        overflow.push(0x02);
        assert!(read_varint(&mut overflow.as_slice()).is_err());
        assert!(read_varint(&mut [].as_slice()).is_err());
    }

    #[test]
    fn malformed_framing_is_an_error() {
        // Field number 0.
        assert!(fields(&[0x00, 0x01]).is_err());
        // Groups, start and end.
        assert!(fields(&tag(1, 3)).unwrap_err().message.contains("groups"));
        assert!(fields(&tag(1, 4)).is_err());
        // Wire types 6 and 7 do not exist.
        assert!(fields(&tag(1, 6)).is_err());
        assert!(fields(&tag(1, 7)).is_err());
        // Field number above 2^29 - 1.
        assert!(fields(&tag(1 << 29, 0)).is_err());
        // Truncated fixed-width values.
        assert!(fields(&[tag(1, 1), vec![1, 2, 3]].concat()).is_err());
        assert!(fields(&[tag(1, 5), vec![1, 2, 3]].concat()).is_err());
        // A tag with no value after it.
        assert!(fields(&tag(1, 0)).is_err());
    }

    #[test]
    fn lengths_past_the_end_are_errors() {
        let mut msg = tag(1, 2);
        msg.extend(varint(4));
        msg.extend(b"abc");
        let err = fields(&msg).unwrap_err();
        assert_eq!(err.message, "field 1: length 4 exceeds the 3 bytes left");
        // A length near 2^64 must not wrap or allocate.
        let mut huge = tag(1, 2);
        huge.extend(varint(u64::MAX));
        assert!(fields(&huge).is_err());
    }

    #[test]
    fn reader_stops_after_an_error() {
        let msg = [tag(1, 7), tag(2, 0), varint(1)].concat();
        let mut reader = Reader::new(&msg);
        assert!(reader.next_field().is_err());
        assert_eq!(reader.next_field().unwrap(), None);
        assert!(reader.is_empty());
    }

    #[test]
    fn repeated_varints_packed_and_unpacked() {
        let mut out = Vec::new();
        push_int64s(WireValue::Varint(7), &mut out).unwrap();
        let packed = [varint(1), varint(-2i64 as u64), varint(300)].concat();
        push_int64s(WireValue::Bytes(&packed), &mut out).unwrap();
        push_int64s(WireValue::Bytes(&[]), &mut out).unwrap();
        assert_eq!(out, vec![7, 1, -2, 300]);

        let mut small = Vec::new();
        push_int32s(WireValue::Bytes(&packed), &mut small).unwrap();
        assert_eq!(small, vec![1, -2, 300]);

        let mut wide = Vec::new();
        push_uint64s(WireValue::Bytes(&varint(u64::MAX)), &mut wide).unwrap();
        assert_eq!(wide, vec![u64::MAX]);

        // A packed run that ends inside a varint.
        assert!(push_int64s(WireValue::Bytes(&[0x01, 0x80]), &mut out).is_err());
        assert!(push_int64s(WireValue::Fixed32(1), &mut out).is_err());
    }

    #[test]
    fn repeated_floats_and_doubles() {
        let mut floats = Vec::new();
        push_floats(WireValue::Fixed32(2.5f32.to_bits()), &mut floats).unwrap();
        let packed = [(-1.0f32).to_le_bytes(), 0.125f32.to_le_bytes()].concat();
        push_floats(WireValue::Bytes(&packed), &mut floats).unwrap();
        assert_eq!(floats, vec![2.5, -1.0, 0.125]);
        assert!(push_floats(WireValue::Bytes(&packed[..7]), &mut floats).is_err());
        assert!(push_floats(WireValue::Varint(1), &mut floats).is_err());

        let mut doubles = Vec::new();
        push_doubles(WireValue::Fixed64(0.1f64.to_bits()), &mut doubles).unwrap();
        let packed = [1e300f64.to_le_bytes(), (-3.0f64).to_le_bytes()].concat();
        push_doubles(WireValue::Bytes(&packed), &mut doubles).unwrap();
        assert_eq!(doubles, vec![0.1, 1e300, -3.0]);
        assert!(push_doubles(WireValue::Bytes(&packed[..9]), &mut doubles).is_err());
    }

    #[test]
    fn scalars_check_the_wire_type() {
        assert_eq!(float(WireValue::Fixed32(0x3f80_0000)).unwrap(), 1.0);
        assert_eq!(double(WireValue::Fixed64(2.0f64.to_bits())).unwrap(), 2.0);
        assert!(float(WireValue::Fixed64(0)).is_err());
        assert!(uint64(WireValue::Bytes(b"")).is_err());
        assert!(bytes(WireValue::Varint(0)).is_err());
    }

    #[test]
    fn strings_must_be_utf8() {
        assert_eq!(string(WireValue::Bytes("né".as_bytes())).unwrap(), "né");
        let err = string(WireValue::Bytes(&[0x66, 0xff])).unwrap_err();
        assert!(err.message.contains("invalid UTF-8"), "{err}");
    }

    #[test]
    fn error_paths_join_outward() {
        let err = DecodeError::new("truncated varint")
            .at("attribute[1]")
            .at("node[3]")
            .at("GraphProto");
        assert_eq!(
            err.to_string(),
            "GraphProto.node[3].attribute[1]: truncated varint"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A fixed linear congruential sequence: reproducible, and no dev-dependency needed.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400usize {
            let bytes: Vec<u8> = (0..len % 40)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    (state >> 56) as u8
                })
                .collect();
            // The reader stops after an error, so flatten sees every field up to the first one.
            for (_, value) in Reader::new(&bytes).flatten() {
                let _ = push_int64s(value, &mut Vec::new());
                let _ = push_floats(value, &mut Vec::new());
                let _ = push_doubles(value, &mut Vec::new());
                let _ = string(value);
            }
        }
    }
}
