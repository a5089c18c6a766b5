//! QONNX (Brevitas, FINN) → the xnorc model format.
//!
//! The importer walks the ONNX graph in topological order and keeps, for every tensor, what it
//! is ([`values::Val`]): a constant; the graph's float input on its way to a quantizer; or an
//! integer tensor of the xnorc graph seen through float32 steps still to apply (a `MatMul` gives
//! the accumulator S times a per-channel scale, BatchNormalization and `Mul`/`Add`/`Sub`/`Div`
//! add steps, a `BipolarQuant` turns the pending steps into a float32 `binarize`). What is left
//! at the graph output becomes the output node's float tail. Every ONNX operation either maps to
//! exactly what it computes in float32 or is rejected naming the node, its op type and why
//! (docs/semantics.md, "Imported models").

pub mod calibrate;
mod consts;
mod eval;
mod fixed_point;
mod ops;
pub mod values;
mod weights;

use crate::error::{ModelError, Result};
use crate::format::{
    FromFloatDef, InputDef, InputType, ModelFile, NodeDef, OpDef, OutputDef, ToFloatDef,
};
use crate::import::onnx::tensor_proto::DataType;
use crate::import::onnx::{self, Dim, GraphProto, ModelProto, NodeProto, TensorProto};
use crate::ir::frame_elements;
use crate::sanitize::printable;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use values::{Const, FloatIn, IntVal, Val};

/// The file extension of ONNX models.
pub const EXTENSION: &str = "onnx";

/// Reads an ONNX file and translates it. Errors name the file.
pub fn load(path: &Path) -> Result<ModelFile> {
    let (bytes, stem, shown) = read(path)?;
    import(&bytes, &stem).map_err(|e| e.in_file(&shown))
}

/// An ONNX file's bytes, the model name its file stem gives, and the path as errors show it.
fn read(path: &Path) -> Result<(Vec<u8>, String, String)> {
    let shown = path.display().to_string();
    let bytes = onnx::read_file(path).map_err(|e| e.in_file(&shown))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    Ok((bytes, stem, shown))
}

/// Translates ONNX bytes into a model named `name`.
pub fn import(bytes: &[u8], name: &str) -> Result<ModelFile> {
    let model = onnx::parse_model(bytes)
        .map_err(|e| e.with_hint("export with brevitas.export.export_qonnx or onnx.save"))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ModelError::new("the ONNX model has no graph"))?;
    let mut importer = Importer::new(graph)?;
    for node in topological(graph)? {
        importer
            .node(node)
            .map_err(|e| e.at_node(display_name(node)))?;
    }
    let nodes = importer.finish(graph)?;
    Ok(ModelFile {
        name: name.to_string(),
        metadata: metadata(&model, name),
        nodes,
    })
}

fn metadata(model: &ModelProto, name: &str) -> BTreeMap<String, serde_json::Value> {
    let mut m = BTreeMap::new();
    let producer = format!("{} {}", model.producer_name(), model.producer_version());
    m.insert(
        "provenance".into(),
        format!(
            "imported by xnorc from {name}.onnx (QONNX, produced by {})",
            producer.trim()
        )
        .into(),
    );
    m.insert("trained_with".into(), producer.trim().to_string().into());
    m
}

/// How a node is named in messages: its name, or its position and op type when it has none.
fn display_name(node: &NodeProto) -> String {
    if node.name().is_empty() {
        format!("{} → {}", node.op_type(), node.output.join(", "))
    } else {
        node.name().to_owned()
    }
}

