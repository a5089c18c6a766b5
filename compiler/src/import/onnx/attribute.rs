//! A node's attributes by name, with the type their `type` field declares.
//!
//! An [`AttributeProto`] has one field per kind of value; [`AttributeProto::value`] picks the one
//! its type names (or, in files older than IR version 2 that have no type, the one that is set).
//! The typed getters on [`NodeProto`] (`attr_int`, `attr_float`, `attr_ints`, `attr_string`)
//! are the one place an importer turns an attribute into a Rust value, and say which attribute
//! had the wrong type. Subgraphs (`g`, `graphs`) and other kinds xnorc has no use for read as
//! [`AttrValue::Unsupported`], so every getter refuses them.

use super::attribute_proto::AttributeType;
use super::{AttributeProto, NodeProto, TensorProto};
use crate::error::{ModelError, Result};
use crate::sanitize::printable;

/// An attribute's value, as chosen by its type; it borrows from the attribute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AttrValue<'a> {
    /// `FLOAT`.
    Float(f32),
    /// `INT`.
    Int(i64),
    /// `STRING`: ONNX strings are bytes (meant to be UTF-8).
    Bytes(&'a [u8]),
    /// `TENSOR`.
    Tensor(&'a TensorProto),
    /// `FLOATS`.
    Floats(&'a [f32]),
    /// `INTS`.
    Ints(&'a [i64]),
    /// `STRINGS`.
    Strings(&'a [Vec<u8>]),
    /// Any other kind of attribute, or one whose kind cannot be told; says which.
    Unsupported(&'static str),
}

impl AttributeProto {
    /// The attribute's value, from the field its `type` names (a missing scalar reads as
    /// protobuf's default, 0 or empty, as ONNX's own helpers do).
    ///
    /// Without a `type` (files older than IR version 2) the type is inferred from the one value
    /// field that is set; none or several set gives [`AttrValue::Unsupported`], matching what
    /// ONNX's checker refuses.
    pub fn value(&self) -> AttrValue<'_> {
        if !self.ref_attr_name().is_empty() {
            return AttrValue::Unsupported("a reference to a function attribute");
        }
        // The raw number, not the enum getter, which would read an unknown type as UNDEFINED.
        let declared = self.r#type.unwrap_or(AttributeType::Undefined as i32);
        let attr_type = if declared == AttributeType::Undefined as i32 {
            match self.inferred_type() {
                Ok(t) => t,
                Err(why) => return AttrValue::Unsupported(why),
            }
        } else {
            match AttributeType::try_from(declared) {
                Ok(t) => t,
                Err(_) => return AttrValue::Unsupported("an attribute of unknown type"),
            }
        };
        self.value_of_type(attr_type)
    }

    fn value_of_type(&self, attr_type: AttributeType) -> AttrValue<'_> {
        match attr_type {
            AttributeType::Float => AttrValue::Float(self.f()),
            AttributeType::Int => AttrValue::Int(self.i()),
            AttributeType::String => AttrValue::Bytes(self.s()),
            AttributeType::Tensor => match &self.t {
                Some(t) => AttrValue::Tensor(t),
                None => AttrValue::Unsupported("a TENSOR attribute without a tensor"),
            },
            AttributeType::Floats => AttrValue::Floats(&self.floats),
            AttributeType::Ints => AttrValue::Ints(&self.ints),
            AttributeType::Strings => AttrValue::Strings(&self.strings),
            AttributeType::Graph => AttrValue::Unsupported("a GRAPH attribute"),
            AttributeType::Tensors => AttrValue::Unsupported("a TENSORS attribute"),
            AttributeType::Graphs => AttrValue::Unsupported("a GRAPHS attribute"),
            AttributeType::SparseTensor => AttrValue::Unsupported("a SPARSE_TENSOR attribute"),
            AttributeType::SparseTensors => AttrValue::Unsupported("a SPARSE_TENSORS attribute"),
            AttributeType::TypeProto => AttrValue::Unsupported("a TYPE_PROTO attribute"),
            AttributeType::TypeProtos => AttrValue::Unsupported("a TYPE_PROTOS attribute"),
            AttributeType::Undefined => AttrValue::Unsupported("an attribute of unknown type"),
        }
    }

    /// The type of the single value field that is set, for untyped (pre IR version 2) files.
    fn inferred_type(&self) -> std::result::Result<AttributeType, &'static str> {
        let candidates = [
            (self.f.is_some(), AttributeType::Float),
            (self.i.is_some(), AttributeType::Int),
            (self.s.is_some(), AttributeType::String),
            (self.t.is_some(), AttributeType::Tensor),
            (self.g.is_some(), AttributeType::Graph),
            (self.sparse_tensor.is_some(), AttributeType::SparseTensor),
            (self.tp.is_some(), AttributeType::TypeProto),
            (!self.floats.is_empty(), AttributeType::Floats),
            (!self.ints.is_empty(), AttributeType::Ints),
            (!self.strings.is_empty(), AttributeType::Strings),
            (!self.tensors.is_empty(), AttributeType::Tensors),
            (!self.graphs.is_empty(), AttributeType::Graphs),
            (
                !self.sparse_tensors.is_empty(),
                AttributeType::SparseTensors,
            ),
            (!self.type_protos.is_empty(), AttributeType::TypeProtos),
        ];
        let mut set = candidates.iter().filter(|(present, _)| *present);
        match (set.next(), set.next()) {
            (Some(&(_, t)), None) => Ok(t),
            (None, _) => Err("an attribute with neither a type nor a value"),
            (Some(_), Some(_)) => Err("an attribute with no type and several values"),
        }
    }
}

impl NodeProto {
    /// The attribute called `name` (the first, should a file repeat it).
    pub fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.attribute.iter().find(|a| a.name() == name)
    }

    /// The value of the attribute called `name`, `None` when the node has none.
    pub fn attr_value(&self, name: &str) -> Option<AttrValue<'_>> {
        self.attr(name).map(AttributeProto::value)
    }

    /// An integer attribute, `None` when absent.
    pub fn attr_int(&self, name: &str) -> Result<Option<i64>> {
        match self.attr_value(name) {
            None => Ok(None),
            Some(AttrValue::Int(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    /// A float attribute, `None` when absent.
    pub fn attr_float(&self, name: &str) -> Result<Option<f32>> {
        match self.attr_value(name) {
            None => Ok(None),
            Some(AttrValue::Float(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "a float")),
        }
    }

    /// An integer list attribute, `None` when absent.
    pub fn attr_ints(&self, name: &str) -> Result<Option<&[i64]>> {
        match self.attr_value(name) {
            None => Ok(None),
            Some(AttrValue::Ints(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "a list of integers")),
        }
    }

    /// A string attribute, which must be UTF-8; `None` when absent.
    pub fn attr_string(&self, name: &str) -> Result<Option<&str>> {
        match self.attr_value(name) {
            None => Ok(None),
            Some(AttrValue::Bytes(b)) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| wrong_type(name, "UTF-8 text")),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// Refuses any attribute not in `known`: an attribute an importer does not implement must
    /// not be ignored silently.
    pub fn check_attributes(&self, known: &[&str]) -> Result<()> {
        match self.attribute.iter().find(|a| !known.contains(&a.name())) {
            Some(a) => Err(ModelError::new(format!(
                "attribute `{}` is not supported here (xnorc knows {})",
                printable(a.name()),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
            .at_field(format!("attribute {}", printable(a.name())))),
            None => Ok(()),
        }
    }
}

/// The error for attribute `name` not being `want`.
fn wrong_type(name: &str, want: &str) -> ModelError {
    ModelError::new(format!("must be {want}")).at_field(format!("attribute {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::onnx::tensor_proto::DataType;
    use crate::import::onnx::GraphProto;

    fn typed(attr_type: AttributeType, f: fn(&mut AttributeProto)) -> AttributeProto {
        let mut a = AttributeProto {
            name: Some("a".into()),
            r#type: Some(attr_type as i32),
            ..AttributeProto::default()
        };
        f(&mut a);
        a
    }

    fn untyped(f: fn(&mut AttributeProto)) -> AttributeProto {
        let mut a = AttributeProto::default();
        f(&mut a);
        a
    }

    #[test]
    fn attributes_follow_their_type() {
        let int = typed(AttributeType::Int, |a| a.i = Some(-4));
        assert_eq!(int.value(), AttrValue::Int(-4));
        let string = typed(AttributeType::String, |a| a.s = Some(b"ROUND".to_vec()));
        assert_eq!(string.value(), AttrValue::Bytes(b"ROUND"));
        let tensor = typed(AttributeType::Tensor, |a| {
            a.t = Some(Box::new(TensorProto {
                data_type: Some(DataType::Int64 as i32),
                dims: vec![1],
                int64_data: vec![5],
                ..TensorProto::default()
            }))
        });
        match tensor.value() {
            AttrValue::Tensor(t) => assert_eq!(t.to_i64().unwrap(), vec![5]),
            other => panic!("expected a tensor, got {other:?}"),
        }
        let floats = typed(AttributeType::Floats, |a| a.floats = vec![1.5, -2.0, 0.5]);
        assert_eq!(floats.value(), AttrValue::Floats(&[1.5, -2.0, 0.5]));
        let strings = typed(AttributeType::Strings, |a| {
            a.strings = vec![b"a".to_vec(), b"bc".to_vec()]
        });
        assert_eq!(
            strings.value(),
            AttrValue::Strings(&[b"a".to_vec(), b"bc".to_vec()])
        );
        // The type decides, even when another field is also set; a missing scalar reads as 0.
        let float_with_int = typed(AttributeType::Float, |a| a.i = Some(9));
        assert_eq!(float_with_int.value(), AttrValue::Float(0.0));
        assert_eq!(
            typed(AttributeType::Ints, |_| {}).value(),
            AttrValue::Ints(&[])
        );
        let graph = typed(AttributeType::Graph, |a| {
            a.g = Some(Box::new(GraphProto::default()))
        });
        assert_eq!(graph.value(), AttrValue::Unsupported("a GRAPH attribute"));
        let unknown = AttributeProto {
            r#type: Some(99),
            ..AttributeProto::default()
        };
        assert_eq!(
            unknown.value(),
            AttrValue::Unsupported("an attribute of unknown type")
        );
        let reference = typed(AttributeType::Int, |a| {
            a.ref_attr_name = Some("outer".into())
        });
        assert_eq!(
            reference.value(),
            AttrValue::Unsupported("a reference to a function attribute")
        );
        let tensors = typed(AttributeType::Tensors, |a| {
            a.tensors = vec![TensorProto::default()]
        });
        assert_eq!(
            tensors.value(),
            AttrValue::Unsupported("a TENSORS attribute")
        );
        let no_tensor = typed(AttributeType::Tensor, |_| {});
        assert_eq!(
            no_tensor.value(),
            AttrValue::Unsupported("a TENSOR attribute without a tensor")
        );
    }

    #[test]
    fn untyped_attributes_are_inferred_from_the_field_set() {
        assert_eq!(untyped(|a| a.i = Some(0)).value(), AttrValue::Int(0));
        assert_eq!(untyped(|a| a.f = Some(2.0)).value(), AttrValue::Float(2.0));
        assert_eq!(
            untyped(|a| a.s = Some(Vec::new())).value(),
            AttrValue::Bytes(b"")
        );
        assert_eq!(
            untyped(|a| a.ints = vec![1, 2]).value(),
            AttrValue::Ints(&[1, 2])
        );
        assert_eq!(
            untyped(|a| a.g = Some(Box::default())).value(),
            AttrValue::Unsupported("a GRAPH attribute")
        );
        assert_eq!(
            untyped(|a| a.graphs = vec![GraphProto::default()]).value(),
            AttrValue::Unsupported("a GRAPHS attribute")
        );
        assert_eq!(
            untyped(|a| a.name = Some("empty".into())).value(),
            AttrValue::Unsupported("an attribute with neither a type nor a value")
        );
        assert_eq!(
            untyped(|a| {
                a.i = Some(1);
                a.f = Some(0.0);
            })
            .value(),
            AttrValue::Unsupported("an attribute with no type and several values")
        );
    }

    fn node(attributes: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            attribute: attributes,
            ..NodeProto::default()
        }
    }

    fn named(name: &str, mut a: AttributeProto) -> AttributeProto {
        a.name = Some(name.into());
        a
    }

    #[test]
    fn typed_getters_name_the_attribute_that_is_wrong() {
        let n = node(vec![
            named("axis", typed(AttributeType::Int, |a| a.i = Some(-1))),
            named("alpha", typed(AttributeType::Float, |a| a.f = Some(0.5))),
            named("pads", typed(AttributeType::Ints, |a| a.ints = vec![1, 2])),
            named(
                "mode",
                typed(AttributeType::String, |a| a.s = Some(b"NCHW".to_vec())),
            ),
            named(
                "bad",
                typed(AttributeType::String, |a| a.s = Some(vec![0xff])),
            ),
            // A repeated name: the first one counts.
            named("axis", typed(AttributeType::Int, |a| a.i = Some(7))),
        ]);
        assert_eq!(n.attr_int("axis").unwrap(), Some(-1));
        assert_eq!(n.attr_float("alpha").unwrap(), Some(0.5));
        assert_eq!(n.attr_ints("pads").unwrap(), Some(&[1, 2][..]));
        assert_eq!(n.attr_string("mode").unwrap(), Some("NCHW"));
        assert_eq!(n.attr_int("missing").unwrap(), None);
        let wrong = [
            (n.attr_int("alpha").unwrap_err(), "alpha", "an integer"),
            (n.attr_float("axis").unwrap_err(), "axis", "a float"),
            (
                n.attr_ints("axis").unwrap_err(),
                "axis",
                "a list of integers",
            ),
            (n.attr_string("axis").unwrap_err(), "axis", "a string"),
            (n.attr_string("bad").unwrap_err(), "bad", "UTF-8 text"),
        ];
        for (err, name, want) in wrong {
            assert_eq!(
                err.field.as_deref(),
                Some(format!("attribute {name}").as_str())
            );
            assert_eq!(err.message, format!("must be {want}"));
        }
    }

    #[test]
    fn unknown_attributes_are_refused_by_name() {
        let n = node(vec![named("axis", typed(AttributeType::Int, |_| {}))]);
        assert!(n.check_attributes(&["axis", "keepdims"]).is_ok());
        let err = n.check_attributes(&["perm"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `attribute axis`: attribute `axis` is not supported here (xnorc knows perm)"
        );
        let err = n.check_attributes(&[]).unwrap_err();
        assert!(err.message.ends_with("(xnorc knows none)"), "{err}");
    }
}
