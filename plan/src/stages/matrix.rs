//! One dense or conv layer → its stages: a window generator (convolutions), a responses stage
//! (codebook convolutions that share their kernels' responses), the MVU with its fused
//! threshold, and a split threshold stage (layers with split channels). The decisions are
//! taken in this order: the folding (PE, SIMD) and its checks, the lane kind, the codebook way
//! of computing ([`super::sharing`]), the taps ([`super::window`]), the accumulator and
//! thresholds ([`super::thresholds`]), the weight memory ([`super::weights`]).

use super::layer::{Fold, Input, Map};
use super::sharing::{self, Share, Way};
use super::thresholds::{
    acc_range, fused_output, split_stage, split_threshold_stage, threshold_memory,
};
use super::weights::{codebook_decode, weight_memory};
use super::window::{padding_masked, taps, RowBits};
use crate::folding::{FoldingFile, LayerFolding};
use crate::lane::Lane;
use crate::split;
use crate::stage::{Mvu, MvuOutput, Stage, StageKind};
use crate::stream::Stream;
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{Graph, MatMul, Node, NodeId, Op, Shape, ValueType, WeightValues};
use xnorc_compiler::sanitize::printable;

/// The layer's `broadcast_register`, its own or the folding's default: the tree sits behind
/// the second operand register and before the lanes, which a decoding unit's decode register
/// would split. Asked for on a layer that cannot take it, an error.
fn checked_broadcast(
    node: &Node,
    cfg: &LayerFolding,
    folding: &FoldingFile,
    decodes: bool,
) -> Result<bool> {
    let second_register = folding.memory_output_register == Some(true);
    let possible = second_register && !decodes;
    if cfg.broadcast_register != Some(true) {
        // The folding's default applies where the layer can take it.
        let default = folding.broadcast_register == Some(true);
        return Ok(cfg.broadcast_register.is_none() && default && possible);
    }
    if possible {
        return Ok(true);
    }
    let why = if !second_register {
        "needs \"memory_output_register\": true (the tree copies the second operand register)"
    } else {
        "is not available for a layer that decodes codebook indices"
    };
    Err(
        ModelError::new(format!("broadcast_register {why}")).at_field(format!(
            "layers.{}.broadcast_register",
            printable(&node.name)
        )),
    )
}

/// The layer's (PE, SIMD): the folding file's, else the automatic rule's; PE must divide the
/// distinct filters, SIMD the inputs a beat may hold.
fn checked_folding(
    node: &Node,
    cfg: &LayerFolding,
    fold: &Fold,
    o: usize,
) -> Result<(usize, usize)> {
    let (k, filters, fan) = (fold.shape.k, fold.shape.o, fold.fanout);
    let pe = cfg.pe.unwrap_or(fold.auto.0);
    let simd = cfg.simd.unwrap_or(fold.auto.1);
    let field = |f: &str| format!("layers.{}.{f}", printable(&node.name));
    let choices = |n: usize| (1..=n).filter(|d| n.is_multiple_of(*d)).collect::<Vec<_>>();
    if pe == 0 || filters % pe != 0 {
        let what = if fan > 1 {
            format!(
                "the layer's {filters} distinct filters (its {o} outputs are {fan} copies of \
                 them, computed once)"
            )
        } else {
            format!("the layer's {o} outputs")
        };
        return Err(ModelError::new(format!(
            "PE {pe} does not divide {what}; use one of {:?}",
            choices(filters)
        ))
        .at_field(field("pe")));
    }
    let unit = fold.shape.simd_unit;
    if simd == 0 || !unit.is_multiple_of(simd) {
        let what = if unit == k {
            format!("the layer's {k} inputs")
        } else {
            format!("the layer's {unit} input channels (a beat holds channels of one pixel)")
        };
        return Err(ModelError::new(format!(
            "SIMD {simd} does not divide {what}; use one of {:?}",
            choices(unit)
        ))
        .at_field(field("simd")));
    }
    Ok((pe, simd))
}

