//! The parts of ONNX's `onnx.proto` (proto2) that an importer needs, decoded with
//! [`protobuf`](super::protobuf).
//!
//! Only the fields an importer reads are kept; every other field, known to ONNX or not, is skipped
//! as protobuf requires, so files from newer ONNX versions still load. Repeated scalars are read
//! whether they were written packed or not. A singular message field that occurs twice is merged,
//! and a singular scalar that occurs twice keeps its last value, as protobuf specifies.
//!
//! Field numbers follow `onnx.proto` of ONNX 1.22. A field that arrives with the wrong wire type
//! is an error here, although protobuf libraries keep it as an unknown field: silently dropping,
//! say, a node's attribute would produce a different model rather than a clear refusal.
//!
//! Recursion is bounded by the schema: subgraphs (`AttributeProto.g`/`graphs`) and nested
//! `TypeProto`s (sequences, maps, optionals) are only noted, never decoded. The number of decoded
//! messages is capped at [`MAX_MESSAGES`], so a small file of empty messages cannot expand into
//! gigabytes of structures.

use super::protobuf::{self, DecodeError, Reader, WireValue};

/// The most messages [`parse_model`] decodes before it gives up on a file.
///
/// A million is far beyond any model xnorc can place on an FPGA, yet small enough to bound the
/// memory a hostile file can make the reader use (a few hundred bytes a message).
pub const MAX_MESSAGES: usize = 1_000_000;

/// Decodes an ONNX model file (the bytes of a serialized `ModelProto`).
///
/// Errors name the failing field as a path, e.g.
/// `"ModelProto.graph.node[3].attribute[1]: field 3: truncated varint"`.
pub fn parse_model(bytes: &[u8]) -> Result<ModelProto, DecodeError> {
    parse_model_limited(bytes, MAX_MESSAGES)
}

/// [`parse_model`] with a chosen message cap, so tests can reach the cap cheaply.
fn parse_model_limited(bytes: &[u8], max_messages: usize) -> Result<ModelProto, DecodeError> {
    let mut budget = Budget {
        left: max_messages,
        max: max_messages,
    };
    let mut model = ModelProto::default();
    merge_message(&mut model, bytes, &mut budget).map_err(|e| e.at("ModelProto"))?;
    Ok(model)
}

/// How many more messages may be decoded.
struct Budget {
    left: usize,
    max: usize,
}

impl Budget {
    fn take(&mut self) -> Result<(), DecodeError> {
        self.left = self.left.checked_sub(1).ok_or_else(|| {
            DecodeError::new(format!(
                "the file holds more than {} messages; refusing to decode it",
                self.max
            ))
        })?;
        Ok(())
    }
}

/// A message type that is filled in field by field.
trait Message: Default {
    /// Applies one field; unknown field numbers must be ignored.
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError>;
}

/// Attaches a path segment to the error of a result.
trait At<T> {
    fn at(self, segment: &str) -> Result<T, DecodeError>;
}

impl<T> At<T> for Result<T, DecodeError> {
    fn at(self, segment: &str) -> Result<T, DecodeError> {
        self.map_err(|e| e.at(segment))
    }
}

/// Runs `on_field` on every field of one encoded message, counting the message against the cap.
fn for_each_field(
    bytes: &[u8],
    budget: &mut Budget,
    mut on_field: impl FnMut(u32, WireValue<'_>, &mut Budget) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    budget.take()?;
    for item in Reader::new(bytes) {
        let (field, value) = item?;
        on_field(field, value, budget)?;
    }
    Ok(())
}

/// Merges an encoded message into `msg`.
fn merge_message<M: Message>(
    msg: &mut M,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    for_each_field(bytes, budget, |field, value, budget| {
        msg.merge_field(field, value, budget)
    })
}

/// Applies one occurrence of a singular message field: decoded fresh, or merged into the value
/// already there.
fn merge_optional<M: Message>(
    slot: &mut Option<M>,
    value: WireValue<'_>,
    name: &str,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let bytes = protobuf::bytes(value).at(name)?;
    merge_message(slot.get_or_insert_with(M::default), bytes, budget).at(name)
}

/// Applies one occurrence of a repeated message field.
fn push_message<M: Message>(
    list: &mut Vec<M>,
    value: WireValue<'_>,
    name: &str,
    budget: &mut Budget,
) -> Result<(), DecodeError> {
    let index = list.len();
    let mut msg = M::default();
    protobuf::bytes(value)
        .and_then(|bytes| merge_message(&mut msg, bytes, budget))
        .map_err(|e| e.at(&format!("{name}[{index}]")))?;
    list.push(msg);
    Ok(())
}

/// Applies one occurrence of a repeated string field.
fn push_string(
    list: &mut Vec<String>,
    value: WireValue<'_>,
    name: &str,
) -> Result<(), DecodeError> {
    let index = list.len();
    let s = protobuf::string(value).map_err(|e| e.at(&format!("{name}[{index}]")))?;
    list.push(s);
    Ok(())
}

/// A whole ONNX model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelProto {
    /// The IR version the file was written for (field 1).
    pub ir_version: i64,
    /// The tool that wrote the file (field 2).
    pub producer_name: String,
    /// That tool's version (field 3).
    pub producer_version: String,
    /// The model's graph (field 7); `None` if the file has none.
    pub graph: Option<GraphProto>,
    /// The operator sets the graph's nodes refer to (field 8).
    pub opset_import: Vec<OperatorSetIdProto>,
}

impl Message for ModelProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.ir_version = protobuf::int64(value).at("ir_version")?,
            2 => self.producer_name = protobuf::string(value).at("producer_name")?,
            3 => self.producer_version = protobuf::string(value).at("producer_version")?,
            7 => merge_optional(&mut self.graph, value, "graph", budget)?,
            8 => push_message(&mut self.opset_import, value, "opset_import", budget)?,
            _ => {}
        }
        Ok(())
    }
}

/// One operator set a model uses: a domain and its version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorSetIdProto {
    /// The operator domain (field 1); empty means the default ONNX domain `ai.onnx`.
    pub domain: String,
    /// The operator set version (field 2).
    pub version: i64,
}

impl Message for OperatorSetIdProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        _: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.domain = protobuf::string(value).at("domain")?,
            2 => self.version = protobuf::int64(value).at("version")?,
            _ => {}
        }
        Ok(())
    }
}

/// A computation graph: nodes in topological order, its constants and its interface.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphProto {
    /// The nodes (field 1).
    pub node: Vec<NodeProto>,
    /// The graph's name (field 2).
    pub name: String,
    /// Constant tensors, named so that nodes can use them as inputs (field 5).
    pub initializer: Vec<TensorProto>,
    /// Whether any sparse initializer (field 15) is present; they are not decoded, only noted so
    /// that an importer can refuse the file instead of missing a constant.
    pub has_sparse_initializer: bool,
    /// The graph inputs (field 11); may include initializers in older files.
    pub input: Vec<ValueInfoProto>,
    /// The graph outputs (field 12).
    pub output: Vec<ValueInfoProto>,
    /// Types and shapes of intermediate values (field 13).
    pub value_info: Vec<ValueInfoProto>,
    /// Per-tensor quantization annotations (field 14), as used by QONNX/FINN for data types.
    pub quantization_annotation: Vec<TensorAnnotation>,
}

