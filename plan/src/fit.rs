//! Making a plan fit a board: the automatic folding (the widest lane budget whose estimate
//! fits), the placement of every writable buffer by the family's costs, and — when the block
//! RAMs run out before the LUTs — moving read-only memories (weights, thresholds) from block
//! RAM to logic, the ones that free a block for the fewest LUT4s first.
//!
//! Small or wide memories waste most of a block (a 256-bit × 36-word weight memory takes 8
//! DP16KDs for 9 kbit), so moving those to logic costs little and frees many blocks. Weight
//! memories of at most [`SHALLOW_WEIGHT_WORDS`] words go to logic whenever the LUTs allow.
//!
//! What the widest budget leaves goes to the slowest stage (`fit/bottleneck.rs`; [`lane_use`]
//! reports it).

use crate::estimate::{self, buffer_style, memory_cost, Estimate};
use crate::folding::{CodebookCompute, FoldingFile, LayerFolding, MemoryStyle, RegisterDefaults};
use crate::lane::Lane;
use crate::memories::{self, Memory, MemoryRole, Placement};
use crate::pipeline::HardwarePlan;
use crate::stage::{Stage, StageKind};
use crate::stages;
use std::path::Path;
use xnorc_boards::board::Board;
use xnorc_compiler::ir::Graph;
use xnorc_compiler::progress::Progress;
use xnorc_compiler::Result;

mod bottleneck;

use bottleneck::spend_the_rest;
pub use bottleneck::{lane_use, LaneUse};

/// Share of the device's LUT4s the automatic folding starts its lane budget from.
pub const LUT_SHARE: f64 = 0.6;

/// The most of the device's logic cells an automatic folding may be estimated to use
/// ([`estimate::Estimate::logic_cells`]): placement of an UP5K design at 84% of its logic cells
/// took nextpnr-ice40 over 5 minutes (measured), at 77% 20 s.
pub const AUTO_LUT_FILL: f64 = 0.8;

/// Places every buffer of `plan` by `board`'s family costs ([`estimate::buffer_style`]).
pub fn place_buffers(plan: &mut HardwarePlan, board: &Board) {
    let family = board.device.family;
    memories::place_buffers(plan, |m| buffer_style(family, m));
}

/// The memories of `stages` alone (no FIFOs or output queues: sized later), buffers left to
/// the family's rule — the placement [`place_buffers`] gives them.
fn stage_memories(stages: &[Stage]) -> Vec<Memory> {
    let none = Default::default();
    stages
        .iter()
        .flat_map(|s| memories::stage_memories(s, &none))
        .map(|m| match m.placement {
            Placement::Buffer(_) => Memory {
                placement: Placement::Buffer(None),
                ..m
            },
            Placement::Rom(_) => m,
        })
        .collect()
}

/// Read-only memories (weights, thresholds) the plan keeps in logic.
pub fn logic_roms(plan: &HardwarePlan) -> usize {
    memories::plan_memories(plan)
        .iter()
        .filter(|m| m.placement == Placement::Rom(MemoryStyle::Lut))
        .count()
}

/// The whole plan's estimate on `board`.
pub fn plan_estimate(plan: &HardwarePlan, board: &Board) -> Estimate {
    estimate::estimate(&plan.stages, &memories::plan_memories(plan), board)
}

/// The estimate on `board` of `stages` with the other memories `others`, and all memories.
fn estimate_with(stages: &[Stage], others: &[Memory], board: &Board) -> (Estimate, Vec<Memory>) {
    let mut all = stage_memories(stages);
    all.extend_from_slice(others);
    (estimate::estimate(stages, &all, board), all)
}

/// Moves read-only memories of `stages` from block RAM to logic until the design (whose other
/// memories are `others`) fits `board` with at most `lut_fraction` of its LUT4s; each step
/// takes the memory that frees a block for the fewest LUT4s. False if it cannot fit.
fn move_roms_to_logic(
    stages: &mut [Stage],
    others: &[Memory],
    board: &Board,
    lut_fraction: f64,
) -> bool {
    let family = board.device.family;
    loop {
        let (est, all) = estimate_with(stages, others, board);
        if est.fits(board, lut_fraction) {
            return true;
        }
        if est.ram_blocks as u64 <= board.device.ram_blocks {
            return false; // over in LUTs: moving memories to logic only makes it worse
        }
        let best = all
            .iter()
            .filter(|m| m.placement == Placement::Rom(MemoryStyle::Block))
            .filter_map(|m| cost_in_logic(family, m).map(|cost| (cost, m)))
            .min_by(|(a, _), (b, _)| fewer_luts_per_block(*a, *b));
        let Some((_, m)) = best else {
            return false;
        };
        place_rom(stages, &m.component, m.role, MemoryStyle::Lut);
    }
}

