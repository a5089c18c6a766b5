//! xnorc's boards and open-FPGA tool flows.
//!
//! Owns: board data files (`data/*.toml`: device, package, clock, pins, programmer name; see
//! docs/boards.md) and their validation ([`board`]), family facts such as PLL divider search and
//! block-RAM shapes ([`family`]), constraint files (PCF/LPF, [`constraints`]), finding the tools
//! ([`tools`]) and running yosys, nextpnr-ice40/-ecp5, icepack/ecppack and openFPGALoader with
//! logs and reports ([`flow`]).
//! Must not touch: Verilog generation (crate `xnorc-rtl`) or model semantics (crate
//! `xnorc-compiler`); this crate sees a design only as files and a top-module name.

pub mod board;
pub mod constraints;
pub mod family;
pub mod flow;
pub mod tools;

pub use board::{Board, BoardError};
pub use family::{Family, Pll};
