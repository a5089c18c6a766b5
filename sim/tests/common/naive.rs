//! A deliberately naive, independent evaluator of model files: plain i64 loops over ±1 values,
//! float epilogues evaluated in f64 exactly as docs/semantics.md writes them, no packing, no
//! folding, no IR. It reads the *unlowered* model file, so it checks the compiler's passes and
//! the simulator together.

#![allow(dead_code)]

use std::collections::HashMap;
use xnorc_compiler::format::{
    AddDef, AffineDef, Arithmetic, InputType, ModelFile, OpDef, PadChannelsDef, PadMode,
    PaddingDef, ShiftRounding, StepDef, SumPoolDef, TensorDef, WeightValues, WeightsDef,
};

/// A node's value for one frame: logical C,H,W order.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub dims: Vec<usize>,
    pub binary: bool,
    /// Binary: −1 or +1. Integer: the integer.
    pub v: Vec<i64>,
    /// After a tiled layer with α: per element, (α, partial sum) of each run of equal α over
    /// its filter's chunks, which the `binarize` after it combines first.
    pub scaled: Option<Vec<Vec<(f64, i64)>>>,
}

fn f64s(t: &TensorDef, n: usize) -> Vec<f64> {
    let v = t.to_f64().unwrap();
    if v.len() == 1 {
        vec![v[0]; n]
    } else {
        v
    }
}

/// The weights' shape and every weight as an integer, expanded straight from the format's
/// definitions: codebook kernel (o, c) is entry indices[o][c]; tiled weight f is tile[f mod L].
fn weight_values(w: &WeightsDef) -> (Vec<usize>, Vec<i64>) {
    let (values, shape, bits): (_, Vec<usize>, Vec<bool>) = match w {
        WeightsDef::Int { ints } => return (ints.shape.clone(), ints.to_i64().unwrap()),
        WeightsDef::Dense { values, bits } => {
            let b = bits.to_bits().unwrap();
            (
                values,
                bits.shape.clone(),
                (0..b.len()).map(|i| b.get(i)).collect(),
            )
        }
        WeightsDef::Codebook {
            values,
            codebook,
            indices,
            ..
        } => {
            let cb = codebook.to_bits().unwrap();
            let (o, c) = (indices.shape[0], indices.shape[1]);
            // Integers, or τ bits per index (LSB first) in a bits tensor [o, c, τ].
            let idx: Vec<i64> = if indices.dtype == xnorc_compiler::format::DType::Bits {
                let b = indices.to_bits().unwrap();
                let tau = indices.shape[2];
                let mut v = Vec::new();
                for k in 0..o * c {
                    let mut index = 0i64;
                    let mut weight = 1i64;
                    for j in 0..tau {
                        if b.get(k * tau + j) {
                            index += weight;
                        }
                        weight *= 2;
                    }
                    v.push(index);
                }
                v
            } else {
                indices.to_i64().unwrap()
            };
            let (kh, kw) = (codebook.shape[1], codebook.shape[2]);
            let mut out = Vec::new();
            for oc in 0..o {
                for ic in 0..c {
                    let entry = idx[oc * c + ic] as usize;
                    for t in 0..kh * kw {
                        out.push(cb.get(entry * kh * kw + t));
                    }
                }
            }
            (values, vec![o, c, kh, kw], out)
        }
        WeightsDef::Tiled {
            values,
            shape,
            tile,
            ..
        } => {
            let t = tile.to_bits().unwrap();
            let n: usize = shape.iter().product();
            (
                values,
                shape.clone(),
                (0..n).map(|f| t.get(f % t.len())).collect(),
            )
        }
    };
    let v = bits
        .iter()
        .map(|&bit| match values {
            WeightValues::Pm1 => 2 * bit as i64 - 1,
            WeightValues::ZeroOne => bit as i64,
            WeightValues::Int => panic!("int values with bit storage pass no validation"),
        })
        .collect();
    (shape, v)
}

