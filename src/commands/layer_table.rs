//! The per-layer resource table `compile --board` and `build` print: every instance of the
//! core with its estimate, and after a build what yosys mapped beside it.

use xnorc_boards::netlist::Resources;
use xnorc_plan::layer_estimate::Cost;

/// One row of the table.
pub struct Row<'a> {
    /// Instance name.
    pub instance: &'a str,
    /// What it is.
    pub kind: &'a str,
    /// The model's layer.
    pub layer: &'a str,
    /// The estimate.
    pub estimate: Cost,
    /// What yosys mapped, after a build.
    pub measured: Option<Resources>,
}

/// `estimate / measured` or the estimate alone.
fn pair(estimate: usize, measured: Option<u64>) -> String {
    match measured {
        Some(m) => format!("{estimate:>6} {m:>6}"),
        None => format!("{estimate:>6}"),
    }
}

/// Prints the rows under a header; with measurements, each figure is `estimate used`.
pub fn print(rows: &[Row<'_>]) {
    let measured = rows.iter().any(|r| r.measured.is_some());
    let head = |name: &str| {
        if measured {
            format!("{:>13}", format!("{name} est/used"))
        } else {
            format!("{name:>6}")
        }
    };
    println!(
        "{:<24} {:<15} {:<16} {} {} {} {}",
        "instance",
        "kind",
        "layer",
        head("LUT4"),
        head("FF"),
        head("BRAM"),
        head("DSP")
    );
    for r in rows {
        let m = r.measured;
        println!(
            "{:<24} {:<15} {:<16} {} {} {} {}",
            r.instance,
            r.kind,
            xnorc_compiler::sanitize::printable(r.layer),
            pair(r.estimate.luts, m.map(|m| m.luts)),
            pair(r.estimate.ffs, m.map(|m| m.ffs)),
            pair(r.estimate.ram_blocks, m.map(|m| m.ram_blocks)),
            pair(r.estimate.dsps, m.map(|m| m.dsps)),
        );
    }
}
