//! The responses stage of a codebook convolution that shares responses (`xnorc_responses`).

use super::{lane_name, Context, StageInstance};
use crate::images::hex_words;
use crate::verilog::Param;
use xnorc_plan::{Responses, Stage};

/// The responses stage of stage `s` named `name`.
pub(super) fn responses(ctx: &Context<'_>, name: &str, s: &Stage, r: &Responses) -> StageInstance {
    let eb = s.input.bits as usize;
    let (leaf_w, leaf_signed) = r.lane.leaf_format(eb);
    assert_eq!(
        s.output.width(),
        r.simd * r.entries * r.response_bits as usize,
        "generator bug: a responses beat holds SIMD x entries responses"
    );
    let planes = ctx.image(name, "planes");
    StageInstance {
        module: "xnorc_responses",
        summary: vec![
            format!(
                "Codebook responses: {} channels, {} per beat, {} kernel positions, {} kernels",
                r.c, r.simd, r.taps, r.entries
            ),
            format!(
                "lane {}; responses {} bits{}, one beat per {} input beats",
                lane_name(r.lane),
                r.response_bits,
                if r.signed { ", signed" } else { "" },
                r.taps
            ),
        ],
        params: vec![
            ("SIMD", Param::int(r.simd)),
            ("TAPS", Param::int(r.taps)),
            ("ENTRIES", Param::int(r.entries)),
            ("EB", Param::int(eb)),
            ("IN_SIGNED", Param::flag(s.input.signed)),
            ("VALID_BIT", Param::flag(s.input.valid_bit)),
            ("LANE", Param::Str(lane_name(r.lane).into())),
            ("LEAF_W", Param::int(leaf_w)),
            ("LEAF_SIGNED", Param::flag(leaf_signed)),
            ("RESPONSE_BITS", Param::Int(r.response_bits.into())),
            ("PLANES_FILE", Param::Str(planes.clone())),
        ],
        files: vec![(planes, hex_words(r.planes.iter().cloned()))],
    }
}
