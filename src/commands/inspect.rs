//! `xnorc inspect`: the node table of a validated model.

use crate::errors::CliError;
use serde::Serialize;
use std::path::Path;
use xnorc_compiler::ir::{
    ChannelRule, FloatStep, FloatTail, Geometry, Graph, InputMap, NodeId, Op, WeightStore,
    WeightValues,
};
use xnorc_compiler::passes;

#[derive(Serialize)]
struct NodeInfo {
    name: String,
    ident: String,
    op: &'static str,
    inputs: Vec<String>,
    shape: Vec<usize>,
    /// `bit`, `u2`, `i11`, …: the element type (for matrix layers: the accumulator).
    value: String,
    value_min: i64,
    value_max: i64,
    value_bits: u32,
    /// Weights of a matrix layer (= bits as dense binary).
    weight_bits: usize,
    /// Bits the layer's storage really holds (codebook + indices, tile, or dense bits).
    stored_weight_bits: usize,
    /// `stored_weight_bits / weight_bits`.
    bits_per_weight: Option<f64>,
    /// `dense`, `codebook` or `tiled` (matrix layers).
    storage: Option<&'static str>,
    macs: u64,
    detail: String,
}

#[derive(Serialize)]
struct Report {
    model: String,
    metadata: serde_json::Value,
    input_shape: Vec<usize>,
    input_type: String,
    classes: usize,
    /// Stored weight bits of the whole model.
    total_weight_bits: usize,
    /// Weight bits the model would take stored dense (one bit per weight).
    total_dense_weight_bits: usize,
    /// `total_weight_bits / total_dense_weight_bits`.
    bits_per_weight: f64,
    total_macs: u64,
    /// An imported model's float input → input codes, in words.
    input_mapping: Option<String>,
    /// An imported model's integer scores → float output, in words.
    float_output: Option<String>,
    nodes: Vec<NodeInfo>,
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
    use xnorc_compiler::ir::float_io::{ElementOp, InputQuant};
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
fn describe_float_tail(tail: &FloatTail) -> String {
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

fn detail(graph: &Graph, id: NodeId) -> String {
    match &graph.node(id).op {
        Op::MatMul(m) => {
            let w = &m.weights;
            let values = match w.values {
                WeightValues::Pm1 => "±1",
                WeightValues::ZeroOne => "{0,1}",
            };
            let storage = match &w.store {
                WeightStore::Dense(_) => String::new(),
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
        _ => String::new(),
    }
}

fn report(graph: &Graph) -> Report {
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
    Report {
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

/// Shortens and escapes an untrusted name for a table cell.
fn cell(name: &str, width: usize) -> String {
    let escaped: String = name.escape_debug().collect();
    if escaped.chars().count() > width {
        let cut: String = escaped.chars().take(width - 1).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

pub fn run(model: &Path, json: bool) -> Result<(), CliError> {
    let graph = passes::load_graph(model)?;
    let r = report(&graph);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("report serializes")
        );
        return Ok(());
    }
    println!(
        "model {}: input {} {}, {} classes",
        cell(&r.model, 40),
        r.input_shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x"),
        r.input_type,
        r.classes
    );
    println!(
        "{:>3}  {:<20} {:<9} {:<12} {:<5} {:>9} {:>9} {:>5} {:>12}  detail",
        "#", "name", "op", "shape", "value", "weights", "stored", "bit/w", "MACs"
    );
    for (i, n) in r.nodes.iter().enumerate() {
        let shape = n
            .shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x");
        let per_weight = n
            .bits_per_weight
            .map(|b| format!("{b:.3}"))
            .unwrap_or_default();
        println!(
            "{:>3}  {:<20} {:<9} {:<12} {:<5} {:>9} {:>9} {:>5} {:>12}  {}",
            i,
            cell(&n.name, 20),
            n.op,
            shape,
            n.value,
            n.weight_bits,
            n.stored_weight_bits,
            per_weight,
            n.macs,
            n.detail
        );
    }
    println!(
        "total: {} weight bits stored ({:.1} KiB), {:.3} bit/weight: {:.2}x smaller than the \
         {} bits of dense binary weights; {} MACs per frame",
        r.total_weight_bits,
        r.total_weight_bits as f64 / 8192.0,
        r.bits_per_weight,
        r.total_dense_weight_bits as f64 / r.total_weight_bits.max(1) as f64,
        r.total_dense_weight_bits,
        r.total_macs
    );
    if let Some(m) = &r.input_mapping {
        println!("input mapping: {m}");
    }
    if let Some(t) = &r.float_output {
        println!("float output: {t}");
    }
    Ok(())
}
