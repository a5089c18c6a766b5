//! The page: summary, dataflow graph, per-layer table, charts, accuracy, tool steps.

use crate::data::{Accuracy, Build, Cost, Plan};
use crate::svg::{bar_chart, escape, graph, Marker, Node, Series};
use std::fmt::Write;

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px}\
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}\
tr.bottleneck td{background:#fde8e8}.note{color:#555;font-size:13px}\
svg text{font-family:system-ui,sans-serif}.label,.value,.tick,.legend{font-size:11px}\
.marker{font-size:11px;fill:#c00}.node-title{font-size:13px;font-weight:bold}\
.node-detail{font-size:11px}.bad{color:#c00;font-weight:bold}.good{color:#070}";

const EST: &str = "#9db7e8";
const USED: &str = "#3366cc";

/// `a / b` as a percentage (0 for b = 0).
fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        100.0 * a / b
    } else {
        0.0
    }
}

/// A table cell with a number.
fn num(v: impl std::fmt::Display) -> String {
    format!(r#"<td class="n">{v}</td>"#)
}

/// A row of the per-layer table.
struct LayerRow {
    instance: String,
    kind: String,
    layer: String,
    folding: String,
    cycles: Option<u64>,
    share: Option<f64>,
    bottleneck: bool,
    estimate: Option<Cost>,
    measured: Option<Cost>,
}

/// The rows: a build's per-instance rows joined with the plan's stages, else the plan's own.
fn layer_rows(plan: &Plan, build: Option<&Build>) -> Vec<LayerRow> {
    let estimates = plan.estimate.as_ref();
    let mut rows: Vec<LayerRow> = plan
        .pipeline
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let stage = c.stage.and_then(|s| plan.stages.get(s));
            let built = build.and_then(|b| b.layers.get(i));
            let est = estimates.and_then(|e| e.components.iter().find(|x| x.index == i));
            let instance = match (built, stage) {
                (Some(b), _) => b.instance.clone(),
                (None, Some(s)) => s.name.clone(),
                (None, None) => format!("{}{i}", c.kind),
            };
            let folding = match (stage, c.depth, c.ratio) {
                (Some(s), _, _) => match (s.pe, s.simd) {
                    (Some(pe), Some(simd)) => format!("PE {pe} × SIMD {simd}"),
                    _ => String::new(),
                },
                (None, Some(d), _) => format!("{d} entries"),
                (None, _, Some(r)) => format!("ratio {r}"),
                _ => String::new(),
            };
            LayerRow {
                instance,
                kind: c.kind.clone(),
                layer: stage
                    .map(|s| s.layer.clone())
                    .or_else(|| est.map(|e| e.layer.clone()))
                    .unwrap_or_default(),
                folding,
                cycles: stage.map(|s| s.cycles_per_frame),
                share: stage.map(|s| s.share_of_ii),
                bottleneck: stage.is_some_and(|s| s.bottleneck),
                estimate: built.map(|b| b.estimate).or(est.map(|e| e.cost)),
                measured: built.map(|b| b.measured),
            }
        })
        .collect();
    // The core's glue and the shell: a build's rows after the pipeline's.
    if let Some(b) = build {
        for l in b.layers.iter().skip(plan.pipeline.len()) {
            rows.push(LayerRow {
                instance: l.instance.clone(),
                kind: l.kind.clone(),
                layer: l.layer.clone(),
                folding: String::new(),
                cycles: None,
                share: None,
                bottleneck: false,
                estimate: Some(l.estimate),
                measured: Some(l.measured),
            });
        }
    } else if let Some(e) = estimates {
        rows.push(LayerRow {
            instance: "shell".into(),
            kind: "shell".into(),
            layer: String::new(),
            folding: String::new(),
            cycles: None,
            share: None,
            bottleneck: false,
            estimate: Some(e.shell),
            measured: None,
        });
    }
    rows
}

