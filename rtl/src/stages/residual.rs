//! The residual stream's stages and the fork: `xnorc_affine`, `xnorc_threshold`, `xnorc_add`,
//! `xnorc_fork`.

use super::{Context, StageInstance};
use crate::verilog::Param;
use xnorc_plan::memories::MemoryRole;
use xnorc_plan::{
    signed_bits, AddStage, AffineStage, MeanSignStage, PadChannelsStage, Stage, SubsampleStage,
    ThresholdStage,
};

/// The fork after component `i`: its input's beats to both outputs.
pub(super) fn fork(ctx: &Context<'_>, i: usize) -> StageInstance {
    let width = ctx.widths[i];
    StageInstance {
        module: "xnorc_fork",
        summary: vec![format!("Fork: {width}-bit beats to two consumers")],
        params: vec![("WIDTH", Param::int(width))],
        files: Vec::new(),
    }
}

/// Stage `s`, the residual stream's affine `a`.
pub(super) fn affine(s: &Stage, a: &AffineStage) -> StageInstance {
    let (acc, param) = (a.acc_bits as usize, a.param_bits as usize);
    let (pre_bits, bias_bits) = a.field_bits();
    let (pre_bits, bias_bits) = (pre_bits as usize, bias_bits as usize);
    StageInstance {
        module: "xnorc_affine",
        summary: vec![format!(
            "Affine: {} channels, {} per beat: t = (x << {}) + pre; u = (t >= 0 ? mul : neg_mul) \
             * t + bias in {acc} bits; y = {}{}",
            a.c,
            s.input.elems,
            a.in_shift,
            if a.round_half_even {
                format!("u / 2^{} rounded half to even", a.shift)
            } else {
                format!("u >>> {}", a.shift)
            },
            a.saturate
                .map_or(String::new(), |b| format!(", saturated to {b} bits"))
        )],
        params: vec![
            ("C", Param::int(a.c)),
            ("ELEMS", Param::int(s.input.elems)),
            ("IN_BITS", Param::Int(s.input.bits.into())),
            ("IN_SIGNED", Param::flag(s.input.signed)),
            ("IN_SHIFT", Param::Int(a.in_shift.into())),
            ("OUT_BITS", Param::Int(s.output.bits.into())),
            ("SAT_BITS", Param::Int(a.saturate.unwrap_or(0).into())),
            ("PARAM_BITS", Param::int(param)),
            ("PRE_BITS", Param::int(pre_bits)),
            ("BIAS_BITS", Param::int(bias_bits)),
            ("ACC_BITS", Param::int(acc)),
            ("SHIFT", Param::Int(a.shift.into())),
            ("ROUND_HALF_EVEN", Param::flag(a.round_half_even)),
            ("MUL", Param::Fields(param, a.mul.clone())),
            ("NEG_MUL", Param::Fields(param, a.neg_mul.clone())),
            ("PRE", Param::Fields(pre_bits, a.pre.clone())),
            ("BIAS", Param::Fields(bias_bits, a.bias.clone())),
        ],
        files: Vec::new(),
    }
}

/// Stage `s`, thresholds `t` on an integer stream.
pub(super) fn threshold(s: &Stage, t: &ThresholdStage) -> StageInstance {
    // Thresholds and x compare in one more bit than either needs.
    let tb = (signed_bits(t.thresholds.iter().map(|&v| v as i128)) as usize)
        .max(s.input.bits as usize + 1);
    StageInstance {
        module: "xnorc_threshold",
        summary: vec![format!(
            "Thresholds: {} channels, {} per beat, {} level(s) each",
            t.c, s.input.elems, t.levels
        )],
        params: vec![
            ("C", Param::int(t.c)),
            ("ELEMS", Param::int(s.input.elems)),
            ("IN_BITS", Param::Int(s.input.bits.into())),
            ("IN_SIGNED", Param::flag(s.input.signed)),
            ("TB", Param::int(tb)),
            ("LEVELS", Param::int(t.levels)),
            ("OB", Param::Int(s.output.bits.into())),
            ("THRESHOLDS", Param::Fields(tb, t.thresholds.clone())),
            (
                "GE",
                Param::Fields(1, t.ge.iter().map(|&g| i64::from(g)).collect()),
            ),
        ],
        files: Vec::new(),
    }
}

