//! The ONNX reader against a file written by the official `onnx` Python package
//! (`tests/fixtures/onnx/make_reader_sample.py`), so that it is checked against a real
//! serializer and not only against hand-made encodings. Every expected value below is a literal
//! chosen in that script.
//!
//! The `onnx` package writes `dims` and `AttributeProto.ints` unpacked (proto2 default) and
//! `int64_data`/`int32_data` packed (`[packed = true]` in onnx.proto), so both encodings of
//! repeated scalars are exercised here.

use proptest::prelude::*;
use std::path::PathBuf;
use xnorc_compiler::import::onnx::tensor_proto::DataType;
use xnorc_compiler::import::onnx::{
    parse_model, AttrValue, Dim, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto,
};

fn sample_bytes() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/reader_sample.onnx");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sample() -> ModelProto {
    parse_model(&sample_bytes()).unwrap_or_else(|e| panic!("the sample must decode: {e}"))
}

fn graph(model: &ModelProto) -> &GraphProto {
    model.graph.as_ref().expect("the sample has a graph")
}

fn node<'a>(graph: &'a GraphProto, name: &str) -> &'a NodeProto {
    graph
        .node
        .iter()
        .find(|n| n.name() == name)
        .unwrap_or_else(|| panic!("no node {name}"))
}

fn attribute<'a>(node: &'a NodeProto, name: &str) -> AttrValue<'a> {
    node.attr_value(name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn initializer<'a>(graph: &'a GraphProto, name: &str) -> &'a TensorProto {
    graph
        .initializer
        .iter()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no initializer {name}"))
}

fn value_info<'a>(list: &'a [ValueInfoProto], name: &str) -> &'a ValueInfoProto {
    list.iter()
        .find(|v| v.name() == name)
        .unwrap_or_else(|| panic!("no value info {name}"))
}

#[test]
fn model_header() {
    let model = sample();
    assert_eq!(model.ir_version(), 8);
    assert_eq!(model.producer_name(), "xnorc-reader-sample");
    assert_eq!(model.producer_version(), "1.0");
    let opsets: Vec<_> = model
        .opset_import
        .iter()
        .map(|o| (o.domain(), o.version()))
        .collect();
    assert_eq!(opsets, vec![("", 13), ("xnorc.test", 1)]);
    assert_eq!(graph(&model).name(), "reader_sample");
    assert!(graph(&model).sparse_initializer.is_empty());
}

#[test]
fn nodes_in_order() {
    let model = sample();
    let g = graph(&model);
    let ops: Vec<_> = g
        .node
        .iter()
        .map(|n| (n.name(), n.op_type(), n.domain()))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("matmul0", "MatMul", ""),
            ("annotated0", "Annotated", "xnorc.test"),
            ("const0", "Constant", ""),
        ]
    );
    assert_eq!(node(g, "matmul0").input, vec!["X", "W"]);
    assert_eq!(node(g, "matmul0").output, vec!["XW"]);
    assert_eq!(node(g, "annotated0").input, vec!["XW", "new_shape"]);
    assert_eq!(node(g, "annotated0").output, vec!["Y"]);
    assert!(node(g, "const0").input.is_empty());
    assert_eq!(node(g, "const0").output, vec!["C"]);
}

#[test]
fn scalar_and_list_attributes() {
    let model = sample();
    let annotated = node(graph(&model), "annotated0");
    assert_eq!(annotated.attribute.len(), 4);
    assert_eq!(attribute(annotated, "axis"), AttrValue::Int(-1));
    assert_eq!(attribute(annotated, "alpha"), AttrValue::Float(0.125));
    assert_eq!(attribute(annotated, "pads"), AttrValue::Ints(&[1, -2, 300]));
    assert_eq!(attribute(annotated, "mode"), AttrValue::Bytes(b"ROUND"));
    // The typed getters read the same values.
    assert_eq!(annotated.attr_int("axis").unwrap(), Some(-1));
    assert_eq!(annotated.attr_string("mode").unwrap(), Some("ROUND"));
    assert!(annotated.attr_float("axis").is_err());
}

#[test]
fn constant_tensor_attribute_in_float_data() {
    let model = sample();
    let AttrValue::Tensor(t) = attribute(node(graph(&model), "const0"), "value") else {
        panic!("Constant.value must be a tensor");
    };
    assert_eq!(t.name(), "const_val");
    assert_eq!(t.dims, vec![2]);
    assert_eq!(t.data_type(), DataType::Float as i32);
    assert_eq!(t.raw_data, None);
    assert_eq!(t.to_f32().unwrap(), vec![0.5, -1.0]);
    // 0.5 is not an integer, and the error says which value.
    let err = t.to_i64().unwrap_err();
    assert!(err.message.contains("0.5"), "{err}");
}

