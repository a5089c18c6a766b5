//! The responses stage of a codebook convolution that shares its kernels' responses
//! (`xnorc_plan::Responses`; docs/hardware.md, "Sub-bit weights").
//!
//! The window stream brings each channel block's kh·kw taps in a row. A tap counter picks the
//! plane of the current kernel position (bit j: codebook entry j's bit there); for every
//! channel s of the beat and every entry j a counter adds the lane function of the tap and
//! that bit. The beat completing a block registers the finished sums as the output beat, so
//! the handshake is a width converter's (`plan::schedule::Component::Responses`): the output
//! register takes a new beat only as the old one leaves.

use crate::mvu::{extend, hex_words, leaf_format, tap_leaf, Generated};
use crate::stream::{collect, Collect};
use crate::verilog::{clog2, lit, set, when, Expr, Item, Module};
use xnorc_plan::{Responses, Stream};

/// Generates the responses stage `name` for `resp`, reading `input` and writing `output`.
pub fn responses(name: &str, resp: &Responses, input: &Stream, output: &Stream) -> Generated {
    let (simd, taps, entries) = (resp.simd, resp.taps, resp.entries);
    let rb = resp.response_bits as usize;
    let eb = input.bits as usize;
    let dw = input.width();
    let mut m = Module::new(name);
    m.header.extend([
        format!(
            "Codebook responses {name}: {} channels, {simd} per beat, {taps} kernel positions, \
             {entries} kernels",
            resp.c
        ),
        format!(
            "lane {:?}; responses {rb} bits{}, one beat per {taps} input beats",
            resp.lane,
            if resp.signed { ", signed" } else { "" }
        ),
    ]);
    let (din, dout) = crate::stream::stream_ports(&mut m, dw, output.width(), true);
    let Collect {
        fire,
        count,
        completes,
        control,
    } = collect(&mut m, taps, "tap");
    // The kernel position of the tap arriving, and its plane (an asynchronous read of a small
    // ROM: it feeds the counters in the same cycle).
    let pfile = format!("{name}_planes.hex");
    m.items.push(Item::Memory {
        name: "planes".into(),
        width: entries,
        depth: taps,
        init: Some(pfile.clone()),
        style: Some("logic"),
    });
    let (first, read_at) = match count {
        Some(cnt) => (
            m.let_wire("first_tap", 1, cnt.clone().op("==", lit(clog2(taps), 0))),
            cnt,
        ),
        None => (lit(1, 1), lit(1, 0)),
    };
    let plane = m.let_wire(
        "plane",
        entries,
        Expr::Index("planes".into(), Box::new(read_at)),
    );
    let (leaf_w, leaf_signed) = leaf_format(resp.lane, eb);
    let valid = din.clone().bit(dw - 1);
    let mut sums = Vec::with_capacity(simd * entries);
    let mut keep = Vec::new();
    for s in 0..simd {
        let x = din.clone().slice(s * eb, eb);
        for j in 0..entries {
            let leaf = tap_leaf(
                resp.lane,
                plane.clone().bit(j),
                x.clone(),
                valid.clone(),
                eb,
                input.signed,
            );
            let leaf = m.let_wire(&format!("l{s}_{j}"), leaf_w, leaf);
            // Every partial sum lies in the response range, which `rb` bits hold.
            let acc = m.reg(&format!("r{s}_{j}"), rb);
            let sum = m.let_wire(
                &format!("s{s}_{j}"),
                rb,
                first
                    .clone()
                    .cond(lit(rb, 0), acc.clone())
                    .op("+", extend(leaf, leaf_w, rb, leaf_signed)),
            );
            keep.push(set(acc, sum.clone()));
            sums.push(sum);
        }
    }
    // Channel s's responses at [s·E·rb, +E·rb), entry j at +j·rb: element s of the output.
    let beat = Expr::Concat(sums.into_iter().rev().collect());
    m.always(vec![
        when(completes.clone(), vec![set(dout, beat)]),
        when(fire.op("&&", completes.un("!")), keep),
        control,
    ]);
    Generated {
        module: m,
        files: vec![(pfile, hex_words(resp.planes.iter().cloned()))],
    }
}
