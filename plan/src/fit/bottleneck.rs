//! The rest of the device for the bottleneck: after the widest lane budget that fits, the
//! slowest stage gets faster foldings while the estimate still fits ([`spend_the_rest`]); and
//! how much of the device a plan's lanes use ([`lane_use`], report.json's `fit`).

use super::{
    fit_stages, folding_of, move_roms_to_logic, plan_estimate, plan_stages, AUTO_LUT_FILL,
};
use crate::estimate;
use crate::lane::Lane;
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

/// The next faster folding of MVU stage `s`: the fewest lanes (PE | filters, SIMD | the
/// layer's SIMD unit) that take fewer cycles per frame, with the automatic rule's preferences
/// on ties. None for a layer the rule does not refold (codebook units, channel-sharing lanes,
/// split-channel probe rows) or one already fully parallel.
fn next_faster(graph: &Graph, s: &Stage) -> Option<(usize, usize)> {
    use xnorc_compiler::ir::{Geometry, Op};
    let StageKind::Mvu(m) = &s.kind else {
        return None;
    };
    if m.codebook.is_some() || m.probes > 0 || matches!(m.lane, Lane::Select { .. }) {
        return None;
    }
    let Op::MatMul(mm) = &graph.node(m.node).op else {
        return None;
    };
    let unit = match mm.geometry {
        Geometry::Dense => mm.weights.taps(),
        Geometry::Conv { .. } => mm.weights.in_channels,
    };
    let filters = m.o / m.fanout;
    let now = s.cycles_per_frame();
    let divisors = |n: usize| (1..=n).filter(move |d| n.is_multiple_of(*d));
    divisors(filters)
        .flat_map(|pe| divisors(unit).map(move |simd| (pe, simd)))
        .filter(|&(pe, simd)| m.vectors * (filters / pe) * (m.k / simd) < now)
        .min_by_key(|&(pe, simd)| {
            (
                pe * simd,
                simd > crate::folding::MAX_AUTO_SIMD,
                std::cmp::Reverse(simd),
            )
        })
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
/// stage's cycles. Stops at a slowest stage that is no MVU the rule refolds. Then sizes the
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
        let Some((pe, simd)) = next_faster(graph, slowest) else {
            break;
        };
        let mut next = folding.clone();
        let layer = next.layers.entry(slowest.layer.clone()).or_default();
        layer.pe = Some(pe);
        layer.simd = Some(simd);
        let (mut refolded, _, _) = plan_stages(graph, &next, model)?;
        if !move_roms_to_logic(&mut refolded, &others, board, fill) {
            break;
        }
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
    use xnorc_compiler::progress::Silent;

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
        if let Some((pe, simd)) = next_faster(&g, slowest) {
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
