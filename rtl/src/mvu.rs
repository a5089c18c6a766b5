//! The matrix-vector unit: PE output channels × SIMD input elements per cycle.
//!
//! Ops (nf, sf) issue one per cycle, nf outer: during pass nf = 0 the input stream supplies the
//! operand and is stored in the input buffer; passes nf > 0 reuse it. An op goes through an
//! operand/weight register (the weight ROM reads synchronously, so yosys maps it to block RAM),
//! optionally a second one (`memory_output_register`: no lane starts at a block RAM output), the
//! lanes and a pipelined adder tree (a register every `tree_pipeline` levels), then the
//! accumulator; one cycle after the last op of a pass, the compare stage registers the
//! thresholded counts of the registered totals (or the raw totals), so no path both adds and
//! compares, and one cycle later that result enters the output queue.
//!
//! Sub-bit weights (docs/hardware.md): a codebook layer's memory holds kernel indices, decoded
//! to weight bits in a register stage of their own through the plane of the op's kernel
//! position; a tiled layer's memory holds each distinct row once (the address wraps), and a
//! fanned-out one compares each of its PE totals against the thresholds of every channel group.
//!
//! The datapath never stalls, so none of its registers has an enable that the next stage's
//! `ready` would have to reach in one cycle. Backpressure works by credits instead: the last op
//! of a pass issues only while a queue slot is unclaimed; it claims the slot at issue, and the
//! slot comes back when its beat leaves the queue. `in_ready` and `issue` depend on registers
//! of this unit and the input's `valid` only.

use crate::verilog::{clog2, lit, r, set, when, Expr, Item, Module, Stmt};
use xnorc_plan::folding::MemoryStyle;
use xnorc_plan::{tree_registers, Lane, Mvu, MvuOutput, Stream};

