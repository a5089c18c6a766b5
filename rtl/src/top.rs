//! The core's generated top: the plan's pipeline as instances of the library, each named after
//! the model layer it computes, chained by valid/ready links named after the instance that
//! drives them.
//!
//! A stage's instance takes the stage's name (the model layer's sanitized name); a FIFO or
//! width converter is named after the stage it feeds (`conv2_in_fifo`, `conv2_in_dwc_up`). The
//! link out of instance `x` is `x_valid`, `x_ready`, `x_data`; the first instance reads the
//! core's `in_*` ports and the last drives its `out_*` ports. Every name goes through one
//! [`Namer`], so no two identifiers of the top collide whatever the model calls its layers.

use crate::stages::{self, Context};
use crate::verilog::{r, Expr, Instance, Module};
use std::collections::BTreeSet;
use xnorc_plan::schedule::Component;
use xnorc_plan::HardwarePlan;

/// Hands out identifiers unique within one module.
#[derive(Default)]
pub struct Namer {
    used: BTreeSet<String>,
}

impl Namer {
    /// Reserves `name` exactly (ports): a second reservation is a generator bug.
    pub fn reserve(&mut self, name: &str) {
        assert!(
            self.used.insert(name.to_string()),
            "generator bug: {name} taken twice"
        );
    }

    /// `base`, or `base_2`, `base_3`, … if taken; a name whose link wires would be taken
    /// counts as taken.
    pub fn fresh(&mut self, base: &str, suffixes: &[&str]) -> String {
        let free = |n: &str, used: &BTreeSet<String>| {
            !used.contains(n) && suffixes.iter().all(|s| !used.contains(&format!("{n}{s}")))
        };
        let name = std::iter::once(base.to_string())
            .chain((2..).map(|k| format!("{base}_{k}")))
            .find(|n| free(n, &self.used))
            .expect("an unused suffix exists");
        self.used.insert(name.clone());
        for s in suffixes {
            self.used.insert(format!("{name}{s}"));
        }
        name
    }
}

/// The name of the stage (if any) component `c` computes.
fn stage_name(plan: &HardwarePlan, c: &Component) -> Option<String> {
    c.stage().map(|s| plan.stages[s].name.clone())
}

/// Base names of the pipeline's instances: a stage's own name, plumbing after the stage it
/// feeds.
fn instance_bases(plan: &HardwarePlan) -> Vec<String> {
    let n = plan.pipeline.len();
    (0..n)
        .map(|i| {
            let c = &plan.pipeline[i];
            stage_name(plan, c).unwrap_or_else(|| {
                let kind = match c {
                    Component::Fifo { .. } => "fifo",
                    Component::DwcUp { .. } => "dwc_up",
                    _ => "dwc_down",
                };
                match plan.pipeline[i..].iter().find_map(|c| stage_name(plan, c)) {
                    Some(next) => format!("{next}_in_{kind}"),
                    None => format!("out_{kind}"),
                }
            })
        })
        .collect()
}

/// The name of each pipeline component's instance in the top, in pipeline order: unique, and
/// distinct from the top's ports and every link wire.
pub fn instance_names(plan: &HardwarePlan) -> Vec<String> {
    let mut namer = Namer::default();
    for port in PORTS {
        namer.reserve(port);
    }
    instance_bases(plan)
        .iter()
        .map(|base| namer.fresh(base, &["_valid", "_ready", "_data"]))
        .collect()
}

/// The core's ports.
const PORTS: [&str; 8] = [
    "clk",
    "rst",
    "in_valid",
    "in_ready",
    "in_data",
    "out_valid",
    "out_ready",
    "out_data",
];

/// The core's top module `name` and the memory images its instances read.
pub fn top(name: &str, plan: &HardwarePlan) -> (Module, Vec<(String, String)>) {
    let ctx = Context::new(plan, name);
    let widths = &ctx.widths;
    let n = plan.pipeline.len();
    let mut m = Module::new(name);
    m.header.extend([
        format!("xnorc dataflow core for model {}", plan.model),
        format!(
            "input beat: {} bits; output beat: {} bits; latency {} cycles, II {} cycles/frame",
            widths[0], widths[n], plan.latency_cycles, plan.ii_cycles
        ),
        "Every instance is a module of the xnorc library (xnorc_*.v beside this file).".into(),
    ]);
    m.input("clk", 1);
    m.input("rst", 1);
    m.input("in_valid", 1);
    m.output("in_ready", 1);
    m.input("in_data", widths[0]);
    m.output("out_valid", 1);
    m.input("out_ready", 1);
    m.output("out_data", widths[n]);
    let names = instance_names(plan);
    // Link i enters instance i: the core's input, or the previous instance's output.
    let link = |i: usize, what: &str| -> Expr {
        if i == 0 {
            r(format!("in_{what}"))
        } else if i == n {
            r(format!("out_{what}"))
        } else {
            r(format!("{}_{what}", names[i - 1]))
        }
    };
    let mut files = Vec::new();
    for (i, instance_name) in names.iter().enumerate() {
        let stage = stages::instance(&ctx, i, instance_name);
        if i + 1 < n {
            m.wire(&format!("{instance_name}_valid"), 1);
            m.wire(&format!("{instance_name}_ready"), 1);
            m.wire(&format!("{instance_name}_data"), widths[i + 1]);
        }
        m.instance(Instance {
            module: stage.module.to_string(),
            name: instance_name.clone(),
            comment: stage.summary,
            params: stage
                .params
                .into_iter()
                .map(|(p, v)| (p.to_string(), v))
                .collect(),
            ports: vec![
                ("clk".into(), r("clk")),
                ("rst".into(), r("rst")),
                ("in_valid".into(), link(i, "valid")),
                ("in_ready".into(), link(i, "ready")),
                ("in_data".into(), link(i, "data")),
                ("out_valid".into(), link(i + 1, "valid")),
                ("out_ready".into(), link(i + 1, "ready")),
                ("out_data".into(), link(i + 1, "data")),
            ],
        });
        files.extend(stage.files);
    }
    (m, files)
}
