//! The scores and argmax stage (`xnorc_scores`).

use super::StageInstance;
use crate::verilog::Param;
use xnorc_plan::{ScoresStage, Stage};

/// The scores stage of stage `s`.
pub(super) fn scores(s: &Stage, sc: &ScoresStage) -> StageInstance {
    assert_eq!(
        s.input.elems, sc.classes,
        "generator bug: the scores stage reads one accumulator per class"
    );
    let b = sc.score_bits as usize;
    StageInstance {
        module: "xnorc_scores",
        summary: vec![
            format!(
                "Scores: {} classes, score = mul*acc + add in {b} bits, then the argmax",
                sc.classes
            ),
            format!(
                "(lowest index on ties) {}",
                if sc.scan {
                    "scanning one class every two cycles"
                } else {
                    "through a tree"
                }
            ),
        ],
        params: vec![
            ("CLASSES", Param::int(sc.classes)),
            ("ACC_W", Param::Int(s.input.bits.into())),
            ("SCORE_W", Param::int(b)),
            ("MUL", Param::Fields(b, sc.mul.clone())),
            ("ADD", Param::Fields(b, sc.add.clone())),
            ("SCAN", Param::flag(sc.scan)),
        ],
        files: Vec::new(),
    }
}
