//! xnorc's hardware plan: the lowered graph as a chain of streaming stages with their folding,
//! memory images, widths and the analytical cycle model.
//!
//! Owns: stages and their decisions (`stages`: folding choice, lane kind, thresholds in the
//! accumulator's domain, memories), the folding file and its automatic rule (`folding`), the
//! codebook cost rule (`codebook`), split-channel tables (`split`), the memory inventory
//! (`memories`), the cycle model and FIFO sizing (`schedule`), the resource estimate on a
//! device family (`estimate`, reading `xnorc_boards::costs`; per pipeline component with flip-flops in
//! `layer_estimate`), the automatic fit to a board
//! (`fit`), a plan from files (`load`) and plan.json (`report`). The plan's types live in
//! `lane`, `stream`, `stage` and `pipeline`; this file only declares and re-exports, so the
//! modules import each other without cycles.
//! Must not touch: model semantics (crate `xnorc-compiler`: the plan reads the lowered graph and
//! never changes what it computes), Verilog (crate `xnorc-rtl`), tool flows (crate
//! `xnorc-boards`, of which it reads only board data and family costs).
//!
//! Passes → **plan** → Verilog. The plan decides everything about the hardware that is not
//! Verilog syntax (the `rtl` crate only renders it), so reports (`plan.json`) and the generator
//! can never disagree. Stages today: one MVU per matrix layer (fused with the threshold that
//! follows it), width converters and FIFOs between them, sliding-window generators, max-pools,
//! the responses stage of a codebook convolution that shares its kernels' responses, and the
//! scores/argmax stage.

pub mod codebook;
pub mod estimate;
pub mod fit;
pub mod folding;
pub mod lane;
pub mod layer_estimate;
pub mod load;
pub mod memories;
pub mod pipeline;
pub mod report;
pub mod schedule;
pub mod split;
pub mod stage;
mod stages;
pub mod stream;

pub use lane::Lane;
pub use load::build_plan;
pub use pipeline::{tree_registers, HardwarePlan};
pub use report::PlanReport;
pub use stage::{
    AddStage, AffineStage, CodebookDecode, MeanSignStage, Mvu, MvuOutput, PadChannelsStage, Pool,
    Responses, ScoresStage, Stage, StageKind, SubsampleStage, Swg, ThresholdStage,
};
pub use stages::{plan, plan_from_stages, plan_stages, plan_with_progress};
pub use stream::{signed_bits, stream_to_logical, Stream};
