//! Runtime-shaped board glue, from xnorc's own emitter: the byte ↔ beat gearboxes between the
//! host link (rust-hdl, [`crate::shell`]) and the core, the clock primitive, and the board's top
//! module that wires pins, PLL, link, request buffer, gearboxes, core and output slice together.
//!
//! The wire format the gearboxes implement (docs/uart-protocol.md): a request's payload is the
//! core's input stream, bit after bit (beat 0 bit 0 first), packed into bytes LSB first, the last
//! byte padded with zeros; a response's payload is the core's output beat (scores, then argmax)
//! packed the same way.

use crate::verilog::{lit, r, BinOp, Instance, Item, Module, Param, UnOp};
use xnorc_plan::memories::RequestBuffer;

/// Where the core clock comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockSource {
    /// The clock pin drives the design directly (simulation, or no PLL wanted).
    Direct,
    /// iCE40 SB_PLL40 in simple feedback mode.
    Ice40Pll {
        /// Fed by its dedicated pad (`SB_PLL40_PAD`) rather than the fabric (`SB_PLL40_CORE`).
        pad: bool,
        /// DIVR.
        divr: u32,
        /// DIVF.
        divf: u32,
        /// DIVQ.
        divq: u32,
        /// FILTER_RANGE.
        filter_range: u32,
    },
    /// ECP5 EHXPLLL with CLKOP fed back.
    Ecp5Pll {
        /// CLKI_DIV.
        clki_div: u32,
        /// CLKFB_DIV.
        clkfb_div: u32,
        /// CLKOP_DIV.
        clkop_div: u32,
    },
}

/// The core's instance name in the board top (the prefix of its cells in a flattened netlist).
pub const CORE_INSTANCE: &str = "core";

/// What the board's top needs to know about the board.
#[derive(Debug, Clone)]
pub struct BoardTop {
    /// Top module name (a safe identifier).
    pub name: String,
    /// The host link module (rendered by [`crate::shell`]).
    pub link_module: String,
    /// The core's top module.
    pub core_module: String,
    /// Clock source.
    pub clock: ClockSource,
    /// The reset button, if any: `Some(active_low)`.
    pub reset_button: Option<bool>,
    /// The activity LED is lit by a low pin.
    pub led_active_low: bool,
}

