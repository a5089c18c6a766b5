//! What a matrix layer starts from: its folding inputs and the stream that arrives at it.

use crate::folding::LayerShape;
use crate::stream::Stream;

/// A map's (C, H, W), if the stream carries one.
pub(super) type Map = Option<(usize, usize, usize)>;

/// A matrix layer's folding inputs: its shape as the automatic rule saw it, its fan-out and
/// the automatic (PE, SIMD).
pub(super) struct Fold {
    pub shape: LayerShape,
    pub fanout: usize,
    pub auto: (usize, usize),
}

/// What arrives at a matrix layer: the stream, the map it carries (or the map a flatten turned
/// into this vector) and its channel order.
pub(super) struct Input {
    pub stream: Stream,
    pub map: Map,
    pub flattened: Map,
    pub order: Option<Vec<usize>>,
}
