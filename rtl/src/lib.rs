//! xnorc's Verilog generation (filled by the dataflow-hardware work; empty today).
//!
//! Will own: turning a lowered IR graph plus a folding plan (PE/SIMD per layer, pipelining,
//! memory style) into synthesizable Verilog and memory init files. Two parts, built two ways:
//! - the **runtime-shaped dataflow core** (one streaming stage per layer, XNOR/AND-popcount
//!   trees, thresholds, sliding windows, FIFOs) comes from xnorc's own small structural emitter —
//!   a typed module/port/instance/expression layer — because its widths and depths are data from
//!   the model file, which rust-hdl's compile-time widths cannot express;
//! - the **fixed-shape board shell** (UART, PLL, reset synchronizer) is written with rust-hdl.
//!
//! Must not touch: model semantics (it reads the IR, never re-derives it), simulation, tool flows.
