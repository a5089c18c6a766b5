//! The rest of the device for the bottleneck: after the widest lane budget that fits, the
//! slowest stage gets faster foldings while the estimate still fits ([`spend_the_rest`]); and
//! how much of the device a plan's lanes use ([`lane_use`], report.json's `fit`).

use super::{
    fit_stages, folding_of, move_roms_to_logic, plan_estimate, plan_stages, AUTO_LUT_FILL,
};
use crate::estimate;
use crate::folding::CodebookCompute;
use crate::memories::{self, Memory, MemoryRole};
use crate::pipeline::HardwarePlan;
use crate::stage::{Stage, StageKind};
use std::path::Path;
use xnorc_boards::board::Board;
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_compiler::Result;

/// How much of the device the fit's folding uses, in lanes (`report.json` → `fit`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LaneUse {
    /// PE × SIMD lanes of every MVU.
    pub lanes: usize,
    /// The most binary lanes the device's logic could hold: [`AUTO_LUT_FILL`] of its logic
    /// cells, all spent on lanes at the family's cost per lane (no windows, pools, FIFOs or
    /// shell).
    pub lane_bound: usize,
    /// The stage whose cycles per frame set the initiation interval.
    pub bottleneck: String,
    /// Its cycles per frame.
    pub bottleneck_cycles: usize,
}

/// [`LaneUse`] of `plan` on `board`.
pub fn lane_use(plan: &HardwarePlan, board: &Board) -> LaneUse {
    let family = board.device.family;
    let cells_per_lane = estimate::luts_per_lane(family) * estimate::cells_per_lut4(family);
    let slowest = plan.stages.iter().max_by_key(|s| s.cycles_per_frame());
    LaneUse {
        lanes: plan_estimate(plan, board)
            .stages
            .iter()
            .map(|s| s.lanes)
            .sum(),
        lane_bound: (board.device.luts as f64 * AUTO_LUT_FILL / cells_per_lane) as usize,
        bottleneck: slowest.map_or(String::new(), |s| s.layer.clone()),
        bottleneck_cycles: slowest.map_or(0, Stage::cycles_per_frame),
    }
}

/// The MVU that sets `slowest`'s pace: the stage itself, or the unit of its layer (a codebook
/// layer's responses stage, a window generator), whose folding sets theirs.
fn unit_of<'a>(stages: &'a [Stage], slowest: &'a Stage) -> Option<&'a Stage> {
    match slowest.kind {
        StageKind::Mvu(_) => Some(slowest),
        _ => stages
            .iter()
            .find(|s| s.layer == slowest.layer && matches!(s.kind, StageKind::Mvu(_))),
    }
}

/// The next faster folding of the MVU `s` when its layer's slowest stage takes `now` cycles
/// per frame: the fewest lanes (PE | filters, SIMD | the layer's SIMD unit) whose cycles —
/// NF·K/SIMD per vector, K counting a kernel-codebook layer's kernel positions as its decode
/// folding does — are fewer, with the automatic rule's preferences on ties. A codebook layer's
/// folding is in decode terms: the cost rule ([`crate::codebook::choose`]) may turn it into a
/// sharing folding, which is at least as fast. None for channel-sharing probe rows or a layer
/// already fully parallel.
fn next_faster(graph: &Graph, s: &Stage, now: usize) -> Option<(usize, usize)> {
    use xnorc_compiler::ir::{Geometry, Op};
    let StageKind::Mvu(m) = &s.kind else {
        return None;
    };
    if m.probes > 0 {
        return None;
    }
    let Op::MatMul(mm) = &graph.node(m.node).op else {
        return None;
    };
    let unit = match mm.geometry {
        Geometry::Dense => mm.weights.taps(),
        Geometry::Conv { .. } => mm.weights.in_channels,
    };
    let k = mm.weights.taps();
    let filters = m.o / m.fanout;
    let divisors = |n: usize| (1..=n).filter(move |d| n.is_multiple_of(*d));
    divisors(filters)
        .flat_map(|pe| divisors(unit).map(move |simd| (pe, simd)))
        .filter(|&(pe, simd)| m.vectors * (filters / pe) * (k / simd) < now)
        .min_by_key(|&(pe, simd)| {
            (
                pe * simd,
                simd > crate::folding::MAX_AUTO_SIMD,
                std::cmp::Reverse(simd),
            )
        })
}