/// Bits of a two's complement register holding every integer weight of `mm` (at least 2).
fn int_weight_bits(mm: &MatMul) -> u32 {
    match &mm.weights.store {
        xnorc_compiler::ir::WeightStore::Int(w) => {
            crate::stream::signed_bits(w.iter().map(|&v| v as i128))
        }
        _ => unreachable!("integer values are stored as integers"),
    }
}

/// What a lane computes: from the input (binary or integer), the weight values and whether
/// padded taps are masked.
fn lane_of(binary: bool, mm: &MatMul) -> Lane {
    match (binary, mm.weights.values, binary && padding_masked(mm)) {
        (true, WeightValues::Pm1, false) => Lane::Xnor,
        (true, WeightValues::ZeroOne, false) => Lane::And,
        (true, WeightValues::Pm1, true) => Lane::XnorMasked,
        (true, WeightValues::ZeroOne, true) => Lane::AndMasked,
        (false, WeightValues::Pm1, _) => Lane::AddSub,
        (false, WeightValues::ZeroOne, _) => Lane::AddZero,
        (false, WeightValues::Int, _) => Lane::Mul {
            weight_bits: int_weight_bits(mm),
        },
        (true, WeightValues::Int, _) => unreachable!("walk() refuses integer weights on bits"),
    }
}

