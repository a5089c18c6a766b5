//! The generated Verilog places every memory where the plan's inventory says: each memory of
//! `plan::memories::plan_memories` exists in the elaborated design under its component's
//! instance, with the inventory's width and depth and the matching `ram_style` attribute
//! ("auto" for a buffer the plan leaves unplaced).
//!
//! The memories live in parameterized library modules, so the text of the top cannot show
//! them: yosys elaborates the design (hierarchy, flatten, memory_collect) and its netlist's
//! memory cells are what is checked — what synthesis itself will see. yosys is installed by
//! `make setup`; without it this test fails and says so.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use xnorc_plan::folding::{FoldingFile, MemoryStyle};
use xnorc_plan::memories::{self, BufferStyle, MemoryRole, Placement};
use xnorc_plan::HardwarePlan;

/// One elaborated memory: width, words, `ram_style`.
#[derive(Debug)]
struct Elaborated {
    width: usize,
    depth: usize,
    style: Option<String>,
}

/// The memories of the design in `dir` (top `top`), keyed by their hierarchical names
/// (`instance.submodule.memory`).
fn elaborate(dir: &std::path::Path, top: &str) -> BTreeMap<String, Elaborated> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".v"))
        .collect();
    files.sort();
    let script = format!(
        "read_verilog -sv {}; hierarchy -check -top {top}; proc; flatten; memory_collect; write_json netlist.json",
        files.join(" ")
    );
    let out = Command::new("yosys")
        .current_dir(dir)
        .args(["-q", "-p", &script])
        .output()
        .unwrap_or_else(|e| panic!("yosys could not run ({e}): run `make setup`"));
    assert!(
        out.status.success(),
        "yosys failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let netlist: Value =
        serde_json::from_slice(&std::fs::read(dir.join("netlist.json")).unwrap()).unwrap();
    let number = |v: &Value| usize::from_str_radix(v.as_str().unwrap(), 2).unwrap();
    let cells = netlist["modules"][top]["cells"].as_object().unwrap();
    cells
        .iter()
        .filter(|(_, c)| c["type"].as_str().unwrap().starts_with("$mem"))
        .map(|(name, c)| {
            let memory = Elaborated {
                width: number(&c["parameters"]["WIDTH"]),
                depth: number(&c["parameters"]["SIZE"]),
                style: c["attributes"]["ram_style"].as_str().map(str::to_string),
            };
            (name.clone(), memory)
        })
        .collect()
}

/// The instance of the component that owns a memory: `fifo<i>` is pipeline component i, any
/// other name is a stage's.
fn instance_of(plan: &HardwarePlan, names: &[String], component: &str) -> String {
    let index = match component.strip_prefix("fifo").and_then(|i| i.parse().ok()) {
        Some(i) => i,
        None => plan
            .pipeline
            .iter()
            .position(|c| c.stage().map(|s| plan.stages[s].name.as_str()) == Some(component))
            .unwrap_or_else(|| panic!("no component computes stage {component}")),
    };
    names[index].clone()
}

/// The name of the library instance (a path segment) that holds a memory of `role`.
fn holder(role: MemoryRole) -> &'static str {
    match role {
        MemoryRole::Weights => "weights",
        MemoryRole::Thresholds => "thresholds",
        MemoryRole::Planes => "planes",
        MemoryRole::InputBuffer => "input_buffer",
        MemoryRole::OutputQueue | MemoryRole::Fifo => "queue",
        MemoryRole::LineBuffer => "lines",
        MemoryRole::PoolRow => "row",
        MemoryRole::SplitTables => "tables",
        MemoryRole::FrameBuffer => "frame",
    }
}

/// The slice number in a sliced ROM's memory name (`…slice[3]…`), 0 for any other memory.
fn slice_index(name: &str) -> usize {
    name.split("slice[")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .map_or(0, |n| n.parse().expect("slice number"))
}

fn check(preset: &str) {
    let model = xnorc_compiler::presets::find(preset).unwrap().generate(2);
    check_model(preset, &model, 10, &FoldingFile::default());
}

