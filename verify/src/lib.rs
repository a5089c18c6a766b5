//! xnorc's hardware checks: everything that compares hardware with the reference simulator.
//!
//! Owns: the Verilator harness ([`verilator`]: builds and drives a Verilated core or board,
//! records, compares nothing), the check of a generated core against the reference simulator and
//! the plan's cycle model ([`core`]), locating the first differing stage ([`diagnose`]), the
//! simulated board and the conversation with a board over its link ([`board`]), and the check of
//! a built bitstream ([`bitcheck`]).
//! Must not touch: hardware decisions (crate `xnorc-plan`), Verilog generation (crate
//! `xnorc-rtl`: it only asks it for designs), the reference semantics (crate `xnorc-sim`), the
//! wire format (crate `xnorc-host`). Nothing here prints a report: checks return report
//! structs (progress goes to stderr).
//!
//! Module order (no cycles): `verilator` → `diagnose` → `core`; `board` → `bitcheck`.

pub mod bitcheck;
pub mod board;
pub mod core;
pub mod diagnose;
mod error;
pub mod verilator;

pub use error::VerifyError;
