//! Helpers shared by the simulator's integration tests.
#![allow(dead_code)]

pub mod naive;
mod residual;
pub use residual::random_residual_model;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xnorc_compiler::format::{InputType, ModelFile, OpDef, PadMode, WeightValues};
use xnorc_compiler::presets::{Builder, Storage};
use xnorc_sim::Frames;

/// Input frames owned in the simulator's byte types, with their values as i64 for the naive
/// evaluator.
pub struct Input {
    pub values: Vec<i64>,
    u8s: Vec<u8>,
    i8s: Vec<i8>,
    signed: bool,
}

impl Input {
    pub fn frames(&self) -> Frames<'_> {
        if self.signed {
            Frames::I8(&self.i8s)
        } else {
            Frames::U8(&self.u8s)
        }
    }
}

/// Random input frames for a model (bits as 0/1, integers over the full input range).
pub fn random_inputs(model: &ModelFile, frames: usize, seed: u64) -> Input {
    let OpDef::Input(d) = &model
        .nodes
        .iter()
        .find(|n| matches!(n.op, OpDef::Input(_)))
        .unwrap()
        .op
    else {
        unreachable!()
    };
    let n: usize = d.shape.iter().product::<usize>() * frames;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values: Vec<i64> = (0..n)
        .map(|_| match d.dtype {
            InputType::Bits => rng.gen_range(0..=1),
            InputType::Uint8 => rng.gen_range(0..=255),
            InputType::Int8 => rng.gen_range(-128..=127),
        })
        .collect();
    Input {
        u8s: values.iter().map(|&v| v as u8).collect(),
        i8s: values.iter().map(|&v| v as i8).collect(),
        signed: d.dtype == InputType::Int8,
        values,
    }
}

/// A random weight storage for a layer of `n` weights: dense, a codebook (convolutions), or a
/// tile repeated p times (any p dividing n, often one that splits filters across chunks) with
/// or without α. Returns whether the layer has α (then a `binarize` must follow).
fn random_storage(b: &mut Builder, n: usize, conv: bool) -> bool {
    let storage = match b.rng().gen_range(0..4) {
        0 if conv => {
            let tau = b.rng().gen_range(1..=5);
            let entries = b.rng().gen_range(1..=1usize << tau);
            Storage::Codebook { tau, entries }
        }
        1 | 2 => {
            let divisors: Vec<usize> = (1..=n.min(64)).filter(|d| n.is_multiple_of(*d)).collect();
            let p = divisors[b.rng().gen_range(0..divisors.len())];
            let alpha = b.rng().gen_bool(0.5);
            Storage::Tiled { p, alpha }
        }
        _ => Storage::Dense,
    };
    b.storage(storage);
    matches!(storage, Storage::Tiled { alpha: true, .. })
}

