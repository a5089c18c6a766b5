//! A validated model in figures and words (what `xnorc inspect` shows): per node its shape,
//! value type, stored weight bits and MACs; for the model its totals, and an imported model's
//! input mapping and float output in words. Serializable; printing is the CLI's.

use crate::ir::{
    ChannelRule, FloatStep, FloatTail, Geometry, Graph, InputMap, NodeId, Op, SumPool, WeightStore,
    WeightValues,
};
use serde::Serialize;

/// One node of the summary (field order is the JSON's key order).
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    /// The model's name for the node.
    pub name: String,
    /// Its sanitized identifier.
    pub ident: String,
    /// Operation kind.
    pub op: &'static str,
    /// Names of its inputs.
    pub inputs: Vec<String>,
    /// Output shape.
    pub shape: Vec<usize>,
    /// `bit`, `u2`, `i11`, …: the element type (for matrix layers: the accumulator).
    pub value: String,
    /// Least value.
    pub value_min: i64,
    /// Greatest value.
    pub value_max: i64,
    /// Bits of a value.
    pub value_bits: u32,
    /// Weights of a matrix layer (= bits as dense binary).
    pub weight_bits: usize,
    /// Bits the layer's storage really holds (codebook + indices, tile, or dense bits).
    pub stored_weight_bits: usize,
    /// `stored_weight_bits / weight_bits`.
    pub bits_per_weight: Option<f64>,
    /// `dense`, `codebook` or `tiled` (matrix layers).
    pub storage: Option<&'static str>,
    /// Multiply-accumulates per frame.
    pub macs: u64,
    /// The op's parameters in words.
    pub detail: String,
}

/// The whole model's summary (field order is the JSON's key order).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Model name.
    pub model: String,
    /// The model's metadata.
    pub metadata: serde_json::Value,
    /// Input shape.
    pub input_shape: Vec<usize>,
    /// Input element type in words.
    pub input_type: String,
    /// Classes.
    pub classes: usize,
    /// Stored weight bits of the whole model.
    pub total_weight_bits: usize,
    /// Weight bits the model would take stored dense (one bit per weight).
    pub total_dense_weight_bits: usize,
    /// `total_weight_bits / total_dense_weight_bits`.
    pub bits_per_weight: f64,
    /// Multiply-accumulates per frame.
    pub total_macs: u64,
    /// An imported model's float input → input codes, in words.
    pub input_mapping: Option<String>,
    /// An imported model's integer scores → float output, in words.
    pub float_output: Option<String>,
    /// Every node in order.
    pub nodes: Vec<NodeInfo>,
}

/// A parameter list in words: the value all share, or how many there are.
fn values(v: &[f32]) -> String {
    match v.first() {
        Some(first) if v.iter().all(|x| x.to_bits() == first.to_bits()) => format!("{first}"),
        _ => format!("[{} values]", v.len()),
    }
}

/// The input map in words, e.g. `float32 [1, 28, 28]: x·2, x + -1, bit = x ≥ 0`.
pub fn describe_input_map(map: &InputMap, graph: &Graph) -> String {
    use crate::ir::float_io::{ElementOp, InputQuant};
    let mut parts: Vec<String> = map
        .steps
        .iter()
        .map(|s| {
            let v = values(&s.values);
            match s.op {
                ElementOp::Mul => format!("x·{v}"),
                ElementOp::Add => format!("x + {v}"),
                ElementOp::Div => format!("x / {v}"),
            }
        })
        .collect();
    parts.push(match &map.quant {
        InputQuant::Bipolar => "bit = [x ≥ 0] (BipolarQuant)".to_string(),
        InputQuant::Codes { min, max, .. } => {
            format!("code = x, an integer in [{min}, {max}] (annotated datatype)")
        }
        InputQuant::Thresholds { table, levels, .. } => format!(
            "code = #{{k : x ≥ T[channel][k]}} over {} channel(s) × {levels} threshold(s) \
             (MultiThreshold)",
            table.len() / (*levels).max(1)
        ),
        InputQuant::Int {
            min,
            max,
            scale,
            rounding,
        } => format!("code = {rounding:?}(clamp(x / {scale}, {min}, {max})) (Quant)"),
    });
    let input = graph.input_node();
    format!(
        "float32 {:?} per frame: {} -> input {} {}",
        map.shape,
        parts.join(", "),
        input
            .shape
            .dims()
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x"),
        input.vtype.describe()
    )
}

/// The float tail in words, e.g. `y = f32(score), y·0.5, BatchNorm → float32 [10]`.
pub fn describe_float_tail(tail: &FloatTail) -> String {
    let mut parts = vec!["y = f32(score)".to_string()];
    for step in &tail.steps {
        let v = |p: &[f64]| values(&p.iter().map(|&x| x as f32).collect::<Vec<_>>());
        parts.push(match step {
            FloatStep::Mul(a) => format!("y·{}", v(a)),
            FloatStep::Add(b) => format!("y + {}", v(b)),
            FloatStep::Div(d) => format!("y / {}", v(d)),
            FloatStep::BatchNorm { .. } => "BatchNorm".to_string(),
            FloatStep::Prelu(p) => format!("PReLU {}", v(p)),
        });
    }
    format!("{} -> float32 {:?} per frame", parts.join(", "), tail.shape)
}

/// ", saturating to iN" for a saturating stream op.
fn saturation(bits: Option<u32>) -> String {
    bits.map_or(String::new(), |b| format!(", saturating to i{b}"))
}

