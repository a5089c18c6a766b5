//! Runtime-shaped board glue, from xnorc's own emitter: the byte ↔ beat gearboxes between the
//! host link (rust-hdl, [`crate::shell`]) and the core, the clock primitive, and the board's top
//! module that wires pins, PLL, link, gearboxes and core together.
//!
//! The wire format the gearboxes implement (docs/uart-protocol.md): a request's payload is the
//! core's input stream, bit after bit (beat 0 bit 0 first), packed into bytes LSB first, the last
//! byte padded with zeros; a response's payload is the core's output beat (scores, then argmax)
//! packed the same way.

use crate::verilog::{clog2, lit, r, set, when, Expr, Item, Module, Stmt};

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

/// Request payload bytes for a core input stream of `beats` beats of `width` bits.
pub fn request_bytes(width: usize, beats: usize) -> usize {
    (width * beats).div_ceil(8)
}

/// Response payload bytes for an output beat of `width` bits.
pub fn response_bytes(width: usize) -> usize {
    width.div_ceil(8)
}

/// Bytes → beats of `width` bits, `beats` beats per frame. One bit moves per cycle (the UART
/// is thousands of times slower); after a frame's last beat the padding bits left in the
/// current byte are dropped, so every frame starts on a byte boundary. The handshake and enable
/// signals come straight from registered flags (no counter compares in front of the wide
/// shift register's enable).
pub fn bytes_to_beats(name: &str, width: usize, beats: usize) -> Module {
    assert!(width >= 1 && beats >= 1);
    let mut m = Module::new(name);
    m.header.push(format!(
        "Bytes to {beats} beats of {width} bits per frame, LSB first, bit-serial"
    ));
    let (in_data, _) = crate::stream::stream_ports(&mut m, 8, width, false);
    let (in_valid, out_ready) = (r("in_valid"), r("out_ready"));
    let (fw, bw) = (clog2(width + 1), clog2(beats));
    let byte = m.reg("held_byte", 8);
    let left = m.reg("bits_left", 4);
    let have = m.reg("have_bits", 1);
    let acc = m.reg("acc", width);
    let filled = m.reg("filled", fw);
    let full = m.reg("full", 1);
    let beat = m.reg("beat", bw);
    let last = m.reg("last_beat", 1);
    m.assign(r("out_valid"), full.clone());
    m.assign(r("out_data"), acc.clone());
    m.assign(r("in_ready"), have.clone().un("!"));
    let take = m.let_wire("take", 1, in_valid.op("&&", have.clone().un("!")));
    let shift = m.let_wire("shift", 1, have.clone().op("&&", full.clone().un("!")));
    let emit = m.let_wire("emit", 1, full.clone().op("&&", out_ready));
    let next_is_last = if beats == 1 {
        lit(1, 1)
    } else {
        beat.clone().op("==", lit(bw, beats as i128 - 2))
    };
    // New bits enter at the top: after `width` shifts the first one sits in bit 0.
    let shifted = if width == 1 {
        byte.clone().bit(0)
    } else {
        Expr::Concat(vec![byte.clone().bit(0), acc.clone().slice(1, width - 1)])
    };
    // Taking a byte and shifting never coincide (take needs !have_bits, shift needs it).
    m.always(vec![Stmt::If(
        take.clone(),
        vec![set(byte.clone(), in_data)],
        vec![when(
            shift.clone(),
            vec![
                set(acc, shifted),
                set(byte.clone(), byte.clone().op(">>", lit(8, 1))),
            ],
        )],
    )]);
    m.always(vec![Stmt::If(
        r("rst"),
        vec![
            set(left.clone(), lit(4, 0)),
            set(have.clone(), lit(1, 0)),
            set(filled.clone(), lit(fw, 0)),
            set(full.clone(), lit(1, 0)),
            set(beat.clone(), lit(bw, 0)),
            set(last.clone(), lit(1, u8::from(beats == 1) as i128)),
        ],
        vec![
            when(
                take,
                vec![set(left.clone(), lit(4, 8)), set(have.clone(), lit(1, 1))],
            ),
            when(
                shift,
                vec![
                    set(left.clone(), left.clone().op("-", lit(4, 1))),
                    set(have.clone(), left.op("!=", lit(4, 1))),
                    set(filled.clone(), filled.clone().op("+", lit(fw, 1))),
                    set(full.clone(), filled.op("==", lit(fw, width as i128 - 1))),
                ],
            ),
            when(
                emit,
                vec![
                    set(r("filled"), lit(fw, 0)),
                    set(full, lit(1, 0)),
                    Stmt::If(
                        last.clone(),
                        vec![
                            set(beat.clone(), lit(bw, 0)),
                            set(last.clone(), lit(1, u8::from(beats == 1) as i128)),
                            // The rest of this byte is padding (if the byte ended exactly, a
                            // byte taken in this cycle must stay).
                            when(
                                have.clone(),
                                vec![set(r("bits_left"), lit(4, 0)), set(have, lit(1, 0))],
                            ),
                        ],
                        vec![
                            set(beat.clone(), beat.clone().op("+", lit(bw, 1))),
                            set(last, next_is_last),
                        ],
                    ),
                ],
            ),
        ],
    )]);
    m
}

