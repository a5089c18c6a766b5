//! Trained parameters → an xnorc model file, exactly.
//!
//! Each binary layer's weights are stored as bits (w ≥ 0 → +1), each BatchNorm-and-sign as a
//! `binarize` with the BatchNorm step (running statistics), which the compiler folds into exact
//! integer thresholds; the class layer's integer scores are the output (the float network only
//! multiplies them by a positive temperature, which leaves the argmax alone). The input map
//! (`input.from_float`) is the coding the trainer applied to the float frames.

use crate::arch::{Arch, InputCoding, Layer};
use crate::net::{Params, BN_EPS};
use std::collections::BTreeMap;
use xnorc_compiler::bits::BitVec;
use xnorc_compiler::format::tensor::TensorDef;
use xnorc_compiler::format::{
    BatchNormDef, BinarizeDef, ConvDef, DenseDef, ElementStepDef, FlattenDef, FromFloatDef,
    InputDef, InputType, IntQuantDef, MaxPoolDef, ModelFile, NodeDef, OpDef, OutputDef, PadMode,
    PaddingDef, QuantDef, RoundingMode, StepDef, WeightValues, WeightsDef,
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

/// The model file of `params` trained on frames shaped `frame`.
pub fn model_file(
    arch: &Arch,
    frame: &[usize],
    params: &Params,
    provenance: &Provenance,
) -> ModelFile {
    let mut nodes = vec![input_node(arch, frame)];
    let mut prev = "input".to_string();
    let push = |nodes: &mut Vec<NodeDef>, name: String, op: OpDef, prev: &mut String| {
        nodes.push(NodeDef {
            name: name.clone(),
            inputs: vec![prev.clone()],
            op,
        });
        *prev = name;
    };
    let (mut fcs, mut convs, mut pools) = (0, 0, 0);
    let mut is_map = !matches!(arch.layers[0], Layer::Dense { .. });
    let mut matrices = params.matrices.iter();
    for layer in &arch.layers {
        match *layer {
            Layer::MaxPool { kernel } => {
                pools += 1;
                let op = OpDef::MaxPool(MaxPoolDef {
                    kernel,
                    stride: None,
                });
                push(&mut nodes, format!("pool{pools}"), op, &mut prev);
                continue;
            }
            Layer::Dense { .. } if is_map => {
                push(
                    &mut nodes,
                    "flatten".into(),
                    OpDef::Flatten(FlattenDef {}),
                    &mut prev,
                );
                is_map = false;
            }
            _ => {}
        }
        let m = matrices.next().expect("one parameter set per matrix layer");
        let signs: Vec<bool> = m.weight.data.iter().map(|&w| w >= 0.0).collect();
        let bits = BitVec::from_bools(&signs);
        let weights = WeightsDef::Dense {
            values: WeightValues::Pm1,
            bits: TensorDef::from_bits(m.weight.shape.clone(), &bits),
        };
        let (name, op) = match *layer {
            Layer::Dense { .. } => {
                fcs += 1;
                (format!("fc{fcs}"), OpDef::Dense(DenseDef { weights }))
            }
            Layer::Conv { stride, pad, .. } => {
                convs += 1;
                let op = OpDef::Conv2d(ConvDef {
                    weights,
                    stride,
                    padding: (pad > 0).then_some(PaddingDef::Same(pad)),
                    pad_mode: (pad > 0).then_some(PadMode::Zero),
                });
                (format!("conv{convs}"), op)
            }
            Layer::MaxPool { .. } => unreachable!("handled above"),
        };
        let act = format!("act_{name}");
        push(&mut nodes, name, op, &mut prev);
        if let Some(bn) = &m.bn {
            let c = bn.mean.len();
            let step = StepDef::Batchnorm(BatchNormDef {
                gamma: TensorDef::from_f32(vec![c], &bn.gamma.data),
                beta: TensorDef::from_f32(vec![c], &bn.beta.data),
                mean: TensorDef::from_f32(vec![c], &bn.mean),
                var: TensorDef::from_f32(vec![c], &bn.var),
                eps: BN_EPS as f64,
            });
            let op = OpDef::Binarize(BinarizeDef {
                steps: vec![step],
                arithmetic: Default::default(),
            });
            push(&mut nodes, act, op, &mut prev);
        }
    }
    let output = OpDef::Output(OutputDef {
        scale: None,
        offset: None,
        to_float: None,
    });
    push(&mut nodes, "scores".into(), output, &mut prev);
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
    ModelFile {
        name: arch.name.clone(),
        metadata,
        nodes,
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