impl Message for GraphProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => push_message(&mut self.node, value, "node", budget)?,
            2 => self.name = protobuf::string(value).at("name")?,
            5 => push_message(&mut self.initializer, value, "initializer", budget)?,
            11 => push_message(&mut self.input, value, "input", budget)?,
            12 => push_message(&mut self.output, value, "output", budget)?,
            13 => push_message(&mut self.value_info, value, "value_info", budget)?,
            14 => push_message(
                &mut self.quantization_annotation,
                value,
                "quantization_annotation",
                budget,
            )?,
            15 => {
                protobuf::bytes(value).at("sparse_initializer")?;
                self.has_sparse_initializer = true;
            }
            _ => {}
        }
        Ok(())
    }
}

/// A key/value pair of strings (ONNX's `StringStringEntryProto`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StringStringEntryProto {
    /// The key (field 1).
    pub key: String,
    /// The value (field 2).
    pub value: String,
}

impl Message for StringStringEntryProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        _: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.key = protobuf::string(value).at("key")?,
            2 => self.value = protobuf::string(value).at("value")?,
            _ => {}
        }
        Ok(())
    }
}

/// Quantization parameters attached to one tensor of a graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TensorAnnotation {
    /// The annotated tensor (field 1).
    pub tensor_name: String,
    /// Parameter name → tensor name pairs (field 2); QONNX stores `finn_datatype` here.
    pub quant_parameter_tensor_names: Vec<StringStringEntryProto>,
}

impl Message for TensorAnnotation {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.tensor_name = protobuf::string(value).at("tensor_name")?,
            2 => push_message(
                &mut self.quant_parameter_tensor_names,
                value,
                "quant_parameter_tensor_names",
                budget,
            )?,
            _ => {}
        }
        Ok(())
    }
}

/// One operator application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeProto {
    /// Input value names (field 1); an empty name marks an omitted optional input.
    pub input: Vec<String>,
    /// Output value names (field 2).
    pub output: Vec<String>,
    /// The node's name (field 3), possibly empty.
    pub name: String,
    /// The operator (field 4).
    pub op_type: String,
    /// The operator's domain (field 7); empty means `ai.onnx`.
    pub domain: String,
    /// The operator's attributes (field 5).
    pub attribute: Vec<AttributeProto>,
}

impl Message for NodeProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => push_string(&mut self.input, value, "input")?,
            2 => push_string(&mut self.output, value, "output")?,
            3 => self.name = protobuf::string(value).at("name")?,
            4 => self.op_type = protobuf::string(value).at("op_type")?,
            5 => push_message(&mut self.attribute, value, "attribute", budget)?,
            7 => self.domain = protobuf::string(value).at("domain")?,
            _ => {}
        }
        Ok(())
    }
}

/// A node attribute as stored; [`AttributeProto::value`] picks the field its type says is used.
///
/// The singular value fields are `Option`s because proto2 records their presence, which is what
/// the type is inferred from in files too old to have a `type`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeProto {
    /// The attribute's name (field 1).
    pub name: String,
    /// The `AttributeType` (field 20, ONNX's `type`); 0 in files older than IR version 2.
    pub attr_type: i32,
    /// In a function body, the name of the function attribute this one refers to (field 21).
    pub ref_attr_name: String,
    /// A float value (field 2).
    pub f: Option<f32>,
    /// An integer value (field 3).
    pub i: Option<i64>,
    /// A string value, as bytes (field 4).
    pub s: Option<Vec<u8>>,
    /// A tensor value (field 5).
    pub t: Option<TensorProto>,
    /// Whether a graph value (field 6) or graph list (field 11) is present; subgraphs are never
    /// decoded, which keeps recursion bounded.
    pub has_graph: bool,
    /// A list of floats (field 7).
    pub floats: Vec<f32>,
    /// A list of integers (field 8).
    pub ints: Vec<i64>,
    /// A list of strings, as bytes (field 9).
    pub strings: Vec<Vec<u8>>,
    /// A list of tensors (field 10).
    pub tensors: Vec<TensorProto>,
}

/// An attribute's value, as chosen by its type.
// The TENSOR variant is much larger than the rest; boxing it would only save memory on the few
// short-lived values an importer creates, at the cost of a clumsier match for every caller.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// `FLOAT`.
    Float(f32),
    /// `INT`.
    Int(i64),
    /// `STRING`: ONNX strings are bytes (meant to be UTF-8).
    Bytes(Vec<u8>),
    /// `TENSOR`.
    Tensor(TensorProto),
    /// `FLOATS`.
    Floats(Vec<f32>),
    /// `INTS`.
    Ints(Vec<i64>),
    /// `STRINGS`.
    Strings(Vec<Vec<u8>>),
    /// Any other kind of attribute, or one whose kind cannot be told; says which.
    Unsupported(&'static str),
}

impl AttributeProto {
    /// `AttributeType.FLOAT`.
    pub const FLOAT: i32 = 1;
    /// `AttributeType.INT`.
    pub const INT: i32 = 2;
    /// `AttributeType.STRING`.
    pub const STRING: i32 = 3;
    /// `AttributeType.TENSOR`.
    pub const TENSOR: i32 = 4;
    /// `AttributeType.GRAPH`.
    pub const GRAPH: i32 = 5;
    /// `AttributeType.FLOATS`.
    pub const FLOATS: i32 = 6;
    /// `AttributeType.INTS`.
    pub const INTS: i32 = 7;
    /// `AttributeType.STRINGS`.
    pub const STRINGS: i32 = 8;
    /// `AttributeType.TENSORS`.
    pub const TENSORS: i32 = 9;
    /// `AttributeType.GRAPHS`.
    pub const GRAPHS: i32 = 10;
    /// `AttributeType.SPARSE_TENSOR`.
    pub const SPARSE_TENSOR: i32 = 11;
    /// `AttributeType.SPARSE_TENSORS`.
    pub const SPARSE_TENSORS: i32 = 12;
    /// `AttributeType.TYPE_PROTO`.
    pub const TYPE_PROTO: i32 = 13;
    /// `AttributeType.TYPE_PROTOS`.
    pub const TYPE_PROTOS: i32 = 14;

    /// The attribute's value, from the field its `type` names (a missing scalar reads as
    /// protobuf's default, 0 or empty, as ONNX's own helpers do).
    ///
    /// Without a `type` (files older than IR version 2) the type is inferred from the one value
    /// field that is set; none or several set gives [`AttrValue::Unsupported`], matching what
    /// ONNX's checker refuses.
    pub fn value(&self) -> AttrValue {
        if !self.ref_attr_name.is_empty() {
            return AttrValue::Unsupported("a reference to a function attribute");
        }
        let attr_type = match self.attr_type {
            0 => match self.inferred_type() {
                Ok(t) => t,
                Err(why) => return AttrValue::Unsupported(why),
            },
            t => t,
        };
        self.value_of_type(attr_type)
    }

