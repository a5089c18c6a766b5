//! The output stage: per class score = mul·acc + add (registered), then the argmax (lowest index
//! among the highest scores, registered). Output beat: scores in the low bits (class c at
//! [c·B, (c+1)·B)), the argmax above them.

use crate::verilog::{clog2, lit, r, set, when, Expr, Module, Stmt};
use xnorc_compiler::plan::{ScoresStage, Stream};

/// Generates the scores stage.
pub fn scores(name: &str, s: &ScoresStage, input: &Stream) -> Module {
    let c = s.classes;
    let (a, b) = (input.bits as usize, s.score_bits as usize);
    let ib = clog2(c);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Scores: {c} classes, score = mul*acc + add in {b} bits, argmax (lowest index on ties)"
    ));
    let (din, dout) = crate::stream::stream_ports(&mut m, c * a, c * b + ib, true);
    let v1 = m.reg("v1", 1);
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
    m.always(vec![when(ce.clone(), body)]);
    // Argmax chain: strictly greater replaces, so the lowest index wins ties.
    let mut best = regs[0].clone();
    let mut idx = lit(ib, 0);
    for (k, q) in regs.iter().enumerate().skip(1) {
        let better = m.let_wire(
            &format!("better{k}"),
            1,
            q.clone().signed().op(">", best.clone().signed()),
        );
        if k + 1 < c {
            best = m.let_wire(&format!("best{k}"), b, better.clone().cond(q.clone(), best));
        }
        idx = m.let_wire(&format!("idx{k}"), ib, better.cond(lit(ib, k as i128), idx));
    }
    let mut out = vec![idx];
    out.extend(regs.iter().rev().cloned());
    m.always(vec![
        when(ce.clone(), vec![set(dout, Expr::Concat(out))]),
        Stmt::If(
            r("rst"),
            vec![set(v1.clone(), lit(1, 0)), set(r("out_valid"), lit(1, 0))],
            vec![when(
                ce,
                vec![
                    set(r("out_valid"), v1.clone()),
                    set(v1, r("in_valid").op("&&", r("in_ready"))),
                ],
            )],
        ),
    ]);
    m
}
