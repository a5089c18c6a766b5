//! The generated Verilog places every memory where the plan's inventory says: each memory of
//! `plan::memories::plan_memories` is declared in its component's module with the matching
//! `ram_style` attribute (and a buffer the plan leaves unplaced has none).

use xnorc_plan::folding::{FoldingFile, MemoryStyle};
use xnorc_plan::memories::{self, BufferStyle, Placement};

/// The declaration of memory `name` in module `module` of `text`: its `ram_style` (None
/// without an attribute), width and depth; panics if the memory is not declared there.
fn declared(text: &str, module: &str, name: &str) -> (Option<String>, usize, usize) {
    let start = text
        .find(&format!("module {module} ("))
        .unwrap_or_else(|| panic!("module {module} missing"));
    let body = &text[start..start + text[start..].find("endmodule").unwrap()];
    let lines: Vec<&str> = body.lines().collect();
    let decl = lines
        .iter()
        .position(|l| {
            let l = l.trim();
            l.starts_with("reg ") && l.contains(&format!(" {name} [0:"))
        })
        .unwrap_or_else(|| panic!("{module}: no memory {name}"));
    let prev = lines[decl - 1].trim();
    let style = prev
        .strip_prefix("(* ram_style = \"")
        .and_then(|r| r.strip_suffix("\" *)"))
        .map(str::to_string);
    // `reg [W-1:0] name [0:D-1];`
    let number = |s: &str| s.parse::<usize>().unwrap();
    let line = lines[decl].trim();
    let msb = &line[line.find('[').unwrap() + 1..line.find(':').unwrap()];
    let tail = &line[line.rfind("[0:").unwrap() + 3..line.rfind(']').unwrap()];
    (style, number(msb) + 1, number(tail) + 1)
}

fn check(preset: &str) {
    let model = xnorc_compiler::presets::find(preset).unwrap().generate(2);
    let graph = xnorc_compiler::passes::lower(&model).unwrap();
    let mut plan = xnorc_plan::plan(&graph, &FoldingFile::default()).unwrap();
    // Every buffer style appears somewhere: a choice by shape, not by any real cost.
    memories::place_buffers(&mut plan, |m| match (m.depth + m.width) % 3 {
        0 if m.role.block_ram_capable() => BufferStyle::Block,
        0 | 1 => BufferStyle::Distributed,
        _ => BufferStyle::Registers,
    });
    let design = xnorc_rtl::generate(&plan);
    let text = &design.files[0].1;
    let top = xnorc_rtl::top_name(&plan);
    let inventory = memories::plan_memories(&plan);
    assert!(
        inventory.len() > 10,
        "{preset}: {} memories",
        inventory.len()
    );
    for m in &inventory {
        let want = match m.placement {
            Placement::Rom(MemoryStyle::Block) => Some("block"),
            Placement::Rom(MemoryStyle::Lut) => Some("logic"),
            Placement::Buffer(Some(BufferStyle::Block)) => Some("block"),
            Placement::Buffer(Some(BufferStyle::Distributed)) => Some("distributed"),
            Placement::Buffer(Some(BufferStyle::Registers)) => Some("logic"),
            Placement::Buffer(None) => None,
        };
        let module = format!("{top}_{}", m.component);
        let (style, width, depth) = declared(text, &module, m.role.name());
        assert_eq!(style.as_deref(), want, "{preset}: {}", m.key());
        // The estimate counts blocks from the inventory's shapes: they must be the RTL's.
        assert_eq!((width, depth), (m.width, m.depth), "{preset}: {}", m.key());
    }
}

#[test]
fn every_memory_carries_the_plans_placement() {
    for preset in ["cnv-small-codebook", "cnv-small-tiled", "tfc"] {
        check(preset);
    }
}
