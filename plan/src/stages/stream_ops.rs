//! The residual stream's stages: an affine (the model's, or the conversion of a matrix unit's
//! accumulator into the stream), thresholds on an integer stream, and the join of two streams.
//! Every width comes from the exact ranges the IR derived, so no register overflows.

use super::Value;
use crate::stage::{
    AddStage, AffineStage, MeanSignStage, PadChannelsStage, Stage, StageKind, SubsampleStage,
    ThresholdStage,
};
use crate::stream::{signed_bits, stream_to_logical, Stream};
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{int_bits, Affine, ChannelRule, Graph, NodeId, Op, Shape};

/// The logical channel (a vector's element) at each position of `v`'s channel counter: a
/// map's channels in its stream order, or every element of a vector in stream order — a
/// flattened map arrives pixel by pixel (H, W, C), not in its logical (C, H, W) order.
fn positions(v: &Value, channels: usize) -> Vec<usize> {
    match (v.map, v.flattened) {
        (None, Some((c, h, w))) => stream_to_logical(c, h, w, v.order.as_deref()),
        _ => (0..channels)
            .map(|j| v.order.as_ref().map_or(j, |o| o[j]))
            .collect(),
    }
}

/// The stream of node `id`'s values with `elems` per beat and `beats` beats.
fn value_stream(graph: &Graph, id: NodeId, like: &Stream) -> Stream {
    let (min, max) = graph.node(id).vtype.range();
    Stream {
        bits: int_bits(min, max),
        signed: min < 0,
        valid_bit: false,
        ..*like
    }
}

/// The domain of the accumulator `v` streams, when it is a matrix unit's: S = 2^shift·acc +
/// offset[channel].
fn accumulator_domain(stages: &[Stage], v: &Value) -> Option<(u32, Vec<i64>)> {
    match v.stage.map(|s| &stages[s].kind) {
        Some(StageKind::Mvu(m)) => Some((m.s_scale.trailing_zeros(), m.s_offset.clone())),
        _ => None,
    }
}

/// The affine stage computing `a` on stream `v` for node `id`: parameters per stream channel
/// position; with `domain` the accumulator's (in_shift, offset) folded in.
fn affine_stage(
    graph: &Graph,
    id: NodeId,
    a: &Affine,
    v: &Value,
    domain: Option<(u32, Vec<i64>)>,
    (xmin, xmax): (i64, i64),
) -> Result<Stage> {
    let node = graph.node(id);
    let c = node.shape.channels();
    let (in_shift, offset) = domain.unwrap_or((0, vec![0; c]));
    let channel = positions(v, c);
    let at = |p: &[i64], j: usize| p[channel[j]];
    let pre: Vec<i64> = (0..c).map(|j| at(&a.pre, j) + offset[channel[j]]).collect();
    let (mul, neg_mul, bias): (Vec<i64>, Vec<i64>, Vec<i64>) = (
        (0..c).map(|j| at(&a.mul, j)).collect(),
        (0..c).map(|j| at(&a.neg_mul, j)).collect(),
        (0..c).map(|j| at(&a.bias, j)).collect(),
    );
    // Every t and u of the input's range: each side of t = 0 is linear, so the ends of the
    // two pieces bound them.
    let mut seen: Vec<i128> = Vec::new();
    for j in 0..c {
        let (lo, hi) = (
            ((xmin as i128) << in_shift) + pre[j] as i128,
            ((xmax as i128) << in_shift) + pre[j] as i128,
        );
        for t in [lo, hi, -1, 0] {
            if t < lo || t > hi {
                continue;
            }
            let m = if t >= 0 { mul[j] } else { neg_mul[j] } as i128;
            seen.extend([t, m * t + bias[j] as i128]);
        }
        seen.extend([pre[j] as i128, bias[j] as i128]);
    }
    // The module widens x (as streamed) to the products' width before shifting it.
    let acc_bits = signed_bits(seen).max(v.stream.bits + in_shift + 1);
    if acc_bits > 64 {
        return Err(ModelError::new(format!(
            "the affine's products need {acc_bits} bits; the hardware computes in at most 64"
        ))
        .at_node(&node.name));
    }
    let param_bits = signed_bits(mul.iter().chain(&neg_mul).map(|&m| m as i128));
    let output = value_stream(graph, id, &v.stream);
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::Affine(AffineStage {
            node: id,
            c,
            in_shift,
            mul,
            neg_mul,
            pre,
            bias,
            shift: a.shift,
            round_half_even: a.round_half_even,
            saturate: a.saturate,
            param_bits,
            acc_bits: acc_bits.max(output.bits),
        }),
        input: v.stream,
        output,
        channel_order: v.order.clone(),
        sources: Vec::new(),
    })
}

