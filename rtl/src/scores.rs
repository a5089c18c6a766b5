//! The output stage: per class score = mul·acc + add (registered), then the argmax (lowest index
//! among the highest scores) as a tree with a register per level, so no path compares more than
//! two scores. Output beat: scores in the low bits (class c at [c·B, (c+1)·B)), the argmax
//! above them.

use crate::verilog::{clog2, lit, r, set, when, Expr, Module, Stmt};
use xnorc_plan::{ScoresStage, Stream};

/// Generates the scores stage.
pub fn scores(name: &str, s: &ScoresStage, input: &Stream) -> Module {
    let c = s.classes;
    let (a, b) = (input.bits as usize, s.score_bits as usize);
    let ib = clog2(c);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Scores: {c} classes, score = mul*acc + add in {b} bits, argmax (lowest index on ties)"
    ));
    // Stream ports: out_valid is the last stage's flag (a register), out_data is wired from the
    // last tree level and the score delay line.
    m.input("clk", 1);
    m.input("rst", 1);
    m.input("in_valid", 1);
    m.output("in_ready", 1);
    let din = m.input("in_data", c * a);
    m.output_reg("out_valid", 1);
    m.input("out_ready", 1);
    let dout = m.output("out_data", c * b + ib);
    let ce = m.let_wire("ce", 1, r("out_valid").un("!").op("||", r("out_ready")));
    m.assign(r("in_ready"), ce.clone());
    let mut regs = Vec::with_capacity(c);
    let mut body = Vec::new();
    for k in 0..c {
        let acc = din.clone().slice(k * a, a);
        // Sign-extend to the score width; low bits of the product are exact (the true score fits).
        let wide = if b > a {
            Expr::Concat(vec![
                Expr::Repeat(b - a, Box::new(acc.clone().bit(a - 1))),
                acc,
            ])
        } else {
            acc.slice(0, b)
        };
        let value = wide
            .op("*", lit(b, s.mul[k] as i128))
            .op("+", lit(b, s.add[k] as i128));
        let score = m.let_wire(&format!("affine{k}"), b, value);
        let q = m.reg(&format!("score{k}"), b);
        body.push(set(q.clone(), score));
        regs.push(q);
    }
    // Argmax tree, one register level per pairing: the lower-index side wins unless the other
    // is strictly greater, so the lowest index wins ties. The scores ride along in a delay
    // line so the output beat carries them next to their argmax.
    let depth = xnorc_plan::schedule::scores_depth(c);
    let mut level: Vec<(Expr, Expr)> = regs
        .iter()
        .enumerate()
        .map(|(k, q)| (q.clone(), lit(ib, k as i128)))
        .collect();
    let mut delayed: Vec<Expr> = regs.clone();
    for l in 1..depth {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for (i, pair) in level.chunks(2).enumerate() {
            let qi = m.reg(&format!("idx_l{l}_{i}"), ib);
            let (value, index) = match pair {
                [(a, ai), (bb, bi)] => {
                    let take_b = m.let_wire(
                        &format!("take_l{l}_{i}"),
                        1,
                        bb.clone().signed().op(">", a.clone().signed()),
                    );
                    (
                        take_b.clone().cond(bb.clone(), a.clone()),
                        take_b.cond(bi.clone(), ai.clone()),
                    )
                }
                [(a, ai)] => (a.clone(), ai.clone()),
                _ => unreachable!("chunks of two"),
            };
            body.push(set(qi.clone(), index));
            // The root's best score is not needed: the output carries every score.
            let q = if l + 1 < depth {
                let q = m.reg(&format!("best_l{l}_{i}"), b);
                body.push(set(q.clone(), value));
                q
            } else {
                lit(b, 0)
            };
            next.push((q, qi));
        }
        level = next;
        for (k, d) in delayed.iter_mut().enumerate() {
            let q = m.reg(&format!("score{k}_d{l}"), b);
            body.push(set(q.clone(), d.clone()));
            *d = q;
        }
    }
    // With one class the tree is empty: the index is 0 and one register level still follows.
    let (_, idx) = level.swap_remove(0);
    let idx = if c == 1 { lit(ib, 0) } else { idx };
    m.always(vec![when(ce.clone(), body)]);
    let mut out = vec![idx];
    out.extend(delayed.iter().rev().cloned());
    m.assign(dout, Expr::Concat(out));
    // Valid flags of the register stages (the last one is out_valid).
    let valids: Vec<Expr> = (0..depth - 1).map(|l| m.reg(&format!("v{l}"), 1)).collect();
    let mut advance = Vec::new();
    let mut resets = vec![set(r("out_valid"), lit(1, 0))];
    let mut prev = r("in_valid").op("&&", r("in_ready"));
    for v in &valids {
        advance.push(set(v.clone(), prev));
        resets.push(set(v.clone(), lit(1, 0)));
        prev = v.clone();
    }
    advance.push(set(r("out_valid"), prev));
    m.always(vec![Stmt::If(r("rst"), resets, vec![when(ce, advance)])]);
    m
}
