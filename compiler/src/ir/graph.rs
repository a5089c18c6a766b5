//! The graph: typed nodes in topological order, one input, one output.

use super::float_io::{FloatTail, InputMap};
use super::ops::{Geometry, Op};
use super::types::{Shape, ValueType};
use serde_json::Value;
use std::collections::BTreeMap;

/// Index of a node in [`Graph::nodes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// One node of the IR.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Name as written in the model (untrusted; for messages only, escaped when printed).
    pub name: String,
    /// Sanitized unique identifier: safe in Verilog, file names and command lines.
    pub ident: String,
    /// Producers, in operand order; all earlier in [`Graph::nodes`].
    pub inputs: Vec<NodeId>,
    /// What the node computes.
    pub op: Op,
    /// Output shape.
    pub shape: Shape,
    /// Output element type. For matrix layers this is the accumulator range.
    pub vtype: ValueType,
}

/// A validated model: nodes in topological order.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Model name (untrusted).
    pub name: String,
    /// Sanitized model name.
    pub ident: String,
    /// Provenance metadata, as in the file.
    pub metadata: BTreeMap<String, Value>,
    /// Nodes, producers before consumers.
    pub nodes: Vec<Node>,
    /// The input node.
    pub input: NodeId,
    /// The output node.
    pub output: NodeId,
    /// An imported model's float input → input codes (absent: the input is given as codes).
    pub input_map: Option<InputMap>,
    /// An imported model's integer scores → float output (absent: the scores are the output).
    pub float_tail: Option<FloatTail>,
}

impl Graph {
    /// The node with id `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0]
    }

    /// The node feeding input `i` of `id`.
    pub fn operand(&self, id: NodeId, i: usize) -> &Node {
        self.node(self.node(id).inputs[i])
    }

    /// Ids of every node, in topological order.
    pub fn ids(&self) -> impl Iterator<Item = NodeId> {
        (0..self.nodes.len()).map(NodeId)
    }

    /// Input shape and element type.
    pub fn input_node(&self) -> &Node {
        self.node(self.input)
    }

    /// Number of classes the output node scores.
    pub fn classes(&self) -> usize {
        self.node(self.output).shape.numel()
    }

    /// Multiply-accumulates per frame of node `id` (0 for non-matrix nodes).
    pub fn macs(&self, id: NodeId) -> u64 {
        match &self.node(id).op {
            Op::MatMul(m) => {
                let positions = match m.geometry {
                    Geometry::Dense => 1,
                    Geometry::Conv { .. } => {
                        let s = self.node(id).shape;
                        (s.numel() / s.channels()) as u64
                    }
                };
                positions * m.weights.count() as u64
            }
            _ => 0,
        }
    }
}