/// What moving block-RAM ROM `m` to logic costs on `family`: (LUT4s it takes, blocks it
/// frees); None if it holds no block.
fn cost_in_logic(family: xnorc_boards::Family, m: &Memory) -> Option<(usize, usize)> {
    let (blocks, _) = memory_cost(family, m);
    let logic = Memory {
        placement: Placement::Rom(MemoryStyle::Lut),
        ..m.clone()
    };
    (blocks > 0).then(|| (memory_cost(family, &logic).1, blocks))
}

/// Orders two (LUT4s, blocks) costs by LUT4s per block freed, compared exactly as fractions.
fn fewer_luts_per_block(a: (usize, usize), b: (usize, usize)) -> std::cmp::Ordering {
    (a.0 * b.1).cmp(&(b.0 * a.1))
}

/// Puts ROM `role` (weights or thresholds) of stage `component` in `style`.
fn place_rom(stages: &mut [Stage], component: &str, role: MemoryRole, style: MemoryStyle) {
    for s in stages.iter_mut().filter(|s| s.name == component) {
        if let StageKind::Mvu(m) = &mut s.kind {
            match role {
                MemoryRole::Weights => m.memory = style,
                _ => m.threshold_memory = style,
            }
        }
    }
}

/// Weight memories at most this deep go to logic when the LUTs allow. A LUT4 holds 16 words
/// of one bit, so in logic such a memory costs one LUT4 per bit and sits beside the lanes it
/// feeds; in block RAM it fills at most 16 of a block's 256 (SB_RAM40_4K) or 512 (DP16KD)
/// words, and a wide one spreads over a column of blocks that every lane must reach. Measured
/// (docs/benchmarks.md): TFC's fc1 at II 7 on the LFE5U-85F, 7 words of 7,168 bits, took 201
/// DP16KDs and its routing stayed congested; in logic it routed in minutes.
pub const SHALLOW_WEIGHT_WORDS: usize = 16;

/// Moves the weight memories of `stages` that are at most [`SHALLOW_WEIGHT_WORDS`] deep from
/// block RAM to logic, fewest LUT4s per block first, each only if the design (whose other
/// memories are `others`) still fits `board` at `lut_fraction`. A layer whose memory the
/// folding file names stays where the file put it. Returns how many moved.
fn shallow_weights_to_logic(
    graph: &Graph,
    folding: &FoldingFile,
    stages: &mut [Stage],
    others: &[Memory],
    board: &Board,
    lut_fraction: f64,
) -> usize {
    let family = board.device.family;
    // A layer whose memory the folding file sets keeps it.
    let set_by_file = |component: &str| {
        stages.iter().any(|s| match &s.kind {
            StageKind::Mvu(m) if s.name == component => folding
                .layers
                .get(&graph.node(m.node).name)
                .is_some_and(|l| l.memory.is_some()),
            _ => false,
        })
    };
    let mut candidates: Vec<((usize, usize), Memory)> = stage_memories(stages)
        .into_iter()
        .filter(|m| {
            m.role == MemoryRole::Weights
                && m.placement == Placement::Rom(MemoryStyle::Block)
                && (2..=SHALLOW_WEIGHT_WORDS).contains(&m.depth)
                && !set_by_file(&m.component)
        })
        .filter_map(|m| cost_in_logic(family, &m).map(|cost| (cost, m)))
        .collect();
    // Fewest LUT4s per block freed first (ties: pipeline order).
    candidates.sort_by(|(a, _), (b, _)| fewer_luts_per_block(*a, *b));
    let mut moved = 0;
    for (_, m) in candidates {
        place_rom(stages, &m.component, m.role, MemoryStyle::Lut);
        if estimate_with(stages, others, board)
            .0
            .fits(board, lut_fraction)
        {
            moved += 1;
        } else {
            place_rom(stages, &m.component, m.role, MemoryStyle::Block);
        }
    }
    moved
}

/// Completes `folding` into a plan for `board`: buffers placed, and read-only memories moved
/// to logic if the block RAMs would otherwise run out (unless the folding file placed them).
/// None if it does not fit. Sizing the buffers can take minutes: `progress` hears of it.
pub fn fit_folding(
    graph: &xnorc_compiler::ir::Graph,
    folding: &FoldingFile,
    board: &Board,
    lut_fraction: f64,
    model: &Path,
    progress: &dyn Progress,
) -> Result<Option<HardwarePlan>> {
    let planned = plan_stages(graph, folding, model)?;
    fit_stages(
        graph,
        folding,
        planned,
        board,
        lut_fraction,
        progress,
        &mut Vec::new(),
    )
}

