//! A named value's type as an importer needs it: tensor element type and shape.
//!
//! ONNX nests these three messages deep (`ValueInfoProto.type.tensor_type.shape.dim`) behind a
//! oneof of type kinds; [`ValueInfoProto::elem_type`], [`ValueInfoProto::dims`] and
//! [`ValueInfoProto::other_type`] flatten that for the one case xnorc reads, tensors.

use super::tensor_shape_proto::dimension;
use super::type_proto;
use super::ValueInfoProto;

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

impl Dim {
    /// The dimension as ONNX writes it: `7`, `"N"` (symbolic), or `unknown`.
    pub fn describe(&self) -> String {
        match self {
            Dim::Value(v) => v.to_string(),
            Dim::Param(p) => format!("symbolic ({:?})", p),
            Dim::Unknown => "unknown".to_string(),
        }
    }
}

impl ValueInfoProto {
    /// The tensor type, when the value has a type and it is a tensor.
    fn tensor_type(&self) -> Option<&type_proto::Tensor> {
        match self.r#type.as_ref()?.value.as_ref()? {
            type_proto::Value::TensorType(t) => Some(t),
            _ => None,
        }
    }

    /// The tensor element type (`type.tensor_type.elem_type`), a `TensorProto.DataType`; 0 when
    /// the type is absent or not a tensor.
    pub fn elem_type(&self) -> i32 {
        self.tensor_type().map_or(0, |t| t.elem_type())
    }

    /// The tensor shape (`type.tensor_type.shape.dim`); `None` when no shape is given (unknown
    /// rank) or the value is not a tensor, `Some(vec![])` for a scalar.
    pub fn dims(&self) -> Option<Vec<Dim>> {
        let shape = self.tensor_type()?.shape.as_ref()?;
        let dims = shape.dim.iter().map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) => Dim::Value(*v),
            Some(dimension::Value::DimParam(p)) => Dim::Param(p.clone()),
            None => Dim::Unknown,
        });
        Some(dims.collect())
    }

    /// When the type is not a tensor, which kind it is ("sequence", "map", "optional",
    /// "sparse tensor", "opaque").
    pub fn other_type(&self) -> Option<&'static str> {
        match self.r#type.as_ref()?.value.as_ref()? {
            type_proto::Value::TensorType(_) => None,
            type_proto::Value::SequenceType(_) => Some("sequence"),
            type_proto::Value::MapType(_) => Some("map"),
            type_proto::Value::OptionalType(_) => Some("optional"),
            type_proto::Value::SparseTensorType(_) => Some("sparse tensor"),
            type_proto::Value::OpaqueType(_) => Some("opaque"),
        }
    }
}
