//! xnorc's bit-exact reference simulator: the oracle every hardware check compares against.
//!
//! Owns: executing a lowered IR graph (`xnorc_compiler::passes::lower`) on batches of frames
//! with exact integer arithmetic (packed u64 words, popcounts, rayon over chunks of frames), node
//! dumps for debugging, NumPy `.npy`/`.npz` input and `.npy` output. Later: the Verilator
//! harness.
//! Must not touch: the model format or IR passes (compiler), Verilog generation (rtl).
//! The semantics it implements are docs/semantics.md; tests/ compare it with a deliberately naive
//! implementation.

mod engine;
mod layout;
mod matmul;
pub mod npy;
mod ops;
mod popcount;
mod split;
pub mod verilator;
pub use popcount::xor_popcount_rate;

pub use engine::{argmax, NodeValues, Results, SimError, Simulator};
pub use layout::Frames;