/// The nodes in an order where producers come first (ONNX requires it; we do not rely on it).
fn topological(graph: &GraphProto) -> Result<Vec<&NodeProto>> {
    let mut known: HashSet<&str> = graph
        .initializer
        .iter()
        .map(|t| t.name())
        .chain(graph.input.iter().map(|i| i.name()))
        .chain([""]) // an empty name is an omitted optional input
        .collect();
    let mut left: Vec<&NodeProto> = graph.node.iter().collect();
    let mut order = Vec::with_capacity(left.len());
    while !left.is_empty() {
        let before = left.len();
        let mut rest = Vec::new();
        for node in left {
            if node.input.iter().all(|i| known.contains(i.as_str())) {
                known.extend(node.output.iter().map(|o| o.as_str()));
                order.push(node);
            } else {
                rest.push(node);
            }
        }
        if rest.len() == before {
            let node = rest[0];
            let missing = node
                .input
                .iter()
                .find(|i| !known.contains(i.as_str()))
                .cloned()
                .unwrap_or_default();
            return Err(ModelError::new(format!(
                "input \"{}\" is produced by no node, initializer or graph input (or the graph \
                 has a cycle)",
                printable(&missing)
            ))
            .at_node(display_name(node)));
        }
        left = rest;
    }
    Ok(order)
}

/// The translation state: what every ONNX tensor is, and the xnorc nodes made so far.
pub(crate) struct Importer {
    vals: HashMap<String, Val>,
    nodes: Vec<NodeDef>,
    names: HashSet<String>,
    /// The graph input's name and per-frame float shape, until a quantizer consumes it.
    float_input: (String, Vec<usize>),
    /// The input node, once a quantizer made it.
    input_made: bool,
    /// Fixed-point formats chosen by calibration for tensors no quantizer covers (the
    /// operands of joins and averages), by ONNX tensor name.
    formats: HashMap<String, calibrate::FixedFormat>,
    /// The calibrated formats the import used, in order.
    calibrated: Vec<calibrate::CalibratedTensor>,
    /// In the calibration trace: the largest magnitude seen per probed tensor.
    probes: Option<HashMap<String, f32>>,
}