    fn value_of_type(&self, attr_type: i32) -> AttrValue {
        match attr_type {
            Self::FLOAT => AttrValue::Float(self.f.unwrap_or(0.0)),
            Self::INT => AttrValue::Int(self.i.unwrap_or(0)),
            Self::STRING => AttrValue::Bytes(self.s.clone().unwrap_or_default()),
            Self::TENSOR => match &self.t {
                Some(t) => AttrValue::Tensor(t.clone()),
                None => AttrValue::Unsupported("a TENSOR attribute without a tensor"),
            },
            Self::FLOATS => AttrValue::Floats(self.floats.clone()),
            Self::INTS => AttrValue::Ints(self.ints.clone()),
            Self::STRINGS => AttrValue::Strings(self.strings.clone()),
            Self::GRAPH => AttrValue::Unsupported("a GRAPH attribute"),
            Self::TENSORS => AttrValue::Unsupported("a TENSORS attribute"),
            Self::GRAPHS => AttrValue::Unsupported("a GRAPHS attribute"),
            Self::SPARSE_TENSOR => AttrValue::Unsupported("a SPARSE_TENSOR attribute"),
            Self::SPARSE_TENSORS => AttrValue::Unsupported("a SPARSE_TENSORS attribute"),
            Self::TYPE_PROTO => AttrValue::Unsupported("a TYPE_PROTO attribute"),
            Self::TYPE_PROTOS => AttrValue::Unsupported("a TYPE_PROTOS attribute"),
            _ => AttrValue::Unsupported("an attribute of unknown type"),
        }
    }

    /// The type of the single value field that is set, for untyped (pre IR version 2) files.
    fn inferred_type(&self) -> Result<i32, &'static str> {
        let candidates = [
            (self.f.is_some(), Self::FLOAT),
            (self.i.is_some(), Self::INT),
            (self.s.is_some(), Self::STRING),
            (self.t.is_some(), Self::TENSOR),
            (self.has_graph, Self::GRAPH),
            (!self.floats.is_empty(), Self::FLOATS),
            (!self.ints.is_empty(), Self::INTS),
            (!self.strings.is_empty(), Self::STRINGS),
            (!self.tensors.is_empty(), Self::TENSORS),
        ];
        let mut set = candidates.iter().filter(|(present, _)| *present);
        match (set.next(), set.next()) {
            (Some(&(_, t)), None) => Ok(t),
            (None, _) => Err("an attribute with neither a type nor a value"),
            (Some(_), Some(_)) => Err("an attribute with no type and several values"),
        }
    }
}

impl Message for AttributeProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.name = protobuf::string(value).at("name")?,
            2 => self.f = Some(protobuf::float(value).at("f")?),
            3 => self.i = Some(protobuf::int64(value).at("i")?),
            4 => self.s = Some(protobuf::bytes(value).at("s")?.to_vec()),
            5 => merge_optional(&mut self.t, value, "t", budget)?,
            6 | 11 => {
                let name = if field == 6 { "g" } else { "graphs" };
                protobuf::bytes(value).at(name)?;
                self.has_graph = true;
            }
            7 => protobuf::push_floats(value, &mut self.floats).at("floats")?,
            8 => protobuf::push_int64s(value, &mut self.ints).at("ints")?,
            9 => self
                .strings
                .push(protobuf::bytes(value).at("strings")?.to_vec()),
            10 => push_message(&mut self.tensors, value, "tensors", budget)?,
            20 => self.attr_type = protobuf::int32(value).at("type")?,
            21 => self.ref_attr_name = protobuf::string(value).at("ref_attr_name")?,
            _ => {}
        }
        Ok(())
    }
}

/// A tensor's description and data. Read its elements with [`TensorProto::to_f32`],
/// [`TensorProto::to_f64`] or [`TensorProto::to_i64`], which handle the storage variants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TensorProto {
    /// The shape (field 1); empty for a scalar.
    pub dims: Vec<i64>,
    /// The element type (field 2), a `TensorProto.DataType` such as [`TensorProto::FLOAT`].
    pub data_type: i32,
    /// The chunk of a larger tensor this one holds (field 3), if it is one.
    pub segment: Option<Segment>,
    /// Elements of FLOAT tensors (field 4).
    pub float_data: Vec<f32>,
    /// Elements of INT32, INT16, INT8, UINT16, UINT8 and BOOL tensors, and FLOAT16 bit patterns
    /// (field 5).
    pub int32_data: Vec<i32>,
    /// Elements of INT64 tensors (field 7).
    pub int64_data: Vec<i64>,
    /// The tensor's name (field 8).
    pub name: String,
    /// Elements as fixed-width little-endian bytes (field 9); when present it takes precedence
    /// over the typed fields. `Some(empty)` is a present but empty field.
    pub raw_data: Option<Vec<u8>>,
    /// Elements of DOUBLE tensors (field 10).
    pub double_data: Vec<f64>,
    /// Elements of UINT32 and UINT64 tensors (field 11).
    pub uint64_data: Vec<u64>,
    /// Where the data is (field 14): 0 = in this message, [`TensorProto::EXTERNAL`] = elsewhere.
    pub data_location: i32,
    /// Where external data lives: `location`, `offset`, `length` (field 13).
    pub external_data: Vec<StringStringEntryProto>,
}

/// The part of a larger tensor that one `TensorProto` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    /// First element index (field 1).
    pub begin: i64,
    /// One past the last element index (field 2).
    pub end: i64,
}

impl Message for Segment {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        _: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.begin = protobuf::int64(value).at("begin")?,
            2 => self.end = protobuf::int64(value).at("end")?,
            _ => {}
        }
        Ok(())
    }
}

impl Message for TensorProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => protobuf::push_int64s(value, &mut self.dims).at("dims")?,
            2 => self.data_type = protobuf::int32(value).at("data_type")?,
            3 => merge_optional(&mut self.segment, value, "segment", budget)?,
            4 => protobuf::push_floats(value, &mut self.float_data).at("float_data")?,
            5 => protobuf::push_int32s(value, &mut self.int32_data).at("int32_data")?,
            7 => protobuf::push_int64s(value, &mut self.int64_data).at("int64_data")?,
            8 => self.name = protobuf::string(value).at("name")?,
            9 => self.raw_data = Some(protobuf::bytes(value).at("raw_data")?.to_vec()),
            10 => protobuf::push_doubles(value, &mut self.double_data).at("double_data")?,
            11 => protobuf::push_uint64s(value, &mut self.uint64_data).at("uint64_data")?,
            13 => push_message(&mut self.external_data, value, "external_data", budget)?,
            14 => self.data_location = protobuf::int32(value).at("data_location")?,
            _ => {}
        }
        Ok(())
    }
}

