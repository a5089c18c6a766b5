//! yosys synthesis of a generated TFC-shaped core for iCE40 (UP5K folding) and ECP5: the design
//! must synthesize, infer block RAM for the weight memories marked `block`, and fit an UP5K.
//! The resource counts are printed (run with `--nocapture` to see them).

mod common;

use common::{fixture, ok, require_tool, s};
use std::process::Command;

/// Cell counts from yosys `stat` output.
fn cells(stat: &str, name: &str) -> u64 {
    stat.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            (parts.next() == Some(name)).then(|| parts.next()?.parse::<u64>().ok())?
        })
        .sum()
}

/// Compiles the TFC preset (seed 3) with the UP5K folding and synthesizes it with `synth`.
fn synthesize(synth: &str) -> String {
    require_tool("yosys");
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tfc.xnm");
    ok(&[
        "random-model",
        "--arch",
        "tfc",
        "--seed",
        "3",
        "-o",
        s(&model),
    ]);
    let design = dir.path().join("design");
    let folding = fixture("folding/tfc_up5k.json");
    ok(&[
        "compile",
        s(&model),
        "-o",
        s(&design),
        "--folding",
        s(&folding),
    ]);
    // Run in the design directory: $readmemh paths are relative to it. The design is the
    // generated top and the library modules it uses, each in its own file.
    let mut sources: Vec<String> = std::fs::read_dir(&design)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.ends_with(".v"))
        .collect();
    sources.sort();
    let script = format!(
        "read_verilog {}; {synth} -top tfc_core; tee -o stat.txt stat",
        sources.join(" ")
    );
    let out = Command::new("yosys")
        .current_dir(&design)
        .args(["-q", "-p", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{synth} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(design.join("stat.txt")).unwrap()
}

#[test]
fn tfc_core_synthesizes_for_ice40_and_fits_an_up5k() {
    let stat = synthesize("synth_ice40");
    let luts = cells(&stat, "SB_LUT4");
    let ffs: u64 = [
        "SB_DFF",
        "SB_DFFE",
        "SB_DFFSR",
        "SB_DFFSS",
        "SB_DFFESR",
        "SB_DFFESS",
        "SB_DFFR",
        "SB_DFFS",
        "SB_DFFER",
        "SB_DFFES",
    ]
    .iter()
    .map(|c| cells(&stat, c))
    .sum();
    let carries = cells(&stat, "SB_CARRY");
    let ram = cells(&stat, "SB_RAM40_4K");
    println!("iCE40 TFC (tfc_up5k folding): {luts} SB_LUT4, {carries} SB_CARRY, {ffs} FF, {ram} SB_RAM40_4K");
    // UP5K: 5,280 LUT4/FF, 30 EBR. fc1 (224-bit words, 224 deep) needs 14 EBRs, fc2 and fc3 one
    // each: weights must have landed in block RAM.
    assert!((16..=30).contains(&ram), "{ram} EBR");
    assert!(luts > 0 && luts <= 5280, "{luts} LUT4");
    assert!(ffs <= 5280, "{ffs} FF");
}

#[test]
fn tfc_core_synthesizes_for_ecp5() {
    let stat = synthesize("synth_ecp5");
    let luts = cells(&stat, "LUT4");
    let ffs = cells(&stat, "TRELLIS_FF");
    let ram = cells(&stat, "DP16KD");
    let dpr = cells(&stat, "TRELLIS_DPR16X4");
    println!(
        "ECP5 TFC (tfc_up5k folding): {luts} LUT4, {ffs} FF, {ram} DP16KD, {dpr} TRELLIS_DPR16X4"
    );
    assert!(ram >= 1, "weights in block RAM: {ram} DP16KD");
    assert!(luts > 0 && luts <= 24_000, "{luts} LUT4 (ECP5-25F has 24k)");
}