/// The stages of `folding` (with the tree pipeline and input order), errors in the model's name.
fn plan_stages(
    graph: &xnorc_compiler::ir::Graph,
    folding: &FoldingFile,
    model: &Path,
) -> Result<(Vec<Stage>, u32, Vec<usize>)> {
    stages::plan_stages(graph, folding).map_err(|e| e.in_file(model.display().to_string()))
}

/// [`fit_folding`] of stages already planned from `folding`; `over` holds stages whose sized
/// buffers took them over (these are not sized again: the same stages give the same plan) and
/// gains these if they do.
fn fit_stages(
    graph: &xnorc_compiler::ir::Graph,
    folding: &FoldingFile,
    (mut stages, tree_pipeline, input_order): (Vec<Stage>, u32, Vec<usize>),
    board: &Board,
    lut_fraction: f64,
    progress: &dyn Progress,
    over: &mut Vec<Vec<Stage>>,
) -> Result<Option<HardwarePlan>> {
    if over.contains(&stages) {
        return Ok(None);
    }
    let planned = stages.clone();
    // Stages only first: the cycle model and FIFO sizing run once the memories fit (memory
    // placement changes neither).
    if !move_roms_to_logic(&mut stages, &[], board, lut_fraction) {
        return Ok(None);
    }
    let what = folding_name(folding);
    let mut plan = stages::plan_with_progress(
        graph,
        stages,
        tree_pipeline,
        input_order,
        folding.memory_output_register.unwrap_or(false),
        (progress, &format!("      {what}")),
    );
    plan.reset_copies = folding.reset_copies.unwrap_or(false);
    place_buffers(&mut plan, board);
    // The FIFOs and output queues may still tip it over.
    let others: Vec<Memory> = memories::plan_memories(&plan)
        .into_iter()
        .filter(|m| matches!(m.role, MemoryRole::Fifo | MemoryRole::OutputQueue))
        .collect();
    let fits = move_roms_to_logic(&mut plan.stages, &others, board, lut_fraction);
    if fits {
        let moved = shallow_weights_to_logic(
            graph,
            folding,
            &mut plan.stages,
            &others,
            board,
            lut_fraction,
        );
        if moved > 0 {
            let memories = if moved == 1 { "memory" } else { "memories" };
            progress.note(&format!(
                "      {what}: {moved} weight {memories} of at most {SHALLOW_WEIGHT_WORDS} words \
                 kept in logic"
            ));
        }
    } else {
        over.push(planned);
        let est = plan_estimate(&plan, board);
        progress.note(&format!(
            "      {what}: over with its sized buffers: {} logic cells (at most {}), {} of {} \
             block RAMs",
            est.logic_cells(board.device.family),
            (board.device.luts as f64 * lut_fraction) as u64,
            est.ram_blocks,
            board.device.ram_blocks
        ));
    }
    Ok(fits.then_some(plan))
}

/// How the fit's notes name a folding: its lane budget, or the folding file's own.
fn folding_name(folding: &FoldingFile) -> String {
    let packed = if folding.layers.is_empty() {
        ""
    } else {
        " (weights packed into block RAM)"
    };
    match folding.lane_budget {
        Some(b) => format!("lane budget {b}{packed}"),
        None => "the folding".to_string(),
    }
}

/// [`fit_folding`] of `folding` with its weight memories packed into block RAM
/// ([`packed_folding`]) if that fits, else of `folding` as it is.
pub fn fit_with_packing(
    graph: &xnorc_compiler::ir::Graph,
    folding: &FoldingFile,
    board: &Board,
    lut_fraction: f64,
    model: &Path,
    progress: &dyn Progress,
) -> Result<Option<HardwarePlan>> {
    let at = (board, lut_fraction);
    fit_packed_or_not(graph, folding, at, model, progress, &mut Vec::new())
}

/// [`fit_with_packing`] on `board` at `lut_fraction`, skipping stages in `over` and adding
/// those its sizing finds over (see [`fit_stages`]).
fn fit_packed_or_not(
    graph: &Graph,
    folding: &FoldingFile,
    (board, lut_fraction): (&Board, f64),
    model: &Path,
    progress: &dyn Progress,
    over: &mut Vec<Vec<Stage>>,
) -> Result<Option<HardwarePlan>> {
    let planned = plan_stages(graph, folding, model)?;
    if let Some(packed) = packed_folding(graph, folding, &planned.0, board.device.family) {
        let packed_stages = plan_stages(graph, &packed, model)?;
        let plan = fit_stages(
            graph,
            &packed,
            packed_stages,
            board,
            lut_fraction,
            progress,
            over,
        )?;
        if plan.is_some() {
            return Ok(plan);
        }
    }
    fit_stages(graph, folding, planned, board, lut_fraction, progress, over)
}