/// The name ONNX gives a `TensorProto.DataType` value, for messages.
pub fn data_type_name(data_type: i32) -> &'static str {
    const NAMES: [&str; 27] = [
        "UNDEFINED",
        "FLOAT",
        "UINT8",
        "INT8",
        "UINT16",
        "INT16",
        "INT32",
        "INT64",
        "STRING",
        "BOOL",
        "FLOAT16",
        "DOUBLE",
        "UINT32",
        "UINT64",
        "COMPLEX64",
        "COMPLEX128",
        "BFLOAT16",
        "FLOAT8E4M3FN",
        "FLOAT8E4M3FNUZ",
        "FLOAT8E5M2",
        "FLOAT8E5M2FNUZ",
        "UINT4",
        "INT4",
        "FLOAT4E2M1",
        "FLOAT8E8M0",
        "UINT2",
        "INT2",
    ];
    usize::try_from(data_type)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("an unknown data type")
}

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
/// supported data types exactly (FLOAT16 widens to f32 exactly, every integer of 32 bits or less
/// fits i64).
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
    /// `DataType.FLOAT`.
    pub const FLOAT: i32 = 1;
    /// `DataType.UINT8`.
    pub const UINT8: i32 = 2;
    /// `DataType.INT8`.
    pub const INT8: i32 = 3;
    /// `DataType.UINT16`.
    pub const UINT16: i32 = 4;
    /// `DataType.INT16`.
    pub const INT16: i32 = 5;
    /// `DataType.INT32`.
    pub const INT32: i32 = 6;
    /// `DataType.INT64`.
    pub const INT64: i32 = 7;
    /// `DataType.STRING`.
    pub const STRING: i32 = 8;
    /// `DataType.BOOL`.
    pub const BOOL: i32 = 9;
    /// `DataType.FLOAT16`.
    pub const FLOAT16: i32 = 10;
    /// `DataType.DOUBLE`.
    pub const DOUBLE: i32 = 11;
    /// `DataType.UINT32`.
    pub const UINT32: i32 = 12;
    /// `DataType.UINT64`.
    pub const UINT64: i32 = 13;
    /// `DataLocation.EXTERNAL`: the data is in another file.
    pub const EXTERNAL: i32 = 1;

    /// The number of elements the shape describes (1 for a scalar).
    pub fn numel(&self) -> Result<usize, DecodeError> {
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
    pub fn to_f32(&self) -> Result<Vec<f32>, DecodeError> {
        match self.elements()? {
            Elements::Float(v) => Ok(v),
            Elements::Double(v) => self.convert(&v, "f32", f64_to_f32),
            Elements::Int(v) => self.convert(&v, "f32", i64_to_f32),
            Elements::UInt(v) => self.convert(&v, "f32", u64_to_f32),
        }
    }

    /// The elements as f64, in row-major order. Fails if a 64-bit integer is beyond 2^53 and not
    /// exactly representable.
    pub fn to_f64(&self) -> Result<Vec<f64>, DecodeError> {
        match self.elements()? {
            Elements::Float(v) => Ok(v.into_iter().map(f64::from).collect()),
            Elements::Double(v) => Ok(v),
            Elements::Int(v) => self.convert(&v, "f64", i64_to_f64),
            Elements::UInt(v) => self.convert(&v, "f64", u64_to_f64),
        }
    }

    /// The elements as i64, in row-major order. Float data is accepted only if every value is an
    /// exact integer within i64's range; UINT64 values above i64::MAX fail.
    pub fn to_i64(&self) -> Result<Vec<i64>, DecodeError> {
        match self.elements()? {
            Elements::Float(v) => self.convert(&v, "i64", |x| f64_to_i64(f64::from(x))),
            Elements::Double(v) => self.convert(&v, "i64", f64_to_i64),
            Elements::Int(v) => Ok(v),
            Elements::UInt(v) => self.convert(&v, "i64", |x| i64::try_from(x).ok()),
        }
    }

    /// An error about this tensor, naming it.
    fn error(&self, what: &str) -> DecodeError {
        let name = if self.name.is_empty() {
            "unnamed tensor".to_owned()
        } else {
            // Debug formatting escapes control characters from the untrusted name.
            format!("tensor {:?}", self.name)
        };
        DecodeError::new(format!("{name}: {what}"))
    }

    /// The data type's name, for messages.
    fn type_name(&self) -> &'static str {
        data_type_name(self.data_type)
    }

    /// Converts every element with `exact`, failing at the first one it cannot convert exactly.
    fn convert<T: Copy + std::fmt::Display, U>(
        &self,
        values: &[T],
        target: &str,
        exact: impl Fn(T) -> Option<U>,
    ) -> Result<Vec<U>, DecodeError> {
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

    /// The bytes per element in `raw_data` and the typed field for this tensor's data type, after
    /// refusing what this reader cannot read (external or segmented data, other data types).
    fn storage(&self) -> Result<(usize, TypedField), DecodeError> {
        self.check_location()?;
        let storage = match self.data_type {
            Self::FLOAT => (4, TypedField::Float),
            Self::UINT8 | Self::INT8 | Self::BOOL => (1, TypedField::Int32),
            Self::UINT16 | Self::INT16 | Self::FLOAT16 => (2, TypedField::Int32),
            Self::INT32 => (4, TypedField::Int32),
            Self::INT64 => (8, TypedField::Int64),
            Self::DOUBLE => (8, TypedField::Double),
            Self::UINT32 => (4, TypedField::Uint64),
            Self::UINT64 => (8, TypedField::Uint64),
            0 => return Err(self.error("has no data type (UNDEFINED)")),
            Self::STRING => {
                return Err(self.error("is a STRING tensor; only numeric tensors can be read"))
            }
            other => {
                return Err(self.error(&format!(
                    "has data type {} ({other}), which this reader does not support",
                    data_type_name(other)
                )))
            }
        };
        Ok(storage)
    }

    /// Refuses data that is not wholly inside this message.
    fn check_location(&self) -> Result<(), DecodeError> {
        if self.data_location == Self::EXTERNAL {
            let location = self
                .external_data
                .iter()
                .find(|entry| entry.key == "location")
                .map_or_else(
                    || "no location given".to_owned(),
                    |e| format!("{:?}", e.value),
                );
            return Err(self.error(&format!(
                "keeps its data in an external file ({location}), which is not supported; save \
                 the model with its data inside (onnx.save_model(..., \
                 save_as_external_data=False))"
            )));
        }
        if self.data_location != 0 {
            return Err(self.error(&format!("unknown data_location {}", self.data_location)));
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
    fn elements(&self) -> Result<Elements, DecodeError> {
        let (width, expected) = self.storage()?;
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
                self.decode_raw(raw)
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
                self.decode_typed()
            }
        }
    }

    fn check_raw_len(&self, len: usize, width: usize, numel: usize) -> Result<(), DecodeError> {
        if !len.is_multiple_of(width) {
            return Err(self.error(&format!(
                "raw_data has {len} bytes, not a whole number of {width}-byte {} elements",
                self.type_name()
            )));
        }
        self.check_count(len / width, numel)
    }

    fn check_count(&self, count: usize, numel: usize) -> Result<(), DecodeError> {
        if count != numel {
            return Err(self.error(&format!(
                "holds {count} elements, but its shape {:?} needs {numel}",
                self.dims
            )));
        }
        Ok(())
    }

    /// Decodes little-endian fixed-width `raw_data`; its length has been checked.
    fn decode_raw(&self, raw: &[u8]) -> Result<Elements, DecodeError> {
        let int = |values: Vec<i64>| Ok(Elements::Int(values));
        match self.data_type {
            Self::FLOAT => Ok(Elements::Float(le(raw).map(f32::from_le_bytes).collect())),
            Self::FLOAT16 => Ok(Elements::Float(
                le(raw).map(|w| f16_to_f32(u16::from_le_bytes(w))).collect(),
            )),
            Self::DOUBLE => Ok(Elements::Double(le(raw).map(f64::from_le_bytes).collect())),
            Self::UINT8 => int(raw.iter().map(|&b| i64::from(b)).collect()),
            Self::INT8 => int(le(raw).map(|w| i64::from(i8::from_le_bytes(w))).collect()),
            Self::BOOL => self.bools(raw),
            Self::UINT16 => int(le(raw).map(|w| i64::from(u16::from_le_bytes(w))).collect()),
            Self::INT16 => int(le(raw).map(|w| i64::from(i16::from_le_bytes(w))).collect()),
            Self::INT32 => int(le(raw).map(|w| i64::from(i32::from_le_bytes(w))).collect()),
            Self::UINT32 => int(le(raw).map(|w| i64::from(u32::from_le_bytes(w))).collect()),
            Self::INT64 => int(le(raw).map(i64::from_le_bytes).collect()),
            Self::UINT64 => Ok(Elements::UInt(le(raw).map(u64::from_le_bytes).collect())),
            _ => Err(self.error("has an unsupported data type")),
        }
    }

    /// BOOL raw data is one byte an element, and the spec allows only 0 and 1.
    fn bools(&self, raw: &[u8]) -> Result<Elements, DecodeError> {
        match raw.iter().position(|&b| b > 1) {
            Some(index) => Err(self.error(&format!(
                "raw_data byte {index} is {}, but BOOL elements must be 0 or 1",
                raw.get(index).copied().unwrap_or_default()
            ))),
            None => Ok(Elements::Int(raw.iter().map(|&b| i64::from(b)).collect())),
        }
    }

    /// Decodes the typed field of this data type; its length has been checked.
    fn decode_typed(&self) -> Result<Elements, DecodeError> {
        match self.data_type {
            Self::FLOAT => Ok(Elements::Float(self.float_data.clone())),
            Self::DOUBLE => Ok(Elements::Double(self.double_data.clone())),
            Self::INT64 => Ok(Elements::Int(self.int64_data.clone())),
            Self::UINT64 => Ok(Elements::UInt(self.uint64_data.clone())),
            Self::UINT32 => self.uint32s().map(Elements::Int),
            Self::FLOAT16 => {
                let bits = self.int32s_in(0, i64::from(u16::MAX))?;
                // In 0..=65535 after the check, so the cast keeps every bit.
                Ok(Elements::Float(
                    bits.into_iter().map(|b| f16_to_f32(b as u16)).collect(),
                ))
            }
            Self::UINT8 => self.int32s_in(0, 255).map(Elements::Int),
            Self::INT8 => self.int32s_in(-128, 127).map(Elements::Int),
            Self::BOOL => self.int32s_in(0, 1).map(Elements::Int),
            Self::UINT16 => self.int32s_in(0, i64::from(u16::MAX)).map(Elements::Int),
            Self::INT16 => self
                .int32s_in(i64::from(i16::MIN), i64::from(i16::MAX))
                .map(Elements::Int),
            Self::INT32 => Ok(Elements::Int(
                self.int32_data.iter().map(|&v| i64::from(v)).collect(),
            )),
            _ => Err(self.error("has an unsupported data type")),
        }
    }

    /// `int32_data` widened, refusing values outside the narrower type's range rather than
    /// wrapping them.
    fn int32s_in(&self, min: i64, max: i64) -> Result<Vec<i64>, DecodeError> {
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
    fn uint32s(&self) -> Result<Vec<i64>, DecodeError> {
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

/// Converts IEEE 754 binary16 bits to f32; exact, as every binary16 value is a binary32 value.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let fraction = u32::from(bits & 0x3ff);
    let magnitude = match exponent {
        // Zero and subnormals: fraction × 2^-24, exact in f32 (at most 10 significant bits).
        0 => (fraction as f32 * (1.0 / 16_777_216.0)).to_bits(),
        // Infinities and NaNs keep their payload bits.
        0x1f => 0x7f80_0000 | (fraction << 13),
        // Normal numbers: rebias the exponent from 15 to 127 and widen the fraction.
        _ => ((exponent + 127 - 15) << 23) | (fraction << 13),
    };
    f32::from_bits(sign | magnitude)
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

/// One dimension of a value's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size (`dim_value`).
    Value(i64),
    /// A symbolic size such as `"N"` (`dim_param`).
    Param(String),
    /// Neither is set: the size is not known.
    Unknown,
}

/// A named value's type, as far as an importer needs it: tensor element type and shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueInfoProto {
    /// The value's name (field 1).
    pub name: String,
    /// The tensor element type (`type.tensor_type.elem_type`), a `TensorProto.DataType`; 0 when
    /// the type is absent or not a tensor.
    pub elem_type: i32,
    /// The tensor shape (`type.tensor_type.shape.dim`); `None` when no shape is given (unknown
    /// rank), `Some(vec![])` for a scalar.
    pub shape: Option<Vec<Dim>>,
    /// When the type is not a tensor, which kind it is ("sequence", "map", "optional",
    /// "sparse tensor"); such types are only noted, not decoded.
    pub other_type: Option<&'static str>,
}

impl Message for ValueInfoProto {
    fn merge_field(
        &mut self,
        field: u32,
        value: WireValue<'_>,
        budget: &mut Budget,
    ) -> Result<(), DecodeError> {
        match field {
            1 => self.name = protobuf::string(value).at("name")?,
            2 => {
                let bytes = protobuf::bytes(value).at("type")?;
                self.merge_type(bytes, budget).at("type")?;
            }
            _ => {}
        }
        Ok(())
    }
}

impl ValueInfoProto {
    /// Merges a `TypeProto` into the flattened fields. Its kinds are a oneof, so switching kind
    /// drops what the previous kind set, as protobuf does.
    fn merge_type(&mut self, bytes: &[u8], budget: &mut Budget) -> Result<(), DecodeError> {
        for_each_field(bytes, budget, |field, value, budget| {
            let other = match field {
                1 => {
                    self.other_type = None;
                    let bytes = protobuf::bytes(value).at("tensor_type")?;
                    return self.merge_tensor_type(bytes, budget).at("tensor_type");
                }
                4 => "sequence",
                5 => "map",
                8 => "sparse tensor",
                9 => "optional",
                _ => return Ok(()),
            };
            protobuf::bytes(value)?;
            self.other_type = Some(other);
            self.elem_type = 0;
            self.shape = None;
            Ok(())
        })
    }

    /// Merges a `TypeProto.Tensor`: elem_type (1) and shape (2).
    fn merge_tensor_type(&mut self, bytes: &[u8], budget: &mut Budget) -> Result<(), DecodeError> {
        for_each_field(bytes, budget, |field, value, budget| {
            match field {
                1 => self.elem_type = protobuf::int32(value).at("elem_type")?,
                2 => {
                    let bytes = protobuf::bytes(value).at("shape")?;
                    let dims = self.shape.get_or_insert_with(Vec::new);
                    merge_shape(dims, bytes, budget).at("shape")?;
                }
                _ => {}
            }
            Ok(())
        })
    }
}

/// Appends the dimensions (field 1) of a `TensorShapeProto`.
fn merge_shape(dims: &mut Vec<Dim>, bytes: &[u8], budget: &mut Budget) -> Result<(), DecodeError> {
    for_each_field(bytes, budget, |field, value, budget| {
        if field == 1 {
            let index = dims.len();
            let dim = protobuf::bytes(value)
                .and_then(|bytes| decode_dim(bytes, budget))
                .map_err(|e| e.at(&format!("dim[{index}]")))?;
            dims.push(dim);
        }
        Ok(())
    })
}

/// Decodes a `TensorShapeProto.Dimension`, whose value is a oneof: the last one set wins.
fn decode_dim(bytes: &[u8], budget: &mut Budget) -> Result<Dim, DecodeError> {
    let mut dim = Dim::Unknown;
    for_each_field(bytes, budget, |field, value, _| {
        match field {
            1 => dim = Dim::Value(protobuf::int64(value).at("dim_value")?),
            2 => dim = Dim::Param(protobuf::string(value).at("dim_param")?),
            _ => {}
        }
        Ok(())
    })?;
    Ok(dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds protobuf encodings by hand, independently of the decoder.
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

        /// Fields of every wire type under numbers no ONNX message in this reader uses.
        fn unknown_fields(self) -> Self {
            self.varint(999, 5)
                .fixed32(1000, 7)
                .fixed64(1001, 9)
                .str(1002, "ignored")
        }
    }

    fn tensor(data_type: i32, dims: &[i64]) -> Enc {
        let mut e = Enc::new().int(2, data_type.into()).str(8, "t");
        for &d in dims {
            e = e.int(1, d);
        }
        e
    }

    fn decode_tensor(e: Enc) -> TensorProto {
        let mut t = TensorProto::default();
        merge_message(&mut t, &e.0, &mut budget()).unwrap();
        t
    }

    fn budget() -> Budget {
        Budget {
            left: MAX_MESSAGES,
            max: MAX_MESSAGES,
        }
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
            .msg(
                5,
                tensor(TensorProto::FLOAT, &[2]).packed_f32(4, &[1.0, 2.0]),
            )
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
        assert_eq!(model.ir_version, 8);
        assert_eq!(model.producer_name, "hand");
        assert_eq!(model.producer_version, "0.1");
        assert_eq!(
            model.opset_import,
            vec![OperatorSetIdProto {
                domain: String::new(),
                version: 13
            }]
        );
        let graph = model.graph.unwrap();
        assert_eq!(graph.name, "g");
        assert_eq!(graph.node.len(), 2);
        let n0 = &graph.node[0];
        assert_eq!(n0.input, vec!["x", ""]);
        assert_eq!(n0.output, vec!["y"]);
        assert_eq!((n0.name.as_str(), n0.op_type.as_str()), ("n0", "Transpose"));
        assert_eq!(n0.attribute.len(), 2);
        assert_eq!(n0.attribute[0].value(), AttrValue::Float(0.25));
        assert_eq!(n0.attribute[1].value(), AttrValue::Ints(vec![0, 2, -1]));
        assert_eq!(graph.node[1].domain, "qonnx.custom_op.general");
        assert_eq!(graph.initializer[0].to_f32().unwrap(), vec![1.0, 2.0]);
        assert_eq!(graph.input[0].elem_type, TensorProto::FLOAT);
        assert_eq!(
            graph.input[0].shape,
            Some(vec![Dim::Param("N".into()), Dim::Value(3), Dim::Unknown])
        );
        assert_eq!(graph.output[0].shape, None);
        assert_eq!(graph.output[0].elem_type, 0);
        let annotation = &graph.quantization_annotation[0];
        assert_eq!(annotation.tensor_name, "x");
        assert_eq!(
            annotation.quant_parameter_tensor_names,
            vec![StringStringEntryProto {
                key: "finn_datatype".into(),
                value: "BIPOLAR".into()
            }]
        );
        assert!(!graph.has_sparse_initializer);
    }

    #[test]
    fn notes_sparse_initializers_and_non_tensor_types() {
        let seq = Enc::new().msg(4, Enc::new().msg(1, Enc::new()));
        let graph = Enc::new()
            .msg(15, Enc::new().msg(1, tensor(1, &[1])))
            .msg(13, Enc::new().str(1, "s").msg(2, seq));
        let model = parse_model(&Enc::new().msg(7, graph).0).unwrap();
        let graph = model.graph.unwrap();
        assert!(graph.has_sparse_initializer);
        assert_eq!(graph.value_info[0].other_type, Some("sequence"));
        assert_eq!(graph.value_info[0].elem_type, 0);
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
        assert_eq!(model.ir_version, 7);
        let graph = model.graph.unwrap();
        assert_eq!(graph.name, "second");
        let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, vec!["A", "B"]);
    }

    #[test]
    fn error_paths_name_the_failing_field() {
        // node[1].attribute[0] holds a tag for field 3 (i) with its varint missing.
        let bad_attr = Enc::new().tag(3, 0);
        let graph = Enc::new().msg(1, Enc::new().str(4, "Ok")).msg(
            1,
            Enc::new().msg(5, Enc::new().str(1, "a")).msg(5, bad_attr),
        );
        let err = parse_model(&Enc::new().msg(7, graph).0).unwrap_err();
        assert_eq!(
            err.message,
            "ModelProto.graph.node[1].attribute[1]: field 3: truncated varint"
        );

        let bad_name = Enc::new().msg(7, Enc::new().msg(1, Enc::new().bytes(3, &[0xc3])));
        let err = parse_model(&bad_name.0).unwrap_err();
        assert!(
            err.message
                .starts_with("ModelProto.graph.node[0].name: invalid UTF-8"),
            "{err}"
        );

        let wrong_wire = Enc::new().msg(7, Enc::new().msg(5, Enc::new().fixed32(1, 0)));
        let err = parse_model(&wrong_wire.0).unwrap_err();
        assert_eq!(
            err.message,
            "ModelProto.graph.initializer[0].dims: \
             expected a varint or packed varint value, found wire type fixed32"
        );
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
    fn the_message_cap_is_enforced() {
        let bytes = sample_model().0;
        let err = parse_model_limited(&bytes, 5).unwrap_err();
        assert!(err.message.contains("more than 5 messages"), "{err}");
        assert!(parse_model_limited(&bytes, 1000).is_ok());
    }

    #[test]
    fn attributes_follow_their_type() {
        let decode = |e: Enc| {
            let mut a = AttributeProto::default();
            merge_message(&mut a, &e.0, &mut budget()).unwrap();
            a.value()
        };
        let t = tensor(TensorProto::INT64, &[1]).packed_ints(7, &[5]);
        assert_eq!(decode(Enc::new().int(3, -4).int(20, 2)), AttrValue::Int(-4));
        assert_eq!(
            decode(Enc::new().str(4, "ROUND").int(20, 3)),
            AttrValue::Bytes(b"ROUND".to_vec())
        );
        match decode(Enc::new().msg(5, t.clone()).int(20, 4)) {
            AttrValue::Tensor(t) => assert_eq!(t.to_i64().unwrap(), vec![5]),
            other => panic!("expected a tensor, got {other:?}"),
        }
        let floats = Enc::new()
            .fixed32(7, 1.5f32.to_bits())
            .packed_f32(7, &[-2.0, 0.5])
            .int(20, 6);
        assert_eq!(decode(floats), AttrValue::Floats(vec![1.5, -2.0, 0.5]));
        let strings = Enc::new().str(9, "a").str(9, "bc").int(20, 8);
        assert_eq!(
            decode(strings),
            AttrValue::Strings(vec![b"a".to_vec(), b"bc".to_vec()])
        );
        // The type decides, even when another field is also set.
        assert_eq!(
            decode(Enc::new().int(3, 9).int(20, 1)),
            AttrValue::Float(0.0)
        );
        assert_eq!(decode(Enc::new().int(20, 7)), AttrValue::Ints(vec![]));
        assert!(matches!(
            decode(Enc::new().msg(6, Enc::new().str(2, "sub")).int(20, 5)),
            AttrValue::Unsupported(_)
        ));
        assert!(matches!(
            decode(Enc::new().int(20, 99)),
            AttrValue::Unsupported(_)
        ));
        assert!(matches!(
            decode(Enc::new().int(20, 2).str(21, "outer")),
            AttrValue::Unsupported(_)
        ));
        assert!(matches!(
            decode(Enc::new().msg(10, t).int(20, 9)),
            AttrValue::Unsupported(_)
        ));
    }

    #[test]
    fn untyped_attributes_are_inferred_from_the_field_set() {
        let decode = |e: Enc| {
            let mut a = AttributeProto::default();
            merge_message(&mut a, &e.0, &mut budget()).unwrap();
            a.value()
        };
        assert_eq!(decode(Enc::new().int(3, 0)), AttrValue::Int(0));
        assert_eq!(
            decode(Enc::new().fixed32(2, 2.0f32.to_bits())),
            AttrValue::Float(2.0)
        );
        assert_eq!(decode(Enc::new().str(4, "")), AttrValue::Bytes(vec![]));
        assert_eq!(
            decode(Enc::new().packed_ints(8, &[1, 2])),
            AttrValue::Ints(vec![1, 2])
        );
        assert!(matches!(
            decode(Enc::new().msg(6, Enc::new())),
            AttrValue::Unsupported(_)
        ));
        assert_eq!(
            decode(Enc::new().str(1, "empty")),
            AttrValue::Unsupported("an attribute with neither a type nor a value")
        );
        assert_eq!(
            decode(Enc::new().int(3, 1).fixed32(2, 0)),
            AttrValue::Unsupported("an attribute with no type and several values")
        );
    }

    #[test]
    fn repeated_scalars_packed_or_not_decode_the_same() {
        let packed = tensor(TensorProto::INT64, &[])
            .packed_ints(1, &[2, 3])
            .packed_ints(7, &[1, -2, 3, -4, 5, -6]);
        let mut unpacked = tensor(TensorProto::INT64, &[]).int(1, 2).int(1, 3);
        for v in [1, -2, 3, -4, 5, -6] {
            unpacked = unpacked.int(7, v);
        }
        let (a, b) = (decode_tensor(packed), decode_tensor(unpacked));
        assert_eq!(a, b);
        assert_eq!(a.dims, vec![2, 3]);
        assert_eq!(a.to_i64().unwrap(), vec![1, -2, 3, -4, 5, -6]);

        let mut floats = tensor(TensorProto::FLOAT, &[3]).fixed32(4, 0.5f32.to_bits());
        floats = floats.packed_f32(4, &[1.5, -3.0]);
        assert_eq!(
            decode_tensor(floats).to_f32().unwrap(),
            vec![0.5, 1.5, -3.0]
        );

        let doubles = tensor(TensorProto::DOUBLE, &[3])
            .fixed64(10, 0.25f64.to_bits())
            .packed_f64(10, &[-1.0, 2.0]);
        assert_eq!(
            decode_tensor(doubles).to_f64().unwrap(),
            vec![0.25, -1.0, 2.0]
        );
    }

    /// One tensor written both ways: raw little-endian bytes and the ONNX typed field.
    struct Case {
        data_type: i32,
        raw: Vec<u8>,
        typed: Enc,
        expected: Vec<f64>,
    }

    fn cases() -> Vec<Case> {
        let int32s = |values: &[i64]| Enc::new().packed_ints(5, values);
        vec![
            Case {
                data_type: TensorProto::FLOAT,
                raw: [1.5f32, -0.25]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                typed: Enc::new().packed_f32(4, &[1.5, -0.25]),
                expected: vec![1.5, -0.25],
            },
            Case {
                data_type: TensorProto::UINT8,
                raw: vec![0, 255],
                typed: int32s(&[0, 255]),
                expected: vec![0.0, 255.0],
            },
            Case {
                data_type: TensorProto::INT8,
                raw: vec![0x80, 0x7f],
                typed: int32s(&[-128, 127]),
                expected: vec![-128.0, 127.0],
            },
            Case {
                data_type: TensorProto::UINT16,
                raw: vec![0xff, 0xff, 0x01, 0x00],
                typed: int32s(&[65535, 1]),
                expected: vec![65535.0, 1.0],
            },
            Case {
                data_type: TensorProto::INT16,
                raw: vec![0x00, 0x80, 0xff, 0x7f],
                typed: int32s(&[-32768, 32767]),
                expected: vec![-32768.0, 32767.0],
            },
            Case {
                data_type: TensorProto::INT32,
                raw: [-7i32, 1 << 20]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                typed: int32s(&[-7, 1 << 20]),
                expected: vec![-7.0, 1_048_576.0],
            },
            Case {
                data_type: TensorProto::INT64,
                raw: [-3i64, 1 << 40]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                typed: Enc::new().packed_ints(7, &[-3, 1 << 40]),
                expected: vec![-3.0, 1_099_511_627_776.0],
            },
            Case {
                data_type: TensorProto::BOOL,
                raw: vec![1, 0],
                typed: int32s(&[1, 0]),
                expected: vec![1.0, 0.0],
            },
            Case {
                data_type: TensorProto::FLOAT16,
                // 1.0 = 0x3c00, -2.0 = 0xc000
                raw: vec![0x00, 0x3c, 0x00, 0xc0],
                typed: int32s(&[0x3c00, 0xc000]),
                expected: vec![1.0, -2.0],
            },
            Case {
                data_type: TensorProto::DOUBLE,
                raw: [0.1f64, -8.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                typed: Enc::new().packed_f64(10, &[0.1, -8.0]),
                expected: vec![0.1, -8.0],
            },
            Case {
                data_type: TensorProto::UINT32,
                raw: [u32::MAX, 2].iter().flat_map(|v| v.to_le_bytes()).collect(),
                typed: Enc::new().varint(11, u32::MAX.into()).varint(11, 2),
                expected: vec![4_294_967_295.0, 2.0],
            },
            Case {
                data_type: TensorProto::UINT64,
                raw: [1u64 << 50, 9]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
                typed: Enc::new().varint(11, 1 << 50).varint(11, 9),
                expected: vec![1_125_899_906_842_624.0, 9.0],
            },
        ]
    }

    #[test]
    fn raw_and_typed_storage_agree_for_every_data_type() {
        for case in cases() {
            let name = data_type_name(case.data_type);
            let raw = decode_tensor(tensor(case.data_type, &[2]).bytes(9, &case.raw));
            let mut typed = tensor(case.data_type, &[2]);
            typed.0.extend(&case.typed.0);
            let typed = decode_tensor(typed);
            for t in [&raw, &typed] {
                assert_eq!(t.to_f64().unwrap(), case.expected, "{name}");
            }
        }
    }

    #[test]
    fn narrowing_conversions_are_exact_or_refused() {
        let double = |v: f64| decode_tensor(tensor(TensorProto::DOUBLE, &[]).packed_f64(10, &[v]));
        assert_eq!(double(0.5).to_f32().unwrap(), vec![0.5]);
        let err = double(0.1).to_f32().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": element 0 (DOUBLE value 0.1) is not exactly representable as f32"
        );
        assert!(double(1e300).to_f32().is_err());
        assert!(double(f64::NAN).to_f32().unwrap()[0].is_nan());
        assert_eq!(double(f64::INFINITY).to_f32().unwrap(), vec![f32::INFINITY]);

        let int64 = |v: i64| decode_tensor(tensor(TensorProto::INT64, &[]).int(7, v));
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

        let uint64 = |v: u64| decode_tensor(tensor(TensorProto::UINT64, &[]).varint(11, v));
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
        let floats = |v: &[f32]| {
            let dims = [v.len() as i64];
            decode_tensor(tensor(TensorProto::FLOAT, &dims).packed_f32(4, v))
        };
        assert_eq!(floats(&[3.0, -2.0, 0.0]).to_i64().unwrap(), vec![3, -2, 0]);
        let err = floats(&[1.0, 1.5]).to_i64().unwrap_err();
        assert!(err.message.contains("element 1 (FLOAT value 1.5)"), "{err}");
        assert!(floats(&[1e30]).to_i64().is_err());
        assert!(floats(&[f32::NAN]).to_i64().is_err());
        assert!(floats(&[f32::INFINITY]).to_i64().is_err());
        assert_eq!(floats(&[-9.223372e18]).to_i64().unwrap(), vec![i64::MIN]);
        assert!(floats(&[9.223372e18]).to_i64().is_err());
        let double = decode_tensor(tensor(TensorProto::DOUBLE, &[]).packed_f64(10, &[-7.0]));
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

    #[test]
    fn float16_every_bit_pattern_matches_the_definition() {
        // binary16: value = (-1)^s × 2^(e-15) × (1 + f/1024), subnormals 2^-14 × f/1024.
        for bits in 0..=u16::MAX {
            let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
            let e = i32::from((bits >> 10) & 0x1f);
            let f = f64::from(bits & 0x3ff);
            let expected = match e {
                0 => sign * 2f64.powi(-14) * (f / 1024.0),
                31 if f == 0.0 => sign * f64::INFINITY,
                31 => f64::NAN,
                _ => sign * 2f64.powi(e - 15) * (1.0 + f / 1024.0),
            };
            let got = f64::from(f16_to_f32(bits));
            if expected.is_nan() {
                assert!(got.is_nan(), "{bits:#06x}");
            } else {
                assert_eq!(got.to_bits(), expected.to_bits(), "{bits:#06x}");
            }
        }
    }

    #[test]
    fn element_counts_must_match_the_shape() {
        let scalar = decode_tensor(tensor(TensorProto::FLOAT, &[]).packed_f32(4, &[7.0]));
        assert_eq!(scalar.numel().unwrap(), 1);
        assert_eq!(scalar.to_f32().unwrap(), vec![7.0]);

        let empty = decode_tensor(tensor(TensorProto::FLOAT, &[0, 4]));
        assert_eq!(empty.to_f32().unwrap(), Vec::<f32>::new());
        let empty_raw = decode_tensor(tensor(TensorProto::FLOAT, &[0]).bytes(9, &[]));
        assert_eq!(empty_raw.to_f32().unwrap(), Vec::<f32>::new());

        let no_data = decode_tensor(tensor(TensorProto::FLOAT, &[]));
        let err = no_data.to_f32().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": holds 0 elements, but its shape [] needs 1"
        );

        let short = decode_tensor(tensor(TensorProto::INT64, &[2, 2]).packed_ints(7, &[1, 2, 3]));
        assert!(short.to_i64().is_err());

        let ragged = decode_tensor(tensor(TensorProto::FLOAT, &[1]).bytes(9, &[0, 0, 128]));
        assert!(ragged
            .to_f32()
            .unwrap_err()
            .message
            .contains("raw_data has 3 bytes"));

        let negative = decode_tensor(tensor(TensorProto::FLOAT, &[2, -1]));
        assert!(negative
            .numel()
            .unwrap_err()
            .message
            .contains("negative dimension -1"));
        assert!(negative.to_f32().is_err());

        // A shape whose product overflows must fail, not wrap or allocate.
        let huge = decode_tensor(tensor(TensorProto::FLOAT, &[i64::MAX, i64::MAX, 4]));
        assert!(huge
            .numel()
            .unwrap_err()
            .message
            .contains("too many elements"));
        let big = decode_tensor(tensor(TensorProto::FLOAT, &[1 << 40]).packed_f32(4, &[1.0]));
        assert!(big.to_f32().is_err());
    }

    #[test]
    fn storage_mistakes_are_refused() {
        let both = tensor(TensorProto::FLOAT, &[1])
            .bytes(9, &1f32.to_le_bytes())
            .packed_f32(4, &[1.0]);
        let err = decode_tensor(both).to_f32().unwrap_err();
        assert!(
            err.message.contains("both raw_data and float_data"),
            "{err}"
        );

        let wrong = tensor(TensorProto::INT64, &[1]).packed_f32(4, &[1.0]);
        let err = decode_tensor(wrong).to_i64().unwrap_err();
        assert_eq!(
            err.message,
            "tensor \"t\": has float_data set, but INT64 data belongs in int64_data or raw_data"
        );

        let too_big = tensor(TensorProto::UINT8, &[1]).packed_ints(5, &[256]);
        let err = decode_tensor(too_big).to_i64().unwrap_err();
        assert!(err
            .message
            .contains("int32_data[0] = 256 is out of range for UINT8"));
        let negative_half = tensor(TensorProto::FLOAT16, &[1]).packed_ints(5, &[-1]);
        assert!(decode_tensor(negative_half).to_f32().is_err());
        let big_u32 = tensor(TensorProto::UINT32, &[1]).varint(11, 1 << 32);
        assert!(decode_tensor(big_u32).to_i64().is_err());
        let bool2 = tensor(TensorProto::BOOL, &[2]).bytes(9, &[1, 2]);
        let err = decode_tensor(bool2).to_i64().unwrap_err();
        assert!(err.message.contains("raw_data byte 1 is 2"), "{err}");
    }

    #[test]
    fn unsupported_tensors_are_named_in_the_error() {
        let external = tensor(TensorProto::FLOAT, &[1])
            .msg(13, Enc::new().str(1, "location").str(2, "weights.bin"))
            .int(14, 1);
        let err = decode_tensor(external).to_f32().unwrap_err();
        assert!(
            err.message
                .starts_with("tensor \"t\": keeps its data in an external file (\"weights.bin\")"),
            "{err}"
        );
        let segment = tensor(TensorProto::FLOAT, &[1])
            .msg(3, Enc::new().int(1, 0).int(2, 1))
            .packed_f32(4, &[1.0]);
        let t = decode_tensor(segment);
        assert_eq!(t.segment, Some(Segment { begin: 0, end: 1 }));
        assert!(t.to_f32().unwrap_err().message.contains("segment"));

        for (data_type, expect) in [
            (TensorProto::STRING, "STRING"),
            (16, "BFLOAT16"),
            (14, "COMPLEX64"),
            (0, "UNDEFINED"),
            (77, "unknown"),
        ] {
            let err = decode_tensor(tensor(data_type, &[])).to_f64().unwrap_err();
            assert!(err.message.starts_with("tensor \"t\""), "{err}");
            assert!(err.message.contains(expect), "{err}");
        }
        let unnamed = decode_tensor(Enc::new().int(2, 8));
        assert!(unnamed
            .to_f32()
            .unwrap_err()
            .message
            .starts_with("unnamed tensor:"));
    }

    #[test]
    fn data_type_names() {
        assert_eq!(data_type_name(1), "FLOAT");
        assert_eq!(data_type_name(10), "FLOAT16");
        assert_eq!(data_type_name(13), "UINT64");
        assert_eq!(data_type_name(26), "INT2");
        assert_eq!(data_type_name(27), "an unknown data type");
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
}
