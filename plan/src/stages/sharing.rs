//! How a kernel-codebook convolution computes (`crate::codebook`): decoding its indices per lane,
//! or sharing its kernels' responses — then a responses stage turns the window stream into one
//! beat of SIMD response vectors per channel block, and the unit's lanes select from them.

use crate::codebook::{self, CodebookLayer};
use crate::folding::{CodebookCompute, LayerFolding, MemoryStyle, LUT_MEMORY_BITS};
use crate::lane::Lane;
use crate::stage::{CodebookDecode, Responses, Stage, StageKind};
use crate::stream::Stream;
use xnorc_compiler::error::{ModelError, Result};
use xnorc_compiler::ir::{Geometry, MatMul, Node, WeightStore};
use xnorc_compiler::sanitize::printable;

/// A sharing unit's own folding, its responses' range and the layer as the cost rule saw it.
pub(super) struct Share {
    /// The unit's PE.
    pub pe: usize,
    /// The unit's SIMD.
    pub simd: usize,
    /// The range of one response.
    pub range: (i64, i64),
    /// The layer.
    pub layer: CodebookLayer,
}

/// Whether the layer shares its kernels' responses (`None`: it decodes, or is no codebook
/// convolution); `compute` in the folding of any other layer is an error.
pub(super) fn choose(
    node: &Node,
    mm: &MatMul,
    cfg: &LayerFolding,
    lane: Lane,
    (pe, simd): (usize, usize),
    input: &Stream,
) -> Result<Option<Share>> {
    let w = &mm.weights;
    let o = w.out_channels;
    let taps = w.kh * w.kw;
    match (&w.store, mm.geometry) {
        (WeightStore::Codebook(cb), Geometry::Conv { .. }) => {
            let range = codebook::response_range(lane, taps, input.bits, input.signed);
            let layer = CodebookLayer {
                o,
                c: w.in_channels,
                taps,
                tau: cb.tau,
                entries: cb.entries,
                response_bits: codebook::response_bits(range),
                index_in_block_ram: cfg
                    .memory
                    .map_or(o * w.in_channels * cb.tau as usize > LUT_MEMORY_BITS, |m| {
                        m == MemoryStyle::Block
                    }),
            };
            let choice = codebook::choose(&layer, pe, simd, cfg.compute);
            Ok((choice.compute == CodebookCompute::Share).then_some(Share {
                pe: choice.pe,
                simd: choice.simd,
                range,
                layer,
            }))
        }
        _ if cfg.compute.is_some() => Err(ModelError::new(
            "`compute` applies to kernel-codebook convolutions only; this layer is not one",
        )
        .at_field(format!("layers.{}.compute", printable(&node.name)))),
        _ => Ok(None),
    }
}

/// A sharing unit's responses stage (reading `mvu_in`, the window stream) and the lane that
/// selects from its responses.
pub(super) fn responses_stage(
    node: &Node,
    simd: usize,
    lane: Lane,
    share: &Share,
    decode: &CodebookDecode,
    mvu_in: Stream,
    order: Option<Vec<usize>>,
) -> (Stage, Lane) {
    let layer = &share.layer;
    let taps = layer.taps;
    let signed = share.range.0 < 0;
    let responses = Responses {
        c: layer.c,
        simd,
        taps,
        entries: layer.entries,
        lane,
        response_bits: layer.response_bits,
        signed,
        planes: decode
            .planes
            .iter()
            .map(|p| p[..layer.entries].to_vec())
            .collect(),
    };
    let out = Stream {
        elems: simd,
        bits: layer.entries as u32 * layer.response_bits,
        signed: false,
        beats: mvu_in.beats / taps,
        valid_bit: false,
    };
    let stage = Stage {
        name: format!("{}_responses", node.ident),
        layer: node.name.clone(),
        kind: StageKind::Responses(responses),
        input: mvu_in,
        output: out,
        channel_order: order,
        sources: Vec::new(),
    };
    let select = Lane::Select {
        tau: layer.tau,
        entries: layer.entries,
        response_bits: layer.response_bits,
        signed,
        taps,
    };
    (stage, select)
}
