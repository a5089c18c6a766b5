//! Compiler passes over the IR, in the order `lower` runs them.
//!
//! - `graph`: model file → validated IR (order, arity, reachability), each node lowered by
//!   `nodes` (shapes, value types, accumulator ranges) with `weights` (decoded weight stores)
//!   and `steps` (float epilogue steps), `stream` (the residual stream's add, affine and
//!   sumpool), and `float_edges` (an imported model's input map and float tail).
//! - `fold`: float epilogues → exact integer thresholds.
//!
//! Hardware planning (folding into PE/SIMD, memory placement) belongs to later passes that read
//! the lowered graph; they must not change its semantics.

mod float_edges;
pub mod graph;
mod nodes;
mod steps;
mod stream;
mod weights;

pub(crate) use float_edges::int_range;
pub(crate) use fold::bisect;
/// A `binarize`'s steps as the compiler evaluates them (the trainer places multi-level
/// thresholds with them).
pub use steps::lower_steps;
pub mod fold;

use crate::error::Result;
use crate::format::ModelFile;
use crate::ir::Graph;

/// Builds the IR and runs every semantic pass: the graph back ends and the simulator consume.
pub fn lower(model: &ModelFile) -> Result<Graph> {
    let mut graph = graph::build(model)?;
    fold::fold(&mut graph)?;
    Ok(graph)
}
