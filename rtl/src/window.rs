//! The sliding-window generator and the max-pool stage, with the control rules of
//! `xnorc_plan::schedule` (`swg_write_ok`, `swg_available`, the pool component).

use crate::verilog::{clog2, lit, r, set, when, Expr, Item, Module, Stmt};
use xnorc_plan::{Pool, Stream, Swg};

/// A counter register with its limit, and optionally a shadow register that tracks
/// `counter · step` (so no multiplier is needed).
struct Counter {
    reg: Expr,
    bits: usize,
    limit: usize,
    shadow: Option<(Expr, usize, usize)>,
}

/// Statements advancing nested counters (innermost first); `on_wrap` runs when all wrap.
fn advance(cs: &[Counter], on_wrap: Vec<Stmt>) -> Vec<Stmt> {
    let Some((c, rest)) = cs.split_first() else {
        return on_wrap;
    };
    let mut wrap = vec![set(c.reg.clone(), lit(c.bits, 0))];
    let mut inc = vec![set(c.reg.clone(), c.reg.clone().op("+", lit(c.bits, 1)))];
    if let Some((sh, bits, step)) = &c.shadow {
        wrap.push(set(sh.clone(), lit(*bits, 0)));
        inc.push(set(
            sh.clone(),
            sh.clone().op("+", lit(*bits, *step as i128)),
        ));
    }
    wrap.extend(advance(rest, on_wrap));
    vec![Stmt::If(
        c.reg.clone().op("==", lit(c.bits, c.limit as i128 - 1)),
        wrap,
        inc,
    )]
}

fn max_of(e: Expr, a: Expr, b: Expr) -> Expr {
    e.cond(a, b)
}