/// The board's top: pins → clock → link → request buffer → gearbox → core → output slice →
/// gearbox → link → pins.
///
/// The request buffer is the library's `xnorc_bram_fifo`, one whole request deep
/// (`request_buffer`), with its registered read side (`FULL_RATE = 0`: a byte at most every
/// 4 cycles, where the line brings one every 40 or more); the gearboxes are `xnorc_bytes_to_beats` (requests: `beats` beats of
/// `in_width` bits per frame) and `xnorc_beat_to_bytes` (responses of `out_width` bits). The
/// output slice, an `xnorc_fifo` one beat deep, registers the core's `out_ready`: the output
/// gearbox's handshake no longer reaches into the core's last stage. On the UP5K (TFC,
/// `tfc_up5k.json`, six placement seeds at 60 MHz) it raised the lowest Fmax from 43.5 to
/// 50.2 MHz (docs/benchmarks.md). A frame has one output beat, so a one-beat slice costs no
/// throughput.
///
/// With `reset_copies` every instance takes its own registered copy of the link's reset
/// ([`xnorc_plan::folding::FoldingFile::reset_copies`]); without, they share the link's.
pub fn board_top(
    b: &BoardTop,
    request_buffer: RequestBuffer,
    (in_width, beats): (usize, usize),
    out_width: usize,
    reset_copies: bool,
) -> Module {
    let mut m = Module::new(&b.name);
    m.header.push(
        "xnorc board top: PLL, host link (UART), byte/beat gearboxes and the dataflow core".into(),
    );
    let clk_in = m.input("clk_in", 1);
    if b.reset_button.is_some() {
        m.input("rst_btn", 1);
    }
    m.input("uart_rx", 1);
    m.output("uart_tx", 1);
    m.output("led", 1);
    let clk = m.wire("clk", 1);
    let locked = m.wire("pll_locked", 1);
    match &b.clock {
        ClockSource::Direct => {
            m.assign(clk.clone(), clk_in);
            m.assign(locked.clone(), lit(1, 1));
        }
        ClockSource::Ice40Pll {
            pad,
            divr,
            divf,
            divq,
            filter_range,
        } => {
            let (module, input) = if *pad {
                ("SB_PLL40_PAD", "PACKAGEPIN")
            } else {
                ("SB_PLL40_CORE", "REFERENCECLK")
            };
            m.instance(Instance {
                module: module.into(),
                name: "pll".into(),
                comment: vec!["The core clock: iCE40 PLL in simple feedback mode".into()],
                params: vec![
                    ("FEEDBACK_PATH".into(), Param::Str("SIMPLE".into())),
                    ("DIVR".into(), Param::Sized(4, (*divr).into())),
                    ("DIVF".into(), Param::Sized(7, (*divf).into())),
                    ("DIVQ".into(), Param::Sized(3, (*divq).into())),
                    (
                        "FILTER_RANGE".into(),
                        Param::Sized(3, (*filter_range).into()),
                    ),
                ],
                ports: vec![
                    (input.into(), clk_in),
                    ("PLLOUTGLOBAL".into(), clk.clone()),
                    ("LOCK".into(), locked.clone()),
                    ("RESETB".into(), lit(1, 1)),
                    ("BYPASS".into(), lit(1, 0)),
                ],
            });
        }
        ClockSource::Ecp5Pll {
            clki_div,
            clkfb_div,
            clkop_div,
        } => {
            let s = |v: &str| Param::Str(v.into());
            let n = |v: u32| Param::Int(v.into());
            m.instance(Instance {
                module: "EHXPLLL".into(),
                name: "pll".into(),
                comment: vec!["The core clock: ECP5 PLL, CLKOP fed back".into()],
                params: vec![
                    ("PLLRST_ENA".into(), s("DISABLED")),
                    ("INTFB_WAKE".into(), s("DISABLED")),
                    ("STDBY_ENABLE".into(), s("DISABLED")),
                    ("DPHASE_SOURCE".into(), s("DISABLED")),
                    ("OUTDIVIDER_MUXA".into(), s("DIVA")),
                    ("CLKI_DIV".into(), n(*clki_div)),
                    ("CLKOP_ENABLE".into(), s("ENABLED")),
                    ("CLKOP_DIV".into(), n(*clkop_div)),
                    // Diamond's convention for a 0° output.
                    ("CLKOP_CPHASE".into(), n(clkop_div - 1)),
                    ("CLKOP_FPHASE".into(), n(0)),
                    ("FEEDBK_PATH".into(), s("CLKOP")),
                    ("CLKFB_DIV".into(), n(*clkfb_div)),
                ],
                ports: vec![
                    ("RST".into(), lit(1, 0)),
                    ("STDBY".into(), lit(1, 0)),
                    ("CLKI".into(), clk_in),
                    ("CLKOP".into(), clk.clone()),
                    ("CLKFB".into(), clk.clone()),
                    ("PHASESEL0".into(), lit(1, 0)),
                    ("PHASESEL1".into(), lit(1, 0)),
                    ("PHASEDIR".into(), lit(1, 1)),
                    ("PHASESTEP".into(), lit(1, 1)),
                    ("PHASELOADREG".into(), lit(1, 1)),
                    ("PLLWAKESYNC".into(), lit(1, 0)),
                    ("ENCLKOP".into(), lit(1, 0)),
                    ("LOCK".into(), locked.clone()),
                ],
            });
        }
    }
    // Reset while the PLL is not locked or the button is held; the link synchronizes it.
    let pressed = match b.reset_button {
        Some(true) => r("rst_btn").un(UnOp::Not),
        Some(false) => r("rst_btn"),
        None => lit(1, 0),
    };
    let reset_req = m.let_wire("reset_req", 1, locked.un(UnOp::Not).op(BinOp::Or, pressed));
    let rst = m.wire("rst", 1);
    let led = m.wire("link_led", 1);
    for (n, w) in [
        ("req_valid", 1),
        ("req_ready", 1),
        ("req_data", 8),
        ("resp_valid", 1),
        ("resp_ready", 1),
        ("resp_data", 8),
        ("core_in_valid", 1),
        ("core_in_ready", 1),
        ("core_out_valid", 1),
        ("core_out_ready", 1),
    ] {
        m.wire(n, w);
    }
    for n in [
        "buffered_valid",
        "buffered_ready",
        "sliced_valid",
        "sliced_ready",
    ] {
        m.wire(n, 1);
    }
    m.wire("buffered_data", 8);
    m.wire("sliced_data", out_width);
    m.wire("core_in_data", in_width);
    m.wire("core_out_data", out_width);
    m.instance(Instance {
        module: b.link_module.clone(),
        name: "link".into(),
        comment: vec!["The host link: UART, framing, CRC, reset synchronizer (rust-hdl)".into()],
        params: Vec::new(),
        ports: vec![
            ("clock".into(), clk.clone()),
            ("reset_req".into(), reset_req),
            ("reset".into(), rst.clone()),
            ("uart_rx".into(), r("uart_rx")),
            ("uart_tx".into(), r("uart_tx")),
            ("led".into(), led.clone()),
            ("req_data".into(), r("req_data")),
            ("req_valid".into(), r("req_valid")),
            ("req_ready".into(), r("req_ready")),
            ("resp_data".into(), r("resp_data")),
            ("resp_valid".into(), r("resp_valid")),
            ("resp_ready".into(), r("resp_ready")),
        ],
    });
    // With reset copies every stream instance takes its own copy of the link's reset, placed
    // beside it: on the LFE5U-85F the one reset register's route to logic across the die was
    // the critical path.
    let stream_names = [
        "req_buffer",
        "gear_in",
        CORE_INSTANCE,
        "out_slice",
        "gear_out",
    ];
    if reset_copies {
        m.wire("rst_copy", stream_names.len());
        m.instance(Instance {
            module: "xnorc_copies".into(),
            name: "reset_tree".into(),
            comment: vec!["A copy of the reset per instance below".into()],
            params: vec![
                ("WIDTH".into(), Param::int(1)),
                ("COPIES".into(), Param::int(stream_names.len())),
                ("INIT".into(), Param::int(1)),
            ],
            ports: vec![
                ("clk".into(), clk.clone()),
                ("d".into(), rst.clone()),
                ("q".into(), r("rst_copy")),
            ],
        });
    }
    let stream = |module: &str, name: &str, params: Vec<(String, Param)>, i: &str, o: &str| {
        let copy = stream_names
            .iter()
            .position(|n| *n == name)
            .expect("every stream instance has a reset copy");
        let reset = if reset_copies {
            r("rst_copy").bit(copy)
        } else {
            r("rst")
        };
        Item::Instance(Instance {
            module: module.to_string(),
            name: name.to_string(),
            comment: Vec::new(),
            params,
            ports: vec![
                ("clk".into(), r("clk")),
                ("rst".into(), reset),
                ("in_valid".into(), r(format!("{i}_valid"))),
                ("in_ready".into(), r(format!("{i}_ready"))),
                ("in_data".into(), r(format!("{i}_data"))),
                ("out_valid".into(), r(format!("{o}_valid"))),
                ("out_ready".into(), r(format!("{o}_ready"))),
                ("out_data".into(), r(format!("{o}_data"))),
            ],
        })
    };
    let int = Param::int;
    let style = if request_buffer.block {
        "block"
    } else {
        "logic"
    };
    m.items.push(stream(
        "xnorc_bram_fifo",
        "req_buffer",
        vec![
            ("WIDTH".into(), int(8)),
            ("DEPTH".into(), int(request_buffer.depth)),
            // Filled at the line's byte rate (at least 10 bit times, 40 cycles, a byte), it
            // needs no full-rate read side, whose read chain was the UP5K's critical path.
            ("FULL_RATE".into(), int(0)),
            ("STYLE".into(), Param::Str(style.into())),
        ],
        "req",
        "buffered",
    ));
    m.items.push(stream(
        "xnorc_bytes_to_beats",
        "gear_in",
        vec![
            ("WIDTH".into(), int(in_width)),
            ("BEATS".into(), int(beats)),
        ],
        "buffered",
        "core_in",
    ));
    m.items.push(stream(
        &b.core_module,
        CORE_INSTANCE,
        Vec::new(),
        "core_in",
        "core_out",
    ));
    m.items.push(stream(
        "xnorc_fifo",
        "out_slice",
        vec![
            ("WIDTH".into(), int(out_width)),
            ("DEPTH".into(), int(1)),
            ("STYLE".into(), Param::Str("logic".into())),
        ],
        "core_out",
        "sliced",
    ));
    m.items.push(stream(
        "xnorc_beat_to_bytes",
        "gear_out",
        vec![("WIDTH".into(), int(out_width))],
        "sliced",
        "resp",
    ));
    let led_pin = if b.led_active_low {
        led.un(UnOp::Not)
    } else {
        led
    };
    m.assign(r("led"), led_pin);
    m
}

