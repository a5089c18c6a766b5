//! xnorc's compiler front and middle: the model format, its validation, the IR and the passes.
//!
//! Owns: the `.xnm` format (`format`), importers from other tools' formats (`import`: an ONNX
//! reader and the QONNX translation), the IR (`ir`), semantic passes (`passes`), loading a model
//! file into the lowered graph (`load`), name
//! sanitization (`sanitize`), random model generation for tests and benchmarks (`presets`), and
//! a model's summary in figures and words (`summary`, what `xnorc inspect` prints), and the
//! trait every crate reports long steps through (`progress`).
//! Must not touch: simulation (crate `xnorc-sim`), hardware plans (crate `xnorc-plan`), Verilog
//! (crate `xnorc-rtl`), tool flows (crate `xnorc-boards`). The story is model → IR → passes →
//! hardware plan → Verilog → flows; this crate ends where a hardware plan starts.

pub mod bits;
pub mod error;
pub mod format;
pub mod fsutil;
pub mod import;
pub mod ir;
pub mod load;
pub mod passes;
pub mod presets;
pub mod progress;
pub mod sanitize;
pub mod summary;

pub use error::{ModelError, Result};
