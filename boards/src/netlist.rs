//! What synthesis mapped, counted per resource and per instance of the core.
//!
//! The flow keeps each instance of the core (a stage, FIFO or width converter of the xnorc
//! library) a module of its own through synthesis (`keep_hierarchy`), then flattens before
//! writing the netlist place and route reads. A flattened cell's name starts with the path of
//! the instance it came from (`core.matmul_0.…`), so the netlist's cells, counted by that
//! prefix, are each layer's share of exactly the design that was placed — not a second,
//! separate synthesis.

use crate::family::Family;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Resources in yosys's cells: LUT4s (ECP5: a CCU2C carry cell counts as the two LUT4 slots it
/// takes, a TRELLIS_DPR16X4 LUT RAM as four), flip-flops, block RAMs and hard multipliers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// LUT4s.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// Hard multipliers (DSPs).
    pub dsps: u64,
}

impl std::ops::AddAssign for Resources {
    fn add_assign(&mut self, o: Resources) {
        self.luts += o.luts;
        self.ffs += o.ffs;
        self.ram_blocks += o.ram_blocks;
        self.dsps += o.dsps;
    }
}

impl Resources {
    /// Adds `n` cells of yosys type `kind` on `family`; other types (carries on iCE40, I/O,
    /// PLLs) take none of the four.
    pub fn add_cells(&mut self, family: Family, kind: &str, n: u64) {
        match (family, kind) {
            (Family::Ice40, "SB_LUT4") | (Family::Ecp5, "LUT4") => self.luts += n,
            (Family::Ecp5, "CCU2C") => self.luts += 2 * n,
            // A 16×4 distributed RAM occupies the LUTs of two slices.
            (Family::Ecp5, "TRELLIS_DPR16X4") => self.luts += 4 * n,
            (Family::Ice40, "SB_RAM40_4K" | "SB_SPRAM256KA")
            | (Family::Ecp5, "DP16KD" | "PDPW16KD") => self.ram_blocks += n,
            (Family::Ice40, "SB_MAC16") | (Family::Ecp5, "MULT18X18D") => self.dsps += n,
            (Family::Ice40, k) if k.starts_with("SB_DFF") => self.ffs += n,
            (Family::Ecp5, "TRELLIS_FF") => self.ffs += n,
            _ => {}
        }
    }
}

/// A flattened netlist's resources split by where they came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InstanceResources {
    /// Per instance of the core, by instance name.
    pub core: BTreeMap<String, Resources>,
    /// The core's own glue outside its instances.
    pub core_glue: Resources,
    /// Everything outside the core: the board shell (UART link, gearboxes, reset, clock).
    pub shell: Resources,
}

/// yosys JSON netlist: only what the count needs (serde skips the rest).
#[derive(Deserialize)]
struct Netlist {
    modules: BTreeMap<String, NetModule>,
}

#[derive(Deserialize)]
struct NetModule {
    #[serde(default)]
    cells: BTreeMap<String, NetCell>,
}

#[derive(Deserialize)]
struct NetCell {
    #[serde(rename = "type")]
    kind: String,
}

/// The instance path of a flattened cell's name: yosys writes a public name as `a.b.cell` and a
/// private one with a `$flatten` prefix, either with a leading backslash.
fn path_parts(name: &str) -> Vec<&str> {
    let name = name.strip_prefix("$flatten").unwrap_or(name);
    let name = name.strip_prefix('\\').unwrap_or(name);
    name.split('.')
        .map(|part| part.strip_prefix('\\').unwrap_or(part))
        .collect()
}

/// Counts the cells of module `top` in a yosys JSON netlist by origin: cells under
/// `core_instance.<name>.` go to instance `<name>`, other cells under `core_instance.` to the
/// core's glue, the rest to the shell. None when the value is no yosys netlist or has no
/// `top`. It takes the parsed netlist because the ECP5 flow has parsed (and rewritten) it
/// already: a large device's netlist is hundreds of megabytes.
pub fn count_by_instance(
    json: &serde_json::Value,
    top: &str,
    core_instance: &str,
    family: Family,
) -> Option<InstanceResources> {
    let netlist = Netlist::deserialize(json).ok()?;
    let module = netlist.modules.get(top)?;
    let mut out = InstanceResources::default();
    for (name, cell) in &module.cells {
        let parts = path_parts(name);
        let slot = match parts.as_slice() {
            [first, inst, _, ..] if *first == core_instance => {
                out.core.entry((*inst).to_string()).or_default()
            }
            [first, _, ..] if *first == core_instance => &mut out.core_glue,
            _ => &mut out.shell,
        };
        slot.add_cells(family, &cell.kind, 1);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_go_to_the_instance_their_name_starts_with() {
        // Names as yosys 0.23 writes them after `flatten`: public, with generate-block dots
        // inside an instance, and one private name.
        let text = r#"{"modules": {
            "other": {"cells": {"core.x.a": {"type": "SB_LUT4"}}},
            "top": {"cells": {
                "core.matmul_0.pe_lanes[0].tree.level[1].adds.value_SB_LUT4_O": {"type": "SB_LUT4"},
                "core.matmul_0.acc_SB_DFFE_Q": {"type": "SB_DFFE"},
                "$flatten\\core.\\matmul_0.$abc$12$auto$blifparse": {"type": "SB_LUT4"},
                "core.fifo_a.mem_SB_RAM40_4K": {"type": "SB_RAM40_4K"},
                "core.in_ready_SB_LUT4_I2": {"type": "SB_LUT4"},
                "core.carry": {"type": "SB_CARRY"},
                "gear_in.acc_SB_DFFE_Q": {"type": "SB_DFF"},
                "link.rx.x_SB_LUT4_O": {"type": "SB_LUT4"},
                "coreish.a.b": {"type": "SB_LUT4"}
            }}}}"#;
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let r = count_by_instance(&json, "top", "core", Family::Ice40).unwrap();
        let mvu = r.core["matmul_0"];
        assert_eq!((mvu.luts, mvu.ffs, mvu.ram_blocks), (2, 1, 0));
        assert_eq!(r.core["fifo_a"].ram_blocks, 1);
        assert_eq!(r.core.len(), 2);
        assert_eq!((r.core_glue.luts, r.core_glue.ffs), (1, 0));
        assert_eq!((r.shell.luts, r.shell.ffs), (2, 1));
        assert!(count_by_instance(&json, "missing", "core", Family::Ice40).is_none());
        let not_a_netlist = serde_json::json!({"modules": 3});
        assert!(count_by_instance(&not_a_netlist, "top", "core", Family::Ice40).is_none());
    }

    #[test]
    fn ecp5_carries_and_lut_rams_count_their_lut_slots() {
        let mut r = Resources::default();
        for (kind, n) in [
            ("LUT4", 10),
            ("CCU2C", 3),
            ("TRELLIS_DPR16X4", 1),
            ("TRELLIS_FF", 6),
            ("DP16KD", 2),
            ("MULT18X18D", 1),
            ("TRELLIS_IO", 4),
        ] {
            r.add_cells(Family::Ecp5, kind, n);
        }
        assert_eq!((r.luts, r.ffs, r.ram_blocks, r.dsps), (20, 6, 2, 1));
    }
}
