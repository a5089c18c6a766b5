//! The plan for a board: the user's folding as given, or an automatic folding that fits the
//! device; and the does-not-fit errors with a folding that would fit.

use crate::error::{create_dir, write_output, BuildError};
use crate::options::Options;
use xnorc_boards::board::Board;
use xnorc_boards::flow::SynthStats;
use xnorc_compiler::progress::{Progress, Silent};
use xnorc_plan::estimate;
use xnorc_plan::fit::{self, folding_of};
use xnorc_plan::folding::{lanes_for_luts, FoldingFile, RegisterDefaults};
use xnorc_plan::{build_plan, HardwarePlan};

/// The registers a build for `board` adds where the folding does not say:
/// - the weight memories' outputs registered twice (`memory_output_register`) on ECP5, where a
///   block RAM's clock-to-data time without its output register was the critical path; not on
///   iCE40, where the flip-flops cost logic cells an UP5K does not have to spare;
/// - the broadcast trees (`broadcast_register`) on ECP5 devices above 50k LUT4s, where one
///   route across the die takes 10–13 ns (TFC at II 7 on the LFE5U-85F: 73.8–90.3 MHz
///   without, 88.4–117.7 over eight builds with, none failing on a datapath;
///   docs/benchmarks.md).
pub fn register_defaults(board: &Board) -> RegisterDefaults {
    let ecp5 = board.device.family == xnorc_boards::family::Family::Ecp5;
    RegisterDefaults {
        memory_output_register: ecp5,
        broadcast_register: ecp5 && board.device.luts > BROADCAST_ABOVE_LUTS,
        reset_copies: ecp5,
    }
}

/// ECP5 devices larger than this (LUT4s) get broadcast trees by default.
pub const BROADCAST_ABOVE_LUTS: u64 = 50_000;

/// The plan for the board: the user's folding as given (buffers placed for the family), or
/// the widest automatic folding — within `--lut-budget` if given — that fits the device, with
/// read-only memories moved out of block RAM where that is what makes it fit (`fit`).
pub fn plan_for_board(
    opts: &Options,
    board: &Board,
    progress: &dyn Progress,
) -> Result<HardwarePlan, BuildError> {
    if opts.folding.is_some() {
        let (_, mut plan) = build_plan(
            &opts.model,
            opts.folding.as_deref(),
            opts.lut_budget,
            register_defaults(board),
        )?;
        fit::place_buffers(&mut plan, board);
        return Ok(plan);
    }
    if let Some(luts) = opts.lut_budget {
        let graph = xnorc_compiler::load::load_graph(&opts.model)?;
        let folding = FoldingFile {
            lane_budget: Some(lanes_for_luts(luts)),
            ..register_defaults(board).folding()
        };
        // The user's lane budget: move memories to logic only while the device's LUTs last.
        return match fit::fit_with_packing(&graph, &folding, board, 1.0, &opts.model, progress)? {
            Some(plan) => Ok(plan),
            None => {
                let (_, mut plan) =
                    build_plan(&opts.model, None, Some(luts), register_defaults(board))?;
                fit::place_buffers(&mut plan, board);
                Ok(plan)
            }
        };
    }
    if let Some(plan) = fit::fitting_plan(&opts.model, board, register_defaults(board), progress)? {
        return Ok(plan);
    }
    let graph = xnorc_compiler::load::load_graph(&opts.model)?;
    let (planned, in_logic) =
        fit::serial_need(&graph, board, register_defaults(board), &opts.model)?;
    let family = board.device.family;
    Err(BuildError::DoesNotFit {
        message: format!(
            "{}: no automatic folding fits {} ({} logic cells, {} block RAMs, {} multipliers): \
         with one lane per layer the estimate is {} block RAMs, {} multipliers and {} logic \
         cells with the memories in block RAM, {} block RAMs and {} logic cells with every \
         read-only memory in logic, and a fit needs all within the device's block RAMs and \
         multipliers and {:.0}% of its logic cells (the rest is nextpnr's room to place and \
         route)",
            opts.model.display(),
            board.name,
            board.device.luts,
            board.device.ram_blocks,
            board.device.dsps,
            planned.ram_blocks,
            planned.dsps,
            planned.logic_cells(family),
            in_logic.ram_blocks,
            in_logic.logic_cells(family),
            fit::AUTO_LUT_FILL * 100.0
        ),
        help: "pick a larger board (`xnorc boards`), a model with fewer weight bits (sub-bit \
               storage: `xnorc inspect` shows bits per weight), or a folding of your own \
               (--folding)"
            .into(),
    })
}

