//! xnorc's bit-exact reference simulator: the oracle every hardware check compares against.
//!
//! Owns: executing a lowered IR graph (`xnorc_compiler::passes::lower`) on batches of frames
//! with exact integer arithmetic (packed u64 words, popcounts, rayon over chunks of frames),
//! NumPy `.npy`/`.npz` input and `.npy` output, input data checked against the model (`input`:
//! integer frames, float32 frames through an imported model's input map, labels, random frames,
//! node dumps) and the simulator's benchmark (`bench`).
//! Must not touch: the model format or IR passes (compiler), hardware plans (plan), Verilog
//! generation (rtl), hardware checks and the Verilator harness (verify).
//! The semantics it implements are docs/semantics.md; tests/ compare it with a deliberately naive
//! implementation.

pub mod bench;
mod engine;
pub mod input;
mod intmat;
mod lanes;
mod layout;
mod matmul;
pub mod metrics;
pub mod npy;
mod ops;
mod popcount;
mod split;
mod stream;
pub use popcount::xor_popcount_rate;

pub use engine::{argmax, NodeValues, Results, SimError, Simulator};
pub use layout::Frames;
