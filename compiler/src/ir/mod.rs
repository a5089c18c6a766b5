//! The intermediate representation: a DAG of typed nodes that every back end reads.
//!
//! Built from a model file by `passes::graph` (which validates everything), then rewritten by
//! later passes (`passes::fold` replaces float epilogues with integer thresholds). The IR holds
//! the model's integer semantics (docs/semantics.md) and nothing about hardware or simulation
//! layouts; back ends pick their own layouts from it.

pub mod float_io;
mod graph;
mod ops;
mod stream;
mod types;

pub use float_io::{FloatTail, InputMap};
pub use graph::{Graph, Node, NodeId};
pub use ops::*;
pub use stream::{shift_right, signed_range, Add, Affine, SumPool};
pub use types::{frame_elements, int_bits, Shape, ValueType, MAX_FRAME_ELEMENTS};
