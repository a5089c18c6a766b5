//! xnorc's boards and FPGA tool flows (filled by the open-FPGA-flow work; empty today).
//!
//! Will own: board data files (device, package, clock, pins, programmer name), constraint
//! generation (PCF/LPF), and running yosys, nextpnr-ice40/-ecp5, icepack/ecppack and
//! openFPGALoader with logs, reports and resource estimates.
//! Must not touch: Verilog generation (crate `xnorc-rtl`) or model semantics (crate
//! `xnorc-compiler`).
