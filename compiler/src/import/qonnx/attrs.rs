//! Typed access to an ONNX node's attributes, with errors naming the attribute.

use crate::error::{ModelError, Result};
use crate::import::onnx::{AttrValue, NodeProto};

/// The attributes of one node.
pub struct Attrs<'a> {
    node: &'a NodeProto,
}

impl<'a> Attrs<'a> {
    /// The attributes of `node`.
    pub fn of(node: &'a NodeProto) -> Self {
        Attrs { node }
    }

    fn get(&self, name: &str) -> Option<AttrValue> {
        self.node
            .attribute
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value())
    }

    fn wrong(name: &str, want: &str) -> ModelError {
        ModelError::new(format!("must be {want}")).at_field(format!("attribute {name}"))
    }

    /// An integer attribute, or `default` when absent.
    pub fn int(&self, name: &str, default: i64) -> Result<i64> {
        match self.get(name) {
            None => Ok(default),
            Some(AttrValue::Int(v)) => Ok(v),
            Some(_) => Err(Self::wrong(name, "an integer")),
        }
    }

    /// A float attribute, or `default` when absent.
    pub fn float(&self, name: &str, default: f32) -> Result<f32> {
        match self.get(name) {
            None => Ok(default),
            Some(AttrValue::Float(v)) => Ok(v),
            Some(_) => Err(Self::wrong(name, "a float")),
        }
    }

    /// An integer list attribute, or `None` when absent.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::Ints(v)) => Ok(Some(v)),
            Some(_) => Err(Self::wrong(name, "a list of integers")),
        }
    }

    /// A string attribute, or `default` when absent.
    pub fn string(&self, name: &str, default: &str) -> Result<String> {
        match self.get(name) {
            None => Ok(default.to_string()),
            Some(AttrValue::Bytes(b)) => {
                String::from_utf8(b).map_err(|_| Self::wrong(name, "UTF-8 text"))
            }
            Some(_) => Err(Self::wrong(name, "a string")),
        }
    }

    /// The raw attribute value.
    pub fn value(&self, name: &str) -> Option<AttrValue> {
        self.get(name)
    }

    /// Rejects any attribute not in `known` (an attribute we do not implement must not be
    /// ignored silently).
    pub fn only(&self, known: &[&str]) -> Result<()> {
        match self
            .node
            .attribute
            .iter()
            .find(|a| !known.contains(&a.name.as_str()))
        {
            Some(a) => Err(ModelError::new(format!(
                "attribute `{}` is not supported here (xnorc knows {})",
                a.name.escape_debug(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
            .at_field(format!("attribute {}", a.name.escape_debug()))),
            None => Ok(()),
        }
    }
}