/// What the most serial automatic folding (one lane per layer) needs on `board`: its estimate
/// with the read-only memories where the plan puts them, and with every one of them in logic —
/// the two ends between which the fit moves memories. For the does-not-fit error.
pub fn serial_need(
    graph: &xnorc_compiler::ir::Graph,
    board: &Board,
    registers: RegisterDefaults,
    model: &Path,
) -> Result<(Estimate, Estimate)> {
    let folding = FoldingFile {
        lane_budget: Some(1),
        ..registers.folding()
    };
    let (mut stages, _, _) = plan_stages(graph, &folding, model)?;
    let planned = estimate::estimate(&stages, &stage_memories(&stages), board);
    for s in &mut stages {
        if let StageKind::Mvu(m) = &mut s.kind {
            m.memory = MemoryStyle::Lut;
            m.threshold_memory = MemoryStyle::Lut;
        }
    }
    let in_logic = estimate::estimate(&stages, &stage_memories(&stages), board);
    Ok((planned, in_logic))
}

/// Most lanes block-RAM packing may give a layer, as a multiple of the automatic choice: more
/// would trade too many LUT4s for blocks.
const MAX_PACKING_GROWTH: usize = 4;

/// Block-RAM packing: the automatic folding balances cycles, blind to the RAM shapes. A weight
/// memory one or two bits wide and deep wastes most of each block (an iCE40 SB_RAM40_4K is at
/// best 2,048 × 2, so a one-bit memory fills half; an ECP5 DP16KD at 36 bits wide needs 512
/// words to be full). For each layer of `stages` whose weights are in block RAM and whose
/// folding the file leaves open, this widens PE or SIMD (up to [`MAX_PACKING_GROWTH`] times
/// the lanes) when the same bits in wider, shallower words take fewer blocks; the layer only
/// gets faster. None if no layer gains. Codebook layers (whose PE and SIMD the cost rule
/// reinterprets) and layers with split-channel probe rows keep their folding.
fn packed_folding(
    graph: &xnorc_compiler::ir::Graph,
    folding: &FoldingFile,
    stages: &[Stage],
    family: xnorc_boards::Family,
) -> Option<FoldingFile> {
    use xnorc_compiler::ir::{Geometry, Op};
    let mut packed = folding.clone();
    let mut gained = false;
    for s in stages {
        let StageKind::Mvu(m) = &s.kind else { continue };
        // Folding files key layers by the model's names; stage names are sanitized.
        let node = graph.node(m.node);
        let given = folding.layers.get(&node.name);
        if m.memory != MemoryStyle::Block
            || m.codebook.is_some()
            || m.probes > 0
            || given.is_some_and(|l| l.pe.is_some() || l.simd.is_some())
        {
            continue;
        }
        let Op::MatMul(mm) = &node.op else {
            continue;
        };
        let filters = m.o / m.fanout;
        let unit = match mm.geometry {
            Geometry::Dense => mm.weights.taps(),
            Geometry::Conv { .. } => mm.weights.in_channels,
        };
        let (depth, width) = (m.weight_words.len(), m.word_bits());
        let bits = depth * width;
        let blocks = |grow: usize| {
            let w = width * grow;
            family.ram_blocks_for(bits.div_ceil(w), w)
        };
        // Fewest blocks, then fewest lanes; on a tie the first found, which widens SIMD before
        // PE (fewer accumulators and comparators, as the automatic rule prefers).
        let mut best = (blocks(1), 1, m.pe, m.simd);
        for a in 1..=MAX_PACKING_GROWTH {
            for c in 1..=MAX_PACKING_GROWTH / a {
                let (pe, simd) = (m.pe * a, m.simd * c);
                if !filters.is_multiple_of(pe) || !unit.is_multiple_of(simd) {
                    continue;
                }
                let candidate = (blocks(a * c), a * c, pe, simd);
                if (candidate.0, candidate.1) < (best.0, best.1) {
                    best = candidate;
                }
            }
        }
        if best.1 > 1 {
            let layer = packed.layers.entry(node.name.clone()).or_default();
            layer.pe = Some(best.2);
            layer.simd = Some(best.3);
            gained = true;
        }
    }
    gained.then_some(packed)
}