/// Checks `model`'s design under `folding`, which must have more than `least` memories.
fn check_model(
    preset: &str,
    model: &xnorc_compiler::format::ModelFile,
    least: usize,
    folding: &FoldingFile,
) {
    let graph = xnorc_compiler::passes::lower(model).unwrap();
    let mut plan = xnorc_plan::plan(&graph, folding).unwrap();
    // Every buffer style appears somewhere: a choice by shape, not by any real cost.
    memories::place_buffers(&mut plan, |m| match (m.depth + m.width) % 3 {
        0 if m.role.block_ram_capable() => BufferStyle::Block,
        0 | 1 => BufferStyle::Distributed,
        _ => BufferStyle::Registers,
    });
    let dir = tempfile::tempdir().unwrap();
    let top = xnorc_rtl::write::write_design(dir.path(), &plan).unwrap();
    let elaborated = elaborate(dir.path(), &top);
    let names = xnorc_rtl::top::instance_names(&plan);
    let inventory = memories::plan_memories(&plan);
    assert!(
        inventory.len() > least,
        "{preset}: {} memories",
        inventory.len()
    );
    let mut claimed = 0;
    for m in &inventory {
        let want = match m.placement {
            Placement::Rom(MemoryStyle::Block) => "block",
            Placement::Rom(MemoryStyle::Lut) => "logic",
            Placement::Buffer(Some(BufferStyle::Block)) => "block",
            Placement::Buffer(Some(BufferStyle::Distributed)) => "distributed",
            Placement::Buffer(Some(BufferStyle::Registers)) => "logic",
            Placement::Buffer(None) => "auto",
        };
        let instance = instance_of(&plan, &names, &m.component);
        let prefix = format!("{instance}.");
        let found: Vec<(&String, &Elaborated)> = elaborated
            .iter()
            .filter(|(name, _)| {
                name.strip_prefix(&prefix)
                    .is_some_and(|rest| rest.split('.').any(|seg| seg == holder(m.role)))
            })
            .collect();
        // A two-entry FIFO in registers is a register slice (xnorc_fifo): flip-flops as the
        // placement asks, and no memory for an attribute.
        if m.role == MemoryRole::Fifo && m.depth == 2 && matches!(want, "logic" | "auto") {
            assert!(found.is_empty(), "{preset}: {} {found:?}", m.key());
            continue;
        }
        // One memory each, but a split stage gives every split channel its own table ROM, and
        // a wide ROM in logic is one memory per slice of its word (in slice order).
        let slices = m.slices();
        let copies_allowed = m.role == MemoryRole::SplitTables;
        assert!(
            found.len() == slices.len() || (copies_allowed && !found.is_empty()),
            "{preset}: {} is {} memories in the RTL, {} slices: {found:?}",
            m.key(),
            found.len(),
            slices.len()
        );
        claimed += found.len();
        let mut found = found;
        found.sort_by_key(|(name, _)| slice_index(name));
        for (i, (name, e)) in found.into_iter().enumerate() {
            assert_eq!(
                e.style.as_deref(),
                Some(want),
                "{preset}: {} ({name})",
                m.key()
            );
            // The estimate counts blocks from the inventory's shapes: they must be the RTL's.
            let width = slices.get(i).map_or(m.width, |r| r.len());
            assert_eq!(
                (e.width, e.depth),
                (width, m.depth),
                "{preset}: {} ({name})",
                m.key()
            );
        }
    }
    // And the RTL has no memory the inventory (hence the estimate) does not know.
    assert_eq!(
        claimed,
        elaborated.len(),
        "{preset}: memories outside the inventory: {:?}",
        elaborated.keys().collect::<Vec<_>>()
    );
}

#[test]
fn every_memory_carries_the_plans_placement() {
    for preset in ["cnv-small-codebook", "cnv-small-tiled", "tfc", "all-ops"] {
        check(preset);
    }
    // SiMaN's meansign buffers a whole frame.
    use xnorc_compiler::format::{InputType, PadMode, WeightValues};
    let mut b = xnorc_compiler::presets::Builder::new(3);
    b.input(&[2, 6, 6], InputType::Int8);
    b.conv("stem", 4, 3, 1, 1, PadMode::Zero, WeightValues::Int);
    b.affine("stem_bn", false, Some(8));
    b.meansign("sign");
    b.conv("conv", 4, 3, 1, 1, PadMode::Zero, WeightValues::ZeroOne);
    b.flatten("flatten");
    b.dense("classifier", 3, WeightValues::Pm1);
    b.output(false);
    check_model(
        "meansign",
        &b.finish("meansign"),
        3,
        &FoldingFile::default(),
    );
}

/// A weight ROM in logic wider than a slice is one memory per slice, the last one narrower:
/// TFC's fc1 at PE 16, SIMD 49 has 784-bit words, 12 slices of 64 bits and one of 16.
#[test]
fn a_wide_logic_rom_is_sliced() {
    let model = xnorc_compiler::presets::find("tfc").unwrap().generate(2);
    let folding: FoldingFile =
        serde_json::from_str(r#"{"layers": {"fc1": {"pe": 16, "simd": 49, "memory": "lut"}}}"#)
            .unwrap();
    let graph = xnorc_compiler::passes::lower(&model).unwrap();
    let plan = xnorc_plan::plan(&graph, &folding).unwrap();
    let fc1 = memories::plan_memories(&plan)
        .into_iter()
        .find(|m| m.component == "fc1" && m.role == MemoryRole::Weights)
        .unwrap();
    let widths: Vec<usize> = fc1.slices().iter().map(|r| r.len()).collect();
    assert_eq!(widths, [[64; 12].as_slice(), &[16]].concat());
    check_model("tfc, fc1 in logic", &model, 10, &folding);
}
