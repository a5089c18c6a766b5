//! `xnorc compile`: model → hardware plan → Verilog, memory files and plan.json.

use crate::errors::{write_output, CliError};
use std::path::{Path, PathBuf};
use xnorc_compiler::plan::folding::FoldingFile;
use xnorc_compiler::plan::{self, HardwarePlan, Lane, StageKind};
use xnorc_compiler::{ir::Graph, passes};

#[derive(clap::Args)]
pub struct Args {
    /// Model file (.xnm, or .onnx imported on the way).
    pub model: PathBuf,
    /// Output directory.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Folding file (PE, SIMD, memory style per layer; see docs/hardware.md).
    #[arg(long)]
    pub folding: Option<PathBuf>,
    /// LUT4 budget for the automatic folding of layers the folding file does not fix.
    #[arg(long)]
    pub lut_budget: Option<usize>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Loads the model and folding and builds the plan.
///
/// `memory_output_register` is the default for a folding that does not say (the board build
/// picks it by device family; everything else uses false).
pub fn build_plan(
    model: &Path,
    folding: Option<&Path>,
    lut_budget: Option<usize>,
    memory_output_register: bool,
) -> Result<(Graph, HardwarePlan), CliError> {
    let graph = passes::load_graph(model)?;
    let folding_path = folding;
    let mut folding = match folding {
        Some(f) => FoldingFile::load(f)?,
        None => FoldingFile::default(),
    };
    folding
        .memory_output_register
        .get_or_insert(memory_output_register);
    if let Some(luts) = lut_budget {
        folding.lane_budget = Some(xnorc_compiler::plan::folding::lanes_for_luts(luts));
    }
    let plan = plan::plan(&graph, &folding).map_err(|e| {
        // A problem in a `layers.*` entry is the folding file's; anything else the model's.
        let in_folding = e.field.as_deref().is_some_and(|f| f.starts_with("layers"));
        match (folding_path, in_folding) {
            (Some(f), true) => e.in_file(f.display().to_string()),
            _ => e.in_file(model.display().to_string()),
        }
    })?;
    Ok((graph, plan))
}

/// plan.json: the plan with per-stage cycles and memory figures.
pub fn plan_json(plan: &HardwarePlan) -> serde_json::Value {
    use xnorc_compiler::plan::schedule::Component;
    // Per stage: first input beat → first output beat in the stall-free model run.
    let stage_latency = |i: usize| {
        plan.pipeline
            .iter()
            .position(|c| match c {
                Component::Mvu { stage, .. }
                | Component::Swg { stage, .. }
                | Component::Responses { stage, .. }
                | Component::SplitThreshold { stage, .. }
                | Component::Pool { stage, .. }
                | Component::Scores { stage, .. } => *stage == i,
                _ => false,
            })
            .and_then(|c| plan.timing.component_latency(c))
    };
    let stages: Vec<serde_json::Value> = plan
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut v = stage_json(s);
            v["latency_cycles"] = serde_json::json!(stage_latency(i));
            v
        })
        .collect();
    serde_json::json!({
        "model": plan.model,
        "tree_pipeline": plan.tree_pipeline,
        "memory_output_register": plan.memory_output_register,
        "latency_cycles": plan.latency_cycles,
        "ii_cycles": plan.ii_cycles,
        "stages": stages,
        "pipeline": plan.pipeline,
        // Every memory and where it lives (buffers unplaced, `null`, without a board).
        "memories": xnorc_compiler::plan::memories::plan_memories(plan),
        "predicted_output_cycles": plan.timing.output_cycles,
    })
}