/// Generates the SWG.
/// `lines` is the line buffer's `ram_style` (none: the synthesis tool's choice).
pub fn swg(
    name: &str,
    g: &Swg,
    input: &Stream,
    output: &Stream,
    lines: Option<&'static str>,
) -> Module {
    let cb = g.beats_per_pixel();
    let dw = input.width();
    let rows = g.window.rows;
    let sb = clog2(rows);
    let depth = rows * g.window.w * cb;
    let aw = clog2(depth);
    let mut m = Module::new(name);
    m.header.extend([
        format!(
            "Sliding window {name}: {}x{}x{} map, {}x{} kernel, stride {}, padding top {} left {}",
            g.c,
            g.window.h,
            g.window.w,
            g.window.kh,
            g.window.kw,
            g.window.stride,
            g.window.pad_top,
            g.window.pad_left
        ),
        format!(
            "{}x{} windows of {cb} beat(s) per tap from a {rows}-row line buffer, {}; padded \
             taps {}",
            g.window.out_h,
            g.window.out_w,
            if g.window.channel_blocks_outer {
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
    ]);
    let (din, dout) = crate::stream::stream_ports(&mut m, dw, output.width(), false);
    // Row/column arithmetic width: enough for every sum below.
    let rw = clog2(
        2 * g.window.h
            + 2 * g.window.w
            + rows
            + (g.window.out_h + g.window.out_w) * g.window.stride
            + g.window.kh
            + g.window.kw
            + 8,
    ) + 1;
    let reg = |m: &mut Module, n: &str, bits: usize| m.reg(n, bits);
    let (hb, wb, cbb) = (clog2(g.window.h), clog2(g.window.w), clog2(cb));
    let wy = reg(&mut m, "wy", hb);
    let wx = reg(&mut m, "wx", wb);
    let wcb = reg(&mut m, "wcb", cbb);
    let d = reg(&mut m, "d", 2);
    let wbase = reg(&mut m, "wbase", sb);
    let rbase = reg(&mut m, "rbase", sb);
    let oy = reg(&mut m, "oy", clog2(g.window.out_h));
    let ox = reg(&mut m, "ox", clog2(g.window.out_w));
    let oys = reg(&mut m, "oys", rw);
    let oxs = reg(&mut m, "oxs", rw);
    let ky = reg(&mut m, "ky", clog2(g.window.kh));
    let kx = reg(&mut m, "kx", clog2(g.window.kw));
    let rcb = reg(&mut m, "rcb", cbb);
    let ext = |e: Expr, from: usize| Expr::Concat(vec![lit(rw - from, 0), e]);
    let k = |v: usize| lit(rw, v as i128);
    // Write side: swg_write_ok.
    let first_needed = if g.window.pad_top == 0 {
        oys.clone()
    } else {
        oys.clone()
            .op(">=", k(g.window.pad_top))
            .cond(oys.clone().op("-", k(g.window.pad_top)), k(0))
    };
    let first_needed = m.let_wire("first_needed", rw, first_needed);
    let row = m.let_wire(
        "wrow",
        rw,
        // d holds (frames ahead + 1): 2 = one frame ahead, 1 = same frame, 0 = one behind.
        ext(wy.clone(), hb).op("+", d.clone().op("==", lit(2, 2)).cond(k(g.window.h), k(0))),
    );
    let last_write = wy
        .clone()
        .op("==", lit(hb, g.window.h as i128 - 1))
        .op("&&", wx.clone().op("==", lit(wb, g.window.w as i128 - 1)))
        .op("&&", wcb.clone().op("==", lit(cbb, cb as i128 - 1)));
    let last_write = m.let_wire("last_write", 1, last_write);
    let write_ok = d
        .clone()
        .op("==", lit(2, 0))
        .op("||", row.op("<", first_needed.op("+", k(rows))))
        .op(
            "&&",
            d.clone()
                .op("==", lit(2, 2))
                .op("&&", last_write.clone())
                .un("!"),
        );
    m.assign(r("in_ready"), write_ok);
    let fire_in = m.let_wire("fire_in", 1, r("in_valid").op("&&", r("in_ready")));
    // Read side: swg_available.
    // The window's last input pixel: min(limit, start + kernel − 1 − pad) per axis.
    let clamp_to = |e: Expr, limit: usize| e.clone().op(">", k(limit)).cond(k(limit), e);
    let row_need = m.let_wire(
        "row_need",
        rw,
        clamp_to(
            oys.clone()
                .op("+", k(g.window.kh - 1))
                .op("-", k(g.window.pad_top)),
            g.window.h - 1,
        ),
    );
    let col_need = m.let_wire(
        "col_need",
        rw,
        clamp_to(
            oxs.clone()
                .op("+", k(g.window.kw - 1))
                .op("-", k(g.window.pad_left)),
            g.window.w - 1,
        ),
    );
    let wy_e = ext(wy.clone(), hb);
    let avail = d.clone().op("==", lit(2, 2)).op(
        "||",
        d.clone().op("==", lit(2, 1)).op(
            "&&",
            wy_e.clone().op(">", row_need.clone()).op(
                "||",
                wy_e.op("==", row_need)
                    .op("&&", ext(wx.clone(), wb).op(">", col_need)),
            ),
        ),
    );
    let avail = m.let_wire("avail", 1, avail);
    let out_valid_r = m.reg("valid_r", 1);
    m.assign(r("out_valid"), out_valid_r.clone());
    let ce = m.let_wire(
        "ce",
        1,
        out_valid_r.clone().un("!").op("||", r("out_ready")),
    );
    let step = m.let_wire("step", 1, ce.clone().op("&&", avail.clone()));
    // The tap being read.
    let ya = m.let_wire(
        "ya",
        rw,
        oys.clone().op("+", ext(ky.clone(), clog2(g.window.kh))),
    );
    let xa = m.let_wire(
        "xa",
        rw,
        oxs.clone().op("+", ext(kx.clone(), clog2(g.window.kw))),
    );
    // Lower bounds only where there is padding (an unsigned value is never below 0).
    let mut inside = ya
        .clone()
        .op("<", k(g.window.pad_top + g.window.h))
        .op("&&", xa.clone().op("<", k(g.window.pad_left + g.window.w)));
    if g.window.pad_top > 0 {
        inside = inside.op("&&", ya.clone().op(">=", k(g.window.pad_top)));
    }
    if g.window.pad_left > 0 {
        inside = inside.op("&&", xa.clone().op(">=", k(g.window.pad_left)));
    }
    let inside = m.let_wire("in_bounds", 1, inside);
    // Narrow quantities are computed in their own widths: modular arithmetic is exact there
    // because the true values fit (row slot mod B, column < W, address < depth).
    let modk = |bits: usize, v: usize| lit(bits, (v % (1usize << bits)) as i128);
    let rslot = m.let_wire(
        "rslot",
        sb,
        rbase
            .clone()
            .op("+", ya.slice(0, sb))
            .op("-", modk(sb, g.window.pad_top)),
    );
    let ix = m.let_wire(
        "ix",
        wb,
        xa.slice(0, wb).op("-", modk(wb, g.window.pad_left)),
    );
    let slot_words = g.window.w * cb;
    let widen = |e: Expr, b: usize| {
        if b == aw {
            e
        } else {
            Expr::Concat(vec![lit(aw - b, 0), e])
        }
    };
    let addr_of = |slot: Expr, x: Expr, xb: usize, c: Expr| {
        widen(slot, sb)
            .op("*", modk(aw, slot_words))
            .op("+", widen(x, xb).op("*", modk(aw, cb)))
            .op("+", widen(c, cbb))
    };
    let raddr_full = m.let_wire("raddr_full", aw, addr_of(rslot, ix, wb, rcb.clone()));
    let raddr = m.let_wire("raddr", aw, inside.clone().cond(raddr_full, lit(aw, 0)));
    let wy_slot = if hb >= sb {
        wy.clone().slice(0, sb)
    } else {
        Expr::Concat(vec![lit(sb - hb, 0), wy.clone()])
    };
    let wslot = m.let_wire("wslot", sb, wbase.clone().op("+", wy_slot));
    let waddr = m.let_wire("waddr", aw, addr_of(wslot, wx.clone(), wb, wcb.clone()));
    m.items.push(Item::Memory {
        name: "lines".into(),
        width: dw,
        depth,
        init: None,
        style: lines,
    });
    let rdata = m.reg("rdata", dw);
    let pad_r = m.reg("pad_r", 1);
    let data = pad_r.clone().cond(lit(dw, 0), rdata.clone());
    m.assign(
        dout,
        if g.masked {
            Expr::Concat(vec![pad_r.clone().un("!"), data])
        } else {
            data
        },
    );
    m.always(vec![
        when(
            fire_in.clone(),
            vec![set(Expr::Index("lines".into(), Box::new(waddr)), din)],
        ),
        when(
            step.clone(),
            vec![
                set(rdata, Expr::Index("lines".into(), Box::new(raddr))),
                set(pad_r, inside.un("!")),
            ],
        ),
    ]);
    let mut read_counters = [
        Counter {
            reg: rcb.clone(),
            bits: cbb,
            limit: cb,
            shadow: None,
        },
        Counter {
            reg: kx.clone(),
            bits: clog2(g.window.kw),
            limit: g.window.kw,
            shadow: None,
        },
        Counter {
            reg: ky.clone(),
            bits: clog2(g.window.kh),
            limit: g.window.kh,
            shadow: None,
        },
        Counter {
            reg: ox.clone(),
            bits: clog2(g.window.out_w),
            limit: g.window.out_w,
            shadow: Some((oxs.clone(), rw, g.window.stride)),
        },
        Counter {
            reg: oy.clone(),
            bits: clog2(g.window.out_h),
            limit: g.window.out_h,
            shadow: Some((oys.clone(), rw, g.window.stride)),
        },
    ];
    // Taps channel block by channel block, kernel positions innermost, for a codebook layer
    // that shares responses: (kx, ky, channel block) innermost first.
    if g.window.channel_blocks_outer {
        read_counters[..3].rotate_left(1);
    }
    let write_counters = [
        Counter {
            reg: wcb.clone(),
            bits: cbb,
            limit: cb,
            shadow: None,
        },
        Counter {
            reg: wx.clone(),
            bits: wb,
            limit: g.window.w,
            shadow: None,
        },
        Counter {
            reg: wy.clone(),
            bits: hb,
            limit: g.window.h,
            shadow: None,
        },
    ];
    let h_mod = lit(sb, (g.window.h % rows) as i128);
    let rfe = m.let_wire(
        "read_frame_end",
        1,
        step.clone()
            .op("&&", rcb.clone().op("==", lit(cbb, cb as i128 - 1)))
            .op(
                "&&",
                kx.clone()
                    .op("==", lit(clog2(g.window.kw), g.window.kw as i128 - 1)),
            )
            .op(
                "&&",
                ky.clone()
                    .op("==", lit(clog2(g.window.kh), g.window.kh as i128 - 1)),
            )
            .op(
                "&&",
                ox.clone()
                    .op("==", lit(clog2(g.window.out_w), g.window.out_w as i128 - 1)),
            )
            .op(
                "&&",
                oy.clone()
                    .op("==", lit(clog2(g.window.out_h), g.window.out_h as i128 - 1)),
            ),
    );
    let wfe = m.let_wire("write_frame_end", 1, fire_in.clone().op("&&", last_write));
    let mut reset = vec![
        set(d.clone(), lit(2, 1)),
        set(out_valid_r.clone(), lit(1, 0)),
    ];
    for c in read_counters.iter().chain(&write_counters) {
        reset.push(set(c.reg.clone(), lit(c.bits, 0)));
        if let Some((sh, bits, _)) = &c.shadow {
            reset.push(set(sh.clone(), lit(*bits, 0)));
        }
    }
    reset.extend([
        set(wbase.clone(), lit(sb, 0)),
        set(rbase.clone(), lit(sb, 0)),
    ]);
    m.always(vec![Stmt::If(
        r("rst"),
        reset,
        vec![
            when(ce, vec![set(out_valid_r, avail)]),
            when(
                step,
                advance(
                    &read_counters,
                    vec![set(rbase.clone(), rbase.op("+", h_mod.clone()))],
                ),
            ),
            when(
                fire_in,
                advance(
                    &write_counters,
                    vec![set(wbase.clone(), wbase.op("+", h_mod))],
                ),
            ),
            // d moves up when the write side finishes a frame, down when the read side does.
            when(
                wfe.clone().op("&&", rfe.clone().un("!")),
                vec![set(d.clone(), d.clone().op("+", lit(2, 1)))],
            ),
            when(
                rfe.op("&&", wfe.un("!")),
                vec![set(d.clone(), d.op("-", lit(2, 1)))],
            ),
        ],
    )]);
    m
}

/// Generates the max-pool stage.
/// `row` is the row memory's `ram_style` (none: the synthesis tool's choice).
pub fn pool(name: &str, p: &Pool, input: &Stream, row: Option<&'static str>) -> Module {
    let cb = p.c / p.elems;
    let eb = input.bits as usize;
    let dw = input.width();
    let mut m = Module::new(name);
    m.header.push(format!(
        "Max-pool {name}: {}x{}x{} map, {k}x{k} window, stride {k} -> {}x{}; {}",
        p.c,
        p.h,
        p.w,
        p.out_h,
        p.out_w,
        if eb == 1 {
            "OR of bits"
        } else {
            "elementwise max"
        },
        k = p.k
    ));
    let (din, dout) = crate::stream::stream_ports(&mut m, dw, dw, true);
    let (hb, wb, cbb, kb) = (clog2(p.h), clog2(p.w), clog2(cb), clog2(p.k));
    // ox keeps counting windows past the pooled area (up to W / k) until the row ends.
    let ob = clog2(p.w / p.k + 2);
    let iy = m.reg("iy", hb);
    let ix = m.reg("ix", wb);
    let c = m.reg("cb", cbb);
    let kyp = m.reg("kyp", kb);
    let kxp = m.reg("kxp", kb);
    let ox = m.reg("ox", ob);
    let depth = p.out_w * cb;
    let aw = clog2(depth);
    m.items.push(Item::Memory {
        name: "acc".into(),
        width: dw,
        depth,
        init: None,
        style: row,
    });
    m.assign(
        r("in_ready"),
        r("out_valid").un("!").op("||", r("out_ready")),
    );
    let fire = m.let_wire("fire_in", 1, r("in_valid").op("&&", r("in_ready")));
    // Compare in one more bit than the counters so the constants fit.
    let inside = {
        let iy_e = Expr::Concat(vec![lit(1, 0), iy.clone()]);
        let ix_e = Expr::Concat(vec![lit(1, 0), ix.clone()]);
        iy_e.op("<", lit(hb + 1, (p.out_h * p.k) as i128))
            .op("&&", ix_e.op("<", lit(wb + 1, (p.out_w * p.k) as i128)))
    };
    let inside = m.let_wire("in_bounds", 1, inside);
    let first = kyp
        .clone()
        .op("==", lit(kb, 0))
        .op("&&", kxp.clone().op("==", lit(kb, 0)));
    let last = kyp
        .clone()
        .op("==", lit(kb, p.k as i128 - 1))
        .op("&&", kxp.clone().op("==", lit(kb, p.k as i128 - 1)));
    let first = m.let_wire("first", 1, first);
    let last = m.let_wire("last", 1, last);
    // In aw bits: exact whenever the window is inside (ox < out_w), the only time it is used.
    let fit = |e: Expr, b: usize| {
        if b == aw {
            e
        } else if b > aw {
            e.slice(0, aw)
        } else {
            Expr::Concat(vec![lit(aw - b, 0), e])
        }
    };
    let addr = m.let_wire(
        "addr",
        aw,
        fit(ox.clone(), ob)
            .op("*", lit(aw, (cb % (1usize << aw)) as i128))
            .op("+", fit(c.clone(), cbb)),
    );
    let stored = m.let_wire(
        "stored",
        dw,
        Expr::Index("acc".into(), Box::new(addr.clone())),
    );
    // Elementwise combine of the stored partial result and the new beat.
    let combined: Vec<Expr> = (0..p.elems)
        .rev()
        .map(|e| {
            let a = stored.clone().slice(e * eb, eb);
            let b = din.clone().slice(e * eb, eb);
            if eb == 1 {
                a.op("|", b)
            } else if input.signed {
                max_of(a.clone().signed().op(">", b.clone().signed()), a, b)
            } else {
                max_of(a.clone().op(">", b.clone()), a, b)
            }
        })
        .collect();
    let combined = m.let_wire(
        "combined",
        dw,
        first.clone().cond(din.clone(), Expr::Concat(combined)),
    );
    let completes = m.let_wire(
        "completes",
        1,
        fire.clone().op("&&", inside.clone()).op("&&", last),
    );
    m.always(vec![
        when(
            fire.clone().op("&&", inside),
            vec![set(
                Expr::Index("acc".into(), Box::new(addr)),
                combined.clone(),
            )],
        ),
        when(completes.clone(), vec![set(dout, combined)]),
    ]);
    // Counters: cb → ix (with kxp, ox) → iy (with kyp).
    let wrap_k = |ph: &Expr| ph.clone().op("==", lit(kb, p.k as i128 - 1));
    let next_x = vec![
        set(ix.clone(), ix.clone().op("+", lit(wb, 1))),
        Stmt::If(
            wrap_k(&kxp),
            vec![
                set(kxp.clone(), lit(kb, 0)),
                set(ox.clone(), ox.clone().op("+", lit(ob, 1))),
            ],
            vec![set(kxp.clone(), kxp.clone().op("+", lit(kb, 1)))],
        ),
    ];
    let next_y = vec![
        set(iy.clone(), iy.clone().op("+", lit(hb, 1))),
        Stmt::If(
            wrap_k(&kyp),
            vec![set(kyp.clone(), lit(kb, 0))],
            vec![set(kyp.clone(), kyp.clone().op("+", lit(kb, 1)))],
        ),
    ];
    let row_end = vec![
        set(ix.clone(), lit(wb, 0)),
        set(kxp.clone(), lit(kb, 0)),
        set(ox.clone(), lit(ob, 0)),
        Stmt::If(
            iy.clone().op("==", lit(hb, p.h as i128 - 1)),
            vec![set(iy.clone(), lit(hb, 0)), set(kyp.clone(), lit(kb, 0))],
            next_y,
        ),
    ];
    let advance_x = Stmt::If(
        ix.clone().op("==", lit(wb, p.w as i128 - 1)),
        row_end,
        next_x,
    );
    let advance_c = Stmt::If(
        c.clone().op("==", lit(cbb, cb as i128 - 1)),
        vec![set(c.clone(), lit(cbb, 0)), advance_x],
        vec![set(c.clone(), c.clone().op("+", lit(cbb, 1)))],
    );
    m.always(vec![Stmt::If(
        r("rst"),
        vec![
            set(iy, lit(hb, 0)),
            set(ix, lit(wb, 0)),
            set(c, lit(cbb, 0)),
            set(kyp, lit(kb, 0)),
            set(kxp, lit(kb, 0)),
            set(ox, lit(ob, 0)),
            set(r("out_valid"), lit(1, 0)),
        ],
        vec![
            when(fire, vec![advance_c]),
            set(
                r("out_valid"),
                completes.op("||", r("out_valid").op("&&", r("out_ready").un("!"))),
            ),
        ],
    )]);
    m
}