/// Matrix layer `id`'s accumulator (streamed by `v`) into the stream as S itself.
pub(super) fn convert(graph: &Graph, id: NodeId, stages: &[Stage], v: &Value) -> Result<Stage> {
    let c = graph.node(id).shape.channels();
    let identity = Affine {
        mul: vec![1; c],
        neg_mul: vec![1; c],
        pre: vec![0; c],
        bias: vec![0; c],
        shift: 0,
        round_half_even: false,
        saturate: None,
    };
    let domain = accumulator_domain(stages, v).expect("a matrix unit streams its accumulator");
    let range = accumulator_range(stages, v);
    let mut stage = affine_stage(graph, id, &identity, v, Some(domain), range)?;
    stage.name = format!("{}_acc", graph.node(id).ident);
    Ok(stage)
}

/// The range of the accumulator a matrix unit streams.
fn accumulator_range(stages: &[Stage], v: &Value) -> (i64, i64) {
    match v.stage.map(|s| &stages[s].kind) {
        Some(StageKind::Mvu(m)) => (m.acc_min, m.acc_max),
        _ => unreachable!("a matrix unit streams its accumulator"),
    }
}

/// The model's affine `id` on stream `v`; `merged` when it takes a matrix unit's accumulator.
pub(super) fn affine(
    graph: &Graph,
    id: NodeId,
    stages: &[Stage],
    v: &Value,
    merged: bool,
) -> Result<Stage> {
    let Op::Affine(a) = &graph.node(id).op else {
        unreachable!()
    };
    let (domain, range) = if merged {
        (accumulator_domain(stages, v), accumulator_range(stages, v))
    } else {
        (None, graph.operand(id, 0).vtype.range())
    };
    affine_stage(graph, id, a, v, domain, range)
}

/// Threshold `id` on the integer stream `v`.
pub(super) fn threshold(graph: &Graph, id: NodeId, v: &Value) -> Result<Stage> {
    let node = graph.node(id);
    let Op::Threshold(th) = &node.op else {
        unreachable!()
    };
    let (xmin, xmax) = graph.operand(id, 0).vtype.range();
    let c = node.shape.channels();
    let levels = th.levels;
    let (mut ge, mut thresholds) = (Vec::with_capacity(c), Vec::with_capacity(c * levels));
    for channel in positions(v, c) {
        // Thresholds beyond the input's range clamp to one past it: the same decisions in the
        // fewest bits.
        match &th.channels[channel] {
            ChannelRule::Ge(t) => {
                ge.push(true);
                thresholds.extend(t.iter().map(|&t| t.clamp(xmin, xmax + 1)));
            }
            ChannelRule::Le(t) => {
                ge.push(false);
                thresholds.extend(t.iter().map(|&t| t.clamp(xmin - 1, xmax)));
            }
            // Passed always (at the minimum) or never (one past the maximum).
            ChannelRule::Const(count) => {
                ge.push(true);
                let count = *count as usize;
                thresholds.extend((0..levels).map(|k| if k < count { xmin } else { xmax + 1 }));
            }
            ChannelRule::Split(_) => unreachable!("walk() refuses split channels here"),
        }
    }
    let output = Stream {
        bits: int_bits(0, levels as i64),
        signed: false,
        valid_bit: false,
        ..v.stream
    };
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::Threshold(ThresholdStage {
            node: id,
            c,
            levels,
            ge,
            thresholds,
        }),
        input: v.stream,
        output,
        channel_order: v.order.clone(),
        sources: Vec::new(),
    })
}

/// The 1×1 `sumpool` `id` with a stride on stream `v`: every stride-th pixel.
pub(super) fn subsample(graph: &Graph, id: NodeId, v: &Value) -> Result<Stage> {
    let node = graph.node(id);
    let Op::SumPool(xnorc_compiler::ir::SumPool::Window { stride, .. }) = node.op else {
        unreachable!()
    };
    let Shape::Map { c, h, w } = graph.operand(id, 0).shape else {
        unreachable!("a sumpool reads a map")
    };
    let cb = v.stream.beats / (h * w);
    if v.stream.valid_bit || cb * h * w != v.stream.beats || cb * v.stream.elems != c {
        return Err(
            ModelError::new("a subsample needs a map streamed pixel by pixel").at_node(&node.name),
        );
    }
    let (out_h, out_w) = ((h - 1) / stride + 1, (w - 1) / stride + 1);
    // The same values, fewer of them: the input's format.
    let output = Stream {
        beats: out_h * out_w * cb,
        ..v.stream
    };
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::Subsample(SubsampleStage {
            node: id,
            cb,
            h,
            w,
            stride,
        }),
        input: v.stream,
        output,
        channel_order: v.order.clone(),
        sources: Vec::new(),
    })
}

