//! report.json's per-layer resources: each instance of the core with the plan's estimate
//! (`xnorc_plan::layer_estimate`) beside what yosys mapped for it (`xnorc_boards::netlist`),
//! then the core's glue and the board shell.

use serde::Serialize;
use xnorc_boards::board::Board;
use xnorc_boards::flow::SynthStats;
use xnorc_boards::netlist::Resources;
use xnorc_plan::layer_estimate::{Cost, PlanEstimate};
use xnorc_plan::HardwarePlan;

/// One row: an instance of the core (or the glue, or the shell).
#[derive(Debug, Clone, Serialize)]
pub struct LayerResources {
    /// Its instance name in the generated Verilog (`core glue`: the core's top outside its
    /// pipeline's instances, with the reset's copies; `shell` for the rest).
    pub instance: String,
    /// What it is (`mvu`, `swg`, `fifo`, …, `glue`, `shell`).
    pub kind: String,
    /// The model's layer it computes, or feeds (a FIFO or converter); empty when none.
    pub layer: String,
    /// The plan's estimate.
    pub estimate: Cost,
    /// What yosys mapped for it.
    pub measured: Resources,
}

/// The rows of `plan` built for `board` with `synth`'s per-instance cells, in pipeline order,
/// then the core's glue and the shell.
pub fn layer_resources(
    plan: &HardwarePlan,
    board: &Board,
    synth: &SynthStats,
) -> (PlanEstimate, Vec<LayerResources>) {
    let estimate = PlanEstimate::of(plan, board);
    let names = xnorc_rtl::top::instance_names(plan);
    let mut rows: Vec<LayerResources> = estimate
        .components
        .iter()
        .map(|c| LayerResources {
            instance: names[c.index].clone(),
            kind: c.kind.to_string(),
            layer: c.layer.clone(),
            estimate: c.cost,
            measured: synth
                .instances
                .core
                .get(&names[c.index])
                .copied()
                .unwrap_or_default(),
        })
        .collect();
    // The glue: the core's top outside its instances, and the instances that are no
    // pipeline component (the reset's copies).
    let mut glue = synth.instances.core_glue;
    for (instance, r) in &synth.instances.core {
        if !names.contains(instance) {
            glue += *r;
        }
    }
    rows.push(LayerResources {
        instance: "core glue".into(),
        kind: "glue".into(),
        layer: String::new(),
        estimate: Cost::default(),
        measured: glue,
    });
    rows.push(LayerResources {
        instance: "shell".into(),
        kind: "shell".into(),
        layer: String::new(),
        estimate: estimate.shell,
        measured: synth.instances.shell,
    });
    (estimate, rows)
}
