//! What a matrix layer starts from: its folding inputs and the stream that arrives at it.

use crate::folding::LayerShape;
use crate::stream::Stream;

/// A map's (C, H, W), if the stream carries one.
pub(super) type Map = Option<(usize, usize, usize)>;

/// A matrix layer's folding inputs: its shape as the automatic rule saw it, its fan-out and
/// the automatic (PE, SIMD).
pub(super) struct Fold {
    /// The layer's shape as the automatic rule saw it.
    pub shape: LayerShape,
    /// Channel groups computed once (`stages::fanout`).
    pub fanout: usize,
    /// The automatic rule's (PE, SIMD).
    pub auto: (usize, usize),
}

/// What arrives at a matrix layer: the stream, the map it carries (or the map a flatten turned
/// into this vector) and its channel order.
pub(super) struct Input {
    /// The stream that arrives.
    pub stream: Stream,
    /// The map it carries.
    pub map: Map,
    /// The map a flatten turned into this vector.
    pub flattened: Map,
    /// Its channel order, when a fanned-out layer permuted it.
    pub order: Option<Vec<usize>>,
}
