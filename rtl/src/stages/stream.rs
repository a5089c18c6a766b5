//! FIFOs and width converters (`xnorc_fifo`, `xnorc_dwc_up`, `xnorc_dwc_down`).

use super::{Context, StageInstance};
use crate::verilog::Param;
use xnorc_plan::memories::MemoryRole;

/// The FIFO at pipeline position `i`, `depth` beats deep.
pub(super) fn fifo(ctx: &Context<'_>, i: usize, depth: usize) -> StageInstance {
    let width = ctx.widths[i];
    StageInstance {
        module: "xnorc_fifo",
        summary: vec![format!(
            "FIFO: {width} bits x {depth} entries, first-word fall-through"
        )],
        params: vec![
            ("WIDTH", Param::int(width)),
            ("DEPTH", Param::int(depth)),
            (
                "STYLE",
                ctx.buffer_style(&format!("fifo{i}"), MemoryRole::Fifo),
            ),
        ],
        files: Vec::new(),
    }
}

/// Collects `ratio` beats of `width` bits into one.
pub(super) fn dwc_up(width: usize, ratio: usize) -> StageInstance {
    StageInstance {
        module: "xnorc_dwc_up",
        summary: vec![format!(
            "Width converter: {ratio} x {width} bits -> {} bits",
            ratio * width
        )],
        params: vec![("WIDTH", Param::int(width)), ("RATIO", Param::int(ratio))],
        files: Vec::new(),
    }
}

/// Splits a beat of `width · ratio` bits into `ratio` beats of `width` bits.
pub(super) fn dwc_down(width: usize, ratio: usize) -> StageInstance {
    StageInstance {
        module: "xnorc_dwc_down",
        summary: vec![format!(
            "Width converter: {} bits -> {ratio} x {width} bits",
            ratio * width
        )],
        params: vec![("WIDTH", Param::int(width)), ("RATIO", Param::int(ratio))],
        files: Vec::new(),
    }
}
