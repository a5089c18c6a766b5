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
use crate::verilog::{r, BinOp, Expr, Instance, Module, Param, UnOp};
use std::collections::BTreeSet;
use xnorc_plan::memories::output_widths;
use xnorc_plan::schedule::{Component, Source};
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

/// The component whose input port 0 reads component `i`'s output port 0, if any.
fn reader(plan: &HardwarePlan, i: usize) -> Option<usize> {
    let link = Source::Component { index: i, port: 0 };
    plan.sources.iter().position(|ports| ports.contains(&link))
}

/// Base names of the pipeline's instances: a stage's own name, plumbing after the stage it
/// feeds, a fork after the stage whose output it copies.
fn instance_bases(plan: &HardwarePlan) -> Vec<String> {
    let n = plan.pipeline.len();
    (0..n)
        .map(|i| {
            let c = &plan.pipeline[i];
            if let Some(name) = stage_name(plan, c) {
                return name;
            }
            if *c == Component::Fork {
                let mut at = plan.sources[i][0];
                while let Source::Component { index, .. } = at {
                    if let Some(name) = stage_name(plan, &plan.pipeline[index]) {
                        return format!("{name}_fork");
                    }
                    at = plan.sources[index][0];
                }
                return "in_fork".to_string();
            }
            let kind = match c {
                Component::Fifo { .. } => "fifo",
                Component::DwcUp { .. } => "dwc_up",
                _ => "dwc_down",
            };
            // Follow the stream to the stage it feeds.
            let mut at = reader(plan, i);
            while let Some(j) = at {
                if let Some(next) = stage_name(plan, &plan.pipeline[j]) {
                    return format!("{next}_in_{kind}");
                }
                at = reader(plan, j);
            }
            format!("out_{kind}")
        })
        .collect()
}

/// The suffixes of the link wires out of component `c`'s instance.
fn link_suffixes(c: &Component) -> &'static [&'static str] {
    match c {
        Component::Fork => &[
            "_0_valid", "_0_ready", "_0_data", "_1_valid", "_1_ready", "_1_data",
        ],
        _ => &["_valid", "_ready", "_data"],
    }
}