fn summary(out: &mut String, plan: &Plan, build: Option<&Build>) {
    out.push_str("<h2>Summary</h2><table>");
    let mut row = |k: &str, v: String| {
        let _ = write!(out, "<tr><th>{}</th><td>{v}</td></tr>", escape(k));
    };
    match build {
        Some(b) => {
            let d = &b.device;
            let met = if b.timing_met {
                r#"<span class="good">timing met</span>"#
            } else {
                r#"<span class="bad">timing NOT met</span>"#
            };
            row(
                "throughput",
                format!(
                    "{:.0} frames/s at the {:.3} MHz clock (II {} cycles)",
                    b.frames_per_second, b.clock_mhz, plan.ii_cycles
                ),
            );
            row(
                "latency",
                format!("{} cycles ({:.2} µs)", plan.latency_cycles, b.latency_us),
            );
            row(
                "Fmax",
                format!(
                    "{:.2} MHz against a {:.3} MHz clock: {met}",
                    b.fmax_mhz, b.clock_mhz
                ),
            );
            row(
                "logic cells",
                format!(
                    "{} of {} ({:.1}%); estimated {}",
                    b.luts,
                    d.luts,
                    pct(b.luts as f64, d.luts as f64),
                    b.estimate.logic_cells
                ),
            );
            row(
                "LUT4 (yosys)",
                format!("{}; estimated {}", b.synth.luts, b.estimate.luts),
            );
            row(
                "flip-flops",
                format!(
                    "{} of {} ({:.1}%); estimated {}",
                    b.ffs,
                    d.ffs,
                    pct(b.ffs as f64, d.ffs as f64),
                    b.estimate.ffs
                ),
            );
            row(
                "block RAMs",
                format!(
                    "{} of {}; estimated {}",
                    b.ram_blocks, d.ram_blocks, b.estimate.ram_blocks
                ),
            );
            row("DSPs", format!("{} of {}", b.dsps, d.dsps));
            row(
                "build time",
                format!("{:.1} s (tool steps below)", b.total_seconds),
            );
        }
        None => {
            row("II", format!("{} cycles per frame", plan.ii_cycles));
            row("latency", format!("{} cycles", plan.latency_cycles));
            if let Some(e) = &plan.estimate {
                row(
                    "estimate",
                    format!(
                        "{} LUT4, {} FF, {} block RAMs, {} DSPs on {} ({})",
                        e.total.luts,
                        e.total.ffs,
                        e.total.ram_blocks,
                        e.total.dsps,
                        escape(&e.board),
                        escape(&e.family)
                    ),
                );
            }
        }
    }
    out.push_str("</table>");
}

fn graph_section(out: &mut String, plan: &Plan) {
    let nodes: Vec<Node> = plan
        .pipeline
        .iter()
        .map(|c| match c.stage.and_then(|s| plan.stages.get(s)) {
            Some(s) => Node {
                title: format!("{} ({})", s.layer, s.kind),
                detail: match (s.pe, s.simd) {
                    (Some(pe), Some(simd)) => {
                        format!("PE {pe} × SIMD {simd}, {} cycles/frame", s.cycles_per_frame)
                    }
                    _ => format!("{} cycles/frame", s.cycles_per_frame),
                },
                stage: true,
                bottleneck: s.bottleneck,
            },
            None => Node {
                title: c.kind.clone(),
                detail: match (c.depth, c.ratio) {
                    (Some(d), _) => format!("{d} entries"),
                    (_, Some(r)) => format!("ratio {r}"),
                    _ => String::new(),
                },
                stage: false,
                bottleneck: false,
            },
        })
        .collect();
    out.push_str("<h2>Dataflow graph</h2><p class=\"note\">The core's components in stream order, input at the top; the bottleneck (the stage with the most cycles per frame) in red.</p>");
    out.push_str(&graph(&nodes));
}