/// A tiled layer's chunk scales and chunk length L, if it has α.
fn tile_alpha(w: &WeightsDef) -> Option<(Vec<f64>, usize)> {
    match w {
        WeightsDef::Tiled {
            p,
            tile,
            alpha: Some(alpha),
            ..
        } => Some((f64s(alpha, *p), tile.shape[0])),
        _ => None,
    }
}

/// Sums (w·x, flat weight index) terms per chunk of L weights, then merges neighbouring chunks
/// of equal α: the (α, S_run) list of docs/semantics.md.
fn scaled_runs(terms: &[(i64, usize)], alpha: &[f64], l: usize) -> Vec<(f64, i64)> {
    let mut per_chunk = std::collections::BTreeMap::new();
    for &(v, f) in terms {
        *per_chunk.entry(f / l).or_insert(0i64) += v;
    }
    let mut runs: Vec<(f64, i64)> = Vec::new();
    for (chunk, sum) in per_chunk {
        match runs.last_mut() {
            Some((a, s)) if *a == alpha[chunk] => *s += sum,
            _ => runs.push((alpha[chunk], sum)),
        }
    }
    runs
}

/// Evaluates every node for one frame; `input` as given to the simulator (bits as 0/1).
pub fn eval_all(model: &ModelFile, input: &[i64]) -> HashMap<String, Value> {
    let mut done: HashMap<String, Value> = HashMap::new();
    while done.len() < model.nodes.len() {
        for node in &model.nodes {
            if done.contains_key(&node.name) || !node.inputs.iter().all(|i| done.contains_key(i)) {
                continue;
            }
            let x = node.inputs.first().map(|i| done[i].clone());
            let value = match &node.op {
                OpDef::Add(d) => add(d, x.unwrap(), &done[&node.inputs[1]]),
                OpDef::Affine(d) => affine(d, x.unwrap()),
                OpDef::SumPool(d) => sumpool(d, x.unwrap()),
                OpDef::MeanSign(_) => meansign(x.unwrap()),
                OpDef::PadChannels(d) => pad_channels(d, x.unwrap()),
                op => eval_node(op, x, input),
            };
            done.insert(node.name.clone(), value);
        }
    }
    done
}

/// The output node's scores for one frame.
pub fn scores(model: &ModelFile, input: &[i64]) -> Vec<i64> {
    let out = model
        .nodes
        .iter()
        .find(|n| matches!(n.op, OpDef::Output(_)))
        .unwrap();
    eval_all(model, input)[&out.name].v.clone()
}

