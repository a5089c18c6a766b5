//! Frames ↔ the core's stream beats (docs/hardware.md, "Streams"): input frames packed into
//! input beats, an output beat unpacked into scores and argmax. Beats are `u32` words, least
//! significant first.

use xnorc_plan::{HardwarePlan, StageKind};
use xnorc_sim::Frames;

/// Packs frames into input beats: SIMD elements per beat, element i at bits [i·b, (i+1)·b).
pub fn pack(plan: &HardwarePlan, frames: Frames<'_>, words: usize) -> Vec<u32> {
    let s = &plan.stages[0].input;
    let (elems, bits) = (s.elems, s.bits as usize);
    let per_frame = plan.input_order.len();
    let mut out = Vec::with_capacity(frames.len() / elems * words);
    for beat in 0..frames.len() / elems {
        let mut w = vec![0u32; words];
        for e in 0..elems {
            // Stream position → the element's index in the frame's logical (C, H, W) order.
            let at = beat * elems + e;
            let v =
                frames.get(at / per_frame * per_frame + plan.input_order[at % per_frame]) as u64;
            for b in 0..bits {
                if (v >> b) & 1 == 1 {
                    let bit = e * bits + b;
                    w[bit / 32] |= 1 << (bit % 32);
                }
            }
        }
        out.extend(w);
    }
    out
}

/// Scores and argmax from an output beat (words least significant first).
pub fn unpack(plan: &HardwarePlan, words: &[u32]) -> (Vec<i64>, usize) {
    let StageKind::Scores(sc) = &plan.stages.last().expect("stages").kind else {
        unreachable!("the last stage scores")
    };
    let bit = |i: usize| (words.get(i / 32).copied().unwrap_or(0) >> (i % 32)) & 1 == 1;
    let field =
        |lsb: usize, w: usize| -> u64 { (0..w).fold(0, |v, i| v | (bit(lsb + i) as u64) << i) };
    let b = sc.score_bits as usize;
    let scores = (0..sc.classes)
        .map(|c| {
            let raw = field(c * b, b);
            ((raw << (64 - b)) as i64) >> (64 - b)
        })
        .collect();
    // The argmax field above the scores: ⌈log₂ classes⌉ bits, at least 1 (the rest of the
    // beat, `memories::scores_beat_bits`).
    let ib = xnorc_plan::memories::scores_beat_bits(sc.classes, sc.score_bits) - sc.classes * b;
    (scores, field(sc.classes * b, ib) as usize)
}
