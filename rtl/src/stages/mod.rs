//! Each component of the plan's pipeline as an instance of its library module
//! ([`crate::library`]): the parameters the plan gives it and the memory images it reads.
//!
//! One file per stage kind. Nothing here decides anything about the hardware: every value
//! comes from the plan (folding, widths, depths, memory placement, thresholds); these
//! functions only spell it as the library module's parameters.

mod mvu;
mod residual;
mod responses;
mod scores;
mod split;
mod stream;
mod window;

use crate::verilog::Param;
use std::collections::BTreeMap;
use xnorc_plan::memories::{self, BufferStyle, MemoryRole, Placement};
use xnorc_plan::schedule::Component;
use xnorc_plan::{HardwarePlan, Lane, StageKind};

/// A component as a library module instance.
pub struct StageInstance {
    /// The library module.
    pub module: &'static str,
    /// What it computes, for the comment above the instance.
    pub summary: Vec<String>,
    /// Parameters, in the module's order.
    pub params: Vec<(&'static str, Param)>,
    /// Memory images it reads: (file name, contents).
    pub files: Vec<(String, String)>,
}

/// What every component's instance may need from the whole plan.
pub struct Context<'a> {
    /// The plan.
    pub plan: &'a HardwarePlan,
    /// Bits per beat of every link: link i enters component i.
    pub widths: Vec<usize>,
    /// The core's top module name: memory images are `<top>_<instance>_<role>.hex`.
    pub top: &'a str,
    /// Every buffer's placement from the plan's memory inventory.
    buffers: BTreeMap<String, Option<&'static str>>,
}

impl<'a> Context<'a> {
    /// The context of `plan`'s core named `top`.
    pub fn new(plan: &'a HardwarePlan, top: &'a str) -> Self {
        let buffers = memories::plan_memories(plan)
            .into_iter()
            .filter_map(|m| match m.placement {
                Placement::Buffer(style) => Some((m.key(), style.map(BufferStyle::attribute))),
                Placement::Rom(_) => None,
            })
            .collect();
        Context {
            plan,
            widths: memories::link_widths(plan),
            top,
            buffers,
        }
    }

    /// The `ram_style` of buffer `role` of `component` ("auto": the tool's choice).
    fn buffer_style(&self, component: &str, role: MemoryRole) -> Param {
        let style = self
            .buffers
            .get(&memories::buffer_key(component, role))
            .copied()
            .flatten();
        Param::Str(style.unwrap_or("auto").into())
    }

    /// The file name of memory image `role` of instance `instance`.
    fn image(&self, instance: &str, role: &str) -> String {
        format!("{}.hex", self.image_stem(instance, role))
    }

    /// The image's name without ".hex": a sliced ROM's images are named from it.
    fn image_stem(&self, instance: &str, role: &str) -> String {
        format!("{}_{instance}_{role}", self.top)
    }
}

/// The image of slice `index` of a sliced ROM given `stem` (as `xnorc_rom` reads it: the stem,
/// "_s", the index in three digits, ".hex").
fn slice_image(stem: &str, index: usize) -> String {
    format!("{stem}_s{index:03}.hex")
}

/// Component `i` of the plan's pipeline as an instance named `name`.
pub fn instance(ctx: &Context<'_>, i: usize, name: &str) -> StageInstance {
    let plan = ctx.plan;
    match plan.pipeline[i] {
        Component::Fifo { depth, .. } => stream::fifo(ctx, i, depth),
        Component::DwcUp { ratio } => stream::dwc_up(ctx.widths[i], ratio),
        Component::DwcDown { ratio } => stream::dwc_down(ctx.widths[i + 1], ratio),
        Component::Mvu { stage, queue, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Mvu(m) = &s.kind else {
                unreachable!("an MVU component computes an MVU stage")
            };
            mvu::mvu(ctx, name, s, m, queue)
        }
        Component::Swg { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Swg(g) = &s.kind else {
                unreachable!("an SWG component computes an SWG stage")
            };
            window::swg(ctx, s, g)
        }
        Component::Pool { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Pool(p) = &s.kind else {
                unreachable!("a pool component computes a pool stage")
            };
            window::pool(ctx, s, p)
        }
        Component::Responses { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Responses(r) = &s.kind else {
                unreachable!("a responses component computes a responses stage")
            };
            responses::responses(ctx, name, s, r)
        }
        Component::SplitThreshold { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::SplitThreshold(t) = &s.kind else {
                unreachable!("a split threshold component computes a split threshold stage")
            };
            split::split_threshold(ctx, name, s, t)
        }
        Component::Scores { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Scores(sc) = &s.kind else {
                unreachable!("a scores component computes the scores stage")
            };
            scores::scores(s, sc)
        }
        Component::Fork => residual::fork(ctx, i),
        Component::Subsample { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::Subsample(p) = &s.kind else {
                unreachable!("a subsample component computes a subsample stage")
            };
            residual::subsample(s, p)
        }
        Component::PadChannels { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::PadChannels(p) = &s.kind else {
                unreachable!("a pad component computes a pad_channels stage")
            };
            residual::pad_channels(s, p)
        }
        Component::MeanSign { stage, .. } => {
            let s = &plan.stages[stage];
            let StageKind::MeanSign(m) = &s.kind else {
                unreachable!("a meansign component computes a meansign stage")
            };
            residual::mean_sign(ctx, s, m)
        }
        Component::Elementwise { stage, .. } | Component::Add { stage } => {
            let s = &plan.stages[stage];
            match &s.kind {
                StageKind::Affine(a) => residual::affine(s, a),
                StageKind::Threshold(t) => residual::threshold(s, t),
                StageKind::Add(a) => residual::add(s, a),
                _ => unreachable!("elementwise and add components compute residual stages"),
            }
        }
    }
}

/// The library's name of a lane kind (`xnorc_lane`'s `LANE`).
fn lane_name(lane: Lane) -> &'static str {
    match lane {
        Lane::Xnor => "xnor",
        Lane::And => "and",
        Lane::AddSub => "add_sub",
        Lane::AddZero => "add_zero",
        Lane::XnorMasked => "xnor_masked",
        Lane::AndMasked => "and_masked",
        Lane::Select { .. } => "select",
        Lane::Mul { .. } => "mul",
    }
}
