//! Reading elements from every storage variant, and the refusals.

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
