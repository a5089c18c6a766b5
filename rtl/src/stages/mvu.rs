//! The matrix-vector unit (`xnorc_mvu`): its parameters and its weight, plane and threshold
//! images.

use super::{lane_name, slice_image, Context, StageInstance};
use crate::images::{bound_bits, hex_words};
use crate::verilog::Param;
use xnorc_plan::folding::MemoryStyle;
use xnorc_plan::memories::{weight_slices, MemoryRole};
use xnorc_plan::{Lane, Mvu, MvuOutput, Stage};

fn style(m: MemoryStyle) -> Param {
    Param::Str(
        match m {
            MemoryStyle::Block => "block",
            MemoryStyle::Lut => "logic",
        }
        .into(),
    )
}

/// The MVU of stage `s` named `name`, with an output queue of `queue` beats.
pub(super) fn mvu(
    ctx: &Context<'_>,
    name: &str,
    s: &Stage,
    m: &Mvu,
    queue: usize,
) -> StageInstance {
    let plan = ctx.plan;
    let (nf, sf, pe, simd) = (m.nf(), m.sf(), m.pe, m.simd);
    let eb = s.input.bits as usize;
    let a = m.acc_bits as usize;
    let (leaf_w, leaf_signed) = m.lane.leaf_format(eb);
    let (tau, entries, response_bits) = match (m.lane, &m.codebook) {
        (
            Lane::Select {
                tau,
                entries,
                response_bits,
                ..
            },
            _,
        ) => (tau, entries, response_bits),
        (_, Some(cb)) => (cb.tau, cb.entries, 1),
        _ => (1, 1, 1),
    };
    // A wide ROM in logic reads each slice of its words from an image of its own, named from
    // the stem it is given.
    let slices = weight_slices(m.word_bits(), m.weight_words.len(), m.memory);
    let (weights, mut files) = if slices.len() > 1 {
        let stem = ctx.image_stem(name, "weights");
        let files = slices
            .into_iter()
            .enumerate()
            .map(|(i, bits)| {
                let words = m.weight_words.iter().map(|w| w[bits.clone()].to_vec());
                (slice_image(&stem, i), hex_words(words))
            })
            .collect();
        (stem, files)
    } else {
        let image = ctx.image(name, "weights");
        let words = hex_words(m.weight_words.iter().cloned());
        (image.clone(), vec![(image, words)])
    };
    let mut params = vec![
        ("PE", Param::int(pe)),
        ("SIMD", Param::int(simd)),
        ("NF", Param::int(nf)),
        ("SF", Param::int(sf)),
        ("FANOUT", Param::int(m.fanout)),
        ("EB", Param::int(eb)),
        ("IN_SIGNED", Param::flag(s.input.signed)),
        ("VALID_BIT", Param::flag(s.input.valid_bit)),
        ("LANE", Param::Str(lane_name(m.lane).into())),
        ("LEAF_W", Param::int(leaf_w)),
        ("LEAF_SIGNED", Param::flag(leaf_signed)),
        ("TAU", Param::Int(tau.into())),
        ("ENTRIES", Param::int(entries)),
        ("RESPONSE_BITS", Param::Int(response_bits.into())),
        ("ACC_W", Param::int(a)),
        ("WEIGHT_WORD", Param::int(m.word_bits())),
        ("WEIGHT_DEPTH", Param::int(m.weight_words.len())),
        ("WEIGHTS_FILE", Param::Str(weights)),
        ("WEIGHT_STYLE", style(m.memory)),
    ];
    if let Lane::Mul { weight_bits } = m.lane {
        params.push(("WB", Param::Int(weight_bits.into())));
    }
    if let Some(cb) = m.codebook.as_ref().filter(|cb| cb.whole_kernels) {
        // The codebook as a constant: entry j's kernel, bit t at kernel position t.
        let kernels = (0..cb.entries)
            .map(|j| {
                cb.planes
                    .iter()
                    .enumerate()
                    .map(|(t, plane)| i64::from(plane[j]) << t)
                    .sum()
            })
            .collect();
        params.extend([
            ("DECODE", Param::Int(2)),
            ("KPOS", Param::int(cb.planes.len())),
            ("CODEBOOK", Param::Fields(cb.planes.len(), kernels)),
        ]);
    } else if let Some(cb) = &m.codebook {
        let planes = ctx.image(name, "planes");
        files.push((planes.clone(), hex_words(cb.planes.iter().cloned())));
        params.extend([
            ("DECODE", Param::Int(1)),
            ("CB_BLOCKS", Param::int(cb.channel_blocks)),
            ("KPOS", Param::int(cb.planes.len())),
            ("PLANES_FILE", Param::Str(planes)),
        ]);
    }
    // Outputs per pass: PE computed filters, sent to each of the fan-out's channel groups.
    let outs = pe * m.fanout;
    let out_bits = match &m.output {
        MvuOutput::Accumulator => {
            assert!(
                m.fanout == 1 && s.output.bits as usize == a && s.output.elems == pe,
                "generator bug: a unit streaming accumulators streams PE of them"
            );
            params.push(("OUTPUT", Param::Str("accumulator".into())));
            pe * a
        }
        MvuOutput::Threshold {
            levels,
            ge,
            thresholds,
        } => {
            // Per nf: PE·fanout × levels bounds, then as many direction bits; output e of a
            // pass compares total e mod PE (its filter).
            let words = (0..nf).map(|f| {
                let mut bits = Vec::with_capacity(outs * levels * a + outs);
                for e in 0..outs {
                    let ch = f * outs + e;
                    for k in 0..*levels {
                        // ≥ thresholds lie in [lo, hi + 1], ≤ thresholds in [lo − 1, hi]: the
                        // bound is in [lo, hi + 1] either way, which `a` bits hold.
                        bits.extend(bound_bits(thresholds[ch * levels + k], ge[ch], a));
                    }
                }
                bits.extend((0..outs).map(|e| ge[f * outs + e]));
                bits
            });
            let file = ctx.image(name, "thresholds");
            files.push((file.clone(), hex_words(words)));
            params.extend([
                ("OUTPUT", Param::Str("threshold".into())),
                ("LEVELS", Param::int(*levels)),
                ("OB", Param::Int(s.output.bits.into())),
                ("THRESHOLDS_FILE", Param::Str(file)),
                ("THRESHOLD_STYLE", style(m.threshold_memory)),
            ]);
            outs * s.output.bits as usize
        }
    };
    params.extend([
        ("TREE_PIPELINE", Param::Int(plan.tree_pipeline.into())),
        ("MEM_REG", Param::flag(plan.memory_output_register)),
        ("BCAST_REG", Param::flag(m.broadcast_register)),
        ("QUEUE", Param::int(queue)),
        (
            "IBUF_STYLE",
            ctx.buffer_style(&s.name, MemoryRole::InputBuffer),
        ),
        ("OUT_BITS", Param::int(out_bits)),
    ]);
    let summary = vec![
        format!(
            "MVU: {} inputs x {} outputs, PE {pe}, SIMD {simd} (NF {nf}, SF {sf}), fan-out {}",
            m.k, m.o, m.fanout
        ),
        format!(
            "weights: {} storage, {} of {nf} rows stored{}",
            m.storage,
            m.rows(),
            match &m.codebook {
                Some(cb) => format!(
                    "; codebook of {} kernels, {}-bit indices decoded {}",
                    cb.entries,
                    cb.tau,
                    match cb.whole_kernels {
                        true => "to whole kernels",
                        false => "per lane",
                    }
                ),
                None => String::new(),
            }
        ),
        format!(
            "lanes: {}; accumulator {a} bits in [{}, {}]; cycles per vector {}",
            lane_name(m.lane),
            m.acc_min,
            m.acc_max,
            nf * sf
        ),
    ];
    StageInstance {
        module: "xnorc_mvu",
        summary,
        params,
        files,
    }
}
