//! Decoding: wire-level behaviour on hand-made encodings, error messages, and the bounds.
//!
//! The encodings are written byte by byte ([`Enc`]), independently of prost, because what is
//! tested is how prost's decoding treats what other writers may produce: unknown fields of
//! every wire type, packed and unpacked runs mixed, repeated singular fields, malformed framing.

use super::tensor_proto::DataType;
use super::*;

/// Builds protobuf encodings by hand.
#[derive(Default, Clone)]
struct Enc(Vec<u8>);

impl Enc {
    fn new() -> Self {
        Enc::default()
    }

    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn tag(mut self, field: u64, wire_type: u64) -> Self {
        self.raw_varint(field << 3 | wire_type);
        self
    }

    fn varint(self, field: u64, v: u64) -> Self {
        let mut e = self.tag(field, 0);
        e.raw_varint(v);
        e
    }

    fn int(self, field: u64, v: i64) -> Self {
        self.varint(field, v as u64)
    }

    fn fixed32(self, field: u64, v: u32) -> Self {
        let mut e = self.tag(field, 5);
        e.0.extend(v.to_le_bytes());
        e
    }

    fn fixed64(self, field: u64, v: u64) -> Self {
        let mut e = self.tag(field, 1);
        e.0.extend(v.to_le_bytes());
        e
    }

    fn bytes(self, field: u64, b: &[u8]) -> Self {
        let mut e = self.tag(field, 2);
        e.raw_varint(b.len() as u64);
        e.0.extend_from_slice(b);
        e
    }

    fn str(self, field: u64, s: &str) -> Self {
        self.bytes(field, s.as_bytes())
    }

    fn msg(self, field: u64, m: Enc) -> Self {
        self.bytes(field, &m.0)
    }

    fn packed_ints(self, field: u64, values: &[i64]) -> Self {
        let mut body = Enc::new();
        for &v in values {
            body.raw_varint(v as u64);
        }
        self.bytes(field, &body.0)
    }

    fn packed_f32(self, field: u64, values: &[f32]) -> Self {
        let body: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(field, &body)
    }

    fn packed_f64(self, field: u64, values: &[f64]) -> Self {
        let body: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.bytes(field, &body)
    }

    /// Fields of every wire type, groups included, under numbers no ONNX message uses.
    fn unknown_fields(self) -> Self {
        self.varint(999, 5)
            .fixed32(1000, 7)
            .fixed64(1001, 9)
            .str(1002, "ignored")
            .tag(1003, 3)
            .varint(1, 1)
            .tag(1003, 4)
    }
}

/// A tensor's encoding with a data type, a name ("t") and dims (unpacked, as onnx writes them).
fn tensor(data_type: DataType, dims: &[i64]) -> Enc {
    let mut e = Enc::new().int(2, data_type as i64).str(8, "t");
    for &d in dims {
        e = e.int(1, d);
    }
    e
}

/// Decodes a `TensorProto` from its encoding.
fn decode_tensor(e: Enc) -> TensorProto {
    TensorProto::decode(e.0.as_slice()).unwrap()
}

fn sample_model() -> Enc {
    let attr_alpha = Enc::new()
        .str(1, "alpha")
        .fixed32(2, 0.25f32.to_bits())
        .int(20, 1);
    let attr_perm = Enc::new()
        .str(1, "perm")
        .int(8, 0) // ints written unpacked ...
        .packed_ints(8, &[2, -1]) // ... then packed: both append
        .int(20, 7);
    let node0 = Enc::new()
        .str(1, "x")
        .str(1, "")
        .str(2, "y")
        .str(3, "n0")
        .str(4, "Transpose")
        .msg(5, attr_alpha)
        .msg(5, attr_perm)
        .str(7, "")
        .unknown_fields();
    let node1 = Enc::new().str(4, "Quant").str(7, "qonnx.custom_op.general");
    let dim_n = Enc::new().str(2, "N");
    let dim_3 = Enc::new().int(1, 3);
    let shape = Enc::new()
        .msg(1, dim_n)
        .msg(1, dim_3)
        .msg(1, Enc::new().str(3, "denotation only"));
    let input = Enc::new().str(1, "x").msg(
        2,
        Enc::new()
            .msg(1, Enc::new().int(1, 1).msg(2, shape))
            .str(6, "d"),
    );
    let annotation = Enc::new()
        .str(1, "x")
        .msg(2, Enc::new().str(1, "finn_datatype").str(2, "BIPOLAR"));
    let graph = Enc::new()
        .msg(1, node0)
        .str(2, "g")
        .msg(1, node1)
        .msg(5, tensor(DataType::Float, &[2]).packed_f32(4, &[1.0, 2.0]))
        .msg(11, input)
        .msg(12, Enc::new().str(1, "y"))
        .msg(14, annotation)
        .str(10, "doc string")
        .unknown_fields();
    Enc::new()
        .int(1, 8)
        .str(2, "hand")
        .str(3, "0.1")
        .unknown_fields()
        .msg(8, Enc::new().str(1, "").int(2, 13))
        .msg(7, graph)
        .msg(14, Enc::new().str(1, "meta").str(2, "data"))
        .int(5, 42)
}