fn eval_node(op: &OpDef, x: Option<Value>, input: &[i64]) -> Value {
    match op {
        OpDef::Input(d) => Value {
            dims: d.shape.clone(),
            binary: d.dtype == InputType::Bits,
            v: input
                .iter()
                .map(|&b| {
                    if d.dtype == InputType::Bits {
                        2 * b - 1
                    } else {
                        b
                    }
                })
                .collect(),
            scaled: None,
        },
        OpDef::Dense(d) => {
            let x = x.unwrap();
            let (shape, w) = weight_values(&d.weights);
            let (o, n) = (shape[0], shape[1]);
            let alpha = tile_alpha(&d.weights);
            let mut v = vec![0i64; o];
            let mut scaled = Vec::new();
            for (j, out) in v.iter_mut().enumerate() {
                let mut terms = Vec::new();
                for i in 0..n {
                    *out += w[j * n + i] * x.v[i];
                    terms.push((w[j * n + i] * x.v[i], j * n + i));
                }
                if let Some((a, l)) = &alpha {
                    scaled.push(scaled_runs(&terms, a, *l));
                }
            }
            Value {
                dims: vec![o],
                binary: false,
                v,
                scaled: alpha.map(|_| scaled),
            }
        }
        OpDef::Conv2d(d) => {
            let x = x.unwrap();
            let (shape, w) = weight_values(&d.weights);
            let (o, c, kh, kw) = (shape[0], shape[1], shape[2], shape[3]);
            let (h, wd) = (x.dims[1], x.dims[2]);
            let [top, left, bottom, right] = match &d.padding {
                None => [0; 4],
                Some(PaddingDef::Same(p)) => [*p; 4],
                Some(PaddingDef::Sides(s)) => [s[0], s[1], s[2], s[3]],
            };
            let oh = (h + top + bottom - kh) / d.stride + 1;
            let ow = (wd + left + right - kw) / d.stride + 1;
            let alpha = tile_alpha(&d.weights);
            let mut v = vec![0i64; o * oh * ow];
            let mut scaled = vec![Vec::new(); o * oh * ow];
            for oc in 0..o {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = 0i64;
                        let mut terms = Vec::new();
                        for ic in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * d.stride + ky) as i64 - top as i64;
                                    let ix = (ox * d.stride + kx) as i64 - left as i64;
                                    let xv =
                                        if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                            match d.pad_mode {
                                                Some(PadMode::MinusOne) => -1,
                                                _ => 0,
                                            }
                                        } else {
                                            x.v[(ic * h + iy as usize) * wd + ix as usize]
                                        };
                                    let f = ((oc * c + ic) * kh + ky) * kw + kx;
                                    s += w[f] * xv;
                                    terms.push((w[f] * xv, f));
                                }
                            }
                        }
                        v[(oc * oh + oy) * ow + ox] = s;
                        if let Some((a, l)) = &alpha {
                            scaled[(oc * oh + oy) * ow + ox] = scaled_runs(&terms, a, *l);
                        }
                    }
                }
            }
            Value {
                dims: vec![o, oh, ow],
                binary: false,
                v,
                scaled: alpha.map(|_| scaled),
            }
        }
        OpDef::Binarize(d) => {
            let x = x.unwrap();
            let channels = x.dims[0];
            let per = x.v.len() / channels;
            let mut v = Vec::with_capacity(x.v.len());
            for (i, &s) in x.v.iter().enumerate() {
                let c = if x.dims.len() == 1 { i } else { i / per };
                let y_scaled = x.scaled.as_ref().map(|runs| {
                    // y = α_1·S_1 + α_2·S_2 + …, left to right.
                    let mut terms = runs[i].iter().map(|&(a, s)| a * s as f64);
                    let first = terms.next().unwrap();
                    terms.fold(first, |y, t| y + t)
                });
                if d.arithmetic == Arithmetic::Float32 {
                    v.push(if float32_epilogue(&d.steps, channels, c, s) >= 0.0 {
                        1
                    } else {
                        -1
                    });
                    continue;
                }
                let mut y = y_scaled.unwrap_or(s as f64);
                for step in &d.steps {
                    match step {
                        StepDef::Mul(a) => y *= f64s(a, channels)[c],
                        StepDef::Add(b) => y += f64s(b, channels)[c],
                        StepDef::Div(d) => y /= f64s(d, channels)[c],
                        StepDef::Batchnorm(bn) => {
                            let g = f64s(&bn.gamma, channels)[c];
                            let b = f64s(&bn.beta, channels)[c];
                            let m = f64s(&bn.mean, channels)[c];
                            let var = f64s(&bn.var, channels)[c];
                            y = (y - m) / (var + bn.eps).sqrt() * g + b;
                        }
                        StepDef::Prelu(a) => {
                            if y < 0.0 {
                                y *= f64s(a, channels)[c];
                            }
                        }
                    }
                }
                v.push(if y >= 0.0 { 1 } else { -1 });
            }
            Value {
                dims: x.dims,
                binary: true,
                v,
                scaled: None,
            }
        }
        OpDef::Threshold(d) => {
            let x = x.unwrap();
            let channels = x.dims[0];
            let per = x.v.len() / channels;
            let t = d.thresholds.to_i64().unwrap();
            let levels = t.len() / channels;
            let dir = d
                .direction
                .as_ref()
                .map(|t| t.to_i64().unwrap())
                .unwrap_or(vec![1; channels]);
            let v: Vec<i64> =
                x.v.iter()
                    .enumerate()
                    .map(|(i, &s)| {
                        let c = if x.dims.len() == 1 { i } else { i / per };
                        let mut count = 0;
                        for k in 0..levels {
                            let th = t[c * levels + k];
                            if (dir[c] == 1 && s >= th) || (dir[c] == -1 && s <= th) {
                                count += 1;
                            }
                        }
                        if levels == 1 {
                            2 * count - 1
                        } else {
                            count
                        }
                    })
                    .collect();
            Value {
                dims: x.dims,
                binary: levels == 1,
                v,
                scaled: None,
            }
        }
        OpDef::MaxPool(d) => {
            let x = x.unwrap();
            let (c, h, w) = (x.dims[0], x.dims[1], x.dims[2]);
            let s = d.stride.unwrap_or(d.kernel);
            let (oh, ow) = ((h - d.kernel) / s + 1, (w - d.kernel) / s + 1);
            let mut v = vec![i64::MIN; c * oh * ow];
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ky in 0..d.kernel {
                            for kx in 0..d.kernel {
                                let xv = x.v[(ch * h + oy * s + ky) * w + ox * s + kx];
                                let o = &mut v[(ch * oh + oy) * ow + ox];
                                *o = (*o).max(xv);
                            }
                        }
                    }
                }
            }
            Value {
                dims: vec![c, oh, ow],
                binary: x.binary,
                v,
                scaled: None,
            }
        }
        OpDef::Flatten(_) => {
            let x = x.unwrap();
            Value {
                dims: vec![x.v.len()],
                ..x
            }
        }
        OpDef::Add(_)
        | OpDef::Affine(_)
        | OpDef::SumPool(_)
        | OpDef::MeanSign(_)
        | OpDef::PadChannels(_) => unreachable!("see eval_all"),
        OpDef::Output(d) => {
            let x = x.unwrap();
            let n = x.v.len();
            let scale = d
                .scale
                .as_ref()
                .map(|t| t.to_i64().unwrap())
                .unwrap_or(vec![1; n]);
            let offset = d
                .offset
                .as_ref()
                .map(|t| t.to_i64().unwrap())
                .unwrap_or(vec![0; n]);
            Value {
                dims: vec![n],
                binary: false,
                v: (0..n).map(|k| scale[k] * x.v[k] + offset[k]).collect(),
                scaled: None,
            }
        }
    }
}

