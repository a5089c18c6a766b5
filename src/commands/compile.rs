//! `xnorc compile`: model → hardware plan → Verilog, memory files and plan.json.

use super::layer_table;
use crate::errors::CliError;
use crate::progress::spin;
use std::path::PathBuf;
use xnorc_plan::folding::RegisterDefaults;
use xnorc_plan::{build_plan, Lane, PlanReport, StageKind};

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
    #[arg(long, value_parser = super::at_least_one())]
    pub lut_budget: Option<usize>,
    /// Plan for this board's device family (buffers placed as `build` places them) and
    /// estimate the resources per layer on it (see `xnorc boards`): printed and in plan.json.
    #[arg(long)]
    pub board: Option<String>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &Args) -> Result<(), CliError> {
    let board = match &args.board {
        Some(name) => Some(xnorc_boards::board::find(name)?),
        None => None,
    };
    let (_, mut plan) = spin("plan: fold, size buffers, time", || {
        build_plan(
            &args.model,
            args.folding.as_deref(),
            args.lut_budget,
            RegisterDefaults::default(),
        )
    })?;
    // On a board, writable buffers go where its family's costs put them, as in `build`.
    if let Some(b) = &board {
        xnorc_plan::fit::place_buffers(&mut plan, b);
    }
    let top = xnorc_rtl::write::write_design_for(&args.output, &plan, board.as_ref())?;
    let report = match &board {
        Some(b) => PlanReport::on_board(&plan, b),
        None => PlanReport::of(&plan),
    };
    if args.json {
        print!("{}", report.to_json());
        return Ok(());
    }
    println!(
        "{:<14} {:>5} {:>5} {:>5} {:>5} {:>8} {:>6} {:>10} {:>10}  memory",
        "layer", "PE", "SIMD", "NF", "SF", "cycles", "of II", "mem bits", "dense bits"
    );
    for (s, r) in plan.stages.iter().zip(&report.stages) {
        if let StageKind::Mvu(m) = &s.kind {
            let how = match (&m.codebook, m.fanout) {
                (Some(cb), _) if cb.whole_kernels => {
                    format!("; codebook τ={} decoded to whole kernels", cb.tau)
                }
                (Some(cb), _) => format!("; codebook τ={} decoded per lane", cb.tau),
                _ if matches!(m.lane, Lane::Select { .. }) => {
                    "; codebook responses shared".to_string()
                }
                (None, 1) if m.storage == "tiled" => "; tile stored once".to_string(),
                (None, 1) => String::new(),
                (None, f) => format!("; tile stored once, fan-out x{f}"),
            };
            let mark = if r.bottleneck { "; the bottleneck" } else { "" };
            println!(
                "{:<14} {:>5} {:>5} {:>5} {:>5} {:>8} {:>5.0}% {:>10} {:>10}  {:?}{how}{mark}",
                xnorc_compiler::sanitize::printable(&s.layer),
                m.pe,
                m.simd,
                m.nf(),
                m.sf(),
                r.cycles_per_frame,
                r.share_of_ii * 100.0,
                m.weight_bits(),
                m.dense_weight_bits(),
                m.memory
            );
        }
    }
    // A stage other than a matrix unit can be the slowest (a window over a wide image).
    if let Some((s, r)) = plan
        .stages
        .iter()
        .zip(&report.stages)
        .find(|(s, r)| r.bottleneck && !matches!(s.kind, StageKind::Mvu(_)))
    {
        println!(
            "bottleneck: {} ({}), {} cycles per frame",
            s.name, s.layer, r.cycles_per_frame
        );
    }
    println!(
        "core {top}: latency {} cycles, II {} cycles/frame; written to {}",
        plan.latency_cycles,
        plan.ii_cycles,
        args.output.display()
    );
    if let Some(e) = &report.estimate {
        println!(
            "\nestimate on {} ({}): {} LUT4, {} FF, {} block RAMs, {} DSPs",
            e.board, e.family, e.total.luts, e.total.ffs, e.total.ram_blocks, e.total.dsps
        );
        let names = xnorc_rtl::top::instance_names(&plan);
        let mut rows: Vec<layer_table::Row> = e
            .components
            .iter()
            .map(|c| layer_table::Row {
                instance: &names[c.index],
                kind: c.kind,
                layer: &c.layer,
                estimate: c.cost,
                measured: None,
            })
            .collect();
        rows.push(layer_table::Row {
            instance: "shell",
            kind: "shell",
            layer: "",
            estimate: e.shell,
            measured: None,
        });
        layer_table::print(&rows);
    }
    Ok(())
}
