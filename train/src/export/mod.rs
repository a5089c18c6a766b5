//! Trained parameters → an xnorc model file, exactly.
//!
//! Each binary layer's weights are stored as bits (w ≥ 0 → +1), an 8-bit layer's as `int`
//! weights; each BatchNorm-and-sign as a `binarize` with the BatchNorm step (running
//! statistics), which the compiler folds into exact integer thresholds, and a multi-bit
//! activation as the multi-level `threshold` found the same way (`epilogue`); the residual
//! stream's operations are `stream`'s. The class layer's integer scores are the output (the
//! float network only multiplies them by a positive temperature, which leaves the argmax
//! alone). The input map (`input.from_float`) is the coding the trainer applied to the float
//! frames.

use crate::arch::{self, Arch, InputCoding, Layer};
use crate::error::TrainError;
use crate::net::{int8_codes, Layout, MatrixParams, Params, WeightForm};
use crate::scheme;
use std::collections::BTreeMap;

mod epilogue;
mod stream;
use epilogue::Epilogue;
use xnorc_compiler::bits::BitVec;
use xnorc_compiler::format::tensor::TensorDef;
use xnorc_compiler::format::{
    ConvDef, DenseDef, ElementStepDef, FlattenDef, FromFloatDef, InputDef, InputType, IntQuantDef,
    MaxPoolDef, MeanSignDef, ModelFile, NodeDef, OpDef, OutputDef, PadMode, PaddingDef, QuantDef,
    RoundingMode, WeightValues, WeightsDef,
};

/// What the model file says of where it came from.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    /// The dataset's name or file.
    pub dataset: String,
    /// The command that trained it.
    pub command: String,
    /// The method and its settings, in words.
    pub trained_with: String,
    /// Held-out accuracy of the exported model, when known.
    pub accuracy: Option<f64>,
}

/// The graph as it is written: nodes in order, and the node the next one reads.
struct Graph {
    nodes: Vec<NodeDef>,
    prev: String,
}

impl Graph {
    /// Appends `op` reading the previous node.
    fn push(&mut self, name: String, op: OpDef) {
        let inputs = vec![self.prev.clone()];
        self.push_from(name, inputs, op);
    }

    /// Appends `op` reading `inputs`.
    fn push_from(&mut self, name: String, inputs: Vec<String>, op: OpDef) {
        self.nodes.push(NodeDef {
            name: name.clone(),
            inputs,
            op,
        });
        self.prev = name;
    }
}