fn detail(graph: &Graph, id: NodeId) -> String {
    match &graph.node(id).op {
        Op::MatMul(m) => {
            let w = &m.weights;
            let values = match w.values {
                WeightValues::Pm1 => "±1",
                WeightValues::ZeroOne => "{0,1}",
                WeightValues::Int => "int8",
            };
            let storage = match &w.store {
                WeightStore::Dense(_) | WeightStore::Int(_) => String::new(),
                WeightStore::Codebook(cb) => {
                    format!("; codebook τ={} ({} kernels)", cb.tau, cb.entries)
                }
                WeightStore::Tiled(t) => format!(
                    "; tile of {} bits x{}{}",
                    t.tile.len(),
                    t.p,
                    if t.alpha.is_some() {
                        ", α per chunk"
                    } else {
                        ""
                    }
                ),
            };
            let shape = match m.geometry {
                Geometry::Dense => format!("{}x{} {values}", w.out_channels, w.in_channels),
                Geometry::Conv {
                    stride,
                    padding,
                    pad_mode,
                } => format!(
                    "{}x{}x{}x{} {values} stride {stride} pad [{},{},{},{}] {:?}",
                    w.out_channels,
                    w.in_channels,
                    w.kh,
                    w.kw,
                    padding.top,
                    padding.left,
                    padding.bottom,
                    padding.right,
                    pad_mode
                ),
            };
            shape + &storage
        }
        Op::Threshold(t) => {
            let constant = t
                .channels
                .iter()
                .filter(|r| matches!(r, ChannelRule::Const(_)))
                .count();
            let le = t
                .channels
                .iter()
                .filter(|r| matches!(r, ChannelRule::Le(_)))
                .count();
            let split = t
                .channels
                .iter()
                .filter(|r| matches!(r, ChannelRule::Split(_)))
                .count();
            let split = if split > 0 {
                format!(", {split} on split partial sums")
            } else {
                String::new()
            };
            format!(
                "{} level(s); {le} ≤ channel(s), {constant} constant{split}",
                t.levels
            )
        }
        Op::MaxPool(p) => format!("{}x{} stride {}", p.kernel, p.kernel, p.stride),
        Op::Output(_) => "scores + argmax".to_string(),
        Op::Add(a) => {
            let shift = if a.shift == [0, 0] {
                String::new()
            } else {
                format!(" (<< {}, << {})", a.shift[0], a.shift[1])
            };
            format!("a + b{shift}{}", saturation(a.saturate))
        }
        Op::Affine(a) => format!(
            "{}, >> {}{}{}",
            if a.is_piecewise() {
                "PReLU (x + pre)·mul | ·neg_mul, + bias"
            } else {
                "x·mul + bias"
            },
            a.shift,
            if a.round_half_even {
                " rounded half to even"
            } else {
                ""
            },
            saturation(a.saturate)
        ),
        Op::SumPool(SumPool::Global) => "global sum".to_string(),
        Op::MeanSign => "bit = [N·x ≥ Σx] over the frame".to_string(),
        Op::PadChannels { before, after } => {
            format!("{before} zero channels before, {after} after")
        }
        Op::SumPool(SumPool::Window { kernel, stride }) => {
            format!("{kernel}x{kernel} sum stride {stride}")
        }
        _ => String::new(),
    }
}

/// The summary of a lowered graph.
pub fn summarize(graph: &Graph) -> Summary {
    let nodes: Vec<NodeInfo> = graph
        .ids()
        .map(|id| {
            let n = graph.node(id);
            let (weight_bits, stored) = match &n.op {
                Op::MatMul(m) => (m.weights.count(), m.weights.stored_bits()),
                _ => (0, 0),
            };
            let (value_min, value_max) = n.vtype.range();
            NodeInfo {
                name: n.name.clone(),
                ident: n.ident.clone(),
                op: n.op.kind(),
                inputs: n
                    .inputs
                    .iter()
                    .map(|i| graph.node(*i).name.clone())
                    .collect(),
                shape: n.shape.dims(),
                value: n.vtype.describe(),
                value_min,
                value_max,
                value_bits: n.vtype.bits(),
                weight_bits,
                stored_weight_bits: stored,
                bits_per_weight: (weight_bits > 0).then(|| stored as f64 / weight_bits as f64),
                storage: match &n.op {
                    Op::MatMul(m) => Some(m.weights.storage()),
                    _ => None,
                },
                macs: graph.macs(id),
                detail: detail(graph, id),
            }
        })
        .collect();
    let input = graph.input_node();
    let stored = nodes.iter().map(|n| n.stored_weight_bits).sum();
    let dense: usize = nodes.iter().map(|n| n.weight_bits).sum();
    Summary {
        input_mapping: graph
            .input_map
            .as_ref()
            .map(|m| describe_input_map(m, graph)),
        float_output: graph.float_tail.as_ref().map(describe_float_tail),
        model: graph.name.clone(),
        metadata: serde_json::Value::Object(graph.metadata.clone().into_iter().collect()),
        input_shape: input.shape.dims(),
        input_type: input.vtype.describe(),
        classes: graph.classes(),
        total_weight_bits: stored,
        total_dense_weight_bits: dense,
        bits_per_weight: stored as f64 / dense.max(1) as f64,
        total_macs: nodes.iter().map(|n| n.macs).sum(),
        nodes,
    }
}
