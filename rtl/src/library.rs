//! The Verilog library: one hand-written, parameterized module per stage kind, in `rtl/lib/`,
//! the way finn-rtllib is written. Each file starts with a header stating what the module
//! computes, its interface, its timing (which `xnorc_plan::schedule` models cycle for
//! cycle) and its parameter limits, which the module checks at elaboration (`$error` in a
//! generate block: yosys and Verilator both stop on it).
//!
//! The generated top ([`crate::top`]) instantiates these modules; every design directory gets
//! a copy of the library beside it, so a design is self-contained.

/// The library's files: (file name, contents). Each file holds one module named after it.
pub const FILES: &[(&str, &str)] = &[
    ("xnorc_copies.v", include_str!("../lib/xnorc_copies.v")),
    ("xnorc_rom.v", include_str!("../lib/xnorc_rom.v")),
    ("xnorc_ram.v", include_str!("../lib/xnorc_ram.v")),
    (
        "xnorc_occupancy.v",
        include_str!("../lib/xnorc_occupancy.v"),
    ),
    ("xnorc_queue.v", include_str!("../lib/xnorc_queue.v")),
    ("xnorc_slice.v", include_str!("../lib/xnorc_slice.v")),
    ("xnorc_fifo.v", include_str!("../lib/xnorc_fifo.v")),
    (
        "xnorc_bram_fifo.v",
        include_str!("../lib/xnorc_bram_fifo.v"),
    ),
    ("xnorc_dwc_up.v", include_str!("../lib/xnorc_dwc_up.v")),
    ("xnorc_dwc_down.v", include_str!("../lib/xnorc_dwc_down.v")),
    ("xnorc_lane.v", include_str!("../lib/xnorc_lane.v")),
    (
        "xnorc_adder_tree.v",
        include_str!("../lib/xnorc_adder_tree.v"),
    ),
    ("xnorc_mvu.v", include_str!("../lib/xnorc_mvu.v")),
    ("xnorc_swg.v", include_str!("../lib/xnorc_swg.v")),
    ("xnorc_pool.v", include_str!("../lib/xnorc_pool.v")),
    (
        "xnorc_responses.v",
        include_str!("../lib/xnorc_responses.v"),
    ),
    (
        "xnorc_split_threshold.v",
        include_str!("../lib/xnorc_split_threshold.v"),
    ),
    ("xnorc_scores.v", include_str!("../lib/xnorc_scores.v")),
    ("xnorc_fork.v", include_str!("../lib/xnorc_fork.v")),
    ("xnorc_affine.v", include_str!("../lib/xnorc_affine.v")),
    ("xnorc_add.v", include_str!("../lib/xnorc_add.v")),
    (
        "xnorc_threshold.v",
        include_str!("../lib/xnorc_threshold.v"),
    ),
    ("xnorc_meansign.v", include_str!("../lib/xnorc_meansign.v")),
    (
        "xnorc_subsample.v",
        include_str!("../lib/xnorc_subsample.v"),
    ),
    (
        "xnorc_pad_channels.v",
        include_str!("../lib/xnorc_pad_channels.v"),
    ),
    (
        "xnorc_bytes_to_beats.v",
        include_str!("../lib/xnorc_bytes_to_beats.v"),
    ),
    (
        "xnorc_beat_to_bytes.v",
        include_str!("../lib/xnorc_beat_to_bytes.v"),
    ),
];

/// The library modules each module instantiates.
const USES: &[(&str, &[&str])] = &[
    ("xnorc_queue", &["xnorc_ram", "xnorc_occupancy"]),
    ("xnorc_fifo", &["xnorc_queue", "xnorc_slice"]),
    ("xnorc_bram_fifo", &["xnorc_ram", "xnorc_occupancy"]),
    ("xnorc_rom", &["xnorc_copies"]),
    (
        "xnorc_mvu",
        &[
            "xnorc_copies",
            "xnorc_rom",
            "xnorc_lane",
            "xnorc_adder_tree",
            "xnorc_queue",
        ],
    ),
    ("xnorc_swg", &["xnorc_ram"]),
    ("xnorc_pool", &["xnorc_ram"]),
    ("xnorc_meansign", &["xnorc_ram"]),
    ("xnorc_responses", &["xnorc_rom", "xnorc_lane"]),
    ("xnorc_split_threshold", &["xnorc_rom"]),
];

/// The files of `modules` and of every library module they instantiate, in library order:
/// a design directory holds exactly the modules its top needs (lint and synthesis then see no
/// unused modules).
pub fn files_for<'a>(modules: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut needed = std::collections::BTreeSet::new();
    let mut todo: Vec<&str> = modules.into_iter().collect();
    while let Some(m) = todo.pop() {
        if needed.insert(m) {
            todo.extend(
                USES.iter()
                    .filter(|(u, _)| *u == m)
                    .flat_map(|(_, d)| d.iter()),
            );
        }
    }
    FILES
        .iter()
        .filter(|(n, _)| needed.contains(n.strip_suffix(".v").unwrap_or(n)))
        .map(|(n, c)| (n.to_string(), c.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::FILES;

    #[test]
    fn uses_name_every_instantiated_library_module() {
        // Every `xnorc_*` module a file instantiates is listed in USES, and nothing else is.
        for (name, text) in FILES {
            let module = name.strip_suffix(".v").unwrap();
            let mut instantiated: Vec<&str> = FILES
                .iter()
                .map(|(n, _)| n.strip_suffix(".v").unwrap())
                .filter(|other| {
                    *other != module
                        && text
                            .lines()
                            .any(|l| l.trim_start().starts_with(&format!("{other} ")))
                })
                .collect();
            instantiated.sort_unstable();
            let mut listed: Vec<&str> = super::USES
                .iter()
                .filter(|(u, _)| *u == module)
                .flat_map(|(_, d)| d.iter().copied())
                .collect();
            listed.sort_unstable();
            assert_eq!(instantiated, listed, "{name}");
        }
    }

    #[test]
    fn a_design_gets_what_its_modules_instantiate() {
        let names: Vec<String> = super::files_for(["xnorc_fifo", "xnorc_scores"])
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            [
                "xnorc_ram.v",
                "xnorc_occupancy.v",
                "xnorc_queue.v",
                "xnorc_slice.v",
                "xnorc_fifo.v",
                "xnorc_scores.v"
            ]
        );
    }

    #[test]
    fn every_file_holds_the_module_it_is_named_after() {
        for (name, text) in FILES {
            let module = name.strip_suffix(".v").unwrap();
            let declared: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix("module "))
                .map(|l| l.split([' ', '#', '(']).next().unwrap())
                .collect();
            assert_eq!(declared, [module], "{name}");
            assert!(
                text.starts_with(&format!("// {module}: ")),
                "{name} has no header"
            );
        }
    }
}
