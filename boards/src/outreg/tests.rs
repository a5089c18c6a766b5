use super::*;
use serde_json::json;

/// DATA_WIDTH as yosys writes it: 32 bits.
fn width(bits: u64) -> Value {
    Value::from(format!("{bits:032b}"))
}

/// A DP16KD as yosys maps a ROM: clock on net 1, resets low, OCE high, no output register;
/// `outputs` pin → net. A 36-bit read is yosys's pseudo-dual-port map (port A writes).
fn ram(read_width: u64, outputs: &[(&str, u64)]) -> Value {
    let mut connections = json!({
        "CLKA": if read_width == 36 { json!(["0"]) } else { json!([1]) },
        "CLKB": [1], "OCEA": [if read_width == 36 { "0" } else { "1" }], "OCEB": ["1"],
        "RSTA": ["0"], "RSTB": ["0"], "CEB": ["1"], "ADB5": [2]
    });
    for (pin, net) in outputs {
        connections[*pin] = json!([net]);
    }
    let mut directions = json!({});
    for pin in connections.as_object().unwrap().keys() {
        let d = if pin.starts_with("DO") {
            "output"
        } else {
            "input"
        };
        directions[pin.as_str()] = json!(d);
    }
    json!({
        "type": "DP16KD",
        "parameters": {
            "DATA_WIDTH_A": width(if read_width == 36 { 36 } else { read_width }),
            "DATA_WIDTH_B": width(read_width),
            "REGMODE_A": "NOREG", "REGMODE_B": "NOREG",
            "CLKAMUX": "CLKA", "CLKBMUX": "CLKB"
        },
        "port_directions": directions,
        "connections": connections
    })
}

/// A TRELLIS_FF reading net `d` into net `q`, clocked by net 1, no enable, no reset.
fn ff(d: u64, q: u64) -> Value {
    json!({
        "type": "TRELLIS_FF",
        "parameters": {"CEMUX": "1 ", "CLKMUX": "CLK", "GSR": "DISABLED", "LSRMUX": "LSR",
                       "REGSET": "RESET"},
        "port_directions": {"CLK": "input", "DI": "input", "LSR": "input", "Q": "output"},
        "connections": {"CLK": [1], "DI": [d], "LSR": ["0"], "Q": [q]}
    })
}

/// A LUT4 reading net `a`.
fn lut(a: u64, z: u64) -> Value {
    json!({
        "type": "LUT4",
        "parameters": {"INIT": "0000000000000010"},
        "port_directions": {"A": "input", "Z": "output"},
        "connections": {"A": [a], "Z": [z]}
    })
}

fn netlist(cells: Vec<(&str, Value)>) -> Value {
    let cells: Map<String, Value> = cells.into_iter().map(|(n, c)| (n.to_string(), c)).collect();
    json!({"modules": {"top": {
        "ports": {"led": {"direction": "output", "bits": [99]}},
        "cells": cells
    }}})
}

#[test]
fn a_36_bit_rom_read_takes_the_flip_flops_after_it() {
    let mut n = netlist(vec![
        // DOB5 (net 13) is read by nothing: yosys leaves unused outputs on nets of their own.
        (
            "rom",
            ram(
                36,
                &[("DOA0", 10), ("DOA1", 11), ("DOB0", 12), ("DOB5", 13)],
            ),
        ),
        ("w0", ff(10, 20)),
        ("w1", ff(11, 21)),
        ("w2", ff(12, 22)),
        ("use", lut(20, 30)),
    ]);
    let got = absorb(&mut n, "top").unwrap();
    assert_eq!(
        got,
        Absorbed {
            ports: 1,
            flip_flops: 3
        }
    );
    let cells = &n["modules"]["top"]["cells"];
    let rom = &cells["rom"];
    for (pin, net) in [("DOA0", 20), ("DOA1", 21), ("DOB0", 22), ("DOB5", 13)] {
        assert_eq!(rom["connections"][pin], json!([net]), "{pin}");
    }
    assert_eq!(rom["parameters"]["REGMODE_A"], "OUTREG");
    assert_eq!(rom["parameters"]["REGMODE_B"], "OUTREG");
    assert_eq!(rom["connections"]["OCEA"], json!(["1"]));
    assert_eq!(rom["connections"]["OCEB"], json!(["1"]));
    let names: Vec<&String> = cells.as_object().unwrap().keys().collect();
    assert_eq!(names, ["rom", "use"]);
}

