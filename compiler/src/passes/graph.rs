//! Model file → IR: resolves edges, orders the graph, infers shapes and value types, decodes
//! parameters and derives accumulator ranges — rejecting anything inconsistent with an error
//! that names the node and field.

use super::nodes::lower_node;
use crate::error::{ModelError, Result};
use crate::format::{InputDef, ModelFile, NodeDef, OpDef, OutputDef};
use crate::ir::{Graph, Node, NodeId};
use crate::sanitize::printable;
use crate::sanitize::Identifiers;
use std::collections::HashMap;

/// Largest number of elements one frame of one node may have.
const MAX_FRAME_ELEMENTS: usize = 1 << 28;

/// Builds and validates the IR of a model file (float epilogues are kept; see `passes::fold`).
pub fn build(model: &ModelFile) -> Result<Graph> {
    let order = topological_order(model)?;
    let index_of: HashMap<&str, usize> = model
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut ids = Identifiers::new();
    let mut nodes: Vec<Node> = Vec::with_capacity(order.len());
    let mut new_id = vec![usize::MAX; model.nodes.len()];
    for &file_index in &order {
        let def = &model.nodes[file_index];
        let inputs: Vec<NodeId> = def
            .inputs
            .iter()
            .map(|name| NodeId(new_id[index_of[name.as_str()]]))
            .collect();
        let operands: Vec<&Node> = inputs.iter().map(|id| &nodes[id.0]).collect();
        let (op, shape, vtype) = lower_node(def, &operands).map_err(|e| e.at_node(&def.name))?;
        if shape.numel() > MAX_FRAME_ELEMENTS || shape.numel() == 0 {
            return Err(ModelError::new(format!(
                "output shape {shape} has {} elements per frame; it must have between 1 and {}",
                shape.numel(),
                MAX_FRAME_ELEMENTS
            ))
            .at_node(&def.name));
        }
        new_id[file_index] = nodes.len();
        nodes.push(Node {
            name: def.name.clone(),
            ident: ids.allocate(&def.name),
            inputs,
            op,
            shape,
            vtype,
        });
    }
    let find = |kind: &str| -> Result<NodeId> {
        let found: Vec<usize> = (0..nodes.len())
            .filter(|&i| nodes[i].op.kind() == kind)
            .collect();
        match found.as_slice() {
            [one] => Ok(NodeId(*one)),
            [] => Err(ModelError::new(format!("the model has no `{kind}` node"))
                .at_field("nodes")
                .with_hint(format!("a model has exactly one `{kind}` node"))),
            [_, second, ..] => Err(ModelError::new(format!(
                "a second `{kind}` node; a model has exactly one"
            ))
            .at_node(&nodes[*second].name)),
        }
    };
    let input = find("input")?;
    let output = find("output")?;
    check_all_reach_output(&nodes, output)?;
    let def_of = |id: NodeId| &model.nodes[order[id.0]];
    let input_map = match &def_of(input).op {
        OpDef::Input(InputDef {
            from_float: Some(f),
            ..
        }) => Some(
            super::float_edges::input_map(f, &nodes[input.0])
                .map_err(|e| e.at_field("from_float").at_node(&nodes[input.0].name))?,
        ),
        _ => None,
    };
    let float_tail = match &def_of(output).op {
        OpDef::Output(OutputDef {
            to_float: Some(t), ..
        }) => Some(
            super::float_edges::float_tail(t, &nodes[output.0])
                .map_err(|e| e.at_field("to_float").at_node(&nodes[output.0].name))?,
        ),
        _ => None,
    };
    let mut model_ids = Identifiers::new();
    Ok(Graph {
        name: model.name.clone(),
        ident: model_ids.allocate(&model.name),
        metadata: model.metadata.clone(),
        nodes,
        input,
        output,
        input_map,
        float_tail,
    })
}

/// Orders nodes so that producers come first; rejects unknown or duplicate names and cycles.
fn topological_order(model: &ModelFile) -> Result<Vec<usize>> {
    let mut index_of: HashMap<&str, usize> = HashMap::new();
    for (i, node) in model.nodes.iter().enumerate() {
        if index_of.insert(node.name.as_str(), i).is_some() {
            return Err(ModelError::new("duplicate node name; names must be unique")
                .at_node(&node.name)
                .at_field("name"));
        }
    }
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); model.nodes.len()];
    let mut pending: Vec<usize> = vec![0; model.nodes.len()];
    for (i, node) in model.nodes.iter().enumerate() {
        check_arity(node)?;
        for (k, name) in node.inputs.iter().enumerate() {
            let &producer = index_of.get(name.as_str()).ok_or_else(|| {
                ModelError::new(format!(
                    "refers to node \"{}\", which does not exist",
                    printable(name)
                ))
                .at_node(&node.name)
                .at_field(format!("inputs[{k}]"))
            })?;
            users[producer].push(i);
            pending[i] += 1;
        }
    }
    // Kahn's algorithm; ties broken by file order so the result is deterministic.
    let mut ready: std::collections::BTreeSet<usize> = (0..model.nodes.len())
        .filter(|&i| pending[i] == 0)
        .collect();
    let mut order = Vec::with_capacity(model.nodes.len());
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &u in &users[i] {
            pending[u] -= 1;
            if pending[u] == 0 {
                ready.insert(u);
            }
        }
    }
    if order.len() != model.nodes.len() {
        let stuck = (0..model.nodes.len())
            .find(|&i| pending[i] > 0)
            .expect("some node is left");
        return Err(
            ModelError::new("is part of a cycle; the graph must be acyclic (a DAG)")
                .at_node(&model.nodes[stuck].name)
                .at_field("inputs"),
        );
    }
    Ok(order)
}

fn check_arity(node: &NodeDef) -> Result<()> {
    let expected = match node.op {
        OpDef::Input(_) => 0,
        OpDef::Add(_) => 2,
        _ => 1,
    };
    if node.inputs.len() != expected {
        return Err(ModelError::new(format!(
            "op `{}` takes {expected} input(s), found {}",
            node.op.name(),
            node.inputs.len()
        ))
        .at_node(&node.name)
        .at_field("inputs"));
    }
    Ok(())
}

/// Every node must contribute to the output, and the output must feed nothing.
fn check_all_reach_output(nodes: &[Node], output: NodeId) -> Result<()> {
    let mut live = vec![false; nodes.len()];
    live[output.0] = true;
    for i in (0..nodes.len()).rev() {
        if live[i] {
            for p in &nodes[i].inputs {
                live[p.0] = true;
            }
        }
        if nodes[i].inputs.contains(&output) {
            return Err(
                ModelError::new("reads the output node; the output must be last")
                    .at_node(&nodes[i].name)
                    .at_field("inputs"),
            );
        }
    }
    if let Some(dead) = live.iter().position(|&l| !l) {
        return Err(ModelError::new("does not contribute to the output node")
            .at_node(&nodes[dead].name)
            .with_hint("remove the node or connect it"));
    }
    Ok(())
}
