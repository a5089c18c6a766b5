//! `xnorc train`: the research methods' training of binary networks, straight into a model file.
//!
//! Owns: architectures to train (`arch`), the training data and its coding through the model's
//! input map (`data`), the network's parameters and forward pass on burn's `flex` CPU backend
//! with autodiff (`net`), the optimizers (`optim`), the methods and their schedules (`method`),
//! the loop with its per-epoch metrics (`trainer`), checkpoints (`checkpoint`) and the exact
//! export to an `.xnm` model (`export`).
//! Must not touch: the model format's rules and the folding (compiler: the export writes a
//! model file and lets the compiler lower it; a multi-bit activation's thresholds, which no
//! float op of the format carries, are placed with the compiler's own fold search and f64
//! steps, not a copy of them), the reference semantics (sim: every held-out
//! accuracy is the simulator's on the exported model), hardware plans, Verilog and tool flows.

pub mod arch;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod export;
pub mod method;
pub mod net;
pub mod optim;
pub mod scheme;
pub mod trainer;

pub use arch::Arch;
pub use data::Dataset;
pub use error::TrainError;
pub use method::{Hyper, Method};
pub use trainer::{train, EpochMetrics, Persistence, Settings, Trained};
