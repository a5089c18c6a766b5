//! Inline SVG charts: horizontal bar charts (one row per layer or pass, one bar per series)
//! and the dataflow graph. Plain SVG text, no script: the page shows in any browser and diffs
//! as text. Every label goes through [`escape`].

use std::fmt::Write;

/// HTML/SVG text escape (names come from model files).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// One series of a bar chart: its name and colour.
pub struct Series<'a> {
    /// Legend text.
    pub name: &'a str,
    /// Fill colour (CSS).
    pub color: &'a str,
}

/// A vertical reference line (the II, the device's capacity, the clock).
pub struct Marker<'a> {
    /// Where, in the chart's units.
    pub value: f64,
    /// Its label.
    pub label: &'a str,
}

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 190.0;
const BAR_H: f64 = 12.0;
const ROW_GAP: f64 = 8.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 30.0;

/// A tick step of 1, 2 or 5 × 10^k giving about five ticks up to `max`.
fn tick_step(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * pow)
}

/// Short number text for axis ticks and value labels.
fn short(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// A horizontal bar chart: `rows` of (label, one value per series), values in `unit`.
pub fn bar_chart(
    title: &str,
    unit: &str,
    series: &[Series<'_>],
    rows: &[(String, Vec<f64>)],
    marker: Option<Marker<'_>>,
) -> String {
    let per_row = BAR_H * series.len() as f64 + ROW_GAP;
    let height = TOP + per_row * rows.len() as f64 + BOTTOM;
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .chain(marker.as_ref().map(|m| m.value))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let step = tick_step(max);
    let top_tick = (max / step).ceil() * step;
    let plot_w = WIDTH - LABEL_W - 60.0;
    let x = |v: f64| LABEL_W + plot_w * v / top_tick;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    // Legend.
    let mut lx = LABEL_W;
    for se in series {
        let _ = write!(
            s,
            r#"<rect x="{lx}" y="6" width="10" height="10" fill="{}"/><text x="{}" y="15" class="legend">{}</text>"#,
            se.color,
            lx + 14.0,
            escape(se.name)
        );
        lx += 24.0 + 7.0 * se.name.chars().count() as f64;
    }
    // Grid and ticks.
    let bottom = height - BOTTOM;
    let mut t = 0.0;
    while t <= top_tick + step * 1e-9 {
        let gx = x(t);
        let _ = write!(
            s,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{bottom}" stroke="#ddd"/><text x="{gx:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"##,
            bottom + 14.0,
            short(t)
        );
        t += step;
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"#,
        WIDTH - 4.0,
        bottom + 26.0,
        escape(unit)
    );
    for (i, (label, values)) in rows.iter().enumerate() {
        let y0 = TOP + per_row * i as f64 + ROW_GAP / 2.0;
        let short_label: String = label.chars().take(28).collect();
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
            LABEL_W - 6.0,
            y0 + BAR_H * series.len() as f64 / 2.0 + 4.0,
            escape(&short_label)
        );
        for (j, (v, se)) in values.iter().zip(series).enumerate() {
            let y = y0 + BAR_H * j as f64;
            let w = (x(*v) - LABEL_W).max(0.0);
            let _ = write!(
                s,
                r#"<rect x="{LABEL_W}" y="{y:.1}" width="{w:.1}" height="{}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                BAR_H - 1.0,
                se.color,
                escape(se.name),
                short(*v),
                LABEL_W + w + 3.0,
                y + BAR_H - 3.0,
                short(*v)
            );
        }
    }
    if let Some(m) = marker {
        let mx = x(m.value);
        let _ = write!(
            s,
            r##"<line x1="{mx:.1}" y1="{}" x2="{mx:.1}" y2="{bottom}" stroke="#c00" stroke-dasharray="4 3"/><text x="{mx:.1}" y="{}" class="marker" text-anchor="middle">{}</text>"##,
            TOP - 4.0,
            TOP - 6.0,
            escape(m.label)
        );
    }
    s.push_str("</svg>");
    s
}

/// One box of the dataflow graph.
pub struct Node {
    /// First line (bold for stages).
    pub title: String,
    /// Second line.
    pub detail: String,
    /// A stage (tall box) rather than a FIFO or converter.
    pub stage: bool,
    /// The bottleneck (outlined in red).
    pub bottleneck: bool,
}

/// The core's components as a chain of boxes, input at the top.
pub fn graph(nodes: &[Node]) -> String {
    const W: f64 = 420.0;
    const STAGE_H: f64 = 38.0;
    const PLUMB_H: f64 = 20.0;
    const GAP: f64 = 14.0;
    let height: f64 = 20.0
        + nodes
            .iter()
            .map(|n| if n.stage { STAGE_H } else { PLUMB_H } + GAP)
            .sum::<f64>();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img" aria-label="dataflow graph"><title>dataflow graph</title>"#
    );
    let mut y = 10.0;
    for (i, n) in nodes.iter().enumerate() {
        let h = if n.stage { STAGE_H } else { PLUMB_H };
        let (fill, stroke) = match (n.stage, n.bottleneck) {
            (_, true) => ("#fde8e8", "#c00"),
            (true, false) => ("#e8f0fd", "#3366cc"),
            (false, false) => ("#f4f4f4", "#999"),
        };
        let x = if n.stage { 20.0 } else { 90.0 };
        let w = W - 2.0 * x;
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{y:.1}" width="{w}" height="{h}" rx="4" fill="{fill}" stroke="{stroke}"/>"#
        );
        if n.stage {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="node-title" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" class="node-detail" text-anchor="middle">{}</text>"#,
                W / 2.0,
                y + 16.0,
                escape(&n.title),
                W / 2.0,
                y + 31.0,
                escape(&n.detail)
            );
        } else {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="node-detail" text-anchor="middle">{} {}</text>"#,
                W / 2.0,
                y + 14.0,
                escape(&n.title),
                escape(&n.detail)
            );
        }
        y += h;
        if i + 1 < nodes.len() {
            let _ = write!(
                s,
                r##"<line x1="{c}" y1="{y:.1}" x2="{c}" y2="{:.1}" stroke="#666"/><path d="M{} {:.1} L{c} {:.1} L{} {:.1} Z" fill="#666"/>"##,
                y + GAP - 4.0,
                W / 2.0 - 4.0,
                y + GAP - 5.0,
                y + GAP,
                W / 2.0 + 4.0,
                y + GAP - 5.0,
                c = W / 2.0
            );
        }
        y += GAP;
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_everywhere() {
        let evil = "<script>alert('x')</script>&\"";
        let chart = bar_chart(
            evil,
            evil,
            &[Series {
                name: evil,
                color: "#000",
            }],
            &[(evil.to_string(), vec![3.0])],
            Some(Marker {
                value: 2.0,
                label: evil,
            }),
        );
        let g = graph(&[Node {
            title: evil.into(),
            detail: evil.into(),
            stage: true,
            bottleneck: false,
        }]);
        for text in [chart, g] {
            assert!(!text.contains("<script"), "{text}");
            assert!(text.contains("&lt;script&gt;alert(&#39;x&#39;)"), "{text}");
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_largest_value() {
        assert_eq!(tick_step(100.0), 20.0);
        assert_eq!(tick_step(7.0), 2.0);
        assert_eq!(tick_step(331_776.0), 100_000.0);
        assert_eq!(tick_step(0.9), 0.2);
    }

    #[test]
    fn a_bar_is_as_long_as_its_value() {
        let chart = bar_chart(
            "t",
            "cycles",
            &[Series {
                name: "a",
                color: "#000",
            }],
            &[("x".into(), vec![50.0]), ("y".into(), vec![100.0])],
            None,
        );
        // 100 fills the plot (ticks end at 100), 50 half of it.
        let plot = WIDTH - LABEL_W - 60.0;
        assert!(
            chart.contains(&format!(r#"width="{:.1}""#, plot)),
            "{chart}"
        );
        assert!(
            chart.contains(&format!(r#"width="{:.1}""#, plot / 2.0)),
            "{chart}"
        );
    }
}
