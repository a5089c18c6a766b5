//! The sliding-window generator (`xnorc_swg`) and the max-pool (`xnorc_pool`).

use super::{Context, StageInstance};
use crate::verilog::Param;
use xnorc_plan::memories::MemoryRole;
use xnorc_plan::{Pool, Stage, Swg};

/// The window generator of stage `s`.
pub(super) fn swg(ctx: &Context<'_>, s: &Stage, g: &Swg) -> StageInstance {
    let w = &g.window;
    assert_eq!(
        s.output.width(),
        s.input.width() + usize::from(g.masked),
        "generator bug: a window beat is its input beat, plus the valid flag when masked"
    );
    StageInstance {
        module: "xnorc_swg",
        summary: vec![
            format!(
                "Sliding window: {}x{}x{} map, {}x{} kernel, stride {}, padding top {} left {}",
                g.c, w.h, w.w, w.kh, w.kw, w.stride, w.pad_top, w.pad_left
            ),
            format!(
                "{}x{} windows of {} beat(s) per tap from a {}-row line buffer, {}; padded taps {}",
                w.out_h,
                w.out_w,
                w.cb,
                w.rows,
                if w.channel_blocks_outer {
                    "channel blocks outer"
                } else {
                    "kernel positions outer"
                },
                if g.masked {
                    "flagged invalid"
                } else {
                    "sent as zeros"
                }
            ),
        ],
        params: vec![
            ("H", Param::int(w.h)),
            ("W", Param::int(w.w)),
            ("CB", Param::int(w.cb)),
            ("DW", Param::int(s.input.width())),
            ("KH", Param::int(w.kh)),
            ("KW", Param::int(w.kw)),
            ("STRIDE", Param::int(w.stride)),
            ("PAD_TOP", Param::int(w.pad_top)),
            ("PAD_LEFT", Param::int(w.pad_left)),
            ("OUT_H", Param::int(w.out_h)),
            ("OUT_W", Param::int(w.out_w)),
            ("ROWS", Param::int(w.rows)),
            ("MASKED", Param::flag(g.masked)),
            ("CB_OUTER", Param::flag(w.channel_blocks_outer)),
            (
                "LINES_STYLE",
                ctx.buffer_style(&s.name, MemoryRole::LineBuffer),
            ),
        ],
        files: Vec::new(),
    }
}

/// The max-pool of stage `s`.
pub(super) fn pool(ctx: &Context<'_>, s: &Stage, p: &Pool) -> StageInstance {
    assert!(
        !s.input.valid_bit && p.out_h == p.h / p.k && p.out_w == p.w / p.k,
        "generator bug: a pool reads plain beats and keeps whole windows only"
    );
    let eb = s.input.bits as usize;
    let minima = p.minimum.iter().filter(|&&m| m).count();
    let how = match (eb, minima) {
        _ if p.sum => format!("window sums in {} bits", s.output.bits),
        (1, 0) => "OR of bits".to_string(),
        (_, 0) => "elementwise max".to_string(),
        (1, n) => format!(
            "moved after its threshold: OR of bits, AND for the {n} channels whose threshold falls"
        ),
        (_, n) => format!(
            "moved after its threshold: elementwise max, min for the {n} channels whose \
             threshold falls"
        ),
    };
    let mut params = vec![
        ("C", Param::int(p.c)),
        ("ELEMS", Param::int(p.elems)),
        ("EB", Param::int(eb)),
        ("IN_SIGNED", Param::flag(s.input.signed)),
        ("H", Param::int(p.h)),
        ("W", Param::int(p.w)),
        ("K", Param::int(p.k)),
    ];
    if minima > 0 {
        let mask = p.minimum.iter().map(|&m| i64::from(m)).collect();
        params.push(("MIN_MASK", Param::Fields(1, mask)));
    }
    if p.sum {
        params.push(("SUM", Param::Int(1)));
        params.push(("OB", Param::Int(s.output.bits.into())));
    }
    params.push(("ROW_STYLE", ctx.buffer_style(&s.name, MemoryRole::PoolRow)));
    StageInstance {
        module: "xnorc_pool",
        summary: vec![format!(
            "{}: {}x{}x{} map, {k}x{k} window, stride {k} -> {}x{}; {how}",
            if p.sum { "Sum-pool" } else { "Max-pool" },
            p.c,
            p.h,
            p.w,
            p.out_h,
            p.out_w,
            k = p.k
        )],
        params,
        files: Vec::new(),
    }
}