#[test]
fn decodes_a_model_and_skips_unknown_fields() {
    let model = parse_model(&sample_model().0).unwrap();
    assert_eq!(model.ir_version(), 8);
    assert_eq!(model.producer_name(), "hand");
    assert_eq!(model.producer_version(), "0.1");
    let opsets: Vec<_> = model
        .opset_import
        .iter()
        .map(|o| (o.domain(), o.version()))
        .collect();
    assert_eq!(opsets, vec![("", 13)]);
    let graph = model.graph.unwrap();
    assert_eq!(graph.name(), "g");
    assert_eq!(graph.node.len(), 2);
    let n0 = &graph.node[0];
    assert_eq!(n0.input, vec!["x", ""]);
    assert_eq!(n0.output, vec!["y"]);
    assert_eq!((n0.name(), n0.op_type()), ("n0", "Transpose"));
    assert_eq!(n0.attribute.len(), 2);
    assert_eq!(n0.attribute[0].value(), AttrValue::Float(0.25));
    assert_eq!(n0.attribute[1].value(), AttrValue::Ints(&[0, 2, -1]));
    assert_eq!(graph.node[1].domain(), "qonnx.custom_op.general");
    assert_eq!(graph.initializer[0].to_f32().unwrap(), vec![1.0, 2.0]);
    assert_eq!(graph.input[0].elem_type(), DataType::Float as i32);
    assert_eq!(
        graph.input[0].dims(),
        Some(vec![Dim::Param("N".into()), Dim::Value(3), Dim::Unknown])
    );
    assert_eq!(graph.output[0].dims(), None);
    assert_eq!(graph.output[0].elem_type(), 0);
    let annotation = &graph.quantization_annotation[0];
    assert_eq!(annotation.tensor_name(), "x");
    let entry = &annotation.quant_parameter_tensor_names[0];
    assert_eq!((entry.key(), entry.value()), ("finn_datatype", "BIPOLAR"));
    assert!(graph.sparse_initializer.is_empty());
}

#[test]
fn notes_sparse_initializers_and_non_tensor_types() {
    let seq = Enc::new().msg(4, Enc::new().msg(1, Enc::new()));
    let graph = Enc::new()
        .msg(15, Enc::new().msg(1, tensor(DataType::Float, &[1])))
        .msg(13, Enc::new().str(1, "s").msg(2, seq));
    let model = parse_model(&Enc::new().msg(7, graph).0).unwrap();
    let graph = model.graph.unwrap();
    assert_eq!(graph.sparse_initializer.len(), 1);
    assert_eq!(graph.value_info[0].other_type(), Some("sequence"));
    assert_eq!(graph.value_info[0].elem_type(), 0);
    assert_eq!(graph.value_info[0].dims(), None);
}

#[test]
fn singular_messages_merge_and_scalars_keep_the_last_value() {
    let model = Enc::new()
        .msg(7, Enc::new().str(2, "first").msg(1, Enc::new().str(4, "A")))
        .msg(
            7,
            Enc::new().str(2, "second").msg(1, Enc::new().str(4, "B")),
        )
        .int(1, 3)
        .int(1, 7);
    let model = parse_model(&model.0).unwrap();
    assert_eq!(model.ir_version(), 7);
    let graph = model.graph.unwrap();
    assert_eq!(graph.name(), "second");
    let ops: Vec<_> = graph.node.iter().map(|n| n.op_type()).collect();
    assert_eq!(ops, vec!["A", "B"]);
}

