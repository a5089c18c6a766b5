//! The `.xnm` model file: versioned JSON metadata with compact base64 tensor data.
//!
//! Loading happens in two stages so that every error can name its node and field: the JSON is
//! parsed into a generic value, the header is checked (format name and version come first so an
//! unsupported file says so instead of failing on a field), then each node is read on its own.
//! The full description with a worked example is docs/model-format.md.

pub mod schema;
mod stream;
pub mod tensor;

pub use schema::*;
pub use tensor::{DType, TensorDef};

use crate::error::{ModelError, Result};
use crate::sanitize::printable;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::path::Path;

/// The file extension of native models.
pub const EXTENSION: &str = "xnm";

/// Files larger than this are refused before parsing (a TFC model is ~20 KB, ResNet-18 ~2 MB).
const MAX_FILE_BYTES: u64 = 1 << 30;

const TOP_LEVEL_FIELDS: &[&str] = &["format", "version", "name", "metadata", "nodes"];

/// Reads and parses a model file. Errors name the file.
pub fn load(path: &Path) -> Result<ModelFile> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| ModelError::new(format!("cannot read model: {e}")).in_file(&shown))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ModelError::new(format!(
            "file is {} bytes, more than the {} byte limit",
            meta.len(),
            MAX_FILE_BYTES
        ))
        .in_file(&shown));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| ModelError::new(format!("cannot read model: {e}")).in_file(&shown))?;
    parse(&bytes).map_err(|e| e.in_file(&shown))
}

/// Parses a model from bytes (no file name in errors).
pub fn parse(bytes: &[u8]) -> Result<ModelFile> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::new(format!("not valid JSON: {e}"))
            .with_hint("a model file is JSON; see docs/model-format.md")
    })?;
    let Value::Object(mut top) = value else {
        return Err(ModelError::new("the top level must be a JSON object"));
    };
    check_header(&top)?;
    let version = top["version"].as_u64().expect("checked by check_header");
    if let Some(unknown) = top.keys().find(|k| !TOP_LEVEL_FIELDS.contains(&k.as_str())) {
        return Err(ModelError::new(format!(
            "unknown top-level field; expected one of {}",
            TOP_LEVEL_FIELDS.join(", ")
        ))
        .at_field(unknown.clone()));
    }
    let name = match top.remove("name") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(ModelError::new("must be a string").at_field("name")),
        None => return Err(ModelError::new("missing").at_field("name")),
    };
    let metadata = match top.remove("metadata") {
        None => Default::default(),
        Some(Value::Object(m)) => m.into_iter().collect(),
        Some(_) => return Err(ModelError::new("must be a JSON object").at_field("metadata")),
    };
    let nodes = match top.remove("nodes") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ModelError::new("must be an array").at_field("nodes")),
        None => return Err(ModelError::new("missing").at_field("nodes")),
    };
    let nodes = nodes
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_node(i, v))
        .collect::<Result<Vec<_>>>()?;
    if let Some(node) = nodes.iter().find(|n| n.op.version() > version) {
        return Err(ModelError::new(format!(
            "`{}` needs format version {}, but the file says version {version}",
            node.op.name(),
            node.op.version()
        ))
        .at_node(&node.name)
        .at_field("op")
        .with_hint(format!(
            "set \"version\": {FORMAT_VERSION} at the top of the file"
        )));
    }
    Ok(ModelFile {
        name,
        metadata,
        nodes,
    })
}

fn check_header(top: &Map<String, Value>) -> Result<()> {
    match top.get("format") {
        Some(Value::String(s)) if s == FORMAT_NAME => {}
        Some(other) => {
            return Err(ModelError::new(format!(
                "is {other}, expected \"{FORMAT_NAME}\"; this is not an xnorc model"
            ))
            .at_field("format")
            .with_hint("import other formats with `xnorc import`"))
        }
        None => {
            return Err(ModelError::new(format!(
                "missing; an xnorc model starts with \"format\": \"{FORMAT_NAME}\""
            ))
            .at_field("format"))
        }
    }
    let supported = OLDEST_FORMAT_VERSION..=FORMAT_VERSION;
    match top.get("version") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| supported.contains(&v)) => Ok(()),
        Some(Value::Number(n)) => Err(ModelError::new(format!(
            "unsupported version {n}; this xnorc reads versions {OLDEST_FORMAT_VERSION} to \
             {FORMAT_VERSION}"
        ))
        .at_field("version")
        .with_hint("re-export the model with a matching xnorc, or upgrade xnorc")),
        Some(_) => Err(ModelError::new("must be an integer").at_field("version")),
        None => Err(ModelError::new("missing").at_field("version")),
    }
}