/// A random chain over every op and option: odd sizes around word boundaries, strides 1–2,
/// asymmetric padding in both modes, both weight encodings, dense, codebook and tiled
/// storage (α or not, filters inside one chunk or across several, of one α or split across
/// different ones), integer and binary inputs,
/// one- and multi-level thresholds, float epilogues, max-pool.
pub fn random_model(seed: u64) -> ModelFile {
    let mut b = Builder::new(seed);
    let r = |b: &mut Builder| -> f64 { b.rng().gen() };
    let independent = b.rng().gen_bool(0.5);
    b.independent_chunk_scales(independent);
    let dtype = match b.rng().gen_range(0..3) {
        0 => InputType::Bits,
        1 => InputType::Uint8,
        _ => InputType::Int8,
    };
    let values = |b: &mut Builder| {
        if b.rng().gen_bool(0.3) {
            WeightValues::ZeroOne
        } else {
            WeightValues::Pm1
        }
    };
    let sizes = [1, 2, 3, 5, 8, 17, 63, 64, 65, 70];
    if r(&mut b) < 0.6 {
        let c = b.rng().gen_range(1..=5);
        let h = b.rng().gen_range(3..=9);
        let w = b.rng().gen_range(3..=9);
        b.input(&[c, h, w], dtype);
        let convs = b.rng().gen_range(1..=3);
        for i in 0..convs {
            let (h, w) = (b.dims()[1], b.dims()[2]);
            let kh = b.rng().gen_range(1..=3.min(h + 1));
            let kw = b.rng().gen_range(1..=3.min(w + 1));
            let mut pads = [0usize; 4];
            for p in pads.iter_mut() {
                *p = b.rng().gen_range(0..kh.min(kw));
            }
            // Keep the kernel inside the padded input.
            if h + pads[0] + pads[2] < kh || w + pads[1] + pads[3] < kw {
                pads = [kh - 1, kw - 1, kh - 1, kw - 1].map(|p| p.min(kh.min(kw) - 1));
            }
            if h + pads[0] + pads[2] < kh || w + pads[1] + pads[3] < kw {
                break;
            }
            let stride = b.rng().gen_range(1..=2);
            let mode = if b.is_binary() && b.rng().gen_bool(0.5) {
                PadMode::MinusOne
            } else {
                PadMode::Zero
            };
            let out = sizes[b.rng().gen_range(0..sizes.len())];
            let v = values(&mut b);
            let n = out * b.dims()[0] * kh * kw;
            let scaled = random_storage(&mut b, n, true);
            b.conv_padded(&format!("conv{i}"), out, [kh, kw], stride, pads, mode, v);
            match b.rng().gen_range(0..3) {
                _ if scaled => b.binarize(&format!("sign{i}")),
                0 => b.binarize(&format!("sign{i}")),
                1 => b.threshold(&format!("act{i}"), 1, true),
                _ => {
                    let levels = b.rng().gen_range(2..=4);
                    b.threshold(&format!("multi{i}"), levels, true)
                }
            }
            let (h, w) = (b.dims()[1], b.dims()[2]);
            if h >= 2 && w >= 2 && b.rng().gen_bool(0.4) {
                b.maxpool(&format!("pool{i}"), 2);
            }
        }
        b.flatten("flatten");
    } else {
        let n = sizes[b.rng().gen_range(0..sizes.len())] + b.rng().gen_range(0..70);
        b.input(&[n], dtype);
    }
    let dense = b.rng().gen_range(0..=2);
    for i in 0..dense {
        let out = sizes[b.rng().gen_range(0..sizes.len())];
        let v = values(&mut b);
        let n = out * b.dims()[0];
        let scaled = random_storage(&mut b, n, false);
        b.dense(&format!("fc{i}"), out, v);
        if scaled || b.rng().gen_bool(0.5) {
            b.binarize(&format!("fc_sign{i}"));
        } else {
            let levels = b.rng().gen_range(1..=3);
            b.threshold(&format!("fc_act{i}"), levels, true);
        }
    }
    let classes = b.rng().gen_range(1..=10);
    let v = values(&mut b);
    // The classifier feeds the integer `output`: a tile, but no α.
    let n = classes * b.dims()[0];
    if random_storage(&mut b, n, false) {
        let Storage::Tiled { p, .. } = b.pending_storage() else {
            unreachable!()
        };
        b.storage(Storage::Tiled { p, alpha: false });
    }
    b.dense("classifier", classes, v);
    let affine = b.rng().gen_bool(0.5);
    b.output(affine);
    let float32 = b.rng().gen_bool(0.3);
    let mut model = b.finish("random");
    if float32 {
        as_float32_epilogues(&mut model, seed);
    }
    model
}

/// Makes the model's `binarize` epilogues float32 ones, as an imported ONNX graph has them:
/// parameters rounded to float32 and, now and then, a `mul` turned into the `div` by its
/// reciprocal. Epilogues after a tiled layer with α stay float64 (float32 is refused there).
pub fn as_float32_epilogues(model: &mut ModelFile, seed: u64) {
    use xnorc_compiler::format::{Arithmetic, StepDef, TensorDef, WeightsDef};
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xf32);
    let scaled: Vec<String> = model
        .nodes
        .iter()
        .filter(|n| match &n.op {
            OpDef::Dense(d) => matches!(&d.weights, WeightsDef::Tiled { alpha: Some(_), .. }),
            OpDef::Conv2d(d) => matches!(&d.weights, WeightsDef::Tiled { alpha: Some(_), .. }),
            _ => false,
        })
        .map(|n| n.name.clone())
        .collect();
    let f32s = |t: &TensorDef| -> TensorDef {
        let v: Vec<f32> = t.to_f64().unwrap().iter().map(|&x| x as f32).collect();
        TensorDef::from_f32(t.shape.clone(), &v)
    };
    for node in &mut model.nodes {
        let OpDef::Binarize(d) = &mut node.op else {
            continue;
        };
        if node.inputs.iter().any(|i| scaled.contains(i)) {
            continue;
        }
        d.arithmetic = Arithmetic::Float32;
        for step in &mut d.steps {
            *step = match step {
                StepDef::Mul(a) if rng.gen_bool(0.5) => {
                    let v: Vec<f32> = a
                        .to_f64()
                        .unwrap()
                        .iter()
                        .map(|&x| (1.0 / x) as f32)
                        .collect();
                    if v.iter().all(|x| x.is_finite() && *x != 0.0) {
                        StepDef::Div(TensorDef::from_f32(a.shape.clone(), &v))
                    } else {
                        StepDef::Mul(f32s(a))
                    }
                }
                StepDef::Mul(a) => StepDef::Mul(f32s(a)),
                StepDef::Add(a) => StepDef::Add(f32s(a)),
                StepDef::Div(a) => StepDef::Div(f32s(a)),
                StepDef::Prelu(a) => StepDef::Prelu(f32s(a)),
                StepDef::Batchnorm(bn) => {
                    let mut bn = bn.clone();
                    bn.gamma = f32s(&bn.gamma);
                    bn.beta = f32s(&bn.beta);
                    bn.mean = f32s(&bn.mean);
                    bn.var = f32s(&bn.var);
                    bn.eps = bn.eps as f32 as f64;
                    StepDef::Batchnorm(bn)
                }
            };
        }
    }
}
