//! The graph as the chain of steps the hardware streams through: matrix layers with their
//! fused thresholds, max-pools and flattens, from the input to the output; anything else is
//! refused with the node's name.

use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{Graph, NodeId, Op};

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported: chains of dense and \
         conv2d layers with fused thresholds, max-pool with stride = window, flatten)"
    ))
    .at_node(&graph.node(id).name)
}

/// One step of the chain from the input to the output.
pub(super) enum Step {
    /// A dense or conv layer, with the threshold fused into it.
    Matrix(NodeId, Option<NodeId>),
    /// Max-pool.
    Pool(NodeId),
    /// Flatten (a no-op on vectors).
    Flatten,
}

/// The chain of `graph` (it must end with a dense layer feeding the output).
pub(super) fn chain(graph: &Graph) -> Result<Vec<Step>> {
    let users = |id: NodeId| -> Vec<NodeId> {
        graph
            .ids()
            .filter(|u| graph.node(*u).inputs.contains(&id))
            .collect()
    };
    let mut steps = Vec::new();
    let mut at = graph.input;
    loop {
        let next = users(at);
        let [next] = next[..] else {
            return Err(unsupported(graph, at, "a node with several consumers"));
        };
        match &graph.node(next).op {
            Op::Flatten => steps.push(Step::Flatten),
            Op::MaxPool(p) if p.stride == p.kernel => steps.push(Step::Pool(next)),
            Op::MatMul(_) => match users(next)[..] {
                [t] if matches!(graph.node(t).op, Op::Threshold(_)) => {
                    steps.push(Step::Matrix(next, Some(t)));
                    at = t;
                    continue;
                }
                _ => steps.push(Step::Matrix(next, None)),
            },
            Op::Output(_) => break,
            Op::MaxPool(_) => {
                return Err(unsupported(graph, next, "max-pool with stride ≠ window"))
            }
            other => {
                return Err(unsupported(
                    graph,
                    next,
                    &format!("`{}` here", other.kind()),
                ))
            }
        }
        at = next;
    }
    match steps.last() {
        Some(Step::Matrix(m, None)) if graph.node(*m).shape.channels() == graph.classes() => {
            Ok(steps)
        }
        _ => Err(unsupported(
            graph,
            graph.output,
            "an output not fed directly by a dense layer",
        )),
    }
}