/// The model file of `params` trained on frames shaped `frame`.
pub fn model_file(
    arch: &Arch,
    frame: &[usize],
    layout: &Layout,
    params: &Params,
    provenance: &Provenance,
) -> Result<ModelFile, TrainError> {
    let mut g = Graph {
        nodes: vec![input_node(arch, frame)],
        prev: "input".to_string(),
    };
    let shapes = arch
        .shapes(frame)
        .expect("the trainer checks the architecture against the frames first");
    let names = arch.matrix_names();
    let mut names = names.iter();
    let (mut pools, mut signs) = (0, 0);
    let mut is_map = !matches!(arch.layers[0], Layer::Dense { .. });
    let mut matrices = params.matrices.iter();
    let siman = layout.form == WeightForm::Magnitude;
    // The largest input value of the next matrix layer: the frame's codes, then activations.
    let mut input_max = match arch.input {
        InputCoding::Bipolar => 1,
        InputCoding::Uint8 => 255,
    };
    for (i, layer) in arch.layers.iter().enumerate() {
        match *layer {
            Layer::MaxPool { kernel } => {
                pools += 1;
                let op = OpDef::MaxPool(MaxPoolDef {
                    kernel,
                    stride: None,
                });
                g.push(format!("pool{pools}"), op);
                continue;
            }
            Layer::Sign => {
                signs += 1;
                g.push(format!("sign{signs}"), stream::sign(siman));
                continue;
            }
            Layer::GlobalPool => {
                pools += 1;
                g.push(format!("pool{pools}"), stream::global_sum());
                continue;
            }
            Layer::Dense { .. } if is_map => {
                g.push("flatten".into(), OpDef::Flatten(FlattenDef {}));
                is_map = false;
            }
            _ => {}
        }
        let m = matrices.next().expect("one parameter set per matrix layer");
        let name = names.next().expect("a name per matrix layer").clone();
        let (weights, scale) = layer_weights(layout, m, m.stream || arch.levels() > 1);
        let conv = |weights, stride, pad, pad_mode| {
            OpDef::Conv2d(ConvDef {
                weights,
                stride,
                padding: (pad > 0).then_some(PaddingDef::Same(pad)),
                pad_mode: (pad > 0).then_some(pad_mode),
            })
        };
        let op = match *layer {
            Layer::Dense { .. } => OpDef::Dense(DenseDef { weights }),
            Layer::Conv {
                stride,
                pad,
                pad_mode,
                ..
            } => {
                let pad_mode = match pad_mode {
                    arch::PadMode::Zero => PadMode::Zero,
                    arch::PadMode::MinusOne => PadMode::MinusOne,
                };
                conv(weights, stride, pad, pad_mode)
            }
            Layer::Stem { stride, pad, .. } => conv(weights, stride, pad, PadMode::Zero),
            Layer::Block { out, stride } => {
                let block = stream::Block {
                    name: name.trim_end_matches("_conv"),
                    input: &g.prev.clone(),
                    in_channels: if i == 0 { frame[0] } else { shapes[i - 1][0] },
                    out,
                    stride,
                    siman,
                    fmt: arch.stream,
                };
                block.write(&mut g, m, conv(weights, stride, 1, PadMode::Zero), scale);
                continue;
            }
            Layer::MaxPool { .. } | Layer::Sign | Layer::GlobalPool => {
                unreachable!("handled above")
            }
        };
        let act = format!("act_{name}");
        g.push(name.clone(), op);
        if m.stream {
            let bn =
                m.bn.as_ref()
                    .expect("a layer into the stream has its BatchNorm");
            g.push(
                format!("{name}_bn"),
                stream::bn_affine(bn, scale.as_deref(), arch.stream),
            );
        } else if m.hidden && m.bn.is_none() {
            g.push(act, OpDef::MeanSign(MeanSignDef {}));
        } else if let Some(bn) = &m.bn {
            let epilogue = Epilogue {
                scale: scale.as_deref(),
                bn,
                act_bias: m.act_bias.as_ref().map(|b| &b.data[..]),
            };
            let op = match arch.levels() {
                1 => epilogue.binarize(),
                n => epilogue.levels(n, accumulator_bound(m, input_max))?,
            };
            g.push(act, op);
        }
        input_max = arch.levels() as i64;
    }
    let output = OpDef::Output(OutputDef {
        scale: None,
        offset: None,
        to_float: None,
    });
    g.push("scores".into(), output);
    let mut metadata = BTreeMap::new();
    metadata.insert("dataset".into(), provenance.dataset.clone().into());
    metadata.insert("provenance".into(), provenance.command.clone().into());
    metadata.insert(
        "trained_with".into(),
        provenance.trained_with.clone().into(),
    );
    if let Some(a) = provenance.accuracy {
        metadata.insert("accuracy".into(), a.into());
    }
    Ok(ModelFile {
        name: arch.name.clone(),
        metadata,
        nodes: g.nodes,
    })
}

/// |S| ≤ fan-in × the largest input value: a range holding every accumulator value of `m`.
fn accumulator_bound(m: &MatrixParams, input_max: i64) -> (i64, i64) {
    let fan_in = (m.weight.data.len() / m.weight.shape[0]) as i64;
    (-fan_in * input_max, fan_in * input_max)
}

