//! Stream plumbing: FIFOs and width converters, with the handshake rules of
//! `xnorc_plan::schedule` (which predicts their timing cycle for cycle).

use crate::verilog::{clog2, lit, r, set, when, Expr, Item, Module, Stmt};

/// Standard stream ports: clk, rst, in_{valid,ready,data}, out_{valid,ready,data}.
pub(crate) fn stream_ports(
    m: &mut Module,
    in_width: usize,
    out_width: usize,
    out_reg: bool,
) -> (Expr, Expr) {
    m.input("clk", 1);
    m.input("rst", 1);
    m.input("in_valid", 1);
    m.output("in_ready", 1);
    let din = m.input("in_data", in_width);
    if out_reg {
        m.output_reg("out_valid", 1);
    } else {
        m.output("out_valid", 1);
    }
    m.input("out_ready", 1);
    let dout = if out_reg {
        m.output_reg("out_data", out_width)
    } else {
        m.output("out_data", out_width)
    };
    (din, dout)
}

/// The handshake of a stage collecting `ratio` input beats into one registered output beat
/// (a width converter's: `plan::schedule::Component::DwcUp`): an input is taken while the
/// output register is free or leaving; the beat completing a group sets `out_valid`.
pub(crate) struct Collect {
    /// An input beat is taken this cycle.
    pub fire: Expr,
    /// The taken beat's position in its group (`None` when `ratio` is 1).
    pub count: Option<Expr>,
    /// The taken beat completes a group.
    pub completes: Expr,
    /// The counter's and `out_valid`'s updates, reset included.
    pub control: Stmt,
}

/// Declares the [`Collect`] handshake of `m` (ports from [`stream_ports`] with a registered
/// output), its beat counter named `counter`.
pub(crate) fn collect(m: &mut Module, ratio: usize, counter: &str) -> Collect {
    m.assign(
        r("in_ready"),
        r("out_valid").un("!").op("||", r("out_ready")),
    );
    let fire = m.let_wire("fire_in", 1, r("in_valid").op("&&", r("in_ready")));
    let out_valid = set(
        r("out_valid"),
        r("completes").op("||", r("out_valid").op("&&", r("out_ready").un("!"))),
    );
    let (count, completes, control) = if ratio > 1 {
        let cw = clog2(ratio);
        let cnt = m.reg(counter, cw);
        let completes = m.let_wire(
            "completes",
            1,
            fire.clone()
                .op("&&", cnt.clone().op("==", lit(cw, ratio as i128 - 1))),
        );
        let control = Stmt::If(
            r("rst"),
            vec![set(cnt.clone(), lit(cw, 0)), set(r("out_valid"), lit(1, 0))],
            vec![
                when(
                    fire.clone(),
                    vec![set(
                        cnt.clone(),
                        completes
                            .clone()
                            .cond(lit(cw, 0), cnt.clone().op("+", lit(cw, 1))),
                    )],
                ),
                out_valid,
            ],
        );
        (Some(cnt), completes, control)
    } else {
        let completes = m.let_wire("completes", 1, fire.clone());
        let control = Stmt::If(
            r("rst"),
            vec![set(r("out_valid"), lit(1, 0))],
            vec![out_valid],
        );
        (None, completes, control)
    };
    Collect {
        fire,
        count,
        completes,
        control,
    }
}

/// A pointer increment with wrap-around at `n`.
fn wrap_inc(p: Expr, bits: usize, n: usize) -> Expr {
    p.clone()
        .op("==", lit(bits, n as i128 - 1))
        .cond(lit(bits, 0), p.op("+", lit(bits, 1)))
}

/// First-word-fall-through FIFO of `depth` entries: a beat written in cycle t is visible at the
/// output in t + 1; `in_ready` is `count < depth` (a read in the same cycle does not free a slot
/// for that cycle's write).
/// `style` is the memory's `ram_style` (none: the synthesis tool's choice).
pub fn fifo(name: &str, width: usize, depth: usize, style: Option<&'static str>) -> Module {
    let mut m = Module::new(name);
    m.header.push(format!(
        "FIFO: {width} bits x {depth} entries, first-word fall-through"
    ));
    let (din, dout) = stream_ports(&mut m, width, width, false);
    let wr = m.let_wire("wr", 1, r("in_valid").op("&&", r("in_ready")));
    let rd = m.let_wire("rd", 1, r("out_valid").op("&&", r("out_ready")));
    let q = queue(&mut m, "", width, depth, style, din, wr, rd, true);
    m.assign(r("in_ready"), q.not_full.expect("asked for"));
    m.assign(r("out_valid"), q.not_empty);
    m.assign(dout, q.head);
    m
}

/// The outputs of a [`queue`].
pub(crate) struct Queue {
    /// Registered `count != depth`, if asked for.
    pub not_full: Option<Expr>,
    /// Registered `count != 0`.
    pub not_empty: Expr,
    /// The oldest entry.
    pub head: Expr,
}