/// The cost rule's view of the kernel-codebook convolution whose unit is `s` (decoding or
/// sharing); None for any other stage — the only layers a folding's `compute` may name.
fn codebook_layer(graph: &Graph, s: &Stage) -> Option<crate::codebook::CodebookLayer> {
    use crate::codebook::{response_bits, response_range};
    use xnorc_compiler::ir::{Geometry, Op, WeightStore};
    let StageKind::Mvu(m) = &s.kind else {
        return None;
    };
    let Op::MatMul(mm) = &graph.node(m.node).op else {
        return None;
    };
    let w = &mm.weights;
    let (WeightStore::Codebook(cb), Geometry::Conv { .. }) = (&w.store, mm.geometry) else {
        return None;
    };
    let taps = w.kh * w.kw;
    let binary = graph.operand(m.node, 0).vtype == xnorc_compiler::ir::ValueType::Bits;
    let masked = binary && crate::stages::padding_masked(mm);
    let bits = match m.lane {
        crate::lane::Lane::Select { response_bits, .. } => response_bits,
        lane => response_bits(response_range(lane, taps, s.input.bits, s.input.signed)),
    };
    Some(crate::codebook::CodebookLayer {
        o: w.out_channels,
        c: w.in_channels,
        taps,
        tau: cb.tau,
        entries: cb.entries,
        response_bits: bits,
        index_in_block_ram: m.memory == crate::folding::MemoryStyle::Block,
        whole_kernels: crate::codebook::whole_kernels_possible(masked, taps),
    })
}

/// The most cycles per frame of any stage of `layer`.
fn layer_cycles(stages: &[Stage], layer: &str) -> Option<usize> {
    stages
        .iter()
        .filter(|s| s.layer == layer)
        .map(Stage::cycles_per_frame)
        .max()
}

/// The most of the device's logic cells [`spend_the_rest`] lets the estimate reach: on iCE40,
/// below [`AUTO_LUT_FILL`], because there the estimate undercounts what nextpnr places and a
/// full UP5K does not place. Measured on TFC (`xnorc build tfc.xnm --board icebreaker`): the
/// lane budget that fit was estimated at 3,572 logic cells and placed at 3,994 (1.12×); three
/// more lane steps estimated at 3,914 (74%) placed at 4,531 (86%), where nextpnr's HeAP
/// legaliser stalled on three seeds in a row. 0.8 / 1.12 ≈ 0.71.
fn spend_fill(family: xnorc_boards::Family) -> f64 {
    match family {
        xnorc_boards::Family::Ice40 => 0.71,
        xnorc_boards::Family::Ecp5 => AUTO_LUT_FILL,
    }
}

/// Most bottleneck steps [`spend_the_rest`] takes: each re-plans the stages (fast) and the
/// last is sized (slow), so the bound only guards against a pathological model.
const MAX_BOTTLENECK_STEPS: usize = 64;

