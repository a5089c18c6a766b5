//! `xnorc inspect`: the node table of a validated model (`xnorc_compiler::summary`).

use crate::errors::CliError;
use std::path::Path;
use xnorc_compiler::load::load_graph;
use xnorc_compiler::summary::summarize;

/// Shortens and escapes an untrusted name for a table cell.
fn cell(name: &str, width: usize) -> String {
    let escaped = xnorc_compiler::sanitize::printable(name).into_owned();
    if escaped.chars().count() > width {
        let cut: String = escaped.chars().take(width - 1).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

pub fn run(model: &Path, json: bool) -> Result<(), CliError> {
    let graph = load_graph(model)?;
    let r = summarize(&graph);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("summary serializes")
        );
        return Ok(());
    }
    println!(
        "model {}: input {} {}, {} classes",
        cell(&r.model, 40),
        r.input_shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x"),
        r.input_type,
        r.classes
    );
    println!(
        "{:>3}  {:<20} {:<9} {:<12} {:<5} {:>9} {:>9} {:>5} {:>12}  detail",
        "#", "name", "op", "shape", "value", "weights", "stored", "bit/w", "MACs"
    );
    for (i, n) in r.nodes.iter().enumerate() {
        let shape = n
            .shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("x");
        let per_weight = n
            .bits_per_weight
            .map(|b| format!("{b:.3}"))
            .unwrap_or_default();
        println!(
            "{:>3}  {:<20} {:<9} {:<12} {:<5} {:>9} {:>9} {:>5} {:>12}  {}",
            i,
            cell(&n.name, 20),
            n.op,
            shape,
            n.value,
            n.weight_bits,
            n.stored_weight_bits,
            per_weight,
            n.macs,
            n.detail
        );
    }
    // Sub-bit storage makes a model smaller than one bit per weight; integer layers larger.
    let ratio = r.total_dense_weight_bits as f64 / r.total_weight_bits.max(1) as f64;
    let comparison = if ratio >= 1.0 {
        format!("{ratio:.2}x smaller than")
    } else {
        format!("{:.2}x larger than", 1.0 / ratio)
    };
    println!(
        "total: {} weight bits stored ({:.1} KiB), {:.3} bit/weight: {comparison} the {} bits \
         of one bit per weight; {} MACs per frame",
        r.total_weight_bits,
        r.total_weight_bits as f64 / 8192.0,
        r.bits_per_weight,
        r.total_dense_weight_bits,
        r.total_macs
    );
    if let Some(m) = &r.input_mapping {
        println!("input mapping: {m}");
    }
    if let Some(t) = &r.float_output {
        println!("float output: {t}");
    }
    Ok(())
}
