//! ECP5 block RAM output registers, taken from the flip-flops that follow them.
//!
//! yosys 0.23 maps every memory onto DP16KD without its output register (`brams_map.v` sets
//! REGMODE NOREG), so a read's data leaves the block 5.83 ns after the clock (speed 6) and
//! must then reach a flip-flop in the fabric. When that flip-flop sits with the logic it feeds,
//! far from the block, the route is the rest of the period: on TFC for the ULX3S-25F every
//! critical path was a DP16KD output to an MVU's weight register (5.83 + 3.7 ns, 102–106 MHz).
//! A DP16KD's own output register (REGMODE OUTREG) is the same flip-flop inside the block.
//!
//! [`absorb`] moves such flip-flops into their block after synthesis, in the JSON netlist place
//! and route reads. A read port is taken when every output bit that anything reads goes to the
//! data input of exactly one TRELLIS_FF, and nothing else, and all those flip-flops:
//! - are clocked by the port's clock net on the rising edge, as the port is;
//! - have no set/reset (LSR tied low, not inverted) and start at zero (REGSET RESET), as the
//!   output register starts after configuration, and the port's own reset is tied low;
//! - share one clock enable (a net, or none), which becomes the port's OCE: the output register
//!   loads when OCE is high, as the flip-flops load when their CE is.
//!
//! The flip-flop then holds at every cycle exactly what the output register holds: the data
//! the port presented during the cycle before. A 36-bit read of yosys's pseudo-dual-port map
//! (port B reads, DATA_WIDTH_B 36: bits 0–17 on DOA, 18–35 on DOB) is one port, given REGMODE
//! OUTREG on both halves and the enable on both OCE pins, as Lattice's tools configure a
//! PDPW16KD with its output register. nextpnr times each REGMODE combination from the device
//! database. No ECP5 bitstream is simulated here (the iCE40 bitstream check has no ECP5
//! counterpart), so this rests on the primitive's documented behaviour.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What [`absorb`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Absorbed {
    /// Block RAM read ports given their output register.
    pub ports: u64,
    /// Flip-flops removed into them.
    pub flip_flops: u64,
}

/// A read port of one DP16KD: the output pins it drives and the pins and parameters that
/// configure its output register.
struct ReadPort {
    /// Output pin groups (`DOA`, `DOB`): pins `<group>0` … `<group>17`.
    outputs: &'static [&'static str],
    clock: &'static str,
    clock_mux: &'static str,
    output_enables: &'static [&'static str],
    resets: &'static [&'static str],
    regmodes: &'static [&'static str],
}

const PORT_A: ReadPort = ReadPort {
    outputs: &["DOA"],
    clock: "CLKA",
    clock_mux: "CLKAMUX",
    output_enables: &["OCEA"],
    resets: &["RSTA"],
    regmodes: &["REGMODE_A"],
};

const PORT_B: ReadPort = ReadPort {
    outputs: &["DOB"],
    clock: "CLKB",
    clock_mux: "CLKBMUX",
    output_enables: &["OCEB"],
    resets: &["RSTB"],
    regmodes: &["REGMODE_B"],
};

/// yosys's pseudo-dual-port map read 36 bits wide on port B.
const PORT_B_36: ReadPort = ReadPort {
    outputs: &["DOA", "DOB"],
    clock: "CLKB",
    clock_mux: "CLKBMUX",
    output_enables: &["OCEB", "OCEA"],
    resets: &["RSTB", "RSTA"],
    regmodes: &["REGMODE_A", "REGMODE_B"],
};

/// A net bit of a connection: a net number, or a constant ("0", "1", "x", "z").
fn bit(v: &Value) -> Option<Result<u64, &str>> {
    match v {
        Value::Number(n) => n.as_u64().map(Ok),
        Value::String(s) => Some(Err(s.as_str())),
        _ => None,
    }
}

/// The nets (not constants) of a list of bits.
fn nets(bits: &Value) -> impl Iterator<Item = u64> + '_ {
    bits.as_array()
        .into_iter()
        .flatten()
        .filter_map(bit)
        .filter_map(Result::ok)
}

/// A cell's single-bit connection `pin`.
fn pin<'v>(cell: &'v Value, pin: &str) -> Option<Result<u64, &'v str>> {
    match cell["connections"][pin].as_array()?.as_slice() {
        [one] => bit(one),
        _ => None,
    }
}

/// A string parameter as yosys writes it (a trailing space marks a string that could be read
/// as bits: `"1 "` is the string "1").
fn param<'v>(cell: &'v Value, name: &str) -> Option<&'v str> {
    cell["parameters"][name].as_str().map(str::trim_end)
}

/// An integer parameter: yosys writes it as a string of 32 bits.
fn int_param(cell: &Value, name: &str) -> Option<u64> {
    match &cell["parameters"][name] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => u64::from_str_radix(s.trim_end(), 2).ok(),
        _ => None,
    }
}