/// One beat of `width` bits → its bytes, LSB first, the last byte padded with zeros. Like
/// [`bytes_to_beats`], enables come from registered flags.
pub fn beat_to_bytes(name: &str, width: usize) -> Module {
    assert!(width >= 1);
    let bytes = response_bytes(width);
    let padded = bytes * 8;
    let mut m = Module::new(name);
    m.header.push(format!(
        "One beat of {width} bits to {bytes} bytes, LSB first, bit-serial"
    ));
    let (in_data, _) = crate::stream::stream_ports(&mut m, width, 8, false);
    let (in_valid, out_ready) = (r("in_valid"), r("out_ready"));
    let cw = clog2(padded + 1);
    let buf = m.reg("buffer", padded);
    let left = m.reg("bits_left", cw);
    let busy = m.reg("busy", 1);
    let byte = m.reg("held_byte", 8);
    let count = m.reg("byte_bits", 3);
    let byte_full = m.reg("byte_full", 1);
    m.assign(r("in_ready"), busy.clone().un("!"));
    m.assign(r("out_valid"), byte_full.clone());
    m.assign(r("out_data"), byte.clone());
    let load = m.let_wire("load", 1, in_valid.op("&&", busy.clone().un("!")));
    let shift = m.let_wire("shift", 1, busy.clone().op("&&", byte_full.clone().un("!")));
    let sent = m.let_wire("sent", 1, byte_full.clone().op("&&", out_ready));
    let loaded = if padded > width {
        Expr::Concat(vec![lit(padded - width, 0), in_data])
    } else {
        in_data
    };
    // Loading and shifting never coincide (load needs !busy, shift needs busy).
    m.always(vec![Stmt::If(
        load.clone(),
        vec![set(buf.clone(), loaded)],
        vec![when(
            shift.clone(),
            vec![set(buf.clone(), buf.clone().op(">>", lit(padded, 1)))],
        )],
    )]);
    m.always(vec![when(
        shift.clone(),
        vec![set(
            byte.clone(),
            Expr::Concat(vec![buf.bit(0), byte.slice(1, 7)]),
        )],
    )]);
    m.always(vec![Stmt::If(
        r("rst"),
        vec![
            set(left.clone(), lit(cw, 0)),
            set(busy.clone(), lit(1, 0)),
            set(count.clone(), lit(3, 0)),
            set(byte_full.clone(), lit(1, 0)),
        ],
        vec![
            when(
                load,
                vec![
                    set(left.clone(), lit(cw, padded as i128)),
                    set(busy.clone(), lit(1, 1)),
                ],
            ),
            when(
                shift,
                vec![
                    set(left.clone(), left.clone().op("-", lit(cw, 1))),
                    set(busy, left.op("!=", lit(cw, 1))),
                    set(count.clone(), count.clone().op("+", lit(3, 1))),
                    set(byte_full.clone(), count.op("==", lit(3, 7))),
                ],
            ),
            when(sent, vec![set(byte_full, lit(1, 0))]),
        ],
    )]);
    m
}

