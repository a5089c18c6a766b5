//! The core's top level: the plan's pipeline of FIFOs, converters and stages, chained by
//! valid/ready streams.

use crate::verilog::{r, Expr, Item, Module};
use xnorc_plan::HardwarePlan;

/// The top module `name`, instantiating `modules[i]` for component i.
pub fn top(name: &str, plan: &HardwarePlan, modules: &[String]) -> Module {
    let widths = xnorc_plan::memories::link_widths(plan);
    let n = plan.pipeline.len();
    let mut m = Module::new(name);
    m.header.extend([
        format!("xnorc dataflow core for model {}", plan.model),
        format!(
            "input beat: {} bits; output beat: {} bits; latency {} cycles, II {} cycles/frame",
            widths[0], widths[n], plan.latency_cycles, plan.ii_cycles
        ),
    ]);
    m.input("clk", 1);
    m.input("rst", 1);
    m.input("in_valid", 1);
    m.output("in_ready", 1);
    m.input("in_data", widths[0]);
    m.output("out_valid", 1);
    m.input("out_ready", 1);
    m.output("out_data", widths[n]);
    let link = |i: usize, what: &str| -> Expr {
        if i == 0 {
            r(format!("in_{what}"))
        } else if i == n {
            r(format!("out_{what}"))
        } else {
            r(format!("link{i}_{what}"))
        }
    };
    for (i, w) in widths.iter().enumerate().take(n).skip(1) {
        m.wire(&format!("link{i}_valid"), 1);
        m.wire(&format!("link{i}_ready"), 1);
        m.wire(&format!("link{i}_data"), *w);
    }
    for (i, module) in modules.iter().enumerate() {
        m.items.push(Item::Instance {
            module: module.clone(),
            name: format!("u{i}"),
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
    }
    m
}