/// A resource column: its name and how to read it from a cost.
type Column = (&'static str, fn(&Cost) -> u64);

/// The resource columns of the per-layer table.
const RESOURCES: [Column; 4] = [
    ("LUT4", |c| c.luts),
    ("FF", |c| c.ffs),
    ("BRAM", |c| c.ram_blocks),
    ("DSP", |c| c.dsps),
];

fn table_section(out: &mut String, rows: &[LayerRow]) {
    let measured = rows.iter().any(|r| r.measured.is_some());
    out.push_str("<h2>Per layer</h2><p class=\"note\">Estimate: the plan's, before synthesis. ");
    if measured {
        out.push_str("Used: what yosys mapped for the instance (LUT4s before packing into logic cells; ECP5 carries count as two).");
    }
    out.push_str("</p><table><tr><th>instance</th><th>kind</th><th>layer</th><th>folding</th><th>cycles/frame</th><th>share of II</th>");
    for (name, _) in RESOURCES {
        let _ = write!(out, "<th>{name} est.</th>");
        if measured {
            let _ = write!(out, "<th>{name} used</th>");
        }
    }
    out.push_str("</tr>");
    for r in rows {
        let class = if r.bottleneck {
            r#" class="bottleneck""#
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}{}",
            escape(&r.instance),
            escape(&r.kind),
            escape(&r.layer),
            escape(&r.folding),
            num(r.cycles.map(|c| c.to_string()).unwrap_or_default()),
            num(r
                .share
                .map(|s| format!("{:.0}%", 100.0 * s))
                .unwrap_or_default()),
        );
        let e = r.estimate.unwrap_or_default();
        for (_, get) in RESOURCES {
            out.push_str(&num(get(&e)));
            if measured {
                out.push_str(&num(r.measured.as_ref().map(get).unwrap_or_default()));
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// A bar chart under its caption.
fn chart(
    out: &mut String,
    title: &str,
    unit: &str,
    series: &[Series<'_>],
    rows: &[(String, Vec<f64>)],
    marker: Option<Marker<'_>>,
) {
    let _ = write!(
        out,
        "<h3>{}</h3>{}",
        escape(title),
        bar_chart(title, unit, series, rows, marker)
    );
}

fn charts(out: &mut String, plan: &Plan, build: Option<&Build>, rows: &[LayerRow]) {
    out.push_str("<h2>Charts</h2>");
    let cycles: Vec<(String, Vec<f64>)> = plan
        .stages
        .iter()
        .map(|s| (s.layer.clone(), vec![s.cycles_per_frame as f64]))
        .collect();
    let ii = format!("II {}", plan.ii_cycles);
    chart(
        out,
        "Cycles per frame per stage",
        "cycles per frame",
        &[Series {
            name: "cycles per frame",
            color: USED,
        }],
        &cycles,
        Some(Marker {
            value: plan.ii_cycles as f64,
            label: &ii,
        }),
    );
    let Some(b) = build else {
        return;
    };
    // Per layer: its stages, FIFOs and converters together, as shares of the device.
    let mut by_layer: Vec<(String, Cost)> = Vec::new();
    for r in rows {
        let Some(m) = r.measured else { continue };
        let name = if r.layer.is_empty() {
            &r.instance
        } else {
            &r.layer
        };
        let slot = match by_layer.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                by_layer.push((name.clone(), Cost::default()));
                by_layer.len() - 1
            }
        };
        let c = &mut by_layer[slot].1;
        c.luts += m.luts;
        c.ffs += m.ffs;
        c.ram_blocks += m.ram_blocks;
        c.dsps += m.dsps;
    }
    let d = &b.device;
    let shares: Vec<(String, Vec<f64>)> = by_layer
        .iter()
        .map(|(name, c)| {
            (
                name.clone(),
                vec![
                    pct(c.luts as f64, d.luts as f64),
                    pct(c.ffs as f64, d.ffs as f64),
                    pct(c.ram_blocks as f64, d.ram_blocks as f64),
                ],
            )
        })
        .collect();
    chart(
        out,
        &format!(
            "Resources per layer, % of the {} {} (yosys)",
            d.family, d.part
        ),
        "% of the device",
        &[
            Series {
                name: "LUT4",
                color: USED,
            },
            Series {
                name: "FF",
                color: "#6aa84f",
            },
            Series {
                name: "block RAM",
                color: "#e69138",
            },
        ],
        &shares,
        Some(Marker {
            value: 100.0,
            label: "device",
        }),
    );
    let versus: Vec<(String, Vec<f64>)> = rows
        .iter()
        .filter_map(|r| {
            let m = r.measured?;
            let e = r.estimate.unwrap_or_default();
            Some((r.instance.clone(), vec![e.luts as f64, m.luts as f64]))
        })
        .collect();
    chart(
        out,
        "LUT4 per instance: estimate against yosys",
        "LUT4",
        &[
            Series {
                name: "estimate",
                color: EST,
            },
            Series {
                name: "yosys",
                color: USED,
            },
        ],
        &versus,
        None,
    );
    if !b.passes.is_empty() {
        let passes: Vec<(String, Vec<f64>)> = b
            .passes
            .iter()
            .map(|p| (format!("pass {}", p.pass), vec![p.clock_mhz, p.fmax_mhz]))
            .collect();
        chart(
            out,
            "Fmax per pass against the clock it was placed for",
            "MHz",
            &[
                Series {
                    name: "clock",
                    color: EST,
                },
                Series {
                    name: "Fmax",
                    color: USED,
                },
            ],
            &passes,
            None,
        );
    }
}

fn accuracy_section(out: &mut String, a: &Accuracy) {
    let c = &a.confusion;
    let _ = write!(
        out,
        "<h2>Accuracy</h2><p>{:.2}% of {} labelled frames of {}, from the reference simulator, which the hardware matches bit for bit.</p>",
        100.0 * c.accuracy(),
        c.frames(),
        escape(&a.inputs)
    );
    let peak = c.matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
    out.push_str("<table><tr><th>label \\ predicted</th>");
    for j in 0..c.classes {
        let _ = write!(out, "<th>{j}</th>");
    }
    out.push_str("<th>accuracy</th></tr>");
    for (row, class) in c.matrix.iter().zip(c.per_class()) {
        let _ = write!(out, "<tr><th>{}</th>", class.class);
        for &v in row {
            // Darker blue for more frames; white text on the darkest cells.
            let level = v as f64 / peak as f64;
            let light = 97.0 - 55.0 * level;
            let ink = if level > 0.6 { "#fff" } else { "#222" };
            let _ = write!(
                out,
                r#"<td class="n" style="background:hsl(220,60%,{light:.0}%);color:{ink}">{v}</td>"#
            );
        }
        let acc = match class.accuracy {
            Some(share) => format!("{:.1}%", 100.0 * share),
            None => "–".into(),
        };
        let _ = write!(out, "{}</tr>", num(acc));
    }
    out.push_str("</table>");
}

fn steps_section(out: &mut String, b: &Build) {
    out.push_str("<h2>Tool steps</h2><table><tr><th>step</th><th>seconds</th><th>log</th></tr>");
    for s in &b.steps {
        let _ = write!(
            out,
            "<tr><td>{}</td>{}<td>{}</td></tr>",
            escape(&s.step),
            num(format!("{:.1}", s.seconds)),
            escape(&s.log)
        );
    }
    out.push_str("</table>");
}

/// The whole page.
pub fn page(plan: &Plan, build: Option<&Build>, accuracy: Option<&Accuracy>) -> String {
    let mut out = String::new();
    let title = match build {
        Some(b) => format!("xnorc: {} on {}", plan.model, b.board),
        None => format!("xnorc: {}", plan.model),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = escape(&title)
    );
    match build {
        Some(b) => {
            let _ = write!(
                out,
                "<p class=\"note\">Built for {} ({} {} {}) by xnorc {}.</p>",
                escape(&b.board),
                escape(&b.device.family),
                escape(&b.device.part),
                escape(&b.device.package),
                env!("CARGO_PKG_VERSION")
            );
        }
        None => {
            let _ = write!(
                out,
                "<p class=\"note\">Compiled by xnorc {} (no build: estimates only).</p>",
                env!("CARGO_PKG_VERSION")
            );
        }
    }
    summary(&mut out, plan, build);
    if let Some(a) = accuracy {
        accuracy_section(&mut out, a);
    }
    let rows = layer_rows(plan, build);
    table_section(&mut out, &rows);
    charts(&mut out, plan, build, &rows);
    graph_section(&mut out, plan);
    if let Some(b) = build {
        steps_section(&mut out, b);
    }
    out.push_str("</body></html>\n");
    out
}