fn parse_node(index: usize, value: Value) -> Result<NodeDef> {
    let at_index = format!("#{index}");
    let Value::Object(mut obj) = value else {
        return Err(ModelError::new("a node must be a JSON object")
            .at_node(at_index)
            .at_field("nodes"));
    };
    let name = match obj.remove("name") {
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => {
            return Err(ModelError::new("must not be empty")
                .at_node(at_index)
                .at_field("name"))
        }
        Some(_) => {
            return Err(ModelError::new("must be a string")
                .at_node(at_index)
                .at_field("name"))
        }
        None => {
            return Err(ModelError::new("missing")
                .at_node(at_index)
                .at_field("name"))
        }
    };
    let op = match obj.remove("op") {
        Some(Value::String(s)) => s,
        Some(_) => {
            return Err(ModelError::new("must be a string")
                .at_node(name)
                .at_field("op"))
        }
        None => return Err(ModelError::new("missing").at_node(name).at_field("op")),
    };
    let inputs = match obj.remove("inputs") {
        None => Vec::new(),
        Some(v) => {
            from_value::<Vec<String>>(v).map_err(|e| e.at_field("inputs").at_node(name.clone()))?
        }
    };
    let rest = Value::Object(obj);
    let op = parse_op(&op, rest).map_err(|e| e.at_node(name.clone()))?;
    Ok(NodeDef { name, inputs, op })
}

fn parse_op(op: &str, rest: Value) -> Result<OpDef> {
    Ok(match op {
        "input" => OpDef::Input(from_value(rest)?),
        "dense" => OpDef::Dense(from_value(rest)?),
        "conv2d" => OpDef::Conv2d(from_value(rest)?),
        "binarize" => OpDef::Binarize(from_value(rest)?),
        "threshold" => OpDef::Threshold(from_value(rest)?),
        "maxpool" => OpDef::MaxPool(from_value(rest)?),
        "flatten" => OpDef::Flatten(from_value(rest)?),
        "output" => OpDef::Output(from_value(rest)?),
        "add" => OpDef::Add(from_value(rest)?),
        "affine" => OpDef::Affine(from_value(rest)?),
        "sumpool" => OpDef::SumPool(from_value(rest)?),
        "meansign" => OpDef::MeanSign(from_value(rest)?),
        "pad_channels" => OpDef::PadChannels(from_value(rest)?),
        other => {
            return Err(ModelError::new(format!(
                "unknown op \"{}\"; known ops: {}",
                printable(other),
                OpDef::ALL.join(", ")
            ))
            .at_field("op"))
        }
    })
}

/// Deserializes with the failing field's path in the error.
fn from_value<T: DeserializeOwned>(value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let err = ModelError::new(e.into_inner().to_string());
        if path == "." || path.is_empty() {
            err
        } else {
            err.at_field(path)
        }
    })
}

/// Serializes a model to pretty JSON text (deterministic: fields in a fixed order).
pub fn to_json(model: &ModelFile) -> String {
    let mut top = Map::new();
    top.insert("format".into(), FORMAT_NAME.into());
    top.insert("version".into(), model.version().into());
    top.insert("name".into(), model.name.clone().into());
    top.insert(
        "metadata".into(),
        Value::Object(model.metadata.clone().into_iter().collect()),
    );
    let nodes: Vec<Value> = model.nodes.iter().map(node_to_value).collect();
    top.insert("nodes".into(), Value::Array(nodes));
    let mut text = serde_json::to_string_pretty(&Value::Object(top)).expect("JSON value");
    text.push('\n');
    text
}

fn node_to_value(node: &NodeDef) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), node.name.clone().into());
    obj.insert("op".into(), node.op.name().into());
    if !node.inputs.is_empty() {
        obj.insert("inputs".into(), node.inputs.clone().into());
    }
    let fields = match &node.op {
        OpDef::Input(d) => serde_json::to_value(d),
        OpDef::Dense(d) => serde_json::to_value(d),
        OpDef::Conv2d(d) => serde_json::to_value(d),
        OpDef::Binarize(d) => serde_json::to_value(d),
        OpDef::Threshold(d) => serde_json::to_value(d),
        OpDef::MaxPool(d) => serde_json::to_value(d),
        OpDef::Flatten(d) => serde_json::to_value(d),
        OpDef::Output(d) => serde_json::to_value(d),
        OpDef::Add(d) => serde_json::to_value(d),
        OpDef::Affine(d) => serde_json::to_value(d),
        OpDef::SumPool(d) => serde_json::to_value(d),
        OpDef::MeanSign(d) => serde_json::to_value(d),
        OpDef::PadChannels(d) => serde_json::to_value(d),
    }
    .expect("schema types serialize");
    if let Value::Object(fields) = fields {
        obj.extend(fields);
    }
    Value::Object(obj)
}
