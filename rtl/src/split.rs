//! The split threshold stage of a layer with split channels
//! (`xnorc_plan::split::SplitThreshold`; docs/hardware.md, "Split partial sums").
//!
//! One accumulator arrives per beat: the layer's O outputs in channel order, then the probe
//! rows. Output j < O compares with its threshold (a small asynchronous ROM) and shifts its bit
//! into the output word; a split channel's own accumulator v is also kept in a register. Probe
//! row O + q then forms split channel q's key from v and the probe's u, reads the threshold on
//! v from its table and overwrites the channel's bit. The beat of the last row registers the
//! word as the output, so the handshake is a width converter's
//! (`plan::schedule::Component::SplitThreshold`).
//!
//! Every compare is an unsigned `>=` on offset-binary values (sign bit flipped), as in the MVU:
//! v ≤ t is the complement of v ≥ t + 1.

use crate::mvu::{biased, bound_bits, extend, hex_words, Generated};
use crate::stream::{collect, Collect};
use crate::verilog::{clog2, lit, set, when, Expr, Item, Module};
use xnorc_plan::split::{ProbeKey, SplitThreshold};
use xnorc_plan::Stream;

/// Generates the split threshold stage `name` for `st`, reading `input` (one accumulator per
/// beat) and writing `output` (every channel's bit).
pub fn split_threshold(
    name: &str,
    st: &SplitThreshold,
    input: &Stream,
    output: &Stream,
) -> Generated {
    let (o, rows, a) = (st.o, st.rows, st.acc_bits as usize);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Split threshold {name}: {o} channels, {} on split partial sums, {rows} accumulators \
         ({a} bits) per vector",
        st.split.len()
    ));
    let (din, dout) = crate::stream::stream_ports(&mut m, input.width(), output.width(), true);
    // Rows ≥ 2: the outputs and at least one probe.
    let Collect {
        fire,
        count,
        completes,
        control,
    } = collect(&mut m, rows, "row");
    let (jw, j) = (
        clog2(rows),
        count.expect("a split stage has two rows or more"),
    );
    let acc = din.slice(0, a);
    // Plain channels: {ge, bound} per channel, read at the row counter.
    let tfile = format!("{name}_thresholds.hex");
    m.items.push(Item::Memory {
        name: "thresholds".into(),
        width: a + 1,
        depth: o,
        init: Some(tfile.clone()),
        style: Some("logic"),
    });
    let tw = clog2(o);
    let word = m.let_wire(
        "thr_word",
        a + 1,
        Expr::Index(
            "thresholds".into(),
            Box::new(j.clone().slice(0, tw.min(jw))),
        ),
    );
    let at_least = biased(acc.clone(), a).op(">=", word.clone().slice(0, a));
    let cmp = m.let_wire(
        "cmp",
        1,
        word.bit(a).cond(at_least.clone(), at_least.un("!")),
    );
    let bits = m.reg("bits", o);
    let shifting = m.let_wire(
        "shifting",
        1,
        fire.clone().op("&&", j.clone().op("<", lit(jw, o as i128))),
    );
    // Split channels: held accumulator, key, table read, decision.
    let total = st.table_entries();
    let aw = clog2(total);
    let mut tables = Vec::with_capacity(total);
    let mut patches: Vec<(usize, Expr)> = Vec::new();
    let mut hold = Vec::new();
    let mut base = 0usize;
    for (q, s) in st.split.iter().enumerate() {
        let v = m.reg(&format!("held{q}"), a);
        hold.push(when(
            fire.clone()
                .op("&&", j.clone().op("==", lit(jw, s.channel as i128))),
            vec![set(v.clone(), acc.clone())],
        ));
        // The address base + key − key_min, modulo 2^aw (exact: the true address is below
        // it), so the key is only needed modulo 2^aw. Half a difference of two values of one
        // parity is the difference of their halves.
        let fit = |x: Expr, w: usize| extend(x, w, aw, true);
        let offset = (base as i128 - i128::from(s.key_min)).rem_euclid(1 << aw);
        let key = match s.key {
            ProbeKey::Difference => fit(v.clone(), a).op("-", fit(acc.clone(), a)),
            ProbeKey::HalfDifference => fit(v.clone().slice(1, a - 1), a - 1)
                .op("-", fit(acc.clone().slice(1, a - 1), a - 1)),
            ProbeKey::Probe => fit(acc.clone(), a),
        };
        let addr = m.let_wire(&format!("addr{q}"), aw, key.op("+", lit(aw, offset)));
        let entry = m.let_wire(
            &format!("entry{q}"),
            a,
            Expr::Index("tables".into(), Box::new(addr)),
        );
        let ge = biased(v, a).op(">=", entry);
        let decision = if s.ge { ge } else { ge.un("!") };
        let here = fire
            .clone()
            .op("&&", j.clone().op("==", lit(jw, s.probe_row as i128)));
        let new = here.cond(decision, bits.clone().bit(s.channel));
        patches.push((s.channel, m.let_wire(&format!("decided{q}"), 1, new)));
        tables.extend(s.table.iter().map(|&t| bound_bits(t, s.ge, a)));
        base += s.table.len();
    }
    m.items.push(Item::Memory {
        name: "tables".into(),
        width: a,
        depth: total,
        init: Some(format!("{name}_tables.hex")),
        style: Some("logic"),
    });
    // The next word: shifted during the plain channels, patched at a probe row.
    let shifted = if o == 1 {
        cmp.clone()
    } else {
        Expr::Concat(vec![cmp.clone(), bits.clone().slice(1, o - 1)])
    };
    let patched = Expr::Concat(
        (0..o)
            .rev()
            .map(|i| {
                patches
                    .iter()
                    .find(|(c, _)| *c == i)
                    .map_or_else(|| bits.clone().bit(i), |(_, e)| e.clone())
            })
            .collect(),
    );
    let next = m.let_wire("next_bits", o, shifting.cond(shifted, patched));
    let mut body = vec![
        when(fire, vec![set(bits, next.clone())]),
        when(completes, vec![set(dout, next)]),
        control,
    ];
    body.extend(hold);
    m.always(body);
    let thresholds = (0..o).map(|c| {
        let mut w = bound_bits(st.thresholds[c], st.ge[c], a);
        w.push(st.ge[c]);
        w
    });
    Generated {
        module: m,
        files: vec![
            (tfile, hex_words(thresholds)),
            (format!("{name}_tables.hex"), hex_words(tables.into_iter())),
        ],
    }
}