/// The widest automatic folding whose estimate fits `board`, lane budgets tried from the
/// device's LUT share down; `progress` hears of each budget that gets as far as sizing its
/// buffers. Neighbouring budgets often fold every layer alike: stages already sized without
/// fitting are not sized again (a sizing takes minutes for a deep serial pipeline).
pub fn fitting_plan(
    model: &Path,
    board: &Board,
    registers: RegisterDefaults,
    progress: &dyn Progress,
) -> Result<Option<HardwarePlan>> {
    let graph = xnorc_compiler::load::load_graph(model)?;
    let lane_luts = estimate::luts_per_lane(board.device.family);
    let mut budget = ((board.device.luts as f64 * LUT_SHARE / lane_luts) as usize).max(1);
    let mut over = Vec::new();
    loop {
        let folding = FoldingFile {
            lane_budget: Some(budget),
            ..registers.folding()
        };
        let at = (board, AUTO_LUT_FILL);
        if let Some(plan) = fit_packed_or_not(&graph, &folding, at, model, progress, &mut over)? {
            return spend_the_rest(&graph, plan, board, model, progress, &mut over).map(Some);
        }
        if budget == 1 {
            return Ok(None);
        }
        budget = (budget * 3 / 4).max(1);
    }
}

/// The folding file that reproduces `plan`'s PE/SIMD/memory choices.
pub fn folding_of(plan: &HardwarePlan, graph: &Graph) -> FoldingFile {
    let mut f = FoldingFile {
        tree_pipeline: Some(plan.tree_pipeline),
        memory_output_register: Some(plan.memory_output_register),
        reset_copies: Some(plan.reset_copies),
        ..FoldingFile::default()
    };
    for s in &plan.stages {
        if let StageKind::Mvu(m) = &s.kind {
            // Folding files name layers as the model does; stage names are sanitized.
            f.layers.insert(
                graph.node(m.node).name.clone(),
                LayerFolding {
                    pe: Some(m.pe),
                    simd: Some(m.folding_simd()),
                    memory: Some(m.memory),
                    thresholds: Some(m.threshold_memory),
                    fanout: Some(m.fanout > 1),
                    compute: match (&m.codebook, m.lane) {
                        (Some(cb), _) if cb.whole_kernels => Some(CodebookCompute::Kernels),
                        (Some(_), _) => Some(CodebookCompute::Decode),
                        (None, Lane::Select { .. }) => Some(CodebookCompute::Share),
                        _ => None,
                    },
                    broadcast_register: Some(m.broadcast_register),
                },
            );
        }
    }
    f
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use xnorc_compiler::progress::Silent;

    pub(super) fn graph(preset: &str) -> xnorc_compiler::ir::Graph {
        let model = xnorc_compiler::presets::find(preset).unwrap().generate(1);
        xnorc_compiler::passes::lower(&model).unwrap()
    }

    /// The folding's `broadcast_register` default reaches every unit that can take it and
    /// passes over one that decodes codebook indices; asked for on that layer itself, or
    /// without the second operand register, it is an error naming the field.
    #[test]
    fn broadcast_default_skips_what_cannot_take_it() {
        let graph = graph("cnv-small-codebook");
        let trees = |json: &str| -> Result<Vec<(String, bool)>> {
            let folding: FoldingFile = serde_json::from_str(json).unwrap();
            let (stages, _, _) = stages::plan_stages(&graph, &folding)?;
            Ok(stages
                .iter()
                .filter_map(|s| match &s.kind {
                    StageKind::Mvu(m) => Some((s.layer.clone(), m.broadcast_register)),
                    _ => None,
                })
                .collect())
        };
        // cnv-small-codebook's conv2 and conv3 are codebook layers: one decodes, one shares.
        let decode = r#""conv2": {"compute": "decode"}, "conv3": {"compute": "share"}"#;
        let on = trees(&format!(
            r#"{{"memory_output_register": true, "broadcast_register": true,
                 "layers": {{{decode}}}}}"#
        ))
        .unwrap();
        assert!(on.len() >= 4, "{on:?}");
        for (layer, tree) in &on {
            assert_eq!(*tree, layer != "conv2", "{on:?}");
        }
        let without = trees(r#"{"broadcast_register": true}"#).unwrap();
        assert!(without.iter().all(|(_, tree)| !tree), "{without:?}");
        for json in [
            r#"{"memory_output_register": true,
                "layers": {"conv2": {"compute": "decode", "broadcast_register": true}}}"#,
            r#"{"layers": {"fc1": {"broadcast_register": true}}}"#,
        ] {
            let e = trees(json).unwrap_err();
            assert!(
                e.field
                    .as_deref()
                    .is_some_and(|f| f.ends_with(".broadcast_register")),
                "{json}: {e}"
            );
        }
    }

    /// The folding a build writes names layers as the model does, not by their sanitized
    /// identifiers, so `verify --bitstream` and `run` re-plan an imported model (whose ONNX
    /// names such as "/features.2/MatMul" are not identifiers) from it.
    #[test]
    fn written_foldings_name_layers_as_the_model_does() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/qonnx/fc_digits.onnx");
        let g = xnorc_compiler::load::load_graph(&path).unwrap();
        let first = stages::plan(&g, &Default::default()).unwrap();
        let folding = folding_of(&first, &g);
        let names: Vec<&str> = folding.layers.keys().map(|k| k.as_str()).collect();
        assert!(names.contains(&"/features.2/MatMul"), "{names:?}");
        assert!(names.iter().all(|n| g.nodes.iter().any(|x| x.name == *n)));
        let again = stages::plan(&g, &folding).unwrap();
        assert_eq!(again, first);
        // Packing reads and writes the same keys: the bundled model's layers ("MatMul_0", …)
        // are not identifiers ("matmul_0"), and its serial first layer (50,176 × 1 bits) wastes
        // half of each SB_RAM40_4K.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/tfc_w1a1_mnist.onnx");
        let g = xnorc_compiler::load::load_graph(&path).unwrap();
        let serial = FoldingFile {
            lane_budget: Some(1),
            ..FoldingFile::default()
        };
        let (stages, _, _) = stages::plan_stages(&g, &serial).unwrap();
        let packed = packed_folding(&g, &serial, &stages, xnorc_boards::Family::Ice40)
            .expect("the first layer gains");
        assert!(
            packed.layers.contains_key("MatMul_0"),
            "{:?}",
            packed.layers
        );
        stages::plan(&g, &packed).expect("the packed folding plans");
    }

    /// LUT4s per block freed by moving `m` to logic, as a fraction (luts, blocks).
    fn ratio(family: xnorc_boards::Family, m: &Memory) -> (usize, usize) {
        let (blocks, _) = memory_cost(family, m);
        let logic = Memory {
            placement: Placement::Rom(MemoryStyle::Lut),
            ..m.clone()
        };
        (memory_cost(family, &logic).1, blocks)
    }

    #[test]
    fn moves_the_cheapest_memories_out_of_block_ram_until_it_fits() {
        let g = graph("cnv-small-tiled");
        let mut board = xnorc_boards::board::find("icebreaker").unwrap();
        let family = board.device.family;
        let folding = FoldingFile {
            lane_budget: Some(64),
            ..FoldingFile::default()
        };
        let as_planned = stages::plan(&g, &folding).unwrap();
        let mut placed = as_planned.clone();
        place_buffers(&mut placed, &board);
        let needed = plan_estimate(&placed, &board).ram_blocks;
        assert!(needed > 4, "the preset needs block RAM ({needed})");
        // A device with fewer blocks than the folding's memories need, and LUTs to spare.
        board.device.ram_blocks = (needed - 3) as u64;
        board.device.luts = 1_000_000;
        let path = Path::new("cnv-small-tiled.xnm");
        let plan = fit_folding(&g, &folding, &board, 1.0, path, &Silent)
            .unwrap()
            .expect("fits once memories move to logic");
        let est = plan_estimate(&plan, &board);
        assert!(est.ram_blocks as u64 <= board.device.ram_blocks, "{est:?}");
        // Only read-only memories moved, and the ones moved cost no more LUT4s per block freed
        // than any left in block RAM (the greedy takes them cheapest first).
        let before = memories::plan_memories(&as_planned);
        let after = memories::plan_memories(&plan);
        let roms = |ms: &[Memory], style| -> Vec<Memory> {
            ms.iter()
                .filter(|m| m.placement == Placement::Rom(style))
                .cloned()
                .collect()
        };
        let moved: Vec<Memory> = roms(&before, MemoryStyle::Block)
            .into_iter()
            .filter(|m| {
                roms(&after, MemoryStyle::Lut)
                    .iter()
                    .any(|a| a.key() == m.key())
            })
            .collect();
        assert!(!moved.is_empty());
        for m in &moved {
            for kept in roms(&after, MemoryStyle::Block) {
                let (a, b) = (ratio(family, m), ratio(family, &kept));
                assert!(
                    a.0 * b.1 <= b.0 * a.1,
                    "{} moved before {}",
                    m.key(),
                    kept.key()
                );
            }
        }
        // Every buffer is placed, and the folding file the build writes reproduces the choice.
        assert!(after
            .iter()
            .all(|m| !matches!(m.placement, Placement::Buffer(None))));
        let again = folding_of(&plan, &g);
        let mut replanned = stages::plan(&g, &again).unwrap();
        place_buffers(&mut replanned, &board);
        assert_eq!(memories::plan_memories(&replanned), after);
    }

    #[test]
    fn packing_widens_layers_whose_weights_waste_their_blocks() {
        // cnv-small with one lane per layer: fc1 (1,152 inputs × 64 outputs) is a 73,728 × 1
        // weight memory. An SB_RAM40_4K is at best 2,048 × 2, so it takes 36 blocks half
        // empty; two lanes (36,864 × 2) fill 18 — by hand from the iCE40 RAM shapes.
        let g = graph("cnv-small");
        let board = xnorc_boards::board::find("icebreaker").unwrap();
        let family = board.device.family;
        let serial = FoldingFile {
            lane_budget: Some(1),
            ..FoldingFile::default()
        };
        let (stages, _, _) = stages::plan_stages(&g, &serial).unwrap();
        let packed = packed_folding(&g, &serial, &stages, family).expect("fc1 gains");
        let fc1 = &packed.layers["fc1"];
        assert_eq!(fc1.pe.unwrap() * fc1.simd.unwrap(), 2);
        let weights = |stages: &[Stage], name: &str| -> Memory {
            stage_memories(stages)
                .into_iter()
                .find(|m| m.component == name && m.role == MemoryRole::Weights)
                .unwrap()
        };
        let before = weights(&stages, "fc1");
        assert_eq!((before.depth, before.width), (73_728, 1));
        assert_eq!(memory_cost(family, &before).0, 36);
        let (repacked, _, _) = stages::plan_stages(&g, &packed).unwrap();
        let after = weights(&repacked, "fc1");
        assert_eq!((after.depth, after.width), (36_864, 2));
        assert_eq!(memory_cost(family, &after).0, 18);
        // Every widened layer stays within the growth limit, and the design takes fewer blocks.
        for (name, layer) in &packed.layers {
            let s = stages.iter().find(|s| &s.name == name).unwrap();
            let StageKind::Mvu(m) = &s.kind else {
                panic!("{name} is not a matrix layer")
            };
            let grown = layer.pe.unwrap() * layer.simd.unwrap();
            assert!(grown > m.pe * m.simd && grown <= MAX_PACKING_GROWTH * m.pe * m.simd);
        }
        let blocks = |stages: &[Stage]| {
            estimate::estimate(stages, &stage_memories(stages), &board).ram_blocks
        };
        assert!(blocks(&repacked) < blocks(&stages));
        // A folding file that sets a layer is left alone there.
        let mut fixed = serial.clone();
        fixed.layers.insert(
            "fc1".into(),
            LayerFolding {
                simd: Some(1),
                ..Default::default()
            },
        );
        let (stages, _, _) = stages::plan_stages(&g, &fixed).unwrap();
        let packed = packed_folding(&g, &fixed, &stages, family);
        assert!(packed.is_none_or(|p| p.layers["fc1"].pe.is_none()));
    }

    #[test]
    fn shallow_weight_memories_go_to_logic_when_the_luts_allow() {
        // TFC's fc1 at PE 64, SIMD 112: 7 words of 7,168 bits, which the size rule puts in
        // block RAM (ceil(7,168 / 36) = 200 DP16KDs, 7 of each block's 512 words used).
        let g = graph("tfc");
        let board = xnorc_boards::board::find("ulx3s-85f").unwrap();
        let fc1 = |memory: Option<MemoryStyle>| FoldingFile {
            layers: [(
                "fc1".to_string(),
                LayerFolding {
                    pe: Some(64),
                    simd: Some(112),
                    memory,
                    ..Default::default()
                },
            )]
            .into(),
            ..FoldingFile::default()
        };
        let weights = |plan: &HardwarePlan| {
            memories::plan_memories(plan)
                .into_iter()
                .find(|m| m.component == "fc1" && m.role == MemoryRole::Weights)
                .unwrap()
        };
        let path = Path::new("tfc.xnm");
        let planned = stages::plan(&g, &fc1(None)).unwrap();
        let before = weights(&planned);
        assert_eq!((before.depth, before.width), (7, 7_168));
        assert_eq!(before.placement, Placement::Rom(MemoryStyle::Block));
        let fit = |folding: &FoldingFile, board: &Board| {
            fit_folding(&g, folding, board, AUTO_LUT_FILL, path, &Silent)
                .unwrap()
                .expect("fits")
        };
        let plan = fit(&fc1(None), &board);
        assert_eq!(weights(&plan).placement, Placement::Rom(MemoryStyle::Lut));
        assert!(plan_estimate(&plan, &board).fits(&board, AUTO_LUT_FILL));
        // Where the folding file places it, it stays.
        let plan = fit(&fc1(Some(MemoryStyle::Block)), &board);
        assert_eq!(weights(&plan).placement, Placement::Rom(MemoryStyle::Block));
        // And without the LUTs for it: a device just large enough for the block RAM design.
        let family = board.device.family;
        let in_block = plan_estimate(&planned_on(&g, &fc1(None), &board), &board);
        let mut small = board.clone();
        small.device.luts = (in_block.logic_cells(family) as f64 / AUTO_LUT_FILL).ceil() as u64;
        assert!(in_block.fits(&small, AUTO_LUT_FILL));
        let plan = fit(&fc1(None), &small);
        assert_eq!(weights(&plan).placement, Placement::Rom(MemoryStyle::Block));
    }

    /// `folding` planned with its buffers placed for `board`, nothing moved.
    fn planned_on(g: &Graph, folding: &FoldingFile, board: &Board) -> HardwarePlan {
        let mut plan = stages::plan(g, folding).unwrap();
        place_buffers(&mut plan, board);
        plan
    }

    #[test]
    fn a_model_whose_weights_exceed_the_device_does_not_fit() {
        let g = graph("cnv-small");
        let mut board = xnorc_boards::board::find("icebreaker").unwrap();
        board.device.ram_blocks = 0;
        board.device.luts = 100;
        let folding = FoldingFile::default();
        let path = Path::new("cnv-small.xnm");
        assert!(fit_folding(&g, &folding, &board, 0.75, path, &Silent)
            .unwrap()
            .is_none());
    }
}
#[cfg(test)]
mod memo_tests {
    use super::*;
    use std::sync::Mutex;
    use xnorc_compiler::progress::Silent;