/// Hex lines of words given as bits (bit i of the word = `bits[i]`).
pub(crate) fn hex_words(words: impl Iterator<Item = Vec<bool>>) -> String {
    let mut out = String::new();
    for bits in words {
        let digits = bits.len().div_ceil(4);
        let mut line = String::with_capacity(digits + 1);
        for d in (0..digits).rev() {
            let nibble = (0..4)
                .filter(|b| bits.get(d * 4 + b).copied().unwrap_or(false))
                .fold(0u8, |v, b| v | 1 << b);
            line.push(char::from_digit(nibble as u32, 16).expect("nibble"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The offset-binary bound (sign bit flipped, `a` bits, LSB first) against which an unsigned
/// `>=` of an offset-binary accumulator decides threshold `t`: acc ≥ t, or with `ge` false
/// acc ≤ t as the complement of acc ≥ t + 1.
pub(crate) fn bound_bits(t: i64, ge: bool, a: usize) -> Vec<bool> {
    let mut word = int_bits_le(if ge { t } else { t + 1 }, a);
    word[a - 1] = !word[a - 1];
    word
}

/// `x` (`a` bits, two's complement) as offset binary: the signed order becomes the unsigned.
pub(crate) fn biased(x: Expr, a: usize) -> Expr {
    Expr::Concat(vec![x.clone().bit(a - 1).un("~"), x.slice(0, a - 1)])
}

/// `value` as `width` two's complement bits, LSB first.
pub(crate) fn int_bits_le(value: i64, width: usize) -> Vec<bool> {
    (0..width).map(|i| (value >> i.min(63)) & 1 == 1).collect()
}

/// `e` (of `from` bits) at `to` bits: sign- or zero-extended, or truncated — exact whenever the
/// value fits, which the plan's ranges guarantee (a partial sum lies in the accumulator range).
pub(crate) fn extend(e: Expr, from: usize, to: usize, signed: bool) -> Expr {
    if from == to {
        return e;
    }
    if to < from {
        return e.slice(0, to);
    }
    let fill = if signed {
        Expr::Repeat(to - from, Box::new(e.clone().bit(from - 1)))
    } else {
        lit(to - from, 0)
    };
    Expr::Concat(vec![fill, e])
}

/// Width and signedness of the value a lane of kind `lane` adds to its tree, for input elements
/// of `eb` bits.
pub(crate) fn leaf_format(lane: Lane, eb: usize) -> (usize, bool) {
    match lane {
        Lane::Xnor | Lane::And => (1, false),
        Lane::XnorMasked | Lane::AndMasked => (2, true),
        Lane::AddSub | Lane::AddZero => (eb + 1, true),
        Lane::Select {
            response_bits,
            signed,
            ..
        } => (response_bits as usize, signed),
    }
}

/// The value a tap lane of kind `lane` adds for weight bit `w` and input element `x` (`eb`
/// bits, two's complement when `input_signed`); `valid` is the beat's valid flag (masked
/// lanes). In the format of [`leaf_format`].
pub(crate) fn tap_leaf(
    lane: Lane,
    w: Expr,
    x: Expr,
    valid: Expr,
    eb: usize,
    input_signed: bool,
) -> Expr {
    // ±1 as two-bit two's complement, 0 for a padded beat.
    let (plus, minus, zero) = (lit(2, 1), lit(2, 3), lit(2, 0));
    match lane {
        Lane::Xnor => w.op("^", x).un("~"),
        Lane::And => w.op("&", x),
        Lane::XnorMasked => valid.cond(w.op("^", x).un("~").cond(plus, minus), zero),
        Lane::AndMasked => valid.op("&&", w).cond(x.cond(plus, minus), zero),
        Lane::AddSub | Lane::AddZero => {
            let xe = extend(x, eb, eb + 1, input_signed);
            let other = if lane == Lane::AddSub {
                xe.clone().un("-")
            } else {
                lit(eb + 1, 0)
            };
            w.cond(xe, other)
        }
        Lane::Select { .. } => unreachable!("a select lane has no tap function"),
    }
}

/// Field `index` (a `tau`-bit expression) of `fields` (`width` bits each): a multiplexer tree
/// on the index bits, lowest bit first. Indices past the last field (which never occur) select
/// zero, so every index bit is used even for a one-kernel codebook.
fn select_field(index: &Expr, tau: usize, width: usize, fields: Vec<Expr>) -> Expr {
    let mut level = fields;
    level.resize(1 << tau, lit(width, 0));
    for bit in 0..tau {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => index.clone().bit(bit).cond(b.clone(), a.clone()),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    level.pop().expect("one field")
}

/// The generated module and its memory files (name, contents).
pub struct Generated {
    /// The module.
    pub module: Module,
    /// Memory init files.
    pub files: Vec<(String, String)>,
}

/// How an MVU is pipelined and buffered: choices of the plan outside the [`Mvu`] itself.
#[derive(Debug, Clone, Copy)]
pub struct MvuContext {
    /// Adder-tree levels per pipeline register (0: none).
    pub tree_pipeline: u32,
    /// The output queue's size (the plan's cycle model sizes it), at least 1.
    pub queue: usize,
    /// A second operand/weight register behind the weight memory.
    pub memory_output_register: bool,
    /// The input buffer's `ram_style` (from the plan's memory inventory).
    pub ibuf_style: Option<&'static str>,
}

/// Generates the MVU `name` for the plan's `m` with input stream `input`.
pub fn mvu(name: &str, m: &Mvu, input: &Stream, output: &Stream, ctx: &MvuContext) -> Generated {
    let MvuContext {
        tree_pipeline,
        queue,
        memory_output_register,
        ibuf_style,
    } = *ctx;
    let (nf, sf, pe, simd) = (m.nf(), m.sf(), m.pe, m.simd);
    // Outputs per pass: PE computed filters, sent to each of the fan-out's channel groups.
    let outs = pe * m.fanout;
    let eb = input.bits as usize;
    // Operand: SIMD elements, plus the valid flag on top for masked (zero-padded binary) lanes.
    // Weights: a bit per lane, or a lane's τ-bit index for a select lane.
    let ww = match m.lane {
        Lane::Select { tau, .. } => pe * simd * tau as usize,
        _ => pe * simd,
    };
    let xw = simd * eb + usize::from(input.valid_bit);
    let a = m.acc_bits as usize;
    let ob = output.bits as usize;
    let mut md = Module::new(name);
    md.header.extend([
        format!(
            "MVU {name}: {} inputs x {} outputs, PE {pe}, SIMD {simd} (NF {nf}, SF {sf}), \
             fan-out {}",
            m.k, m.o, m.fanout
        ),
        format!(
            "weights: {} storage, {} of {} rows stored{}",
            m.storage,
            m.rows(),
            nf,
            match &m.codebook {
                Some(cb) => format!(
                    "; codebook of {} kernels, {}-bit indices decoded per lane",
                    cb.entries, cb.tau
                ),
                None => String::new(),
            }
        ),
        format!(
            "lanes: {:?}; accumulator {a} bits in [{}, {}]; cycles per frame {}",
            m.lane,
            m.acc_min,
            m.acc_max,
            nf * sf
        ),
        format!(
            "tree pipeline: a register every {tree_pipeline} level(s); memory: {:?}; \
             memory output register: {memory_output_register}; output queue: {queue}",
            m.memory
        ),
    ]);
    let (din, dout) = crate::stream::stream_ports(&mut md, xw, outs * ob, false);
    // The weight (or index) memory: `rows` rows, pass nf reading row nf mod rows.
    let depth = m.weight_words.len();
    let (nfw, sfw, aw) = (clog2(nf), clog2(sf), clog2(depth));
    let nf_r = md.reg("nf", nfw);
    let sf_r = md.reg("sf", sfw);
    let waddr = md.reg("waddr", aw);
    // `nf == 0`, `sf == SF - 1` and `credits != 0` as registered flags kept in step with the
    // counters: they gate `issue` and `in_ready`.
    let need_in = md.reg("need_in", 1);
    let last_sf = md.reg("last_sf", 1);
    let credit_ok = md.reg("credit_ok", 1);
    let go = md.let_wire("go", 1, last_sf.clone().un("!").op("||", credit_ok.clone()));
    md.assign(r("in_ready"), need_in.clone().op("&&", go.clone()));
    let issue = md.let_wire(
        "issue",
        1,
        go.op("&&", need_in.clone().cond(r("in_valid"), lit(1, 1))),
    );
    // Operand: the stream during pass 0, the input buffer afterwards.
    let operand = if nf > 1 {
        // Placed as the plan's memory inventory says (plan::memories).
        md.items.push(Item::Memory {
            name: "ibuf".into(),
            width: xw,
            depth: sf,
            init: None,
            style: ibuf_style,
        });
        md.always(vec![when(
            issue.clone().op("&&", need_in.clone()),
            vec![set(
                Expr::Index("ibuf".into(), Box::new(sf_r.clone())),
                din.clone(),
            )],
        )]);
        need_in.clone().cond(
            din.clone(),
            Expr::Index("ibuf".into(), Box::new(sf_r.clone())),
        )
    } else {
        din.clone()
    };
    let operand = md.let_wire("operand", xw, operand);
    // Weight (or kernel index) ROM, read synchronously.
    let wfile = format!("{name}_weights.hex");
    md.items.push(Item::Memory {
        name: "weights".into(),
        width: m.word_bits(),
        depth,
        init: Some(wfile.clone()),
        style: Some(match m.memory {
            MemoryStyle::Block => "block",
            MemoryStyle::Lut => "logic",
        }),
    });
    let x_r = md.reg("x_r", xw);
    let w_r = md.reg("w_r", m.word_bits());
    // A codebook layer reads kernel indices: the plane of the op's kernel position, read with
    // them, turns each lane's index into its weight bit in a register stage of its own.
    let mut plane_files = Vec::new();
    let mut plane_read = None;
    let mut decode_stage = Vec::new();
    let (x_d, w_d) = match &m.codebook {
        None => (x_r.clone(), w_r.clone()),
        Some(cb) => {
            let tau = cb.tau as usize;
            let pfile = format!("{name}_planes.hex");
            plane_files.push((pfile.clone(), hex_words(cb.planes.iter().cloned())));
            md.items.push(Item::Memory {
                name: "planes".into(),
                width: 1 << tau,
                depth: cb.planes.len(),
                init: Some(pfile),
                style: Some("logic"),
            });
            let plane = md.reg("plane_r", 1 << tau);
            // Read in step with the index word; pushed once `kpos` is declared.
            plane_read = Some(set(
                plane,
                Expr::Index("planes".into(), Box::new(r("kpos"))),
            ));
            let (x_c, w_c) = (md.reg("x_c", xw), md.reg("w_c", ww));
            let bits = (0..ww)
                .rev()
                .map(|l| Expr::Index("plane_r".into(), Box::new(w_r.clone().slice(l * tau, tau))))
                .collect();
            decode_stage = vec![
                set(x_c.clone(), x_r.clone()),
                set(w_c.clone(), Expr::Concat(bits)),
            ];
            (x_c, w_c)
        }
    };
    // Optionally a second operand/weight register, so the lanes never start at a block RAM's
    // data output (ECP5's DP16KD takes 5.6 ns from clock to data without its output register).
    let (x_p, w_p) = if memory_output_register {
        (md.reg("x_p", xw), md.reg("w_p", ww))
    } else {
        (x_d.clone(), w_d.clone())
    };
    let decode = usize::from(m.codebook.is_some());
    let extra = decode + usize::from(memory_output_register);
    // Control travelling with each op: valid, last op of a pass, first op of a pass, its nf.
    // Register stages between the operand register and the accumulator: the codebook decode
    // register and the second operand register, if any, and the tree's.
    let regs = extra + tree_registers(simd, tree_pipeline);
    // Only thresholds look at the op's nf (to pick their ROM word), and they read it while the
    // op is at the accumulator, one stage ahead of the compare: the compare stage needs no nf.
    let tracks_nf = matches!(m.output, MvuOutput::Threshold { .. });
    let ctl = |md: &mut Module, stage: usize| {
        (
            md.reg(&format!("v{stage}"), 1),
            md.reg(&format!("last{stage}"), 1),
            md.reg(&format!("first{stage}"), 1),
            if tracks_nf && stage <= regs {
                md.reg(&format!("nf{stage}"), nfw)
            } else {
                lit(nfw, 0)
            },
        )
    };
    let mut ctls = vec![ctl(&mut md, 0)];
    let mut body = vec![
        set(x_r.clone(), operand),
        set(
            w_r.clone(),
            Expr::Index("weights".into(), Box::new(waddr.clone())),
        ),
        set(ctls[0].1.clone(), issue.clone().op("&&", last_sf.clone())),
        set(ctls[0].2.clone(), sf_r.clone().op("==", lit(sfw, 0))),
    ];
    if tracks_nf {
        body.push(set(ctls[0].3.clone(), nf_r.clone()));
    }
    // The memory address of the next op. Dense weights: one word per op, wrapping after the
    // stored rows. Codebook indices: one word per channel block, the same row of words again
    // for each kernel position, the next row after the pass.
    let (address_step, address_reset) = match &m.codebook {
        None => (
            vec![set(
                waddr.clone(),
                waddr
                    .clone()
                    .op("==", lit(aw, depth as i128 - 1))
                    .cond(lit(aw, 0), waddr.clone().op("+", lit(aw, 1))),
            )],
            Vec::new(),
        ),
        Some(cb) => {
            let blocks = cb.channel_blocks;
            let (bw, kw_) = (clog2(blocks), clog2(cb.planes.len()));
            let (row, block, kpos) = (
                md.reg("irow", aw),
                md.reg("cblock", bw),
                md.reg("kpos", kw_),
            );
            let next_row = row
                .clone()
                .op("==", lit(aw, (depth - blocks) as i128))
                .cond(lit(aw, 0), row.clone().op("+", lit(aw, blocks as i128)));
            let step = vec![Stmt::If(
                last_sf.clone(),
                vec![
                    set(row.clone(), next_row.clone()),
                    set(waddr.clone(), next_row),
                    set(block.clone(), lit(bw, 0)),
                    set(kpos.clone(), lit(kw_, 0)),
                ],
                vec![Stmt::If(
                    block.clone().op("==", lit(bw, blocks as i128 - 1)),
                    vec![
                        set(waddr.clone(), row.clone()),
                        set(block.clone(), lit(bw, 0)),
                        set(kpos.clone(), kpos.clone().op("+", lit(kw_, 1))),
                    ],
                    vec![
                        set(waddr.clone(), waddr.clone().op("+", lit(aw, 1))),
                        set(block.clone(), block.clone().op("+", lit(bw, 1))),
                    ],
                )],
            )];
            let reset = vec![
                set(row, lit(aw, 0)),
                set(block, lit(bw, 0)),
                set(kpos, lit(kw_, 0)),
            ];
            (step, reset)
        }
    };
    let counters = Stmt::If(
        r("rst"),
        vec![
            set(nf_r.clone(), lit(nfw, 0)),
            set(sf_r.clone(), lit(sfw, 0)),
            set(waddr.clone(), lit(aw, 0)),
            set(ctls[0].0.clone(), lit(1, 0)),
            set(need_in.clone(), lit(1, 1)),
            set(last_sf.clone(), lit(1, i128::from(sf == 1))),
        ]
        .into_iter()
        .chain(address_reset)
        .collect(),
        vec![
            set(ctls[0].0.clone(), issue.clone()),
            when(
                issue.clone(),
                vec![Stmt::If(
                    last_sf.clone(),
                    vec![
                        set(sf_r.clone(), lit(sfw, 0)),
                        set(last_sf.clone(), lit(1, i128::from(sf == 1))),
                        set(
                            nf_r.clone(),
                            nf_r.clone()
                                .op("==", lit(nfw, nf as i128 - 1))
                                .cond(lit(nfw, 0), nf_r.clone().op("+", lit(nfw, 1))),
                        ),
                        set(
                            need_in.clone(),
                            if nf == 1 {
                                lit(1, 1)
                            } else {
                                nf_r.clone().op("==", lit(nfw, nf as i128 - 1))
                            },
                        ),
                    ],
                    vec![
                        set(sf_r.clone(), sf_r.clone().op("+", lit(sfw, 1))),
                        set(
                            last_sf.clone(),
                            if sf == 1 {
                                lit(1, 1)
                            } else {
                                sf_r.clone().op("==", lit(sfw, sf as i128 - 2))
                            },
                        ),
                    ],
                )]
                .into_iter()
                .chain(address_step.clone())
                .collect(),
            ),
        ],
    );
    body.push(counters);
    body.extend(plane_read);
    md.always(body);
    // Lanes.
    let (leaf_w, signed) = leaf_format(m.lane, eb);
    let levels = if simd == 1 { 0 } else { clog2(simd) };
    let mut partials = Vec::with_capacity(pe);
    let mut stage_regs: Vec<Vec<Stmt>> = vec![Vec::new(); regs];
    if decode == 1 {
        stage_regs[0] = decode_stage;
    }
    if memory_output_register {
        stage_regs[decode] = vec![set(x_p.clone(), x_d), set(w_p.clone(), w_d)];
    }
    for p in 0..pe {
        let mut nodes: Vec<(Expr, usize)> = (0..simd)
            .map(|s| {
                let x = x_p.clone().slice(s * eb, eb);
                let value = match m.lane {
                    // The response of the kernel this lane's index names.
                    Lane::Select {
                        tau,
                        entries,
                        response_bits,
                        ..
                    } => {
                        let (tau, rb) = (tau as usize, response_bits as usize);
                        let index = w_p.clone().slice((p * simd + s) * tau, tau);
                        let fields = (0..entries).map(|j| x.clone().slice(j * rb, rb)).collect();
                        select_field(&index, tau, rb, fields)
                    }
                    lane => tap_leaf(
                        lane,
                        w_p.clone().bit(p * simd + s),
                        x,
                        x_p.clone().bit(xw - 1),
                        eb,
                        input.signed,
                    ),
                };
                (md.let_wire(&format!("l{p}_{s}"), leaf_w, value), leaf_w)
            })
            .collect();
        let mut reg_index = extra;
        for level in 1..=levels {
            let next: Vec<(Expr, usize)> = nodes
                .chunks(2)
                .enumerate()
                .map(|(i, pair)| {
                    // A subtree over m lanes sums to within m·[c_min, c_max] ⊂ the accumulator
                    // range (c_min ≤ 0 ≤ c_max), so no node needs more than the accumulator's bits.
                    let w = (pair[0].1 + 1).min(a);
                    let value = match pair {
                        [a, b] => extend(a.0.clone(), a.1, w, signed)
                            .op("+", extend(b.0.clone(), b.1, w, signed)),
                        [a] => extend(a.0.clone(), a.1, w, signed),
                        _ => unreachable!(),
                    };
                    (md.let_wire(&format!("t{p}_{level}_{i}"), w, value), w)
                })
                .collect();
            nodes = next;
            let register_here =
                tree_pipeline > 0 && (level % tree_pipeline as usize == 0 || level == levels);
            if register_here {
                nodes = nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, (e, w))| {
                        let q = md.reg(&format!("q{p}_{level}_{i}"), w);
                        stage_regs[reg_index].push(set(q.clone(), e));
                        (q, w)
                    })
                    .collect();
                reg_index += 1;
            }
        }
        let (e, w) = nodes.pop().expect("one tree output");
        partials.push(extend(e, w, a, signed));
    }
    for (i, regs_i) in stage_regs.into_iter().enumerate() {
        let c = ctl(&mut md, i + 1);
        let prev = ctls[i].clone();
        let mut body = regs_i;
        body.extend([set(c.1.clone(), prev.1), set(c.2.clone(), prev.2)]);
        if tracks_nf {
            body.push(set(c.3.clone(), prev.3));
        }
        md.always(body);
        md.always(vec![Stmt::If(
            r("rst"),
            vec![set(c.0.clone(), lit(1, 0))],
            vec![set(c.0.clone(), prev.0)],
        )]);
        ctls.push(c);
    }
    let (v_acc, _, first, nf_ahead) = ctls.last().cloned().expect("control stage");
    // The compare stage: the op that updated the accumulator last cycle.
    let (v, last) = (md.reg("v_cmp", 1), md.reg("last_cmp", 1));
    md.always(vec![set(last.clone(), ctls[regs].1.clone())]);
    md.always(vec![Stmt::If(
        r("rst"),
        vec![set(v.clone(), lit(1, 0))],
        vec![set(v.clone(), v_acc.clone())],
    )]);
    // Accumulate; the last op of a pass produces the totals.
    // After the last op of a pass the accumulators hold the totals, for the compare stage.
    let mut acc_body = Vec::new();
    let mut totals = Vec::with_capacity(pe);
    for (p, partial) in partials.into_iter().enumerate() {
        let acc = md.reg(&format!("acc{p}"), a);
        let sum = first
            .clone()
            .cond(partial.clone(), acc.clone().op("+", partial));
        acc_body.push(set(acc.clone(), sum));
        totals.push(acc);
    }
    md.always(vec![when(v_acc, acc_body)]);
    let (out_value, files) = match &m.output {
        MvuOutput::Accumulator => (Expr::Concat(totals.into_iter().rev().collect()), Vec::new()),
        MvuOutput::Threshold {
            levels,
            ge,
            thresholds,
        } => {
            // Threshold ROM: per nf, PE·fanout × levels thresholds (a bits each) then as many
            // direction bits; output e of a pass compares total e mod PE (its filter).
            // Every compare is one unsigned `>=` — a bare carry chain on both families: a total
            // ≤ t is the complement of a total ≥ t + 1, and flipping the sign bit of both sides
            // (offset binary) turns the signed order into the unsigned one.
            let tw = outs * levels * a + outs;
            let words = (0..nf).map(|f| {
                let mut bits = Vec::with_capacity(tw);
                for e in 0..outs {
                    let ch = f * outs + e;
                    for k in 0..*levels {
                        let t = thresholds[ch * levels + k];
                        // ≥ thresholds lie in [lo, hi + 1], ≤ thresholds in [lo − 1, hi]: the
                        // bound is in [lo, hi + 1] either way, which `a` bits hold.
                        bits.extend(bound_bits(t, ge[ch], a));
                    }
                }
                bits.extend((0..outs).map(|e| ge[f * outs + e]));
                bits
            });
            let tfile = format!("{name}_thresholds.hex");
            let contents = hex_words(words);
            md.items.push(Item::Memory {
                name: "thresholds".into(),
                width: tw,
                depth: nf,
                init: Some(tfile.clone()),
                style: Some(match m.threshold_memory {
                    MemoryStyle::Block => "block",
                    MemoryStyle::Lut => "logic",
                }),
            });
            // Read synchronously, in step with the op reaching the last stage (so a large
            // threshold memory can live in block RAM like the weights).
            let word = md.reg("thr_word", tw);
            md.always(vec![set(
                word.clone(),
                Expr::Index("thresholds".into(), Box::new(nf_ahead)),
            )]);
            let biased: Vec<Expr> = totals
                .into_iter()
                .enumerate()
                .map(|(p, total)| md.let_wire(&format!("biased{p}"), a, biased(total, a)))
                .collect();
            let mut out_exprs = Vec::with_capacity(outs);
            for e in 0..outs {
                let ge_bit = word.clone().bit(outs * levels * a + e);
                let mut count: Option<Expr> = None;
                for k in 0..*levels {
                    let bound = word.clone().slice((e * levels + k) * a, a);
                    let at_least = biased[e % pe].clone().op(">=", bound);
                    // ≥: the compare itself; ≤ t: not ≥ t + 1.
                    let cmp =
                        md.let_wire(&format!("c{e}_{k}"), 1, at_least.op("==", ge_bit.clone()));
                    let term = extend(cmp, 1, ob, false);
                    count = Some(match count {
                        None => term,
                        Some(c) => c.op("+", term),
                    });
                }
                out_exprs.push(md.let_wire(&format!("o{e}"), ob, count.expect("levels >= 1")));
            }
            (
                Expr::Concat(out_exprs.into_iter().rev().collect()),
                vec![(tfile, contents)],
            )
        }
    };
    // The result register sits next to the compare logic; the queue behind it may be placed
    // far away, near the next stage (on an UP5K the route to it cost 5.7 ns of 20).
    let result = md.reg("result", outs * ob);
    let v_result = md.reg("v_result", 1);
    md.always(vec![
        set(result.clone(), out_value),
        Stmt::If(
            r("rst"),
            vec![set(v_result.clone(), lit(1, 0))],
            vec![set(v_result.clone(), v.op("&&", last))],
        ),
    ]);
    // The output queue and its credits: a claim at a last op's issue, a return when a beat
    // leaves. The claims guarantee a slot for every write.
    let wr = v_result;
    let rd = md.let_wire("q_rd", 1, r("out_valid").op("&&", r("out_ready")));
    let q = crate::stream::queue(
        &mut md,
        "q_",
        outs * ob,
        queue,
        // A beat or two: registers (as plan::memories lists it).
        Some("logic"),
        result,
        wr,
        rd.clone(),
        false,
    );
    md.assign(r("out_valid"), q.not_empty);
    md.assign(dout, q.head);
    let cw = clog2(queue + 1);
    let credits = md.reg("credits", cw);
    let claim = md.let_wire("claim", 1, issue.clone().op("&&", last_sf.clone()));
    md.always(vec![Stmt::If(
        r("rst"),
        vec![
            set(credits.clone(), lit(cw, queue as i128)),
            set(credit_ok.clone(), lit(1, 1)),
        ],
        vec![Stmt::If(
            claim.clone().op("&&", rd.clone().un("!")),
            vec![
                set(credits.clone(), credits.clone().op("-", lit(cw, 1))),
                set(credit_ok.clone(), credits.clone().op("!=", lit(cw, 1))),
            ],
            vec![when(
                rd.op("&&", claim.un("!")),
                vec![
                    set(credits.clone(), credits.op("+", lit(cw, 1))),
                    set(credit_ok, lit(1, 1)),
                ],
            )],
        )],
    )]);
    let mut files = files;
    files.insert(0, (wfile, hex_words(m.weight_words.iter().cloned())));
    files.extend(plane_files);
    Generated { module: md, files }
}