/// Every reader of each net: (cell name, pin), or ("", "") for a module port. A cell without
/// port directions counts as reading everything it touches.
fn readers(module: &Value) -> HashMap<u64, Vec<(String, String)>> {
    let mut out: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    if let Some(cells) = module["cells"].as_object() {
        for (name, cell) in cells {
            let Some(connections) = cell["connections"].as_object() else {
                continue;
            };
            for (pin, bits) in connections {
                let direction = cell["port_directions"][pin].as_str();
                if direction == Some("output") {
                    continue;
                }
                for net in nets(bits) {
                    out.entry(net)
                        .or_default()
                        .push((name.clone(), pin.clone()));
                }
            }
        }
    }
    if let Some(ports) = module["ports"].as_object() {
        for port in ports.values() {
            for net in nets(&port["bits"]) {
                out.entry(net)
                    .or_default()
                    .push((String::new(), String::new()));
            }
        }
    }
    out
}

/// What a read port's output register replaces: (output pin, flip-flop) pairs, and the
/// flip-flops' shared enable net (None: always enabled).
struct Takeable {
    flip_flops: Vec<(String, String)>,
    enable: Option<u64>,
}

/// What a read port's output register can replace; None when the port does not qualify (module
/// docs).
fn takeable(
    cells: &Map<String, Value>,
    ram: &Value,
    port: &ReadPort,
    readers: &HashMap<u64, Vec<(String, String)>>,
) -> Option<Takeable> {
    if port
        .regmodes
        .iter()
        .any(|r| param(ram, r).is_some_and(|m| m != "NOREG"))
        || param(ram, port.clock_mux) != Some(port.clock)
        || port.resets.iter().any(|r| pin(ram, r) != Some(Err("0")))
    {
        return None;
    }
    let Some(Ok(clock)) = pin(ram, port.clock) else {
        return None;
    };
    let mut taken = Vec::new();
    let mut enable: Option<Option<u64>> = None;
    for group in port.outputs {
        for i in 0..18 {
            let out_pin = format!("{group}{i}");
            let Some(Ok(net)) = pin(ram, &out_pin) else {
                continue;
            };
            let Some(read) = readers.get(&net) else {
                continue; // nothing reads this bit
            };
            let [(ff_name, ff_pin)] = read.as_slice() else {
                return None;
            };
            let ff = cells.get(ff_name)?;
            let clean = ff["type"] == "TRELLIS_FF"
                && ff_pin == "DI"
                && pin(ff, "CLK") == Some(Ok(clock))
                && param(ff, "CLKMUX") == Some("CLK")
                && pin(ff, "LSR").is_none_or(|l| l == Err("0"))
                && param(ff, "LSRMUX").is_none_or(|m| m == "LSR")
                && param(ff, "REGSET").is_none_or(|s| s == "RESET")
                && matches!(pin(ff, "Q"), Some(Ok(_)));
            if !clean {
                return None;
            }
            let ff_enable = match (param(ff, "CEMUX"), pin(ff, "CE")) {
                (Some("1"), _) => None,
                (Some("CE") | None, Some(Ok(net))) => Some(net),
                (Some("CE") | None, Some(Err("1"))) => None,
                _ => return None,
            };
            if *enable.get_or_insert(ff_enable) != ff_enable {
                return None;
            }
            taken.push((out_pin, ff_name.clone()));
        }
    }
    let enable = enable?; // no output bit is read: not a read port
    Some(Takeable {
        flip_flops: taken,
        enable,
    })
}

/// Gives every qualifying DP16KD read port of module `top` in a yosys JSON netlist the
/// flip-flops that follow it as its output register (module docs). None when `netlist` has no
/// module `top`.
pub fn absorb(netlist: &mut Value, top: &str) -> Option<Absorbed> {
    let module = netlist["modules"].get_mut(top)?;
    let readers = readers(module);
    let cells = module["cells"].as_object_mut()?;
    let mut absorbed = Absorbed::default();
    let mut removed = std::collections::HashSet::new();
    let rams: Vec<String> = cells
        .iter()
        .filter(|(_, c)| c["type"] == "DP16KD")
        .map(|(n, _)| n.clone())
        .collect();
    for name in rams {
        let ram = &cells[&name];
        let ports: &[&ReadPort] = if int_param(ram, "DATA_WIDTH_B") == Some(36) {
            &[&PORT_B_36]
        } else {
            &[&PORT_A, &PORT_B]
        };
        for port in ports {
            let Some(Takeable {
                flip_flops: taken,
                enable,
            }) = takeable(cells, &cells[&name], port, &readers)
            else {
                continue;
            };
            let outputs: Vec<(String, Value)> = taken
                .iter()
                .map(|(out_pin, ff)| (out_pin.clone(), cells[ff]["connections"]["Q"].clone()))
                .collect();
            removed.extend(taken.iter().map(|(_, ff)| ff.clone()));
            let ram = &mut cells[&name];
            for (out_pin, q) in outputs {
                ram["connections"][out_pin] = q;
            }
            let oce = match enable {
                Some(net) => Value::from(net),
                None => Value::from("1"),
            };
            for pin in port.output_enables {
                ram["connections"][*pin] = Value::Array(vec![oce.clone()]);
            }
            for regmode in port.regmodes {
                ram["parameters"][*regmode] = Value::from("OUTREG");
            }
            absorbed.ports += 1;
            absorbed.flip_flops += taken.len() as u64;
        }
    }
    // One pass over the cells (removing them one at a time would shift the map each time).
    cells.retain(|name, _| !removed.contains(name));
    Some(absorbed)
}

#[cfg(test)]
mod tests;