/// The board's top: pins → clock → link → gearboxes → core → gearbox → link → pins.
pub fn board_top(
    b: &BoardTop,
    in_width: usize,
    out_width: usize,
    gear_in: &str,
    gear_out: &str,
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
            m.items.push(Item::Primitive {
                module: module.into(),
                name: "pll".into(),
                params: vec![
                    ("FEEDBACK_PATH".into(), "\"SIMPLE\"".into()),
                    ("DIVR".into(), format!("4'd{divr}")),
                    ("DIVF".into(), format!("7'd{divf}")),
                    ("DIVQ".into(), format!("3'd{divq}")),
                    ("FILTER_RANGE".into(), format!("3'd{filter_range}")),
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
            let s = |v: &str| format!("\"{v}\"");
            m.items.push(Item::Primitive {
                module: "EHXPLLL".into(),
                name: "pll".into(),
                params: vec![
                    ("PLLRST_ENA".into(), s("DISABLED")),
                    ("INTFB_WAKE".into(), s("DISABLED")),
                    ("STDBY_ENABLE".into(), s("DISABLED")),
                    ("DPHASE_SOURCE".into(), s("DISABLED")),
                    ("OUTDIVIDER_MUXA".into(), s("DIVA")),
                    ("CLKI_DIV".into(), clki_div.to_string()),
                    ("CLKOP_ENABLE".into(), s("ENABLED")),
                    ("CLKOP_DIV".into(), clkop_div.to_string()),
                    // Diamond's convention for a 0° output.
                    ("CLKOP_CPHASE".into(), (clkop_div - 1).to_string()),
                    ("CLKOP_FPHASE".into(), "0".into()),
                    ("FEEDBK_PATH".into(), s("CLKOP")),
                    ("CLKFB_DIV".into(), clkfb_div.to_string()),
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
        Some(true) => r("rst_btn").un("!"),
        Some(false) => r("rst_btn"),
        None => lit(1, 0),
    };
    let reset_req = m.let_wire("reset_req", 1, locked.un("!").op("||", pressed));
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
    m.wire("core_in_data", in_width);
    m.wire("core_out_data", out_width);
    m.items.push(Item::Instance {
        module: b.link_module.clone(),
        name: "link".into(),
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
    let stream = |module: &str, name: &str, i: &str, o: &str| Item::Instance {
        module: module.to_string(),
        name: name.to_string(),
        ports: vec![
            ("clk".into(), r("clk")),
            ("rst".into(), r("rst")),
            ("in_valid".into(), r(format!("{i}_valid"))),
            ("in_ready".into(), r(format!("{i}_ready"))),
            ("in_data".into(), r(format!("{i}_data"))),
            ("out_valid".into(), r(format!("{o}_valid"))),
            ("out_ready".into(), r(format!("{o}_ready"))),
            ("out_data".into(), r(format!("{o}_data"))),
        ],
    };
    m.items.push(stream(gear_in, "gear_in", "req", "core_in"));
    m.items
        .push(stream(&b.core_module, "core", "core_in", "core_out"));
    m.items
        .push(stream(gear_out, "gear_out", "core_out", "resp"));
    let led_pin = if b.led_active_low { led.un("!") } else { led };
    m.assign(r("led"), led_pin);
    m
}

/// The whole board design: the core's files, the link's Verilog (`link_text`, rendered by
/// [`crate::shell`] with module name `b.link_module`), the gearboxes and the top, in one
/// Verilog file `<top>.v` plus the core's memory files.
pub fn generate(plan: &xnorc_plan::HardwarePlan, b: &BoardTop, link_text: &str) -> crate::Design {
    let core = crate::generate(plan);
    assert_eq!(
        core.top, b.core_module,
        "the board top instantiates the core by name"
    );
    let widths = xnorc_plan::memories::link_widths(plan);
    let (w_in, w_out) = (widths[0], *widths.last().expect("links"));
    let beats = plan.stages[0].input.beats;
    let gear_in = format!("{}_bytes_to_beats", b.name);
    let gear_out = format!("{}_beat_to_bytes", b.name);
    let mut text = format!(
        "// Generated by xnorc {} for model {}: board top {}. Do not edit.\n\
         /* verilator lint_off DECLFILENAME */\n`default_nettype none\n\n",
        env!("CARGO_PKG_VERSION"),
        plan.model,
        b.name
    );
    text.push_str(&bytes_to_beats(&gear_in, w_in, beats).render());
    text.push('\n');
    text.push_str(&beat_to_bytes(&gear_out, w_out).render());
    text.push('\n');
    text.push_str(&board_top(b, w_in, w_out, &gear_in, &gear_out).render());
    text.push_str("\n`default_nettype wire\n");
    let mut files = core.files;
    files.push((format!("{}_link.v", b.name), link_text.to_string()));
    files.push((format!("{}.v", b.name), text));
    crate::Design {
        top: b.name.clone(),
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_sizes() {
        // TFC: 784 one-bit inputs in 49-bit beats: 98 bytes; scores 10×12 + 4 bits: 16 bytes.
        assert_eq!(request_bytes(49, 16), 98);
        assert_eq!(response_bytes(124), 16);
        assert_eq!(request_bytes(3, 3), 2);
    }
}