/// `v` clipped to a signed `bits`-wide register, by comparison with its two ends.
fn saturate(v: i128, bits: Option<u32>) -> i64 {
    let Some(b) = bits else {
        return i64::try_from(v).unwrap();
    };
    let top = 2i128.pow(b - 1) - 1;
    let bottom = -(2i128.pow(b - 1));
    (if v > top {
        top
    } else if v < bottom {
        bottom
    } else {
        v
    }) as i64
}

/// The per-channel parameter of channel `c`, or `default` when absent ([1] broadcasts).
fn param(t: Option<&TensorDef>, c: usize, default: i64) -> i64 {
    match t {
        None => default,
        Some(t) => {
            let v = t.to_i64().unwrap();
            if v.len() == 1 {
                v[0]
            } else {
                v[c]
            }
        }
    }
}

/// Channel of logical element `i` of a value.
fn channel(x: &Value, i: usize) -> usize {
    if x.dims.len() == 1 {
        i
    } else {
        i / (x.dims[1] * x.dims[2])
    }
}

/// `add`: a·2^sa + b·2^sb in i128, then clipped.
fn add(d: &AddDef, a: Value, b: &Value) -> Value {
    let shift = d.shift.clone().unwrap_or(vec![0, 0]);
    let v =
        a.v.iter()
            .zip(&b.v)
            .map(|(&a, &b)| {
                let sum = a as i128 * 2i128.pow(shift[0]) + b as i128 * 2i128.pow(shift[1]);
                saturate(sum, d.bits)
            })
            .collect();
    Value { v, ..a }
}