/// `pad_channels` `id` on stream `v`: whole zero beats around each pixel's, so the stream's
/// elements per beat must divide the padding.
pub(super) fn pad_channels(graph: &Graph, id: NodeId, v: &Value) -> Result<Stage> {
    let node = graph.node(id);
    let Op::PadChannels { before, after } = node.op else {
        unreachable!()
    };
    let c = graph.operand(id, 0).shape.channels();
    let elems = v.stream.elems;
    if v.order.is_some() || v.stream.valid_bit || before % elems != 0 || after % elems != 0 {
        return Err(ModelError::new(format!(
            "pad_channels of {before} and {after} channels on a stream of {elems} channels a \
             beat: the padding must be whole beats of channels in their own order (fold the \
             layer before with a PE dividing both)"
        ))
        .at_node(&node.name));
    }
    let own = c / elems;
    let pixels = v.stream.beats / own;
    let (before, after) = (before / elems, after / elems);
    // Zero is a value of every stream's format: the input's.
    let output = Stream {
        beats: pixels * (before + own + after),
        ..v.stream
    };
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::PadChannels(PadChannelsStage {
            node: id,
            before,
            own,
            after,
        }),
        input: v.stream,
        output,
        channel_order: None,
        sources: Vec::new(),
    })
}

/// SiMaN's `meansign` `id` on the integer stream `v`: one bit per element, as a threshold's.
pub(super) fn mean_sign(graph: &Graph, id: NodeId, v: &Value) -> Result<Stage> {
    let node = graph.node(id);
    let (xmin, xmax) = graph.operand(id, 0).vtype.range();
    let n = graph.operand(id, 0).shape.numel();
    if v.stream.valid_bit || v.stream.beats * v.stream.elems != n {
        return Err(ModelError::new(format!(
            "meansign reads a stream of {} beats of {} elements for a frame of {n}; it needs the \
             frame's elements exactly",
            v.stream.beats, v.stream.elems
        ))
        .at_node(&node.name));
    }
    // Σx and N·x lie within N·[min, max]; their difference within twice that.
    let n128 = n as i128;
    let sum_bits = signed_bits([
        2 * n128 * xmin as i128,
        2 * n128 * xmax as i128,
        2 * n128 * (xmax as i128 - xmin as i128),
        -2 * n128 * (xmax as i128 - xmin as i128),
    ]);
    let output = Stream {
        bits: 1,
        signed: false,
        valid_bit: false,
        ..v.stream
    };
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::MeanSign(MeanSignStage {
            node: id,
            n,
            sum_bits,
        }),
        input: v.stream,
        output,
        channel_order: v.order.clone(),
        sources: Vec::new(),
    })
}

/// The join `id` of streams `a` and `b` (b converted to a's beats on the way).
pub(super) fn add(graph: &Graph, id: NodeId, a: &Value, b: &Value) -> Result<Stage> {
    let node = graph.node(id);
    let Op::Add(op) = &node.op else {
        unreachable!()
    };
    if a.order != b.order || a.flattened != b.flattened {
        return Err(ModelError::new(
            "its operands are streamed in different channel orders (a fanned-out tiled layer \
             before one of them); the hardware joins streams of one order",
        )
        .at_node(&node.name)
        .with_hint("turn fan-out off for that layer in the folding (\"fanout\": false)"));
    }
    let (ra, rb) = (graph.operand(id, 0).vtype, graph.operand(id, 1).vtype);
    let ((amin, amax), (bmin, bmax)) = (ra.range(), rb.range());
    let scaled = |v: i64, s: u32| (v as i128) << s;
    let (lo, hi) = (
        scaled(amin, op.shift[0]) + scaled(bmin, op.shift[1]),
        scaled(amax, op.shift[0]) + scaled(bmax, op.shift[1]),
    );
    let operand_bits = |s: &Stream, shift: u32| s.bits + shift + 1;
    let sum_bits = signed_bits([lo, hi])
        .max(operand_bits(&a.stream, op.shift[0]))
        .max(operand_bits(&b.stream, op.shift[1]));
    let output = value_stream(graph, id, &a.stream);
    Ok(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::Add(AddStage {
            node: id,
            b: Stream {
                elems: a.stream.elems,
                beats: a.stream.beats,
                ..b.stream
            },
            shift: op.shift,
            saturate: op.saturate,
            sum_bits: sum_bits.max(output.bits),
        }),
        input: a.stream,
        output,
        channel_order: a.order.clone(),
        sources: Vec::new(),
    })
}