#[test]
fn float_initializer_in_raw_data() {
    let model = sample();
    let w = initializer(graph(&model), "W");
    assert_eq!(w.dims, vec![3, 2]);
    assert_eq!(w.data_type(), DataType::Float as i32);
    assert!(w.raw_data.is_some() && w.float_data.is_empty());
    assert_eq!(w.numel().unwrap(), 6);
    assert_eq!(w.to_f32().unwrap(), vec![1.5, -2.0, 0.25, 3.0, -0.5, 4.0]);
    assert_eq!(w.to_f64().unwrap(), vec![1.5, -2.0, 0.25, 3.0, -0.5, 4.0]);
    // 1.5 is not an integer, so integer reading must refuse rather than truncate.
    assert!(w.to_i64().is_err());
}

#[test]
fn int64_initializer_in_int64_data() {
    let model = sample();
    let shape = initializer(graph(&model), "new_shape");
    assert_eq!(shape.dims, vec![2]);
    assert_eq!(shape.data_type(), DataType::Int64 as i32);
    assert_eq!(shape.raw_data, None);
    assert_eq!(shape.int64_data, vec![-1, 2]);
    assert_eq!(shape.to_i64().unwrap(), vec![-1, 2]);
    assert_eq!(shape.to_f32().unwrap(), vec![-1.0, 2.0]);
}

#[test]
fn float16_bfloat16_and_bool_initializers() {
    let model = sample();
    let g = graph(&model);
    let half = initializer(g, "H");
    assert_eq!(half.data_type(), DataType::Float16 as i32);
    assert_eq!(half.to_f32().unwrap(), vec![1.0, -0.5, 65504.0]);
    let brain = initializer(g, "B");
    assert_eq!(brain.data_type(), DataType::Bfloat16 as i32);
    assert_eq!(brain.int32_data, vec![0x3f80, 0xbf00]);
    assert_eq!(brain.to_f32().unwrap(), vec![1.0, -0.5]);
    let flags = initializer(g, "flags");
    assert_eq!(flags.data_type(), DataType::Bool as i32);
    assert_eq!(flags.int32_data, vec![1, 0]);
    assert_eq!(flags.to_i64().unwrap(), vec![1, 0]);
}

#[test]
fn inputs_outputs_and_value_info() {
    let model = sample();
    let g = graph(&model);
    let n = || Dim::Param("N".to_owned());

    let x = value_info(&g.input, "X");
    assert_eq!(x.elem_type(), DataType::Float as i32);
    assert_eq!(x.dims(), Some(vec![n(), Dim::Value(3)]));

    let y = value_info(&g.output, "Y");
    assert_eq!(y.dims(), Some(vec![Dim::Unknown, Dim::Value(2)]));
    let c = value_info(&g.output, "C");
    assert_eq!(c.dims(), Some(vec![Dim::Value(2)]));

    assert_eq!(g.value_info.len(), 1);
    let xw = value_info(&g.value_info, "XW");
    assert_eq!(xw.elem_type(), DataType::Float as i32);
    assert_eq!(xw.dims(), Some(vec![n(), Dim::Value(2)]));
    assert_eq!(xw.other_type(), None);
}

#[test]
fn quantization_annotation() {
    let model = sample();
    let annotations = &graph(&model).quantization_annotation;
    assert_eq!(annotations.len(), 1);
    assert_eq!(annotations[0].tensor_name(), "X");
    let entries: Vec<_> = annotations[0]
        .quant_parameter_tensor_names
        .iter()
        .map(|e| (e.key(), e.value()))
        .collect();
    assert_eq!(entries, vec![("finn_datatype", "BIPOLAR")]);
}

#[test]
fn truncated_sample_is_an_error_not_a_panic() {
    let bytes = sample_bytes();
    for len in 0..bytes.len() {
        let _ = parse_model(&bytes[..len]);
    }
    // The graph fills most of the file, so a cut halfway lands inside it and must fail.
    let err = parse_model(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(
        err.message
            .starts_with("not a valid ONNX protobuf: ModelProto.graph"),
        "{err}"
    );
}

/// Decodes `bytes` and reads every tensor it finds every way, ignoring the results.
fn decode_everything(bytes: &[u8]) {
    let Ok(model) = parse_model(bytes) else {
        return;
    };
    let Some(g) = &model.graph else {
        return;
    };
    let attribute_tensors = g.node.iter().flat_map(|n| &n.attribute).flat_map(|a| {
        let listed = a.tensors.iter();
        a.t.as_deref().into_iter().chain(listed)
    });
    for t in g.initializer.iter().chain(attribute_tensors) {
        let _ = (t.numel(), t.to_f32(), t.to_f64(), t.to_i64());
    }
    for n in &g.node {
        for a in &n.attribute {
            let _ = (a.value(), n.attr_int(a.name()), n.attr_ints(a.name()));
            let _ = (n.attr_float(a.name()), n.attr_string(a.name()));
        }
    }
    for v in g.input.iter().chain(&g.output).chain(&g.value_info) {
        let _ = (v.elem_type(), v.dims(), v.other_type());
    }
}

proptest! {
    /// Any corruption of a real file is decoded or refused, never a panic.
    #[test]
    fn corrupted_samples_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = sample_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        decode_everything(&bytes);
        decode_everything(&bytes[..cut.index(bytes.len())]);
    }

    /// Arbitrary bytes are decoded or refused, never a panic.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }
}