/// `affine`: the formula of docs/semantics.md in i128, floor division by 2^shift, or the
/// nearest quotient with ties to the even one.
fn affine(d: &AffineDef, x: Value) -> Value {
    let v = (0..x.v.len())
        .map(|i| {
            let c = channel(&x, i);
            let mul = param(Some(&d.mul), c, 0) as i128;
            let t = x.v[i] as i128 + param(d.pre.as_ref(), c, 0) as i128;
            let m = if t < 0 {
                param(d.neg_mul.as_ref(), c, mul as i64) as i128
            } else {
                mul
            };
            let u = m * t + param(d.bias.as_ref(), c, 0) as i128;
            let d_ = 2i128.pow(d.shift);
            let (q, r) = (u.div_euclid(d_), u.rem_euclid(d_));
            let q = match d.rounding {
                ShiftRounding::Floor => q,
                // Compare twice the remainder with the divisor: above half rounds up, exactly
                // half rounds to the even quotient.
                ShiftRounding::HalfEven => match (2 * r).cmp(&d_) {
                    std::cmp::Ordering::Greater => q + 1,
                    std::cmp::Ordering::Equal => q + q.rem_euclid(2),
                    std::cmp::Ordering::Less => q,
                },
            };
            saturate(q, d.bits)
        })
        .collect();
    Value { v, ..x }
}

/// `sumpool`: window sums over the logical C, H, W map (the whole map when global).
fn sumpool(d: &SumPoolDef, x: Value) -> Value {
    let (c, h, w) = (x.dims[0], x.dims[1], x.dims[2]);
    let (kh, kw, s) = match d.kernel {
        Some(k) => (k, k, d.stride.unwrap_or(k)),
        None => (h, w, 1),
    };
    let (oh, ow) = ((h - kh) / s + 1, (w - kw) / s + 1);
    let mut v = Vec::new();
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sum = 0i64;
                for y in oy * s..oy * s + kh {
                    for xx in ox * s..ox * s + kw {
                        sum += x.v[(ch * h + y) * w + xx];
                    }
                }
                v.push(sum);
            }
        }
    }
    Value {
        dims: vec![c, oh, ow],
        binary: false,
        v,
        scaled: None,
    }
}

/// `meansign`: x_i ≥ mean, compared as N·x_i ≥ Σ x in i128.
fn meansign(x: Value) -> Value {
    let n = x.v.len() as i128;
    let sum: i128 = x.v.iter().map(|&v| v as i128).sum();
    let v =
        x.v.iter()
            .map(|&v| if n * v as i128 >= sum { 1 } else { -1 })
            .collect();
    Value {
        binary: true,
        v,
        ..x
    }
}

/// `pad_channels`: zero planes before and after, in logical C, H, W order.
fn pad_channels(d: &PadChannelsDef, x: Value) -> Value {
    let plane = x.dims[1] * x.dims[2];
    let mut v = vec![0i64; d.before * plane];
    v.extend(&x.v);
    v.extend(vec![0i64; d.after * plane]);
    Value {
        dims: vec![x.dims[0] + d.before + d.after, x.dims[1], x.dims[2]],
        v,
        ..x
    }
}

/// A float32 epilogue (an imported graph's): S as f32, then each step with one rounding per
/// operation, BatchNorm in ONNX's order.
fn float32_epilogue(steps: &[StepDef], channels: usize, c: usize, s: i64) -> f32 {
    let p = |t: &xnorc_compiler::format::TensorDef| f64s(t, channels)[c] as f32;
    let mut y = s as f32;
    for step in steps {
        y = match step {
            StepDef::Mul(a) => y * p(a),
            StepDef::Add(b) => y + p(b),
            StepDef::Div(d) => y / p(d),
            StepDef::Batchnorm(bn) => {
                (y - p(&bn.mean)) / (p(&bn.var) + bn.eps as f32).sqrt() * p(&bn.gamma) + p(&bn.beta)
            }
            StepDef::Prelu(a) => {
                if y < 0.0 {
                    y * p(a)
                } else {
                    y
                }
            }
        };
    }
    y
}
