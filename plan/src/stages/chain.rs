//! The graph as the chain of steps the hardware streams through: matrix layers with their
//! fused thresholds, max-pools and flattens, from the input to the output; anything else is
//! refused with the node's name. A max-pool between a matrix layer and its threshold (the
//! order BinaryNet and VGG-small train: conv → max-pool → BatchNorm → sign) becomes the
//! threshold fused into the layer, then the pool — max where the threshold's count rises with
//! its input, min where it falls — which computes the same values (docs/hardware.md).

use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{ChannelRule, Graph, NodeId, Op};

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported: chains of dense and \
         conv2d layers with fused thresholds, max-pool with stride = window before or after the \
         threshold, flatten)"
    ))
    .at_node(&graph.node(id).name)
}

/// One step of the chain from the input to the output.
pub(super) enum Step {
    /// A dense or conv layer, with the threshold fused into it.
    Matrix(NodeId, Option<NodeId>),
    /// Max-pool; with the threshold that followed it in the model when the threshold moved
    /// before it (into the matrix layer before).
    Pool(NodeId, Option<NodeId>),
    /// Flatten (a no-op on vectors).
    Flatten,
}

/// The threshold after max-pool `p` (itself after a matrix layer, read by `p_users`) when the
/// threshold can move before the pool: a max-pool with stride = window whose only reader is a
/// threshold with no split channel (a split channel decides on partial sums, which pooling
/// does not commute with). `None` when `p` is no such max-pool.
fn pooled_threshold(graph: &Graph, p: NodeId, p_users: &[NodeId]) -> Result<Option<NodeId>> {
    let Op::MaxPool(pool) = &graph.node(p).op else {
        return Ok(None);
    };
    let [t] = p_users[..] else {
        return Ok(None);
    };
    let Op::Threshold(th) = &graph.node(t).op else {
        return Ok(None);
    };
    if pool.stride != pool.kernel {
        return Ok(None);
    }
    if th
        .channels
        .iter()
        .any(|r| matches!(r, ChannelRule::Split(_)))
    {
        return Err(unsupported(
            graph,
            t,
            "a threshold with split channels after a max-pool",
        ));
    }
    Ok(Some(t))
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
            Op::MaxPool(p) if p.stride == p.kernel => steps.push(Step::Pool(next, None)),
            Op::MatMul(m) if m.weights.is_int() => {
                return Err(unsupported(graph, next, "a layer with integer weights"))
            }
            Op::MatMul(_) => match users(next)[..] {
                [t] if matches!(graph.node(t).op, Op::Threshold(_)) => {
                    steps.push(Step::Matrix(next, Some(t)));
                    at = t;
                    continue;
                }
                [p] => match pooled_threshold(graph, p, &users(p))? {
                    Some(t) => {
                        steps.push(Step::Matrix(next, Some(t)));
                        steps.push(Step::Pool(p, Some(t)));
                        at = t;
                        continue;
                    }
                    None => steps.push(Step::Matrix(next, None)),
                },
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