/// The does-not-fit error: what is over, the largest layer, and a folding that would fit
/// (written to `suggested_folding.json` in the output directory).
pub fn does_not_fit(
    opts: &Options,
    board: &Board,
    plan: &HardwarePlan,
    what: String,
) -> Result<BuildError, BuildError> {
    let est = fit::plan_estimate(plan, board);
    let largest = est.largest().map_or(String::new(), |s| {
        format!(
            "; largest layer: {} ({} lanes, ≈{} LUT4, {} block RAMs)",
            s.stage, s.lanes, s.luts, s.ram_blocks
        )
    });
    let graph = xnorc_compiler::load::load_graph(&opts.model)?;
    let fit = fit::fitting_plan(&opts.model, board, register_defaults(board), &Silent)?;
    let hint = match fit {
        // The estimate said this very folding fits, yosys disagrees: fold further.
        Some(fit) if folding_of(&fit, &graph) == folding_of(plan, &graph) => {
            let lanes: usize = est.stages.iter().map(|s| s.lanes).sum();
            format!(
                "the estimate ({} block RAMs, ≈{} LUT4) undercounts this design; fold it \
                 further, e.g. --lut-budget {}",
                est.ram_blocks,
                est.luts,
                (lanes as f64 * estimate::luts_per_lane(board.device.family) * 0.6) as usize
            )
        }
        Some(fit) => {
            let folding = folding_of(&fit, &graph);
            let dir = opts.out_dir(board);
            create_dir(&dir)?;
            let path = dir.join("suggested_folding.json");
            let text = serde_json::to_string_pretty(&folding).expect("folding json") + "\n";
            write_output(&path, text.as_bytes())?;
            let est = fit::plan_estimate(&fit, board);
            format!(
                "a folding that fits (≈{} LUT4, {} block RAMs, II {} cycles) is in {}: \
                 rebuild with --folding {}",
                est.luts,
                est.ram_blocks,
                fit.ii_cycles,
                path.display(),
                path.display()
            )
        }
        None => "no folding of this model fits this device; pick a larger board".into(),
    };
    Ok(BuildError::DoesNotFit {
        message: format!(
            "{}: does not fit {} ({}): {what}{largest}",
            opts.model.display(),
            board.name,
            board.title
        ),
        help: hint,
    })
}

/// After synthesis the counts are exact: stop before place and route if they cannot fit.
pub fn check_synth_fit(
    opts: &Options,
    board: &Board,
    plan: &HardwarePlan,
    synth: &SynthStats,
) -> Result<(), BuildError> {
    let d = &board.device;
    let over = [
        ("LUT4", synth.total.luts, d.luts),
        ("flip-flops", synth.total.ffs, d.ffs),
        ("block RAMs", synth.total.ram_blocks, d.ram_blocks),
        // Multiplier lanes and affines take one each (more when wider than 16/18 bits).
        ("DSPs", synth.total.dsps, d.dsps),
    ]
    .into_iter()
    .filter(|(_, used, have)| used > have)
    .map(|(what, used, have)| format!("yosys maps it to {used} {what}, the device has {have}"))
    .collect::<Vec<_>>();
    if over.is_empty() {
        return Ok(());
    }
    Err(does_not_fit(opts, board, plan, over.join("; "))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_trees_on_large_ecp5_devices_only_reset_copies_on_every_ecp5() {
        let registers = |name: &str| register_defaults(&xnorc_boards::board::find(name).unwrap());
        let on = |memory, broadcast, reset_copies| RegisterDefaults {
            memory_output_register: memory,
            broadcast_register: broadcast,
            reset_copies,
        };
        assert_eq!(registers("icebreaker"), on(false, false, false));
        assert_eq!(registers("ulx3s-25f"), on(true, false, true));
        assert_eq!(registers("ulx3s-85f"), on(true, true, true));
    }
}
