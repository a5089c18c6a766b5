//! How a kernel-codebook convolution computes (`crate::codebook`): decoding its indices per lane,
//! decoding whole kernels, or sharing its kernels' responses — then a responses stage turns
//! the window stream into one beat of SIMD response vectors per channel block, and the unit's
//! lanes select from them.

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

/// How a layer computes, where the window stream and the unit differ from a dense layer's.
pub(super) enum Way {
    /// As a dense layer does, or decoding a codebook's indices tap by tap.
    Plain,
    /// Sharing the codebook kernels' responses.
    Share(Share),
    /// Decoding whole kernels at (PE, SIMD channels).
    Kernels { pe: usize, simd: usize },
}

/// How the layer computes ([`Way::Plain`] for every layer but a kernel-codebook convolution);
/// `compute` in the folding of any other layer is an error, and so is `"kernels"` where
/// padded taps are masked.
pub(super) fn choose(
    node: &Node,
    mm: &MatMul,
    cfg: &LayerFolding,
    lane: Lane,
    (pe, simd): (usize, usize),
    input: &Stream,
) -> Result<Way> {
    let w = &mm.weights;
    let o = w.out_channels;
    let taps = w.kh * w.kw;
    let field = || format!("layers.{}.compute", printable(&node.name));
    match (&w.store, mm.geometry) {
        (WeightStore::Codebook(cb), Geometry::Conv { .. }) => {
            let masked = matches!(lane, Lane::XnorMasked | Lane::AndMasked);
            let whole_kernels = codebook::whole_kernels_possible(masked, taps);
            if cfg.compute == Some(CodebookCompute::Kernels) && !whole_kernels {
                let why = match masked {
                    true => {
                        "its padded taps are masked (zero padding of ±1 inputs), and a \
                             whole-kernel beat has no flag per tap"
                    }
                    false => "its kernels have more positions than a whole-kernel unit takes",
                };
                return Err(ModelError::new(format!(
                    "`compute: \"kernels\"` is not available for this layer: {why}; use \
                     \"decode\" or \"share\""
                ))
                .at_field(field()));
            }
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
                whole_kernels,
            };
            let choice = codebook::choose(&layer, pe, simd, cfg.compute);
            Ok(match choice.compute {
                CodebookCompute::Decode => Way::Plain,
                CodebookCompute::Share => Way::Share(Share {
                    pe: choice.pe,
                    simd: choice.simd,
                    range,
                    layer,
                }),
                CodebookCompute::Kernels => Way::Kernels {
                    pe: choice.pe,
                    simd: choice.simd,
                },
            })
        }
        _ if cfg.compute.is_some() => Err(ModelError::new(
            "`compute` applies to kernel-codebook convolutions only; this layer is not one",
        )
        .at_field(field())),
        _ => Ok(Way::Plain),
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
