//! The graph as the steps the hardware streams through, producers before readers: matrix
//! layers with their fused thresholds, max-pools and flattens, and the residual stream's
//! forks, affines, thresholds and joins; anything else is refused with the node's name. A max-pool between a matrix layer and its threshold (the
//! order BinaryNet and VGG-small train: conv → max-pool → BatchNorm → sign) becomes the
//! threshold fused into the layer, then the pool — max where the threshold's count rises with
//! its input, min where it falls — which computes the same values (docs/hardware.md).

use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{ChannelRule, Graph, NodeId, Op, Shape, SumPool, ValueType};

fn unsupported(graph: &Graph, id: NodeId, what: &str) -> ModelError {
    ModelError::new(format!(
        "{what} is not supported by the hardware generator yet (supported: dense and conv2d \
         layers with binary weights and fused thresholds, max-pool with stride = window before \
         or after the threshold, flatten, and on the residual stream forks, affine, threshold, \
         add, meansign, pad_channels and 1×1 subsampling)"
    ))
    .at_node(&graph.node(id).name)
}

/// One step of the walk from the input to the output.
pub(super) enum Step {
    /// A dense or conv layer, with the threshold fused into it. Without one, its accumulator
    /// feeds the scores, or enters the stream through the affine that reads it alone, or
    /// through a [`Step::Convert`].
    Matrix(NodeId, Option<NodeId>),
    /// Max-pool (or sum-pool); with the threshold that followed a max-pool in the model when
    /// the threshold moved before it (into the matrix layer before).
    Pool(NodeId, Option<NodeId>),
    /// Flatten (a no-op on vectors).
    Flatten(NodeId),
    /// The matrix layer's accumulator brought into the stream as S (an affine of 1).
    Convert(NodeId),
    /// The model's affine.
    Affine(NodeId),
    /// A threshold no matrix layer fuses (on the residual stream).
    Threshold(NodeId),
    /// A join.
    Add(NodeId),
    /// SiMaN's sign against the frame's mean.
    MeanSign(NodeId),
    /// A 1×1 sumpool with a stride: a subsample.
    Subsample(NodeId),
    /// Zero channels around the map's.
    PadChannels(NodeId),
}

/// Is the map node `id` reads square (H = W)?
fn square(graph: &Graph, id: NodeId) -> bool {
    matches!(graph.operand(id, 0).shape, Shape::Map { h, w, .. } if h == w)
}

/// The readers of node `id`.
pub(super) fn users(graph: &Graph, id: NodeId) -> Vec<NodeId> {
    graph
        .ids()
        .filter(|u| graph.node(*u).inputs.contains(&id))
        .collect()
}

/// Does affine `a` take its matrix layer's accumulator itself (it is the layer's only reader)?
pub(super) fn takes_accumulator(graph: &Graph, a: NodeId) -> bool {
    let m = graph.node(a).inputs[0];
    matches!(graph.node(m).op, Op::MatMul(_)) && users(graph, m) == [a]
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

/// The steps of `graph`, producers before readers: every node the hardware computes, each
/// threshold fused into the matrix layer before it where it is that layer's only reader.
pub(super) fn walk(graph: &Graph) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    let mut absorbed = vec![false; graph.nodes.len()];
    for id in graph.ids() {
        if absorbed[id.0] {
            continue;
        }
        let readers = users(graph, id);
        // A max-pool after a matrix layer that the threshold after it can move before.
        let pooled = match (&graph.node(id).op, &readers[..]) {
            (Op::MatMul(_), &[p]) => pooled_threshold(graph, p, &users(graph, p))?,
            _ => None,
        };
        match &graph.node(id).op {
            Op::Input | Op::Output(_) => {}
            Op::Flatten => steps.push(Step::Flatten(id)),
            Op::MaxPool(p) if p.stride == p.kernel => steps.push(Step::Pool(id, None)),
            Op::MaxPool(_) => return Err(unsupported(graph, id, "max-pool with stride ≠ window")),
            Op::MatMul(m)
                if m.weights.is_int() && graph.operand(id, 0).vtype == ValueType::Bits =>
            {
                return Err(unsupported(
                    graph,
                    id,
                    "a layer with integer weights on binary input",
                ))
            }
            Op::MatMul(_) => match readers[..] {
                [t] if matches!(graph.node(t).op, Op::Threshold(_)) => {
                    steps.push(Step::Matrix(id, Some(t)));
                    absorbed[t.0] = true;
                }
                [p] if pooled.is_some() => {
                    let t = pooled.expect("checked");
                    steps.push(Step::Matrix(id, Some(t)));
                    steps.push(Step::Pool(p, Some(t)));
                    absorbed[p.0] = true;
                    absorbed[t.0] = true;
                }
                [o] if o == graph.output => steps.push(Step::Matrix(id, None)),
                _ if readers.contains(&graph.output) => {
                    return Err(unsupported(
                        graph,
                        id,
                        "a classifier whose accumulator is read by more than the output",
                    ))
                }
                [a] if matches!(graph.node(a).op, Op::Affine(_)) => {
                    steps.push(Step::Matrix(id, None))
                }
                _ => {
                    steps.push(Step::Matrix(id, None));
                    steps.push(Step::Convert(id));
                }
            },
            Op::Affine(_) => steps.push(Step::Affine(id)),
            Op::Threshold(t)
                if t.channels
                    .iter()
                    .any(|r| matches!(r, ChannelRule::Split(_))) =>
            {
                return Err(unsupported(
                    graph,
                    id,
                    "a threshold with split channels that is not its tiled layer's only reader",
                ))
            }
            Op::Threshold(_) => steps.push(Step::Threshold(id)),
            Op::Add(_) => steps.push(Step::Add(id)),
            Op::MeanSign => steps.push(Step::MeanSign(id)),
            Op::PadChannels { .. } => steps.push(Step::PadChannels(id)),
            Op::SumPool(SumPool::Window { kernel: 1, .. }) => steps.push(Step::Subsample(id)),
            Op::SumPool(SumPool::Window { kernel, stride }) if kernel == stride => {
                steps.push(Step::Pool(id, None))
            }
            Op::SumPool(SumPool::Global) if square(graph, id) => steps.push(Step::Pool(id, None)),
            Op::SumPool(SumPool::Window { .. }) => {
                return Err(unsupported(graph, id, "a sumpool with stride ≠ window"))
            }
            Op::SumPool(SumPool::Global) => {
                return Err(unsupported(
                    graph,
                    id,
                    "a global sumpool of a map that is not square",
                ))
            }
            other => return Err(unsupported(graph, id, &format!("`{}` here", other.kind()))),
        }
    }
    let classifier = graph.node(graph.output).inputs[0];
    let fed_by_layer = steps
        .iter()
        .any(|s| matches!(s, Step::Matrix(m, None) if *m == classifier));
    if fed_by_layer && graph.node(classifier).shape.channels() == graph.classes() {
        Ok(steps)
    } else {
        Err(unsupported(
            graph,
            graph.output,
            "an output not fed directly by a dense layer",
        ))
    }
}