/// The weights a layer stores, and the per-channel scale (`[out]`, or `[1]` for the whole
/// layer) its binarize applies before the BatchNorm. With `channel_alpha` (into the stream, or
/// into a multi-bit activation's thresholds) a tiled layer's chunk scales are given per
/// channel, which the trainer's checks make exact (each chunk holds whole filters).
fn layer_weights(
    layout: &Layout,
    m: &MatrixParams,
    channel_alpha: bool,
) -> (WeightsDef, Option<Vec<f32>>) {
    let shape = m.weight.shape.clone();
    let w = &m.weight.data;
    let hidden = m.hidden;
    if m.int8 {
        // A stem's per-channel scales go to its BatchNorm's affine; the class layer's one
        // scale is dropped (its argmax does not see it).
        let (codes, scales) = int8_codes(w, shape[0], hidden);
        let codes: Vec<i8> = codes.into_iter().map(|c| c as i8).collect();
        let ints = TensorDef::from_i8(shape, &codes);
        return (WeightsDef::Int { ints }, hidden.then_some(scales));
    }
    let dense = |values, bits: Vec<bool>| WeightsDef::Dense {
        values,
        bits: TensorDef::from_bits(shape.clone(), &BitVec::from_bools(&bits)),
    };
    match layout.form {
        WeightForm::Scaled { .. } => {
            let scale = m
                .scale
                .as_ref()
                .map(|s| s.data.iter().map(|v| 0.02 * v.abs()).collect());
            (dense(WeightValues::Pm1, signs(w)), scale)
        }
        WeightForm::Magnitude => (dense(WeightValues::ZeroOne, layer_bits(layout, m)), None),
        WeightForm::Tiled if m.tiles == 1 => (
            dense(WeightValues::Pm1, scheme::tile_bits(w, 1)),
            hidden.then(|| scheme::chunk_alphas(w, 1)),
        ),
        WeightForm::Tiled if channel_alpha && hidden => {
            // Each chunk holds whole filters (the trainer checks that p divides the output
            // channels): its α is then a per-channel scale, which the stream's affine or the
            // levels' thresholds take.
            let tile = scheme::tile_bits(w, m.tiles);
            let alphas = scheme::chunk_alphas(w, m.tiles);
            let per_chunk = shape[0] / m.tiles;
            let weights = WeightsDef::Tiled {
                values: WeightValues::Pm1,
                p: m.tiles,
                tile: TensorDef::from_bits(vec![tile.len()], &BitVec::from_bools(&tile)),
                alpha: None,
                shape: shape.clone(),
            };
            let scale = (0..shape[0]).map(|o| alphas[o / per_chunk]).collect();
            (weights, Some(scale))
        }
        WeightForm::Tiled => {
            let tile = scheme::tile_bits(w, m.tiles);
            let weights = WeightsDef::Tiled {
                values: WeightValues::Pm1,
                p: m.tiles,
                tile: TensorDef::from_bits(vec![tile.len()], &BitVec::from_bools(&tile)),
                alpha: hidden
                    .then(|| TensorDef::from_f32(vec![m.tiles], &scheme::chunk_alphas(w, m.tiles))),
                shape,
            };
            (weights, None)
        }
        WeightForm::Codebook => match &m.codebook {
            Some(cb) => {
                let k = scheme::KERNEL;
                let entries = cb.memory.len() / k;
                let indices: Vec<i64> = scheme::assign(w, &cb.memory)
                    .into_iter()
                    .map(|e| e as i64)
                    .collect();
                let weights = WeightsDef::Codebook {
                    values: WeightValues::Pm1,
                    tau: cb.tau,
                    codebook: TensorDef::from_bits(
                        vec![entries, 3, 3],
                        &BitVec::from_bools(&signs(&cb.memory)),
                    ),
                    indices: TensorDef::from_i64(vec![shape[0], shape[1]], &indices),
                };
                let alpha = scheme::filter_mean_magnitude(w, shape[0]);
                (weights, Some(alpha))
            }
            None => (dense(WeightValues::Pm1, signs(w)), None),
        },
        WeightForm::SignOfLatent | WeightForm::PlusMinusOne => {
            (dense(WeightValues::Pm1, signs(w)), None)
        }
    }
}

fn signs(values: &[f32]) -> Vec<bool> {
    values.iter().map(|&v| v >= 0.0).collect()
}

/// The layer's logical weight bits, row-major over its full shape: what its stored weights
/// decode to (a tile repeated, codebook entries looked up).
pub fn layer_bits(layout: &Layout, m: &MatrixParams) -> Vec<bool> {
    let w = &m.weight.data;
    match layout.form {
        WeightForm::Magnitude => {
            let per = w.len() / m.weight.shape[0];
            w.chunks(per).flat_map(scheme::magnitude_mask).collect()
        }
        WeightForm::Tiled => scheme::tile_bits(w, m.tiles).repeat(m.tiles),
        WeightForm::Codebook => match &m.codebook {
            Some(cb) => {
                let k = scheme::KERNEL;
                scheme::assign(w, &cb.memory)
                    .into_iter()
                    .flat_map(|e| signs(&cb.memory[e * k..(e + 1) * k]))
                    .collect()
            }
            None => signs(w),
        },
        _ => signs(w),
    }
}

fn input_node(arch: &Arch, frame: &[usize]) -> NodeDef {
    let numel: usize = frame.iter().product();
    let shape = match arch.layers[0] {
        Layer::Dense { .. } => vec![numel],
        _ => frame.to_vec(),
    };
    let one = |v: f32| TensorDef::from_f32(vec![1], &[v]);
    let (dtype, steps, quant) = match arch.input {
        InputCoding::Bipolar => (
            InputType::Bits,
            vec![
                ElementStepDef::Mul(one(2.0)),
                ElementStepDef::Add(one(-1.0)),
            ],
            QuantDef::Bipolar {},
        ),
        InputCoding::Uint8 => (
            InputType::Uint8,
            vec![],
            QuantDef::Int(IntQuantDef {
                bits: 8,
                signed: false,
                narrow: false,
                scale: (1.0f32 / 255.0) as f64,
                rounding: RoundingMode::HalfEven,
            }),
        ),
    };
    NodeDef {
        name: "input".into(),
        inputs: vec![],
        op: OpDef::Input(InputDef {
            shape,
            dtype,
            from_float: Some(FromFloatDef {
                shape: frame.to_vec(),
                steps,
                quant,
            }),
        }),
    }
}