impl Importer {
    fn new(graph: &GraphProto) -> Result<Self> {
        if !graph.sparse_initializer.is_empty() {
            return Err(ModelError::new(
                "the graph has sparse initializers, which xnorc does not read",
            ));
        }
        let mut vals = HashMap::new();
        for t in &graph.initializer {
            vals.insert(t.name().to_owned(), Val::Const(constant(t)?));
        }
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !vals.contains_key(i.name()))
            .collect();
        let input = match inputs.as_slice() {
            [one] => *one,
            [] => {
                return Err(ModelError::new(
                    "the graph has no input that is not an initializer",
                ))
            }
            more => {
                return Err(ModelError::new(format!(
                    "the graph has {} inputs ({}); xnorc compiles single-input models",
                    more.len(),
                    more.iter()
                        .map(|i| format!("\"{}\"", printable(i.name())))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        };
        let at = || format!("graph input \"{}\"", printable(input.name()));
        if input.elem_type() != DataType::Float as i32 {
            return Err(ModelError::new(format!(
                "has element type {}, expected float",
                onnx::data_type_name(input.elem_type())
            ))
            .at_field(at()));
        }
        let dims = input.dims().ok_or_else(|| {
            ModelError::new("has no shape; xnorc needs the input's shape").at_field(at())
        })?;
        let mut shape = Vec::with_capacity(dims.len());
        for (axis, d) in dims.iter().enumerate() {
            shape.push(match (axis, d) {
                (_, Dim::Value(v)) if *v > 0 => usize::try_from(*v).unwrap_or(usize::MAX),
                // A symbolic or unknown batch: xnorc runs one frame at a time.
                (0, _) => 1,
                (_, other) => {
                    return Err(ModelError::new(format!(
                        "axis {axis} is {}; every axis but the batch needs a fixed size",
                        other.describe()
                    ))
                    .at_field(at()))
                }
            });
        }
        // Before anything is sized by it: the frame is the product of the axes after the batch.
        frame_elements(&shape[1.min(shape.len())..])
            .map_err(|e| ModelError::new(e).at_field(at()))?;
        if shape.first() != Some(&1) {
            return Err(
                ModelError::new(format!("shape {shape:?} must start with a batch of 1"))
                    .at_field(at()),
            );
        }
        let frame = shape[1..].to_vec();
        let float = FloatIn {
            shape,
            steps: Vec::new(),
        };
        vals.insert(input.name().to_owned(), Val::Float(float.clone()));
        let mut importer = Importer {
            vals,
            nodes: Vec::new(),
            names: HashSet::new(),
            float_input: (input.name().to_owned(), frame),
            input_made: false,
            formats: HashMap::new(),
            calibrated: Vec::new(),
            probes: None,
        };
        let datatype = graph
            .quantization_annotation
            .iter()
            .filter(|a| a.tensor_name() == input.name())
            .flat_map(|a| &a.quant_parameter_tensor_names)
            .find(|e| e.key() == "finn_datatype")
            .map(|e| e.value());
        if let Some(dt) = datatype {
            importer
                .annotated_input(input.name(), &float, dt)
                .map_err(|e| e.at_field(at()))?;
        }
        Ok(importer)
    }

    /// A graph input annotated with an integer FINN datatype takes those integers as its
    /// codes: the input node is made at once and the graph sees integer codes.
    fn annotated_input(&mut self, name: &str, float: &FloatIn, datatype: &str) -> Result<()> {
        use crate::format::{CodesDef, QuantDef};
        use values::{Codes, Pending};
        let int_bits = |prefix: &str| -> Option<u32> {
            datatype
                .strip_prefix(prefix)
                .and_then(|b| b.parse::<u32>().ok())
                .filter(|b| (1..=8).contains(b))
        };
        let (dtype, min, max, codes, steps) = match datatype {
            "FLOAT32" => return Ok(()),
            // {0, 1} values: the bit itself; the graph sees u = ±1 as (u + 1) / 2.
            "BINARY" => (
                InputType::Bits,
                0,
                1,
                Codes::Bits,
                Pending::half_sum(1.0).to_vec(),
            ),
            "BIPOLAR" => (InputType::Bits, -1, 1, Codes::Bits, Vec::new()),
            _ => {
                let (dtype, min, max) = if let Some(b) = int_bits("UINT") {
                    (InputType::Uint8, 0, (1i64 << b) - 1)
                } else if let Some(b) = int_bits("INT") {
                    (InputType::Int8, -(1i64 << (b - 1)), (1i64 << (b - 1)) - 1)
                } else {
                    return Err(ModelError::new(format!(
                        "finn_datatype {}: xnorc takes FLOAT32, BINARY, BIPOLAR, UINT1..8 and \
                         INT1..8 inputs",
                        printable(datatype)
                    )));
                };
                (dtype, min, max, Codes::Int { min, max }, Vec::new())
            }
        };
        let base = self.fresh(name.to_string(), "");
        let quant = QuantDef::Codes(CodesDef { min, max });
        let (node, shape) = self.make_input_named(base, float, dtype, quant)?;
        self.vals.insert(
            name.to_string(),
            Val::Int(IntVal {
                node,
                shape,
                codes,
                steps,
            }),
        );
        Ok(())
    }

    /// The value of input `i` of `node` (an error if it is missing).
    fn input(&self, node: &NodeProto, i: usize) -> Result<&Val> {
        let name = node
            .input
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ModelError::new(format!("input {i} is missing")))?;
        self.vals
            .get(name)
            .ok_or_else(|| ModelError::new(format!("input \"{}\" is unknown", printable(name))))
    }

    /// Input `i` when it is present (optional inputs may be omitted or empty).
    fn optional_input(&self, node: &NodeProto, i: usize) -> Option<&Val> {
        node.input
            .get(i)
            .filter(|n| !n.is_empty())
            .and_then(|n| self.vals.get(n))
    }

    /// Input `i`, which must be a constant.
    fn constant_input(&self, node: &NodeProto, i: usize, role: &str) -> Result<&Const> {
        match self.input(node, i)? {
            Val::Const(c) => Ok(c),
            other => Err(ModelError::new(format!(
                "the {role} (input {i}) must be a constant, but it is {}",
                other.describe()
            ))),
        }
    }

    /// Records the value of `node`'s first output.
    fn set_output(&mut self, node: &NodeProto, val: Val) -> Result<()> {
        let name = node
            .output
            .first()
            .ok_or_else(|| ModelError::new("the node has no output"))?;
        self.vals.insert(name.clone(), val);
        Ok(())
    }

    /// A fresh, unique xnorc node name derived from the ONNX node.
    fn fresh_name(&mut self, node: &NodeProto, suffix: &str) -> String {
        let base = if node.name().is_empty() {
            node.output
                .first()
                .cloned()
                .unwrap_or_else(|| node.op_type().to_owned())
        } else {
            node.name().to_owned()
        };
        self.fresh(base, suffix)
    }

    /// A fresh, unique xnorc node name from `base` and `suffix`.
    fn fresh(&mut self, base: String, suffix: &str) -> String {
        let base = if suffix.is_empty() {
            base
        } else {
            format!("{base}_{suffix}")
        };
        let mut name = base.clone();
        let mut k = 2;
        while self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Adds an xnorc node.
    fn push(&mut self, name: String, inputs: Vec<String>, op: OpDef) {
        self.nodes.push(NodeDef { name, inputs, op });
    }

    /// Makes the input node for a quantizer on the float input.
    fn make_input(
        &mut self,
        node: &NodeProto,
        float: &FloatIn,
        dtype: InputType,
        quant: crate::format::QuantDef,
    ) -> Result<(String, Vec<usize>)> {
        let name = self.fresh_name(node, "input");
        self.make_input_named(name, float, dtype, quant)
    }

    /// Makes the input node `name` for a quantizer on the float input.
    fn make_input_named(
        &mut self,
        name: String,
        float: &FloatIn,
        dtype: InputType,
        quant: crate::format::QuantDef,
    ) -> Result<(String, Vec<usize>)> {
        if self.input_made {
            return Err(ModelError::new(
                "a second quantizer on the float input; xnorc takes one input mapping",
            ));
        }
        let shape: Vec<usize> = match float.shape.as_slice() {
            [1, n] => vec![*n],
            [1, c, h, w] => vec![*c, *h, *w],
            other => {
                return Err(ModelError::new(format!(
                    "the quantized input has shape {other:?}; xnorc takes [1, n] (a vector) or \
                     [1, C, H, W] (a map)"
                )))
            }
        };
        let numel: usize = shape.iter().product();
        let steps = float
            .steps
            .iter()
            .map(|(op, p)| {
                let t = crate::format::TensorDef::from_f32(vec![p.len()], p);
                match op {
                    values::Arith::Mul => crate::format::ElementStepDef::Mul(t),
                    values::Arith::Add => crate::format::ElementStepDef::Add(t),
                    values::Arith::Div => crate::format::ElementStepDef::Div(t),
                }
            })
            .collect();
        debug_assert!(float
            .steps
            .iter()
            .all(|(_, p)| p.len() == 1 || p.len() == numel));
        self.push(
            name.clone(),
            Vec::new(),
            OpDef::Input(InputDef {
                shape: shape.clone(),
                dtype,
                from_float: Some(FromFloatDef {
                    shape: self.float_input.1.clone(),
                    steps,
                    quant,
                }),
            }),
        );
        self.input_made = true;
        Ok((name, float.shape.clone()))
    }

    /// Adds the output node for the graph's output and prunes nodes that do not reach it.
    fn finish(mut self, graph: &GraphProto) -> Result<Vec<NodeDef>> {
        let output = match graph.output.as_slice() {
            [one] => one,
            [] => return Err(ModelError::new("the graph has no output")),
            more => {
                return Err(ModelError::new(format!(
                    "the graph has {} outputs; xnorc compiles single-output models",
                    more.len()
                )))
            }
        };
        let at = || format!("graph output \"{}\"", printable(output.name()));
        let val = self
            .vals
            .get(output.name())
            .cloned()
            .ok_or_else(|| ModelError::new("is produced by no node").at_field(at()))?;
        let Val::Int(mut v) = val else {
            return Err(ModelError::new(format!(
                "is {}; xnorc needs the output computed from the quantized network",
                val.describe()
            ))
            .at_field(at()));
        };
        if !self.input_made {
            return Err(ModelError::new(
                "the float input never reaches a quantizer (BipolarQuant, Quant or MultiThreshold)",
            ));
        }
        let frame: Vec<usize> = v.shape[1..].to_vec();
        if v.shape.len() == 4 {
            // A map of scores (e.g. a 1×1 convolution head): flatten it in C, H, W order.
            v = self.flatten(v, "scores_flat")?;
        }
        let steps = v
            .steps
            .iter()
            .map(|s| s.to_step())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                let err = ModelError::new(
                    "op Relu/PRelu after the last quantizer is not supported: it reaches the \
                     output, whose float steps are affine only; quantize after it",
                )
                .at_field(at());
                match graph
                    .node
                    .iter()
                    .find(|n| n.output.iter().any(|o| o == output.name()))
                {
                    Some(producer) => err.at_node(display_name(producer)),
                    None => err,
                }
            })?;
        let name = self.fresh("scores".to_string(), "");
        self.push(
            name.clone(),
            vec![v.node.clone()],
            OpDef::Output(OutputDef {
                scale: None,
                offset: None,
                to_float: Some(ToFloatDef {
                    shape: frame,
                    steps,
                }),
            }),
        );
        Ok(prune(self.nodes, &name))
    }

    /// `v` (a `[1, C, H, W]` map) as a vector: a `flatten` node, pending steps spread per
    /// element.
    fn flatten(&mut self, v: IntVal, name: &str) -> Result<IntVal> {
        let [1, c, h, w] = v.shape[..] else {
            return Ok(v);
        };
        let flat = self.fresh(v.node.clone(), name);
        self.push(
            flat.clone(),
            vec![v.node.clone()],
            OpDef::Flatten(crate::format::FlattenDef {}),
        );
        Ok(IntVal {
            node: flat,
            shape: vec![1, c * h * w],
            codes: v.codes,
            steps: v.steps.iter().map(|s| s.spread(h * w)).collect(),
        })
    }
}

/// The nodes that `output` depends on, in their order.
fn prune(nodes: Vec<NodeDef>, output: &str) -> Vec<NodeDef> {
    let by_name: HashMap<&str, &NodeDef> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut live: HashSet<String> = HashSet::new();
    let mut stack = vec![output.to_string()];
    while let Some(n) = stack.pop() {
        if live.insert(n.clone()) {
            if let Some(def) = by_name.get(n.as_str()) {
                stack.extend(def.inputs.iter().cloned());
            }
        }
    }
    nodes
        .into_iter()
        .filter(|n| live.contains(&n.name))
        .collect()
}

/// An initializer as a constant.
fn constant(t: &TensorProto) -> Result<Const> {
    let at = || format!("initializer \"{}\"", printable(t.name()));
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<usize>, _>>()
        .map_err(|_| ModelError::new("has a negative dimension").at_field(at()))?;
    if t.is_float() {
        let values = t.to_f32().map_err(|e| e.at_field(at()))?;
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(
                ModelError::new(format!("holds {v}; parameters must be finite")).at_field(at()),
            );
        }
        Ok(Const::f32(shape, values))
    } else {
        let values = t.to_i64().map_err(|e| e.at_field(at()))?;
        Ok(Const::ints(shape, values))
    }
}