/// The whole board design: the core's files (its top, the library, the memory images), the
/// link's Verilog (`link_text`, rendered by [`crate::shell`] with module name `b.link_module`)
/// and the board's top `<top>.v`.
pub fn generate(plan: &xnorc_plan::HardwarePlan, b: &BoardTop, link_text: &str) -> crate::Design {
    let core = crate::generate(plan);
    assert_eq!(
        core.top, b.core_module,
        "the board top instantiates the core by name"
    );
    let widths = xnorc_plan::memories::link_widths(plan);
    let (w_in, w_out) = (widths[0], *widths.last().expect("links"));
    let beats = plan.stages[0].input.beats;
    let text = format!(
        "// Generated by xnorc {} for model {}: board top {}. Do not edit.\n         `default_nettype none\n\n{}\n`default_nettype wire\n",
        env!("CARGO_PKG_VERSION"),
        plan.model,
        b.name,
        board_top(
            b,
            xnorc_plan::memories::request_buffer(&plan.stages[0]),
            (w_in, beats),
            w_out,
            plan.reset_copies
        )
        .render()
    );
    let mut files = core.files;
    // The board's library modules, less those the core already has (xnorc_ram, say).
    let glue = crate::library::files_for([
        "xnorc_copies",
        "xnorc_bram_fifo",
        "xnorc_fifo",
        "xnorc_bytes_to_beats",
        "xnorc_beat_to_bytes",
    ]);
    let glue: Vec<_> = glue
        .into_iter()
        .filter(|(name, _)| files.iter().all(|(have, _)| have != name))
        .collect();
    files.extend(glue);
    files.push((format!("{}_link.v", b.name), link_text.to_string()));
    files.push((format!("{}.v", b.name), text));
    crate::Design {
        top: b.name.clone(),
        files,
    }
}
