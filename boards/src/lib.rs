//! xnorc's boards and open-FPGA tool flows.
//!
//! Owns: board data files (`data/*.toml`: device, package, clock, pins, programmer name; see
//! docs/boards.md) and their validation ([`board`]), family facts such as PLL divider search and
//! block-RAM shapes ([`family`]), the host link's line rate for a board's USB-UART bridge and a
//! core clock ([`mod@line_rate`]), what logic costs on each family as measured with yosys
//! ([`costs`], read by the plan's resource estimate), constraint files (PCF/LPF, [`constraints`]), finding the tools
//! ([`tools`]) and running yosys, nextpnr-ice40/-ecp5, icepack/ecppack and openFPGALoader with
//! logs and reports ([`flow`]), and what synthesis mapped per core instance ([`netlist`]).
//! Must not touch: Verilog generation (crate `xnorc-rtl`), hardware plans (crate `xnorc-plan`)
//! or model semantics (crate `xnorc-compiler`); it depends on none of them and sees a design
//! only as files and a top-module name.

pub mod board;
pub mod constraints;
pub mod costs;
pub mod family;
pub mod flow;
pub mod line_rate;
pub mod netlist;
pub mod outreg;
pub mod tools;

pub use board::{Board, BoardError, Bridge};
pub use family::{Family, Pll};
pub use line_rate::{line_rate, LineRate};
