//! xnorc's hardware checks: everything that compares hardware with the reference simulator.
//!
//! Owns: the Verilator harness ([`verilator`]: builds and drives a Verilated core or board,
//! records, compares nothing), the check of a generated core against the reference simulator and
//! the plan's cycle model, a co-simulation ([`cosim`]), locating the first differing stage ([`diagnose`]), the
//! simulated board and the conversation with a board over its link ([`board`]), and the check of
//! a built bitstream ([`bitcheck`]).
//! Must not touch: hardware decisions (crate `xnorc-plan`), Verilog generation (crate
//! `xnorc-rtl`: it only asks it for designs), the reference semantics (crate `xnorc-sim`), the
//! wire format (crate `xnorc-host`). Nothing here prints a report: checks return report
//! structs (progress goes to stderr).
//!
//! Module dependencies (no cycles): `cosim` uses `diagnose`, both use `verilator`; `bitcheck`
//! uses `board` and `verilator`; `error` is used by all.

pub mod bitcheck;
pub mod board;
pub mod cosim;
pub mod diagnose;
mod error;
pub mod verilator;

pub use error::VerifyError;
