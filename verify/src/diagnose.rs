//! Locating a mismatch: the first pipeline stage whose output stream differs from the reference.
//!
//! For each stage that computes a node of the model (an MVU with its fused threshold, a
//! max-pool), a prefix of the core ending at that stage is generated and simulated, and its output
//! beats are compared with the reference simulator's values of that node, in stream order.

use crate::verilator::{self, Stalls};
use crate::VerifyError;
use std::path::Path;
use xnorc_compiler::ir::{Graph, Shape};
use xnorc_compiler::sanitize::printable;
use xnorc_host::pack;
use xnorc_plan::schedule::{Component, Source};
use xnorc_plan::{stream_to_logical, HardwarePlan, MvuOutput, StageKind};
use xnorc_rtl::write::write_design;
use xnorc_sim::{Frames, Simulator};

/// The plan cut after stage `i` (its output becomes the core's output), if that leaves no
/// branch dangling (a fork whose other consumer comes later would wait for it forever).
fn prefix(plan: &HardwarePlan, i: usize) -> Option<HardwarePlan> {
    let end = plan.pipeline.iter().position(|c| c.stage() == Some(i))?;
    let sources = plan.sources[..=end].to_vec();
    let read = |index: usize, port: usize| {
        sources
            .iter()
            .flatten()
            .any(|s| *s == Source::Component { index, port })
    };
    let dangling = (0..end).any(|c| {
        let ports = if plan.pipeline[c] == Component::Fork {
            2
        } else {
            1
        };
        (0..ports).any(|p| !read(c, p))
    });
    if dangling {
        return None;
    }
    Some(HardwarePlan {
        stages: plan.stages[..=i].to_vec(),
        pipeline: plan.pipeline[..=end].to_vec(),
        sources,
        model: format!("{}_upto{i}", plan.model),
        ..plan.clone()
    })
}

fn field(words: &[u32], lsb: usize, bits: usize, signed: bool) -> i64 {
    let raw = (0..bits).fold(0u64, |v, i| {
        let b = (words.get((lsb + i) / 32).copied().unwrap_or(0) >> ((lsb + i) % 32)) & 1;
        v | (b as u64) << i
    });
    if signed && bits < 64 {
        ((raw << (64 - bits)) as i64) >> (64 - bits)
    } else {
        raw as i64
    }
}

/// Names the first differing stage, or `None` when every checked stage matches.
pub fn first_differing_stage(
    graph: &Graph,
    plan: &HardwarePlan,
    input: Frames<'_>,
    frames: usize,
    build_dir: &Path,
    design: Option<&Path>,
) -> Result<Option<String>, VerifyError> {
    let full_top = xnorc_rtl::top_name(plan);
    let sim = Simulator::new(graph.clone())?;
    let trace = sim.trace(input)?;
    for (i, stage) in plan.stages.iter().enumerate() {
        let (node, to_acc): (_, Option<&xnorc_plan::Mvu>) = match &stage.kind {
            // A unit with probe rows streams more than its node's values; the split threshold
            // stage after it is compared with the threshold node.
            StageKind::Mvu(m) if m.probes > 0 => continue,
            // A threshold moved before the max-pool: the pool stage streams the threshold
            // node's values, the unit no node's.
            StageKind::Mvu(m) if m.threshold_before_pool => continue,
            StageKind::SplitThreshold(t) => (t.node, None),
            StageKind::Mvu(m) => match (&m.output, m.threshold) {
                (MvuOutput::Threshold { .. }, Some(t)) => (t, None),
                _ => (m.node, Some(m)),
            },
            StageKind::Pool(p) => (p.node, None),
            StageKind::Affine(a) => (a.node, None),
            StageKind::Threshold(t) => (t.node, None),
            StageKind::Add(a) => (a.node, None),
            StageKind::MeanSign(m) => (m.node, None),
            StageKind::Subsample(p) => (p.node, None),
            StageKind::PadChannels(p) => (p.node, None),
            // Windows are no node of the model; the scores are what verify compared.
            StageKind::Swg(_) | StageKind::Responses(_) | StageKind::Scores(_) => continue,
        };
        let Some(cut) = prefix(plan, i) else {
            continue;
        };
        let dir = build_dir
            .join("designs")
            .join(format!("{}-{}", cut.model, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let top = write_design(&dir, &cut)?;
        if let Some(on_disk) = design {
            // Checking a given design: its memory images (maybe the faulty part) replace the
            // regenerated ones, matched by the part of the name after the top module's.
            for entry in std::fs::read_dir(&dir).map_err(|e| VerifyError::Io(e.to_string()))? {
                let name = entry
                    .map_err(|e| VerifyError::Io(e.to_string()))?
                    .file_name();
                let name = name.to_string_lossy();
                if let Some(suffix) = name.strip_suffix(".hex").and_then(|n| n.strip_prefix(&top)) {
                    let source = on_disk.join(format!("{full_top}{suffix}.hex"));
                    if source.exists() {
                        std::fs::copy(&source, dir.join(name.as_ref()))
                            .map_err(|e| VerifyError::Io(format!("{}: {e}", source.display())))?;
                    }
                }
            }
        }
        let mut harness = verilator::build(
            &dir,
            &top,
            cut.stages[0].input.width(),
            &build_dir.join("verilator"),
            false,
        )?;
        harness.reset_release = xnorc_rtl::top::reset_release_cycles(&cut);
        let _ = std::fs::remove_dir_all(&dir);
        let out = stage.output;
        let beats = frames * out.beats;
        let limit = 1_000_000 + 1000 * beats as u64 * (plan.ii_cycles + 1);
        let log = harness.run(
            &pack(plan, input, harness.in_words),
            beats,
            Stalls::NONE,
            limit,
            None,
        )?;
        // The reference in stream order (maps pixel by pixel, channels innermost).
        let nv = &trace[node.0];
        let shape = graph.node(node).shape;
        let per_frame = shape.numel();
        let channel_order = stage.channel_order.as_deref();
        let (order, channels) = match shape {
            Shape::Map { c, h, w } => (stream_to_logical(c, h, w, channel_order), c),
            Shape::Flat(n) => (channel_order.map_or((0..n).collect(), <[usize]>::to_vec), n),
        };
        for (b, (_, words)) in log.outputs.iter().enumerate() {
            for e in 0..out.elems {
                let j = b * out.elems + e;
                let (f, pos) = (j / per_frame, j % per_frame);
                let mut want = nv.values[f * per_frame + order[pos]];
                if let Some(m) = to_acc {
                    // The last layer streams its accumulators: S = s_scale·acc + s_offset.
                    let c = pos % channels;
                    want = (want - m.s_offset[c]) / m.s_scale;
                }
                let got = field(words, e * out.bits as usize, out.bits as usize, out.signed);
                if got != want {
                    return Ok(Some(format!(
                        "first differing stage: {} (node \"{}\"): frame {f}, output beat {}, \
                         element {e}: hardware {got}, reference {want}",
                        stage.name,
                        printable(&graph.node(node).name),
                        b % out.beats
                    )));
                }
            }
        }
    }
    Ok(None)
}