fn stage_json(s: &xnorc_compiler::plan::Stage) -> serde_json::Value {
    match &s.kind {
        StageKind::Mvu(m) => serde_json::json!({
            "name": s.name, "kind": "mvu", "pe": m.pe, "simd": m.simd,
            "nf": m.nf(), "sf": m.sf(), "lane": m.lane,
            "vectors": m.vectors,
            "cycles_per_frame": m.vectors * m.nf() * m.sf(),
            "accumulator_bits": m.acc_bits,
            "memory_bits": m.weight_bits(), "memory_style": m.memory,
            "weight_storage": m.storage, "dense_weight_bits": m.dense_weight_bits(),
            "weight_rows": m.rows(), "fanout": m.fanout, "probe_rows": m.probes,
            "codebook": m.codebook,
            "input": s.input, "output": s.output,
        }),
        StageKind::Swg(g) => serde_json::json!({
            "name": s.name, "kind": "swg", "window": [g.window.kh, g.window.kw], "stride": g.window.stride,
            "line_buffer_rows": g.window.rows, "masked_padding": g.masked,
            "cycles_per_frame": s.output.beats.max(s.input.beats),
            "memory_bits": g.window.rows * g.window.w * g.c * s.input.bits as usize,
            "input": s.input, "output": s.output,
        }),
        StageKind::Responses(r) => serde_json::json!({
            "name": s.name, "kind": "responses", "taps": r.taps, "entries": r.entries,
            "lane": r.lane, "response_bits": r.response_bits,
            "cycles_per_frame": s.input.beats,
            "memory_bits": r.taps * r.entries,
            "input": s.input, "output": s.output,
        }),
        StageKind::SplitThreshold(t) => serde_json::json!({
            "name": s.name, "kind": "split_threshold", "channels": t.o, "rows": t.rows,
            "split_channels": t.split,
            "cycles_per_frame": s.input.beats,
            "memory_bits": t.o * (t.acc_bits as usize + 1)
                + t.table_entries() * t.acc_bits as usize,
            "input": s.input, "output": s.output,
        }),
        StageKind::Pool(p) => serde_json::json!({
            "name": s.name, "kind": "maxpool", "window": p.k,
            "cycles_per_frame": s.input.beats,
            "memory_bits": p.out_w * p.c * s.input.bits as usize,
            "input": s.input, "output": s.output,
        }),
        StageKind::Scores(sc) => serde_json::json!({
            "name": s.name, "kind": "scores", "classes": sc.classes,
            "score_bits": sc.score_bits, "cycles_per_frame": 1,
            "input": s.input, "output": s.output,
        }),
    }
}

/// Writes the design and plan.json into `dir`; returns the top module's name.
pub fn write_design(dir: &Path, plan: &HardwarePlan) -> Result<String, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Io(format!("{}: cannot create: {e}", dir.display())))?;
    let design = xnorc_rtl::generate(plan);
    for (name, contents) in &design.files {
        write_output(&dir.join(name), contents.as_bytes())?;
    }
    let json = serde_json::to_string_pretty(&plan_json(plan)).expect("json") + "\n";
    write_output(&dir.join("plan.json"), json.as_bytes())?;
    Ok(design.top)
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let (_, plan) = build_plan(&args.model, args.folding.as_deref(), args.lut_budget, false)?;
    let top = write_design(&args.output, &plan)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&plan_json(&plan)).expect("json")
        );
        return Ok(());
    }
    println!(
        "{:<14} {:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10}  memory",
        "stage", "PE", "SIMD", "NF", "SF", "cycles", "mem bits", "dense bits"
    );
    for s in &plan.stages {
        if let StageKind::Mvu(m) = &s.kind {
            let how = match (&m.codebook, m.fanout) {
                (Some(cb), _) => format!("; codebook τ={} decoded per lane", cb.tau),
                _ if matches!(m.lane, Lane::Select { .. }) => {
                    "; codebook responses shared".to_string()
                }
                (None, 1) if m.storage == "tiled" => "; tile stored once".to_string(),
                (None, 1) => String::new(),
                (None, f) => format!("; tile stored once, fan-out x{f}"),
            };
            println!(
                "{:<14} {:>5} {:>5} {:>5} {:>5} {:>8} {:>10} {:>10}  {:?}{how}",
                s.name,
                m.pe,
                m.simd,
                m.nf(),
                m.sf(),
                m.vectors * m.nf() * m.sf(),
                m.weight_bits(),
                m.dense_weight_bits(),
                m.memory
            );
        }
    }
    println!(
        "core {top}: latency {} cycles, II {} cycles/frame; written to {}",
        plan.latency_cycles,
        plan.ii_cycles,
        args.output.display()
    );
    Ok(())
}