/// Spends the logic the lane budget left on the bottleneck: the widest budget that fits is a
/// step of 3/4 from one that does not, so up to a quarter of the lanes may be left unused.
/// Repeatedly gives the slowest stage (the one that sets the II) its next faster folding
/// ([`next_faster`]) while the stages' estimate still fits at [`spend_fill`] (memories moved
/// to logic as the fit does), and keeps the steps up to the last that lowered the slowest
/// stage's cycles. Stops at a slowest stage whose layer's unit the rule does not refold
/// ([`next_faster`]) or one the step does not make faster. Then sizes the
/// last step; if its buffers take it over, bisects over the steps for the last one whose
/// sized plan fits. Returns `plan` unchanged when none does.
pub(super) fn spend_the_rest(
    graph: &Graph,
    plan: HardwarePlan,
    board: &Board,
    model: &Path,
    progress: &dyn Progress,
    over: &mut Vec<Vec<Stage>>,
) -> Result<HardwarePlan> {
    let others: Vec<Memory> = memories::plan_memories(&plan)
        .into_iter()
        .filter(|m| matches!(m.role, MemoryRole::Fifo | MemoryRole::OutputQueue))
        .collect();
    let mut folding = folding_of(&plan, graph);
    // Let the fit place each refolded layer's memories again.
    for layer in folding.layers.values_mut() {
        layer.memory = None;
        layer.thresholds = None;
    }
    let fill = spend_fill(board.device.family);
    let slowest_cycles = |stages: &[Stage]| {
        stages
            .iter()
            .map(Stage::cycles_per_frame)
            .max()
            .unwrap_or(0)
    };
    let mut steps = Vec::new();
    // Steps up to the last that made the slowest stage faster: when several stages tie, the
    // ones after the last such step spend logic and gain nothing.
    let mut useful = 0;
    let mut cycles = slowest_cycles(&plan.stages);
    // The stages of `folding`, planned once per step (planning builds the weight images).
    let (mut stages, _, _) = plan_stages(graph, &folding, model)?;
    for _ in 0..MAX_BOTTLENECK_STEPS {
        let Some(slowest) = stages.iter().max_by_key(|s| s.cycles_per_frame()) else {
            break;
        };
        let Some(unit) = unit_of(&stages, slowest) else {
            break;
        };
        let Some((pe, simd)) = next_faster(graph, unit, slowest.cycles_per_frame()) else {
            break;
        };
        // A codebook layer's new folding is in decode terms: the cost rule picks its way (None)
        // by iCE40's LUT4 counts; when that does not fit the device, decoding at the folding,
        // or whole kernels or sharing at their cheapest folding as fast, may (the rule's
        // numbers are not the device's: on ECP5 a decode lane costs about twice what the rule
        // assumes).
        let mut ways = vec![(None, (pe, simd))];
        if let Some(layer) = codebook_layer(graph, unit) {
            ways.push((Some(CodebookCompute::Decode), (pe, simd)));
            if layer.whole_kernels {
                let kernels = crate::codebook::kernel_folding(&layer, pe, simd);
                ways.push((Some(CodebookCompute::Kernels), kernels));
            }
            let shared = crate::codebook::share_folding(&layer, pe, simd);
            ways.push((Some(CodebookCompute::Share), shared));
        }
        let mut fitted = None;
        for (compute, (pe, simd)) in ways {
            let mut next = folding.clone();
            let layer = next.layers.entry(unit.layer.clone()).or_default();
            (layer.pe, layer.simd, layer.compute) = (Some(pe), Some(simd), compute);
            let (mut refolded, _, _) = plan_stages(graph, &next, model)?;
            // The cycle rule and the planned stages agree; a step no faster would repeat.
            if layer_cycles(&refolded, &unit.layer) >= layer_cycles(&stages, &unit.layer) {
                continue;
            }
            if move_roms_to_logic(&mut refolded, &others, board, fill) {
                fitted = Some((next, refolded));
                break;
            }
        }
        let Some((next, refolded)) = fitted else {
            break;
        };
        folding = next;
        steps.push(folding.clone());
        if slowest_cycles(&refolded) < cycles {
            cycles = slowest_cycles(&refolded);
            useful = steps.len();
        }
        // Memory placement, which the fit check changed, does not change cycles.
        stages = refolded;
    }
    steps.truncate(useful);
    if !steps.is_empty() {
        progress.note(&format!(
            "      {} more lane steps on the bottleneck fit the estimate and make it faster",
            steps.len()
        ));
    }
    // Sizing takes a while: the last step first (it usually fits), else a bisection for the
    // last step whose sized buffers still fit (more steps, more FIFO bits).
    let (mut lo, mut hi) = (0, steps.len());
    let mut best = plan;
    while lo < hi {
        let i = if hi == steps.len() {
            hi - 1
        } else {
            (lo + hi) / 2
        };
        let planned = plan_stages(graph, &steps[i], model)?;
        match fit_stages(graph, &steps[i], planned, board, fill, progress, over)? {
            Some(refined) => {
                best = refined;
                lo = i + 1;
            }
            None => hi = i,
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::super::{fit_folding, tests::graph};
    use super::*;
    use crate::folding::FoldingFile;
    use xnorc_compiler::ir::Op;
    use xnorc_compiler::progress::Silent;

    /// A codebook layer is refolded by its slowest stage (the responses stage or window
    /// generator of a sharing unit included): the step the rule takes must make the layer
    /// faster once planned, and no folding with fewer lanes may (each checked by planning it,
    /// not by the rule's cycle formula).
    #[test]
    fn refolds_codebook_layers_by_their_slowest_stage() {
        let g = graph("cnv-small-codebook");
        let path = Path::new("m.xnm");
        let serial = FoldingFile {
            lane_budget: Some(1),
            ..FoldingFile::default()
        };
        // Serial (both layers decode), and conv2 sharing at PE = O: one pass per window, so
        // its responses stage (kh·kw beats per channel block) is slower than its unit.
        let mut shared = serial.clone();
        let conv2 = shared.layers.entry("conv2".to_string()).or_default();
        (conv2.pe, conv2.simd) = (
            Some(g.node(node_named(&g, "conv2")).shape.channels()),
            Some(1),
        );
        conv2.compute = Some(CodebookCompute::Share);
        for base in [&serial, &shared] {
            let (stages, _, _) = plan_stages(&g, base, path).unwrap();
            let codebook_layers: Vec<String> = stages
                .iter()
                .filter(|s| matches!(&s.kind, StageKind::Mvu(m) if m.storage == "codebook"))
                .map(|s| s.layer.clone())
                .collect();
            assert_eq!(
                codebook_layers.len(),
                2,
                "cnv-small-codebook: conv2 and conv3"
            );
            let planned_cycles = |pe: usize, simd: usize, layer: &str| {
                let mut f = base.clone();
                let l = f.layers.entry(layer.to_string()).or_default();
                (l.pe, l.simd, l.compute) = (Some(pe), Some(simd), None);
                let (stages, _, _) = plan_stages(&g, &f, path).unwrap();
                layer_cycles(&stages, layer).unwrap()
            };
            for layer in &codebook_layers {
                let slowest = stages
                    .iter()
                    .filter(|s| &s.layer == layer)
                    .max_by_key(|s| s.cycles_per_frame())
                    .unwrap();
                if base.layers.contains_key(layer) {
                    assert!(
                        matches!(slowest.kind, StageKind::Responses(_)),
                        "{layer} at PE = O: its responses stage sets the pace"
                    );
                }
                let now = slowest.cycles_per_frame();
                let unit = unit_of(&stages, slowest).unwrap();
                assert!(matches!(unit.kind, StageKind::Mvu(_)) && &unit.layer == layer);
                let (pe, simd) = next_faster(&g, unit, now).expect("the layer can go faster");
                assert!(
                    planned_cycles(pe, simd, layer) < now,
                    "{layer}: {pe} × {simd}"
                );
                let StageKind::Mvu(m) = &unit.kind else {
                    unreachable!()
                };
                let Op::MatMul(mm) = &g.node(m.node).op else {
                    unreachable!()
                };
                let (o, c) = (mm.weights.out_channels, mm.weights.in_channels);
                for p in (1..=o).filter(|p| o % p == 0) {
                    for s in (1..=c).filter(|s| c % s == 0 && p * s < pe * simd) {
                        assert!(
                            planned_cycles(p, s, layer) >= now,
                            "{layer}: {p} × {s} has fewer lanes than {pe} × {simd} and is \
                             faster"
                        );
                    }
                }
            }
        }
    }

    fn node_named(g: &Graph, name: &str) -> xnorc_compiler::ir::NodeId {
        g.nodes
            .iter()
            .position(|n| n.name == name)
            .map(xnorc_compiler::ir::NodeId)
            .unwrap()
    }

    #[test]
    fn spends_the_rest_on_the_bottleneck_until_the_next_step_is_over() {
        // TFC on the UP5K from a 64-lane budget, which leaves room: the fit refolds the
        // slowest layer step by step. Its result must be faster, still fit, and the slowest
        // layer's next step must not fit (else logic was left unused).
        let g = graph("tfc");
        let board = xnorc_boards::board::find("icebreaker").unwrap();
        let path = Path::new("tfc.xnm");
        let folding = FoldingFile {
            lane_budget: Some(64),
            ..FoldingFile::default()
        };
        let fill = spend_fill(board.device.family);
        let start = fit_folding(&g, &folding, &board, fill, path, &Silent)
            .unwrap()
            .expect("the 64-lane budget fits");
        let before = lane_use(&start, &board);
        let plan =
            spend_the_rest(&g, start.clone(), &board, path, &Silent, &mut Vec::new()).unwrap();
        let after = lane_use(&plan, &board);
        assert!(
            plan.ii_cycles < start.ii_cycles,
            "{} → {}",
            start.ii_cycles,
            plan.ii_cycles
        );
        assert!(after.lanes > before.lanes && after.lanes <= after.lane_bound);
        assert!(plan_estimate(&plan, &board).fits(&board, fill));
        let slowest = plan
            .stages
            .iter()
            .max_by_key(|s| s.cycles_per_frame())
            .unwrap();
        assert_eq!(after.bottleneck_cycles, slowest.cycles_per_frame());
        if let Some((pe, simd)) = next_faster(&g, slowest, slowest.cycles_per_frame()) {
            let mut next = folding_of(&plan, &g);
            let layer = next.layers.get_mut(&slowest.layer).unwrap();
            (layer.pe, layer.simd) = (Some(pe), Some(simd));
            (layer.memory, layer.thresholds) = (None, None);
            assert!(
                fit_folding(&g, &next, &board, fill, path, &Silent)
                    .unwrap()
                    .is_none(),
                "{}'s next step ({pe} × {simd}) fits too: logic left unused",
                slowest.layer
            );
        }
    }
}