/// Stage `s`, the join `a` of its input and `a.b`.
pub(super) fn add(s: &Stage, a: &AddStage) -> StageInstance {
    StageInstance {
        module: "xnorc_add",
        summary: vec![format!(
            "Join: {} elements per beat, (a << {}) + (b << {}) in {} bits{}",
            s.input.elems,
            a.shift[0],
            a.shift[1],
            a.sum_bits,
            a.saturate
                .map_or(String::new(), |b| format!(", saturated to {b} bits"))
        )],
        params: vec![
            ("ELEMS", Param::int(s.input.elems)),
            ("A_BITS", Param::Int(s.input.bits.into())),
            ("A_SIGNED", Param::flag(s.input.signed)),
            ("B_BITS", Param::Int(a.b.bits.into())),
            ("B_SIGNED", Param::flag(a.b.signed)),
            ("SHIFT_A", Param::Int(a.shift[0].into())),
            ("SHIFT_B", Param::Int(a.shift[1].into())),
            ("SUM_BITS", Param::Int(a.sum_bits.into())),
            ("OUT_BITS", Param::Int(s.output.bits.into())),
            ("SAT_BITS", Param::Int(a.saturate.unwrap_or(0).into())),
        ],
        files: Vec::new(),
    }
}

/// Stage `s`, SiMaN's meansign `m`: the frame buffer in the place the plan chose.
pub(super) fn mean_sign(ctx: &Context<'_>, s: &Stage, m: &MeanSignStage) -> StageInstance {
    let beats = s.input.beats;
    let addr = (usize::BITS - beats.saturating_sub(1).leading_zeros()).max(1) as usize;
    StageInstance {
        module: "xnorc_meansign",
        summary: vec![format!(
            "Meansign: a frame of {} elements ({beats} beats of {}) into a buffer, then \
             bit = [N*x >= sum] in {} bits",
            m.n, s.input.elems, m.sum_bits
        )],
        params: vec![
            ("ELEMS", Param::int(s.input.elems)),
            ("BEATS", Param::int(beats)),
            ("IN_BITS", Param::Int(s.input.bits.into())),
            ("IN_SIGNED", Param::flag(s.input.signed)),
            ("SUM_BITS", Param::Int(m.sum_bits.into())),
            ("ADDR_W", Param::int(addr)),
            (
                "BUF_STYLE",
                ctx.buffer_style(&s.name, MemoryRole::FrameBuffer),
            ),
        ],
        files: Vec::new(),
    }
}

/// Stage `s`, a 1×1 window with stride `p.stride`.
pub(super) fn subsample(s: &Stage, p: &SubsampleStage) -> StageInstance {
    StageInstance {
        module: "xnorc_subsample",
        summary: vec![format!(
            "Subsample: every {}th pixel of every {}th row of a {}x{} map ({} beats a pixel)",
            p.stride, p.stride, p.h, p.w, p.cb
        )],
        params: vec![
            ("WIDTH", Param::int(s.input.width())),
            ("CB", Param::int(p.cb)),
            ("H", Param::int(p.h)),
            ("W", Param::int(p.w)),
            ("STRIDE", Param::int(p.stride)),
        ],
        files: Vec::new(),
    }
}

/// Stage `s`, zero channels around each pixel's.
pub(super) fn pad_channels(s: &Stage, p: &PadChannelsStage) -> StageInstance {
    StageInstance {
        module: "xnorc_pad_channels",
        summary: vec![format!(
            "Pad channels: per pixel {} zero beats, its {} beats, {} zero beats",
            p.before, p.own, p.after
        )],
        params: vec![
            ("WIDTH", Param::int(s.output.width())),
            ("BEFORE", Param::int(p.before)),
            ("OWN", Param::int(p.own)),
            ("AFTER", Param::int(p.after)),
        ],
        files: Vec::new(),
    }
}