    /// Keeps the steps and notes.
    #[derive(Default)]
    struct Notes(Mutex<Vec<String>>);

    impl Progress for Notes {
        fn step(&self, what: &str, _: Option<u64>) {
            self.note(what);
        }
        fn advance(&self, _: u64) {}
        fn note(&self, line: &str) {
            self.0.lock().unwrap().push(line.trim().to_string());
        }
        fn done(&self) {}
    }

    /// Stages sized and found over are not sized again for a narrower budget that folds
    /// alike, and the fit chooses what trying every budget in turn chooses.
    #[test]
    fn stages_sized_once() {
        let dir = std::env::temp_dir().join(format!("xnorc-fit-memo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let model = xnorc_compiler::presets::find("tiny-residual")
            .unwrap()
            .generate(1);
        let path = dir.join("tiny-residual.xnm");
        std::fs::write(&path, xnorc_compiler::format::to_json(&model)).unwrap();
        let graph = xnorc_compiler::passes::lower(&model).unwrap();
        let board = xnorc_boards::board::find("icebreaker").unwrap();
        let notes = Notes::default();
        let plan = fitting_plan(&path, &board, RegisterDefaults::default(), &notes)
            .unwrap()
            .expect("fits");
        std::fs::remove_dir_all(&dir).unwrap();
        // The budgets sized, by the notes, and their stages (packing aside: none here).
        let notes = notes.0.into_inner().unwrap();
        let sized: Vec<usize> = notes
            .iter()
            .filter_map(|n| n.strip_prefix("lane budget "))
            .filter_map(|n| n.split_once(": sizing ").map(|(b, _)| b))
            .map(|b| b.parse().expect("a budget without packing"))
            .collect();
        let stages_of = |budget: usize| {
            let folding = FoldingFile {
                lane_budget: Some(budget),
                memory_output_register: Some(false),
                ..FoldingFile::default()
            };
            stages::plan_stages(&graph, &folding).unwrap().0
        };
        let sized_stages: Vec<_> = sized.iter().map(|&b| stages_of(b)).collect();
        for (i, a) in sized_stages.iter().enumerate() {
            assert!(
                !sized_stages[..i].contains(a),
                "budget {} sized twice: {notes:?}",
                sized[i]
            );
        }
        // Every budget in turn, each sized: the first that fits.
        let first = sized[0];
        let mut budget = first;
        let mut skipped = 0;
        let expected = loop {
            let folding = FoldingFile {
                lane_budget: Some(budget),
                memory_output_register: Some(false),
                ..FoldingFile::default()
            };
            let path = Path::new("tiny-residual.xnm");
            if let Some(p) =
                fit_with_packing(&graph, &folding, &board, AUTO_LUT_FILL, path, &Silent).unwrap()
            {
                break p;
            }
            skipped += usize::from(!sized.contains(&budget));
            budget = (budget * 3 / 4).max(1);
        };
        assert_eq!(folding_of(&plan, &graph), folding_of(&expected, &graph));
        assert!(
            skipped > 0,
            "a budget over like a wider one was skipped: {notes:?}"
        );
    }
}
