//! One model node → its IR op, output shape and value type, per op kind: decoded parameters,
//! derived accumulator ranges, checked float epilogues.

use super::fold::channel_rule;
use super::steps::lower_steps;
use super::weights::{declared_shape, decode_weights};
use crate::error::{ModelError, Result};
use crate::format::{
    Arithmetic, BinarizeDef, ConvDef, InputDef, InputType, MaxPoolDef, NodeDef, OpDef, OutputDef,
    PadMode, PaddingDef, TensorDef, ThresholdDef, WeightValues, WeightsDef,
};
use crate::ir::{
    frame_elements, Binarize, Geometry, MatMul, MaxPool, Node, Op, Padding, ScaledRun, Scores,
    Shape, Threshold, Tiled, ValueType, WeightStore, Weights,
};
use crate::sanitize::printable;

/// Most thresholds per channel (a 16-bit activation).
const MAX_LEVELS: usize = 1 << 16;

/// A node's op, output shape and value type.
type Lowered = (Op, Shape, ValueType);

/// The per-chunk scales α of a tiled layer, if `node` is one that has them.
fn chunk_scales(node: &Node) -> Option<(&Weights, &Tiled, &[f64])> {
    match &node.op {
        Op::MatMul(MatMul { weights, .. }) => match &weights.store {
            WeightStore::Tiled(t) => t.alpha.as_deref().map(|a| (weights, t, a)),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn lower_node(def: &NodeDef, operands: &[&Node]) -> Result<Lowered> {
    if let (Some(x), false) = (operands.first(), matches!(def.op, OpDef::Binarize(_))) {
        if chunk_scales(x).is_some() {
            return Err(ModelError::new(format!(
                "reads \"{}\", a tiled layer with scales α, which only a `binarize` epilogue \
                 can apply; `{}` works on the integer sums S and would drop them",
                printable(&x.name),
                def.op.name()
            ))
            .at_field("inputs")
            .with_hint(
                "put a `binarize` right after the tiled layer, or fold α into this node's \
                 parameters and leave the layer's `alpha` out",
            ));
        }
    }
    match &def.op {
        OpDef::Input(d) => lower_input(d),
        OpDef::Dense(d) => lower_dense(&d.weights, operands[0]),
        OpDef::Conv2d(d) => lower_conv(d, operands[0]),
        OpDef::Binarize(d) => lower_binarize(d, operands[0]),
        OpDef::Threshold(d) => lower_threshold(d, operands[0]),
        OpDef::MaxPool(d) => lower_maxpool(d, operands[0]),
        OpDef::Flatten(_) => {
            let x = operands[0];
            Ok((Op::Flatten, Shape::Flat(x.shape.numel()), x.vtype))
        }
        OpDef::Output(d) => lower_output(d, operands[0]),
        OpDef::Add(d) => super::stream::lower_add(d, operands[0], operands[1]),
        OpDef::Affine(d) => super::stream::lower_affine(d, operands[0]),
        OpDef::SumPool(d) => super::stream::lower_sumpool(d, operands[0]),
        OpDef::MeanSign(_) => super::stream::lower_meansign(operands[0]),
        OpDef::PadChannels(d) => super::stream::lower_pad_channels(d, operands[0]),
    }
}

fn lower_input(d: &InputDef) -> Result<Lowered> {
    let shape = match d.shape.as_slice() {
        [n] if *n > 0 => Shape::Flat(*n),
        [c, h, w] if *c > 0 && *h > 0 && *w > 0 => Shape::Map {
            c: *c,
            h: *h,
            w: *w,
        },
        other => {
            return Err(ModelError::new(format!(
            "{other:?} is not a valid input shape; use [n] or [c, h, w] with every dimension > 0"
        ))
            .at_field("shape"))
        }
    };
    frame_elements(&shape.dims()).map_err(|e| ModelError::new(e).at_field("shape"))?;
    let vtype = match d.dtype {
        InputType::Bits => ValueType::Bits,
        InputType::Uint8 => ValueType::Int { min: 0, max: 255 },
        InputType::Int8 => ValueType::Int {
            min: -128,
            max: 127,
        },
    };
    Ok((Op::Input, shape, vtype))
}

/// The accumulator range of Σ w·x over each output's taps (derived, so hardware never
/// overflows): the extreme products times the taps for binary weights, and for integer weights
/// the sums of each row's own extreme products (a tighter bound, which sizes the multiplier
/// lanes' adders).
fn accumulator(w: &Weights, input: ValueType, zero_pad: bool) -> Result<ValueType> {
    let (xmin, xmax) = input.range();
    let extremes = |weight: i64| {
        let (a, b) = (weight * xmin, weight * xmax);
        let (lo, hi) = (a.min(b), a.max(b));
        // A zero-padded tap contributes 0 instead of w·x.
        if zero_pad {
            (lo.min(0) as i128, hi.max(0) as i128)
        } else {
            (lo as i128, hi as i128)
        }
    };
    let (min, max) = match &w.store {
        WeightStore::Int(ints) => {
            let taps = w.taps().max(1);
            ints.chunks(taps)
                .map(|row| {
                    row.iter()
                        .map(|&v| extremes(v as i64))
                        .fold((0, 0), |(lo, hi), (a, b)| (lo + a, hi + b))
                })
                .fold((i128::MAX, i128::MIN), |(lo, hi), (a, b)| {
                    (lo.min(a), hi.max(b))
                })
        }
        _ => {
            let weights: &[i64] = match w.values {
                WeightValues::ZeroOne => &[0, 1],
                _ => &[-1, 1],
            };
            let (lo, hi) = weights
                .iter()
                .map(|&v| extremes(v))
                .fold((i128::MAX, i128::MIN), |(lo, hi), (a, b)| {
                    (lo.min(a), hi.max(b))
                });
            let taps = w.taps() as i128;
            (lo * taps, hi * taps)
        }
    };
    if min > -(1 << 62) && max < (1 << 62) {
        Ok(ValueType::Int {
            min: min as i64,
            max: max as i64,
        })
    } else {
        Err(ModelError::new(
            "the accumulator would need more than 63 bits",
        ))
    }
}

fn lower_dense(w: &WeightsDef, x: &Node) -> Result<Lowered> {
    let Shape::Flat(n) = x.shape else {
        return Err(ModelError::new(format!(
            "dense needs a vector input, but \"{}\" gives a {} map",
            printable(&x.name),
            x.shape
        ))
        .at_field("inputs")
        .with_hint("insert a `flatten` node before the dense layer"));
    };
    let weights = decode_weights(w, &[n])?;
    let acc = accumulator(&weights, x.vtype, false)?;
    let shape = Shape::Flat(weights.out_channels);
    let op = Op::MatMul(MatMul {
        weights,
        geometry: Geometry::Dense,
    });
    Ok((op, shape, acc))
}

fn resolve_padding(p: &Option<PaddingDef>) -> Result<Padding> {
    Ok(match p {
        None => Padding::default(),
        Some(PaddingDef::Same(n)) => Padding {
            top: *n,
            left: *n,
            bottom: *n,
            right: *n,
        },
        Some(PaddingDef::Sides(v)) => match v.as_slice() {
            [top, left, bottom, right] => Padding {
                top: *top,
                left: *left,
                bottom: *bottom,
                right: *right,
            },
            _ => {
                return Err(ModelError::new(format!(
                    "expected one number or [top, left, bottom, right], found {} numbers",
                    v.len()
                ))
                .at_field("padding"))
            }
        },
    })
}

fn lower_conv(d: &ConvDef, x: &Node) -> Result<Lowered> {
    let Shape::Map { c, h, w } = x.shape else {
        return Err(ModelError::new(format!(
            "conv2d needs a C×H×W input, but \"{}\" gives a vector of {}",
            printable(&x.name),
            x.shape
        ))
        .at_field("inputs"));
    };
    let (declared, field) = declared_shape(&d.weights)?;
    let (kh, kw) = match declared.as_slice() {
        [_, _, kh, kw] if *kh > 0 && *kw > 0 => (*kh, *kw),
        other => {
            return Err(ModelError::new(format!(
                "expected shape [out, {c}, kh, kw] with kh, kw > 0, found {other:?}"
            ))
            .at_field(field))
        }
    };
    let weights = decode_weights(&d.weights, &[c, kh, kw])?;
    if d.stride == 0 {
        return Err(ModelError::new("must be at least 1").at_field("stride"));
    }
    let padding = resolve_padding(&d.padding)?;
    let largest_pad = padding
        .top
        .max(padding.bottom)
        .max(padding.left)
        .max(padding.right);
    if largest_pad >= kh.max(kw) {
        return Err(ModelError::new(format!(
            "padding {largest_pad} is not smaller than the {kh}x{kw} kernel"
        ))
        .at_field("padding"));
    }
    let pad_mode = match (d.pad_mode, padding.is_none()) {
        (Some(mode), _) => mode,
        (None, true) => PadMode::Zero,
        (None, false) => {
            return Err(
                ModelError::new("padding is non-zero but no pad mode is given")
                    .at_field("pad_mode")
                    .with_hint(
                        "say \"zero\" (padded taps add 0: PyTorch, Larq) or \"minus_one\" \
                     (padded taps are -1: FINN)",
                    ),
            )
        }
    };
    if pad_mode == PadMode::MinusOne && x.vtype != ValueType::Bits && !padding.is_none() {
        return Err(ModelError::new(
            "minus_one padding is defined for binary inputs only; this input is integer",
        )
        .at_field("pad_mode")
        .with_hint("use \"zero\" for integer inputs"));
    }
    let out_dim = |size: usize, before: usize, after: usize, k: usize| -> Result<usize> {
        let padded = size + before + after;
        if padded < k {
            return Err(ModelError::new(format!(
                "the {kh}x{kw} kernel is larger than the padded {}x{} input",
                h + padding.top + padding.bottom,
                w + padding.left + padding.right
            ))
            .at_field(field));
        }
        Ok((padded - k) / d.stride + 1)
    };
    let oh = out_dim(h, padding.top, padding.bottom, kh)?;
    let ow = out_dim(w, padding.left, padding.right, kw)?;
    let zero_pad = pad_mode == PadMode::Zero && !padding.is_none();
    let acc = accumulator(&weights, x.vtype, zero_pad)?;
    let shape = Shape::Map {
        c: weights.out_channels,
        h: oh,
        w: ow,
    };
    let op = Op::MatMul(MatMul {
        weights,
        geometry: Geometry::Conv {
            stride: d.stride,
            padding,
            pad_mode,
        },
    });
    Ok((op, shape, acc))
}

pub(super) fn require_integer_input(x: &Node, op: &str) -> Result<()> {
    if x.vtype == ValueType::Bits {
        return Err(ModelError::new(format!(
            "{op} needs integer input (a dense/conv accumulator or integer data), but \"{}\" is binary",
            printable(&x.name)
        ))
        .at_field("inputs"));
    }
    Ok(())
}

/// Per output channel of a tiled layer, its filter's taps grouped into runs of one α: the
/// chunks it touches, with neighbours of equal α merged (so a filter inside one chunk, or across
/// chunks sharing α, is a single run and y = α · S).
fn channel_runs(w: &Weights, t: &Tiled, alpha: &[f64]) -> Vec<Vec<ScaledRun>> {
    let (taps, l) = (w.taps(), t.tile.len());
    (0..w.out_channels)
        .map(|o| {
            let first = o * taps;
            let mut runs: Vec<ScaledRun> = Vec::new();
            for i in t.chunks_of(o, taps) {
                let start = (i * l).max(first) - first;
                let end = ((i + 1) * l).min(first + taps) - first;
                match runs.last_mut() {
                    Some(run) if run.alpha == alpha[i] => run.end = end,
                    _ => runs.push(ScaledRun {
                        start,
                        end,
                        alpha: alpha[i],
                    }),
                }
            }
            runs
        })
        .collect()
}

fn lower_binarize(d: &BinarizeDef, x: &Node) -> Result<Lowered> {
    require_integer_input(x, "binarize")?;
    let c = x.shape.channels();
    // A tiled layer's α scales its sums first: y = Σ α_run · S_run, then the epilogue.
    let scale = chunk_scales(x).map(|(w, t, alpha)| channel_runs(w, t, alpha));
    if scale.is_some() && d.arithmetic == Arithmetic::Float32 {
        return Err(ModelError::new(
            "a float32 epilogue cannot follow a tiled layer with scales α (the scaled partial \
             sums are defined in float64)",
        )
        .at_field("arithmetic"));
    }
    let steps = lower_steps(&d.steps, c, d.arithmetic, "steps")?;
    Ok((
        Op::Binarize(Binarize {
            scale,
            steps,
            arithmetic: d.arithmetic,
        }),
        x.shape,
        ValueType::Bits,
    ))
}

fn lower_threshold(d: &ThresholdDef, x: &Node) -> Result<Lowered> {
    require_integer_input(x, "threshold")?;
    let c = x.shape.channels();
    let levels = match d.thresholds.shape.as_slice() {
        [n] if *n == c => 1,
        [n, k] if *n == c && *k > 0 && *k <= MAX_LEVELS => *k,
        other => {
            return Err(ModelError::new(format!(
                "expected [{c}] or [{c}, levels] with 1 <= levels <= {MAX_LEVELS}, found {other:?}"
            ))
            .at_field("thresholds.shape"))
        }
    };
    let values = d
        .thresholds
        .to_i64()
        .map_err(|e| e.at_field("thresholds"))?;
    let directions = match &d.direction {
        None => vec![1; c],
        Some(t) => {
            t.expect_shape(&[c]).map_err(|e| e.at_field("direction"))?;
            let v = t.to_i64().map_err(|e| e.at_field("direction"))?;
            if let Some(ch) = v.iter().position(|&s| s != 1 && s != -1) {
                return Err(ModelError::new(format!(
                    "channel {ch} is {}; each direction is +1 (S >= T) or -1 (S <= T)",
                    v[ch]
                ))
                .at_field("direction"));
            }
            v
        }
    };
    let (lo, hi) = x.vtype.range();
    let channels = (0..c)
        .map(|ch| {
            let row = values[ch * levels..(ch + 1) * levels].to_vec();
            channel_rule(directions[ch] == 1, row, lo, hi)
        })
        .collect();
    let vtype = if levels == 1 {
        ValueType::Bits
    } else {
        ValueType::Int {
            min: 0,
            max: levels as i64,
        }
    };
    Ok((
        Op::Threshold(Threshold { levels, channels }),
        x.shape,
        vtype,
    ))
}

fn lower_maxpool(d: &MaxPoolDef, x: &Node) -> Result<Lowered> {
    let Shape::Map { c, h, w } = x.shape else {
        return Err(ModelError::new("maxpool needs a C×H×W input").at_field("inputs"));
    };
    let stride = d.stride.unwrap_or(d.kernel);
    if d.kernel == 0 {
        return Err(ModelError::new("must be at least 1").at_field("kernel"));
    }
    if stride == 0 {
        return Err(ModelError::new("must be at least 1").at_field("stride"));
    }
    if d.kernel > h || d.kernel > w {
        return Err(ModelError::new(format!(
            "window {} is larger than the {h}x{w} input",
            d.kernel
        ))
        .at_field("kernel"));
    }
    let shape = Shape::Map {
        c,
        h: (h - d.kernel) / stride + 1,
        w: (w - d.kernel) / stride + 1,
    };
    Ok((
        Op::MaxPool(MaxPool {
            kernel: d.kernel,
            stride,
        }),
        shape,
        x.vtype,
    ))
}

fn lower_output(d: &OutputDef, x: &Node) -> Result<Lowered> {
    let Shape::Flat(classes) = x.shape else {
        return Err(ModelError::new("output needs a vector input")
            .at_field("inputs")
            .with_hint("insert a `flatten` node"));
    };
    let per_class = |t: &Option<TensorDef>, default: i64, field: &str| -> Result<Vec<i64>> {
        match t {
            None => Ok(vec![default; classes]),
            Some(t) => {
                t.expect_shape(&[classes]).map_err(|e| e.at_field(field))?;
                t.to_i64().map_err(|e| e.at_field(field))
            }
        }
    };
    let scale = per_class(&d.scale, 1, "scale")?;
    let offset = per_class(&d.offset, 0, "offset")?;
    let (lo, hi) = x.vtype.range();
    let mut min = i64::MAX;
    let mut max = i64::MIN;
    for k in 0..classes {
        for s in [lo, hi] {
            let v = scale[k]
                .checked_mul(s)
                .and_then(|v| v.checked_add(offset[k]))
                .ok_or_else(|| {
                    ModelError::new(format!("class {k}: scale·S + offset overflows 64 bits"))
                        .at_field("scale")
                })?;
            min = min.min(v);
            max = max.max(v);
        }
    }
    Ok((
        Op::Output(Scores { scale, offset }),
        x.shape,
        ValueType::Int { min, max },
    ))
}
