//! Tests of the `.npy`/`.npz` reader and writer: numpy-written fixtures, every header error,
//! hostile sizes.

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