#[test]
fn repeated_scalars_packed_or_not_decode_the_same() {
    let packed = tensor(DataType::Int64, &[])
        .packed_ints(1, &[2, 3])
        .packed_ints(7, &[1, -2, 3, -4, 5, -6]);
    let mut unpacked = tensor(DataType::Int64, &[]).int(1, 2).int(1, 3);
    for v in [1, -2, 3, -4, 5, -6] {
        unpacked = unpacked.int(7, v);
    }
    let (a, b) = (decode_tensor(packed), decode_tensor(unpacked));
    assert_eq!(a, b);
    assert_eq!(a.dims, vec![2, 3]);
    assert_eq!(a.to_i64().unwrap(), vec![1, -2, 3, -4, 5, -6]);

    let floats = tensor(DataType::Float, &[3])
        .fixed32(4, 0.5f32.to_bits())
        .packed_f32(4, &[1.5, -3.0]);
    assert_eq!(
        decode_tensor(floats).to_f32().unwrap(),
        vec![0.5, 1.5, -3.0]
    );

    let doubles = tensor(DataType::Double, &[3])
        .fixed64(10, 0.25f64.to_bits())
        .packed_f64(10, &[-1.0, 2.0]);
    assert_eq!(
        decode_tensor(doubles).to_f64().unwrap(),
        vec![0.25, -1.0, 2.0]
    );
}

/// The message a decoding failure gives, after the common prefix.
fn decode_error(bytes: &[u8]) -> String {
    let err = parse_model(bytes).unwrap_err();
    err.message
        .strip_prefix("not a valid ONNX protobuf: ")
        .unwrap_or_else(|| panic!("unexpected message: {err}"))
        .to_owned()
}

#[test]
fn error_paths_name_the_failing_field() {
    // node[1].attribute[1] holds a tag for field 3 (i) with its varint missing.
    let bad_attr = Enc::new().tag(3, 0);
    let graph = Enc::new().msg(1, Enc::new().str(4, "Ok")).msg(
        1,
        Enc::new().msg(5, Enc::new().str(1, "a")).msg(5, bad_attr),
    );
    assert_eq!(
        decode_error(&Enc::new().msg(7, graph).0),
        "ModelProto.graph.node.attribute.i: invalid varint"
    );

    let bad_name = Enc::new().msg(7, Enc::new().msg(1, Enc::new().bytes(3, &[0xc3])));
    assert_eq!(
        decode_error(&bad_name.0),
        "ModelProto.graph.node.name: invalid string value: data is not UTF-8 encoded"
    );

    // Errors in ModelProto's own framing have no field to name.
    assert_eq!(decode_error(&[0x0f]), "invalid wire type value: 7");
}

/// prost does not keep a known field that arrives with the wrong wire type as an unknown field
/// (as protobuf's C++ library does): it is a decode error. That is what xnorc wants — dropping,
/// say, a node's attribute silently would give a different model — so it is pinned here.
#[test]
fn a_known_field_with_the_wrong_wire_type_is_an_error() {
    let dims_as_fixed32 = Enc::new().msg(7, Enc::new().msg(5, Enc::new().fixed32(1, 0)));
    assert_eq!(
        decode_error(&dims_as_fixed32.0),
        "ModelProto.graph.initializer.dims: invalid wire type: ThirtyTwoBit (expected Varint)"
    );
    let graph_as_varint = Enc::new().varint(7, 1);
    assert_eq!(
        decode_error(&graph_as_varint.0),
        "ModelProto.graph: invalid wire type: Varint (expected LengthDelimited)"
    );
    let float_as_varint = Enc::new().msg(
        7,
        Enc::new().msg(1, Enc::new().msg(5, Enc::new().varint(2, 1))),
    );
    assert_eq!(
        decode_error(&float_as_varint.0),
        "ModelProto.graph.node.attribute.f: invalid wire type: Varint (expected ThirtyTwoBit)"
    );
    // A repeated scalar takes both its own wire type and a packed run; a third is an error.
    let ints_as_fixed64 = Enc::new().msg(
        7,
        Enc::new().msg(1, Enc::new().msg(5, Enc::new().fixed64(8, 1))),
    );
    assert!(decode_error(&ints_as_fixed64.0).starts_with("ModelProto.graph.node.attribute.ints"));
}