/// A first-word-fall-through queue of `depth` entries inside `m` (names prefixed by `prefix`),
/// written with `din` when `wr`, its head dropped when `rd`. The caller guarantees no write
/// when full and no read when empty (a FIFO by its handshake, an MVU by its credits).
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue(
    m: &mut Module,
    prefix: &str,
    width: usize,
    depth: usize,
    style: Option<&'static str>,
    din: Expr,
    wr: Expr,
    rd: Expr,
    with_not_full: bool,
) -> Queue {
    assert!(depth >= 1);
    let (aw, cw) = (clog2(depth), clog2(depth + 1));
    let mem = format!("{prefix}mem");
    m.items.push(Item::Memory {
        name: mem.clone(),
        width,
        depth,
        init: None,
        style,
    });
    let wptr = m.reg(&format!("{prefix}wptr"), aw);
    let rptr = m.reg(&format!("{prefix}rptr"), aw);
    let count = m.reg(&format!("{prefix}count"), cw);
    // The handshake flags are registers equal to `count != depth` and `count != 0`: upstream
    // stages stall on `in_ready`, so it must not start with a compare of the count.
    let not_full = with_not_full.then(|| m.reg(&format!("{prefix}not_full"), 1));
    let not_empty = m.reg(&format!("{prefix}not_empty"), 1);
    m.always(vec![when(
        wr.clone(),
        vec![set(Expr::Index(mem.clone(), Box::new(wptr.clone())), din)],
    )]);
    let flag = |value: Expr| not_full.iter().map(move |f| set(f.clone(), value.clone()));
    let mut reset = vec![
        set(wptr.clone(), lit(aw, 0)),
        set(rptr.clone(), lit(aw, 0)),
        set(count.clone(), lit(cw, 0)),
        set(not_empty.clone(), lit(1, 0)),
    ];
    reset.extend(flag(lit(1, 1)));
    let mut grows = vec![
        set(count.clone(), count.clone().op("+", lit(cw, 1))),
        set(not_empty.clone(), lit(1, 1)),
    ];
    grows.extend(flag(count.clone().op("!=", lit(cw, depth as i128 - 1))));
    let mut shrinks = vec![
        set(count.clone(), count.clone().op("-", lit(cw, 1))),
        set(not_empty.clone(), count.clone().op("!=", lit(cw, 1))),
    ];
    shrinks.extend(flag(lit(1, 1)));
    m.always(vec![Stmt::If(
        r("rst"),
        reset,
        vec![
            when(
                wr.clone(),
                vec![set(wptr.clone(), wrap_inc(wptr, aw, depth))],
            ),
            when(
                rd.clone(),
                vec![set(rptr.clone(), wrap_inc(rptr.clone(), aw, depth))],
            ),
            Stmt::If(
                wr.clone().op("&&", rd.clone().un("!")),
                grows,
                vec![when(rd.op("&&", wr.un("!")), shrinks)],
            ),
        ],
    )]);
    Queue {
        not_full,
        not_empty,
        head: Expr::Index(mem, Box::new(rptr)),
    }
}

/// Collects `ratio` beats of `width` bits into one (first beat in the low bits).
pub fn dwc_up(name: &str, width: usize, ratio: usize) -> Module {
    assert!(ratio >= 2);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Width converter: {ratio} x {width} bits -> {} bits",
        ratio * width
    ));
    let (din, dout) = stream_ports(&mut m, width, width * ratio, true);
    let hold_w = width * (ratio - 1);
    let hold = m.reg("hold", hold_w);
    let Collect {
        fire,
        completes,
        control,
        ..
    } = collect(&mut m, ratio, "cnt");
    // Shift in from the top: after ratio - 1 beats the first one sits in the low bits.
    let shifted = if ratio == 2 {
        din.clone()
    } else {
        Expr::Concat(vec![din.clone(), hold.clone().slice(width, hold_w - width)])
    };
    m.always(vec![
        when(
            completes.clone(),
            vec![set(dout, Expr::Concat(vec![din, hold.clone()]))],
        ),
        when(fire.op("&&", completes.un("!")), vec![set(hold, shifted)]),
        control,
    ]);
    m
}

/// Splits a beat of `width · ratio` bits into `ratio` beats of `width` bits, low bits first.
pub fn dwc_down(name: &str, width: usize, ratio: usize) -> Module {
    assert!(ratio >= 2);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Width converter: {} bits -> {ratio} x {width} bits",
        ratio * width
    ));
    let total = width * ratio;
    let (din, dout) = stream_ports(&mut m, total, width, false);
    let cw = clog2(ratio);
    let buf = m.reg("buffer", total);
    let holding = m.reg("holding", 1);
    let idx = m.reg("idx", cw);
    let last = m.let_wire(
        "last_piece",
        1,
        idx.clone().op("==", lit(cw, ratio as i128 - 1)),
    );
    m.assign(r("out_valid"), holding.clone());
    m.assign(dout, buf.clone().slice(0, width));
    m.assign(
        r("in_ready"),
        holding
            .clone()
            .un("!")
            .op("||", r("out_ready").op("&&", last.clone())),
    );
    let fire_in = m.let_wire("fire_in", 1, r("in_valid").op("&&", r("in_ready")));
    let fire_out = m.let_wire("fire_out", 1, r("out_valid").op("&&", r("out_ready")));
    let shifted = Expr::Concat(vec![lit(width, 0), buf.clone().slice(width, total - width)]);
    m.always(vec![Stmt::If(
        r("rst"),
        vec![
            set(holding.clone(), lit(1, 0)),
            set(idx.clone(), lit(cw, 0)),
        ],
        vec![Stmt::If(
            fire_out.op("&&", last.clone().un("!")),
            vec![
                set(idx.clone(), idx.clone().op("+", lit(cw, 1))),
                set(buf.clone(), shifted),
            ],
            vec![
                when(
                    fire_in.clone(),
                    vec![set(buf, din), set(idx.clone(), lit(cw, 0))],
                ),
                // A finished last piece without a new beat empties the converter.
                when(
                    fire_in.clone().op("||", r("out_ready").op("&&", last)),
                    vec![set(holding, fire_in)],
                ),
            ],
        )],
    )]);
    m
}