/// The stages of one dense or conv layer (an SWG first for a conv), its output stream and map.
pub(super) fn matrix_stages(
    graph: &Graph,
    folding: &FoldingFile,
    id: NodeId,
    threshold: Option<NodeId>,
    fold: Fold,
    input: Input,
) -> Result<(Vec<Stage>, Stream, Map)> {
    let node = graph.node(id);
    let Op::MatMul(mm) = &node.op else {
        unreachable!()
    };
    let w = &mm.weights;
    let cfg = folding.layers.get(&node.name).cloned().unwrap_or_default();
    let (k, filters, fan) = (fold.shape.k, fold.shape.o, fold.fanout);
    let o = w.out_channels;
    let (pe, simd) = checked_folding(node, &cfg, &fold, o)?;
    let binary = graph.operand(id, 0).vtype == ValueType::Bits;
    let lane = lane_of(binary, mm);
    // A codebook convolution decodes its indices (tap by tap or whole kernels) or shares its
    // kernels' responses.
    let way = sharing::choose(node, mm, &cfg, lane, (pe, simd), &input.stream)?;
    let (pe, simd) = match &way {
        Way::Plain => (pe, simd),
        Way::Share(s) => (s.pe, s.simd),
        &Way::Kernels { pe, simd } => (pe, simd),
    };
    // A whole-kernel unit's beats: its SIMD channels at each of the kernel's positions.
    let kernel_taps = matches!(way, Way::Kernels { .. }).then_some(w.kh * w.kw);
    let share = match way {
        Way::Share(s) => Some(s),
        _ => None,
    };
    let mut stages = Vec::new();
    let mut mvu_in = Stream {
        elems: simd,
        beats: fold.shape.vectors * k / simd,
        ..input.stream
    };
    let channel_blocks_outer = share.is_some() || kernel_taps.is_some();
    let (tap, window) = taps(node, mm, binary, simd, channel_blocks_outer, &input);
    if let Some((swg, swg_in)) = window {
        mvu_in.valid_bit = swg.masked;
        stages.push(Stage {
            name: format!("{}_swg", node.ident),
            layer: node.name.clone(),
            kind: StageKind::Swg(swg),
            input: swg_in,
            output: mvu_in,
            channel_order: input.order.clone(),
            sources: Vec::new(),
        });
    }
    // Split channels (filters spanning tiled chunks of different α): the unit computes a
    // probe row for each after the outputs, up to a whole pass, and a split threshold stage
    // decides them (plan::split).
    let splits = match threshold.map(|t| (t, &graph.node(t).op)) {
        Some((t, Op::Threshold(th))) => {
            split::split_rules(th).map_err(|e| e.at_node(&graph.node(t).name))?
        }
        _ => Vec::new(),
    };
    let probes = splits.len().div_ceil(pe) * pe;
    let bits = RowBits::new(w, o, tap, splits);
    let rows = o + probes;
    let mut acc = acc_range(lane, k, rows, node, &bits);
    // The tightest bound of integer weights' sums can be narrower than one product; the adder
    // tree takes whole products, so the accumulator is at least that wide.
    if let Lane::Mul { .. } = lane {
        let (leaf_w, _) = lane.leaf_format(input.stream.bits as usize);
        acc.bits = acc.bits.max(leaf_w as u32);
    }
    // A sharing unit's inputs are the C channels' response vectors; a whole-kernel unit's op
    // takes SIMD channels at every kernel position.
    let unit_k = if share.is_some() { w.in_channels } else { k };
    let unit_simd = simd * kernel_taps.unwrap_or(1);
    let (nf, sf) = ((filters + probes) / pe, unit_k / unit_simd);
    // Output channel of beat element e in pass f: group e / PE, filter f·PE + e mod PE.
    let channel = |f: usize, e: usize| (e / pe) * filters + f * pe + e % pe;
    let output = fused_output(graph, threshold, (nf, pe * fan), o, &acc, &channel);
    let split = split_stage(node, threshold, &output, &bits, lane, &acc, (o, rows));
    let (output, threshold) = match split {
        Some(_) => (MvuOutput::Accumulator, None),
        None => (output, threshold),
    };
    let decode = codebook_decode(mm, simd, kernel_taps.is_some());
    let (weight_words, memory) =
        weight_memory(mm, lane, decode.as_ref(), (nf, sf), (pe, simd), &bits, &cfg);
    let threshold_memory = threshold_memory(&cfg, &output, o, acc.bits);
    let broadcast_register =
        checked_broadcast(node, &cfg, folding, decode.is_some() && share.is_none())?;
    let out = Stream {
        elems: pe * fan,
        bits: match &output {
            MvuOutput::Threshold { levels, .. } => xnorc_compiler::ir::int_bits(0, *levels as i64),
            MvuOutput::Accumulator => acc.bits,
        },
        signed: matches!(output, MvuOutput::Accumulator),
        beats: fold.shape.vectors * nf,
        valid_bit: false,
    };
    // Whole kernels: a width converter (the pipeline's) joins each channel block's taps.
    if let Some(taps) = kernel_taps {
        mvu_in = Stream {
            elems: unit_simd,
            beats: mvu_in.beats / taps,
            ..mvu_in
        };
    }
    // Sharing: the responses stage turns the window stream into one beat of SIMD response
    // vectors per channel block, and the unit selects from them.
    let (codebook, lane, mvu_in) = match (&share, decode) {
        (Some(share @ Share { .. }), Some(d)) => {
            let (responses, select) =
                sharing::responses_stage(node, simd, lane, share, &d, mvu_in, input.order.clone());
            let responses_out = responses.output;
            stages.push(responses);
            (None, select, responses_out)
        }
        (_, decode) => (decode, lane, mvu_in),
    };
    let channel_order = (fan > 1).then(|| {
        (0..o)
            .map(|j| channel(j / (pe * fan), j % (pe * fan)))
            .collect()
    });
    stages.push(Stage {
        name: node.ident.clone(),
        layer: node.name.clone(),
        kind: StageKind::Mvu(Mvu {
            node: id,
            threshold,
            vectors: fold.shape.vectors,
            k: unit_k,
            o,
            probes,
            pe,
            simd: unit_simd,
            lane,
            acc_min: acc.min,
            acc_max: acc.max,
            acc_bits: acc.bits,
            s_offset: acc.offset,
            s_scale: acc.scale,
            output,
            fanout: fan,
            weight_words,
            codebook,
            storage: w.storage(),
            memory,
            threshold_memory,
            threshold_before_pool: false,
            broadcast_register,
        }),
        input: mvu_in,
        output: out,
        channel_order,
        sources: Vec::new(),
    });
    let out = match split {
        Some(st) => {
            let stage = split_threshold_stage(node, st, out, fold.shape.vectors);
            let output = stage.output;
            stages.push(stage);
            output
        }
        None => out,
    };
    let out_map = match node.shape {
        Shape::Map { c, h, w } => Some((c, h, w)),
        Shape::Flat(_) => None,
    };
    Ok((stages, out, out_map))
}