#[test]
fn malformed_framing_is_a_clean_error() {
    let cases: [(&[u8], &str); 8] = [
        // A varint cut short, and one of eleven bytes.
        (&[0x08, 0x80], "ModelProto.ir_version: invalid varint"),
        (
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            "ModelProto.ir_version: invalid varint",
        ),
        // Field number 0 and the wire types that do not exist.
        (&[0x00, 0x01], "invalid tag value: 0"),
        (&[0x0e], "invalid wire type value: 6"),
        // A length past the end, and one near 2^64 that must not wrap or allocate.
        (&[0x3a, 0x04, 0x00], "ModelProto.graph: buffer underflow"),
        (
            &[
                0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            "ModelProto.producer_name: buffer underflow",
        ),
        // A group's end with no start (an unknown field), and a group for a known field.
        (&[0xa4, 0x06], "unexpected end group tag"),
        (
            &[0x0c],
            "ModelProto.ir_version: invalid wire type: EndGroup (expected Varint)",
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(decode_error(bytes), expected, "{bytes:02x?}");
    }
    // A fixed-width value cut short, in a known and an unknown field.
    assert!(parse_model(&[0x3a, 0x02, 0x15, 0x01]).is_err());
    assert!(parse_model(&Enc::new().tag(1000, 1).0).is_err());
}

#[test]
fn paths_are_reordered_and_other_text_kept_whole() {
    assert_eq!(
        outermost_first("failed to decode Protobuf message: B.c: A.b: bad: worse"),
        "A.b.c: bad: worse"
    );
    assert_eq!(
        outermost_first("something else: with a colon"),
        "something else: with a colon"
    );
    assert_eq!(outermost_first("Not a.path: text"), "Not a.path: text");
    assert_eq!(outermost_first("B.r#type: A.b: bad"), "A.b.type: bad");
}

#[test]
fn truncated_files_are_errors_at_every_length() {
    let bytes = sample_model().0;
    for len in 0..bytes.len() {
        // Only the absence of a panic is checked: a cut between top-level fields is valid.
        let _ = parse_model(&bytes[..len]);
    }
    let cut = &bytes[..bytes.len() - 3];
    assert!(parse_model(cut).is_err());
}

#[test]
fn the_message_cap_is_enforced_before_decoding() {
    let bytes = sample_model().0;
    let err = count_messages(&bytes, 5).unwrap_err();
    assert_eq!(
        err.message,
        "the file holds more than 5 protobuf messages; refusing to decode it"
    );
    assert!(count_messages(&bytes, 1000).is_ok());

    // A million and one empty nodes: two bytes each, far below the size cap.
    let mut graph = Vec::with_capacity(2 * (MAX_MESSAGES + 1));
    for _ in 0..=MAX_MESSAGES {
        graph.extend([0x0a, 0x00]);
    }
    let bomb = Enc::new().bytes(7, &graph);
    let err = parse_model(&bomb.0).unwrap_err();
    assert!(err.message.contains("more than 1000000"), "{err}");
}

#[test]
fn the_size_cap_is_enforced_before_decoding() {
    let big = vec![0u8; MAX_FILE_BYTES + 1];
    let err = parse_model(&big).unwrap_err();
    assert!(
        err.message.starts_with("the file is 67108865 bytes"),
        "{err}"
    );
}

#[test]
fn read_file_stops_at_the_cap() {
    let dir = std::env::temp_dir().join(format!("xnorc-onnx-read-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.onnx");
    std::fs::write(&path, sample_model().0).unwrap();
    assert_eq!(read_file(&path).unwrap(), sample_model().0);
    std::fs::write(&path, vec![0u8; MAX_FILE_BYTES + 1]).unwrap();
    assert!(read_file(&path).unwrap_err().message.contains("64 MiB"));
    // A device that never ends (its metadata says 0 bytes) is cut at the cap.
    #[cfg(unix)]
    assert_eq!(
        read_file(std::path::Path::new("/dev/zero"))
            .unwrap_err()
            .message,
        "the file is more than 67108864 bytes; the ONNX reader takes at most 67108864 (64 MiB), \
         far more than a model that fits an FPGA"
    );
    let missing = read_file(&dir.join("none.onnx")).unwrap_err();
    assert!(
        missing.message.starts_with("cannot read model:"),
        "{missing}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Nesting is bounded by prost's recursion limit (100 messages deep), so a deep file is an
/// error, not a stack overflow.
#[test]
fn deep_nesting_is_refused() {
    // value_info { type { sequence_type { elem_type { sequence_type { ... } } } } }
    let nested = |levels: usize| {
        let mut t = Enc::new();
        for _ in 0..levels {
            t = Enc::new().msg(4, Enc::new().msg(1, t));
        }
        let graph = Enc::new().msg(13, Enc::new().str(1, "v").msg(2, t));
        Enc::new().msg(7, graph)
    };
    assert!(parse_model(&nested(40).0).is_ok());
    assert_eq!(
        decode_error(&nested(60).0),
        "ModelProto.graph.value_info.type.value.elem_type.value.….elem_type.value.elem_type \
         (101 fields deep): recursion limit reached"
    );
}

/// Every decoded struct is small: the bound in [`MAX_MESSAGES`]'s doc rests on it.
#[test]
fn decoded_structs_stay_small() {
    use std::mem::size_of;
    let sizes = [
        ("AttributeProto", size_of::<AttributeProto>()),
        ("ValueInfoProto", size_of::<ValueInfoProto>()),
        ("NodeProto", size_of::<NodeProto>()),
        ("IntIntListEntryProto", size_of::<IntIntListEntryProto>()),
        (
            "NodeDeviceConfigurationProto",
            size_of::<NodeDeviceConfigurationProto>(),
        ),
        ("ShardingSpecProto", size_of::<ShardingSpecProto>()),
        ("ShardedDimProto", size_of::<ShardedDimProto>()),
        ("SimpleShardedDimProto", size_of::<SimpleShardedDimProto>()),
        ("TrainingInfoProto", size_of::<TrainingInfoProto>()),
        ("ModelProto", size_of::<ModelProto>()),
        (
            "DeviceConfigurationProto",
            size_of::<DeviceConfigurationProto>(),
        ),
        (
            "StringStringEntryProto",
            size_of::<StringStringEntryProto>(),
        ),
        ("TensorAnnotation", size_of::<TensorAnnotation>()),
        ("GraphProto", size_of::<GraphProto>()),
        ("TensorProto", size_of::<TensorProto>()),
        ("Segment", size_of::<tensor_proto::Segment>()),
        ("SparseTensorProto", size_of::<SparseTensorProto>()),
        ("TensorShapeProto", size_of::<TensorShapeProto>()),
        ("Dimension", size_of::<tensor_shape_proto::Dimension>()),
        ("TypeProto", size_of::<TypeProto>()),
        ("TypeProto.Tensor", size_of::<type_proto::Tensor>()),
        ("TypeProto.Sequence", size_of::<type_proto::Sequence>()),
        ("TypeProto.Map", size_of::<type_proto::Map>()),
        ("TypeProto.Optional", size_of::<type_proto::Optional>()),
        (
            "TypeProto.SparseTensor",
            size_of::<type_proto::SparseTensor>(),
        ),
        ("TypeProto.Opaque", size_of::<type_proto::Opaque>()),
        ("OperatorSetIdProto", size_of::<OperatorSetIdProto>()),
        ("FunctionProto", size_of::<FunctionProto>()),
        ("String", size_of::<String>()),
        ("Vec<u8>", size_of::<Vec<u8>>()),
    ];
    for (name, size) in sizes {
        // ModelProto is decoded once, at the top, never as a field.
        if name != "ModelProto" {
            assert!(size <= MAX_STRUCT_BYTES, "{name} is {size} bytes");
        }
    }
}

#[test]
fn subgraph_attributes_decode_but_read_as_unsupported() {
    let sub = Enc::new().str(2, "body").msg(1, Enc::new().str(4, "Relu"));
    let node = Enc::new()
        .str(4, "If")
        .msg(
            5,
            Enc::new()
                .str(1, "then_branch")
                .msg(6, sub.clone())
                .int(20, 5),
        )
        .msg(5, Enc::new().str(1, "branches").msg(11, sub).int(20, 10));
    let model = parse_model(&Enc::new().msg(7, Enc::new().msg(1, node)).0).unwrap();
    let node = &model.graph.unwrap().node[0];
    assert_eq!(node.attribute[0].g.as_ref().unwrap().name(), "body");
    assert_eq!(
        node.attr_value("then_branch"),
        Some(AttrValue::Unsupported("a GRAPH attribute"))
    );
    assert_eq!(
        node.attr_value("branches"),
        Some(AttrValue::Unsupported("a GRAPHS attribute"))
    );
    let err = node.attr_int("then_branch").unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `attribute then_branch`: must be an integer"
    );
}

#[test]
fn data_type_names() {
    assert_eq!(data_type_name(1), "FLOAT");
    assert_eq!(data_type_name(10), "FLOAT16");
    assert_eq!(data_type_name(13), "UINT64");
    assert_eq!(data_type_name(16), "BFLOAT16");
    assert_eq!(data_type_name(26), "INT2");
    assert_eq!(data_type_name(28), "FLOAT6E3M2");
    assert_eq!(data_type_name(29), "an unknown data type");
    assert_eq!(data_type_name(-1), "an unknown data type");
}

#[test]
fn arbitrary_mutations_never_panic() {
    let base = sample_model().0;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut bytes = base.clone();
        for _ in 0..1 + next() % 4 {
            let at = (next() % bytes.len() as u64) as usize;
            if let Some(b) = bytes.get_mut(at) {
                *b = next() as u8;
            }
        }
        if let Ok(model) = parse_model(&bytes) {
            for t in model.graph.iter().flat_map(|g| &g.initializer) {
                let _ = (t.to_f32(), t.to_f64(), t.to_i64());
            }
        }
    }
}