/// The name of each pipeline component's instance in the top, in pipeline order: unique, and
/// distinct from the top's ports and every link wire.
pub fn instance_names(plan: &HardwarePlan) -> Vec<String> {
    let mut namer = Namer::default();
    for name in PORTS.iter().chain(&INTERNAL) {
        namer.reserve(name);
    }
    instance_bases(plan)
        .iter()
        .zip(&plan.pipeline)
        .map(|(base, c)| namer.fresh(base, link_suffixes(c)))
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

/// The names the top declares besides its ports and links: the reset copies' instance and
/// wire, and the gated input link.
const INTERNAL: [&str; 5] = [
    "reset_tree",
    "rst_stage",
    "in_gate_valid",
    "in_gate_ready",
    "in_gate_data",
];

/// Cycles after `rst` falls before the core's stages leave reset and `in_ready` can rise: one
/// with `reset_copies` (every instance takes its own registered copy of `rst`: one register
/// driving every stage's control was a route across the die on a large device), none without
/// (every instance takes `rst`).
pub fn reset_release_cycles(plan: &HardwarePlan) -> u64 {
    u64::from(plan.reset_copies)
}

/// The reset copies' instance (`reset_tree`, a copy per instance: wire `rst_stage`) and the
/// input's gate (`in_gate_*`, `in_width` bits of data), shut until the stages have left reset.
fn reset_copies(m: &mut Module, plan: &HardwarePlan, in_width: usize) {
    m.wire("rst_stage", plan.pipeline.len());
    m.instance(Instance {
        module: "xnorc_copies".into(),
        name: "reset_tree".into(),
        comment: vec![
            "A copy of the reset per instance, so each can sit beside its instance".into(),
        ],
        params: vec![
            ("WIDTH".into(), Param::int(1)),
            ("COPIES".into(), Param::int(plan.pipeline.len())),
            ("INIT".into(), Param::int(1)),
        ],
        ports: vec![
            ("clk".into(), r("clk")),
            ("d".into(), r("rst")),
            ("q".into(), r("rst_stage")),
        ],
    });
    let entry = plan
        .sources
        .iter()
        .position(|ports| ports.contains(&Source::Input))
        .expect("a pipeline reads its input");
    let open = r("rst_stage").bit(entry).un(UnOp::Not);
    m.let_wire(
        "in_gate_valid",
        1,
        r("in_valid").op(BinOp::And, open.clone()),
    );
    m.wire("in_gate_ready", 1);
    m.assign(r("in_ready"), r("in_gate_ready").op(BinOp::And, open));
    m.let_wire("in_gate_data", in_width, r("in_data"));
}

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
    if plan.reset_copies {
        m.header.extend(
            [
                "Reset: every instance takes its own registered copy of rst (reset_tree), so the",
                "stages leave reset one cycle after rst falls; in_ready stays low until they have.",
            ]
            .map(String::from),
        );
    }
    m.input("clk", 1);
    m.input("rst", 1);
    m.input("in_valid", 1);
    m.output("in_ready", 1);
    m.input("in_data", widths[0]);
    m.output("out_valid", 1);
    m.input("out_ready", 1);
    m.output("out_data", widths[n]);
    let names = instance_names(plan);
    let outputs = output_widths(plan);
    // The link out of output `port` of component `i`: the core's output for the last one.
    let out_link = |i: usize, port: usize| -> String {
        if i == n - 1 && port == 0 {
            "out".to_string()
        } else if plan.pipeline[i] == Component::Fork {
            format!("{}_{port}", names[i])
        } else {
            names[i].clone()
        }
    };
    // Every instance's reset: `rst`, or with reset copies its own copy of it; the input then
    // enters through a gate that stays shut while the stages are still in reset.
    let stage_reset = |i: usize| {
        if plan.reset_copies {
            r("rst_stage").bit(i)
        } else {
            r("rst")
        }
    };
    let entry = if plan.reset_copies {
        reset_copies(&mut m, plan, widths[0]);
        "in_gate"
    } else {
        "in"
    };
    let in_link = |source: Source| -> String {
        match source {
            Source::Input => entry.to_string(),
            Source::Component { index, port } => out_link(index, port),
        }
    };
    let mut files = Vec::new();
    for (i, instance_name) in names.iter().enumerate() {
        let stage = stages::instance(&ctx, i, instance_name);
        let c = &plan.pipeline[i];
        let out_ports = if *c == Component::Fork { 2 } else { 1 };
        for port in 0..out_ports {
            if i + 1 < n || port > 0 {
                let link = out_link(i, port);
                m.wire(&format!("{link}_valid"), 1);
                m.wire(&format!("{link}_ready"), 1);
                m.wire(&format!("{link}_data"), outputs[i]);
            }
        }
        let in_names: &[&str] = match c {
            Component::Add { .. } => &["a", "b"],
            _ => &["in"],
        };
        let out_names: &[&str] = match c {
            Component::Fork => &["out0", "out1"],
            _ => &["out"],
        };
        let mut ports: Vec<(String, Expr)> =
            vec![("clk".into(), r("clk")), ("rst".into(), stage_reset(i))];
        let mut connect = |port: &str, link: &str| {
            for what in ["valid", "ready", "data"] {
                ports.push((format!("{port}_{what}"), r(format!("{link}_{what}"))));
            }
        };
        for (k, name) in in_names.iter().enumerate() {
            connect(name, &in_link(plan.sources[i][k]));
        }
        for (port, name) in out_names.iter().enumerate() {
            connect(name, &out_link(i, port));
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
            ports,
        });
        files.extend(stage.files);
    }
    (m, files)
}