#[test]
fn the_flip_flops_shared_enable_becomes_the_output_enable() {
    let enabled = |d, q| {
        let mut f = ff(d, q);
        f["parameters"]["CEMUX"] = json!("CE");
        f["connections"]["CE"] = json!([5]);
        f["port_directions"]["CE"] = json!("input");
        f
    };
    let mut n = netlist(vec![
        ("rom", ram(36, &[("DOA0", 10), ("DOB0", 12)])),
        ("w0", enabled(10, 20)),
        ("w2", enabled(12, 22)),
    ]);
    assert_eq!(absorb(&mut n, "top").unwrap().flip_flops, 2);
    let rom = &n["modules"]["top"]["cells"]["rom"];
    assert_eq!(rom["connections"]["OCEA"], json!([5]));
    assert_eq!(rom["connections"]["OCEB"], json!([5]));
}

#[test]
fn a_true_dual_port_block_gives_each_port_its_own_register() {
    // Port A's data goes to logic, port B's to flip-flops: only port B takes its register.
    let mut n = netlist(vec![
        ("ram", ram(18, &[("DOA0", 10), ("DOB0", 12), ("DOB1", 14)])),
        ("logic", lut(10, 30)),
        ("w2", ff(12, 22)),
        ("w3", ff(14, 24)),
    ]);
    assert_eq!(
        absorb(&mut n, "top").unwrap(),
        Absorbed {
            ports: 1,
            flip_flops: 2
        }
    );
    let ram = &n["modules"]["top"]["cells"]["ram"];
    assert_eq!(ram["parameters"]["REGMODE_A"], "NOREG");
    assert_eq!(ram["parameters"]["REGMODE_B"], "OUTREG");
    assert_eq!(ram["connections"]["DOA0"], json!([10]));
    assert_eq!(ram["connections"]["DOB1"], json!([24]));
}

#[test]
fn a_port_is_left_alone_unless_every_read_bit_goes_to_one_plain_flip_flop() {
    type Spoil = fn(&mut Value);
    let spoils: [(&str, Spoil); 9] = [
        ("a second reader", |n| {
            n["modules"]["top"]["cells"]["tap"] = lut(11, 31);
        }),
        ("an output bit that is a module port", |n| {
            n["modules"]["top"]["ports"]["led"]["bits"] = json!([11]);
        }),
        ("another clock", |n| {
            n["modules"]["top"]["cells"]["w1"]["connections"]["CLK"] = json!([7]);
        }),
        ("an inverted clock", |n| {
            n["modules"]["top"]["cells"]["w1"]["parameters"]["CLKMUX"] = json!("INV");
        }),
        ("a set/reset", |n| {
            n["modules"]["top"]["cells"]["w1"]["connections"]["LSR"] = json!([8]);
        }),
        ("a set/reset tied low but inverted", |n| {
            n["modules"]["top"]["cells"]["w1"]["parameters"]["LSRMUX"] = json!("INV");
        }),
        ("a flip-flop starting at one", |n| {
            n["modules"]["top"]["cells"]["w1"]["parameters"]["REGSET"] = json!("SET");
        }),
        ("two enables", |n| {
            let w1 = &mut n["modules"]["top"]["cells"]["w1"];
            w1["parameters"]["CEMUX"] = json!("CE");
            w1["connections"]["CE"] = json!([5]);
        }),
        ("a reset on the port", |n| {
            n["modules"]["top"]["cells"]["rom"]["connections"]["RSTB"] = json!([6]);
        }),
    ];
    for (what, spoil) in spoils {
        let mut n = netlist(vec![
            ("rom", ram(36, &[("DOA0", 10), ("DOA1", 11)])),
            ("w0", ff(10, 20)),
            ("w1", ff(11, 21)),
        ]);
        spoil(&mut n);
        let before = n.clone();
        assert_eq!(
            absorb(&mut n, "top").unwrap(),
            Absorbed::default(),
            "{what}"
        );
        assert_eq!(n, before, "{what}: the netlist changed");
    }
}

#[test]
fn a_netlist_without_the_module_is_refused() {
    let mut n = netlist(vec![]);
    assert!(absorb(&mut n, "other").is_none());
}
