//! How a kernel-codebook convolution computes, and the cost rule that picks the way.
//!
//! **Decode** (the MVU's [`super::CodebookDecode`]): every lane turns its τ-bit index into the
//! kernel bit of the op's tap through a 2^τ:1 multiplexer on the tap's plane, then runs the
//! ordinary lane. A window costs kh·kw·C/SIMD ops per pass.
//!
//! **Share** (pattern-response sharing): a [`super::Responses`] stage computes, for every input
//! channel of a window, the response of each of the E codebook kernels — its kh·kw taps summed
//! with the lane function — once; the MVU's lanes then add the response their index selects
//! ([`super::Lane::Select`]). A window costs C/SIMD ops per pass, kh·kw times fewer, so the same
//! throughput needs kh·kw times fewer PE; but each select lane multiplexes E responses of
//! several bits, and the responses stage keeps SIMD·E counters.
//!
//! The rule compares the two at the throughput the folding asks for ([`choose`]).

use super::folding::{CodebookCompute, LUTS_PER_LANE};
use super::Lane;
use crate::ir::int_bits;

/// LUT4s of a one-bit n:1 multiplexer: n − 1 two-way selections, one LUT4 each (iCE40 has no
/// wider multiplexer primitive; ECP5's PFUMX makes both ways cheaper alike).
pub fn mux_luts(n: usize) -> usize {
    n.saturating_sub(1)
}

/// LUT4s a decode lane adds to a binary lane: its 2^τ:1 plane multiplexer.
pub fn decode_lane_luts(tau: u32) -> usize {
    mux_luts(1 << tau)
}

/// LUT4s a select lane adds to a binary lane: a `response_bits`-wide E:1 multiplexer, and
/// adder-tree leaves `response_bits` wide instead of one bit.
pub fn select_lane_luts(entries: usize, response_bits: u32) -> usize {
    response_bits as usize * (mux_luts(entries) + 1)
}

/// LUT4s of one response counter: the lane function and a `response_bits` adder (a LUT4 per
/// bit, its register in the same cell).
pub fn response_counter_luts(response_bits: u32) -> usize {
    response_bits as usize + 1
}

/// The range of one response: `taps` times the range of the lane function on inputs of
/// `input_bits` bits (two's complement when `input_signed`).
pub fn response_range(lane: Lane, taps: usize, input_bits: u32, input_signed: bool) -> (i64, i64) {
    let (xmin, xmax) = if input_signed {
        (-(1i64 << (input_bits - 1)), (1i64 << (input_bits - 1)) - 1)
    } else {
        (0, (1i64 << input_bits) - 1)
    };
    let (lo, hi) = match lane {
        Lane::Xnor | Lane::And => (0, 1),
        Lane::XnorMasked | Lane::AndMasked => (-1, 1),
        Lane::AddSub => (xmin.min(-xmax), xmax.max(-xmin)),
        Lane::AddZero => (xmin.min(0), xmax.max(0)),
        Lane::Select { .. } => unreachable!("responses are computed from a tap lane"),
    };
    (lo * taps as i64, hi * taps as i64)
}

/// Bits of a response in `range` (two's complement when it reaches below 0).
pub fn response_bits(range: (i64, i64)) -> u32 {
    int_bits(range.0, range.1)
}

/// What the rule knows of a codebook convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodebookLayer {
    /// Output channels.
    pub o: usize,
    /// Kernel positions (kh·kw).
    pub taps: usize,
    /// Index width.
    pub tau: u32,
    /// Codebook entries.
    pub entries: usize,
    /// Bits of one response.
    pub response_bits: u32,
}

/// The rule's decision for one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The way it computes.
    pub compute: CodebookCompute,
    /// The unit's PE.
    pub pe: usize,
    /// Estimated LUT4 of the decode lanes at the folding's PE·SIMD.
    pub decode_luts: usize,
    /// Estimated LUT4 of sharing at the same throughput: counters and select lanes.
    pub share_luts: usize,
}

/// The sharing unit's PE that keeps the throughput of a decode folding with `pe`: the fewest
/// PE (a divisor of O) with NF' ≤ taps·NF, since a sharing pass is `taps` times shorter. The
/// window generator still sends taps·C/SIMD beats per window either way.
pub fn share_pe(layer: &CodebookLayer, pe: usize) -> usize {
    let nf = layer.o / pe;
    (1..=layer.o)
        .filter(|p| layer.o.is_multiple_of(*p) && layer.o / p <= layer.taps * nf)
        .min()
        .unwrap_or(pe)
}

/// Estimated LUT4 of decoding with `pe` × `simd` lanes: a binary lane each
/// ([`LUTS_PER_LANE`]) and its plane multiplexer.
pub fn decode_cost(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    let lane = LUTS_PER_LANE + decode_lane_luts(layer.tau) as f64;
    ((pe * simd) as f64 * lane).round() as usize
}

/// Estimated LUT4 of sharing with `pe` × `simd` select lanes and SIMD·E response counters.
pub fn share_cost(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    let lane = LUTS_PER_LANE + select_lane_luts(layer.entries, layer.response_bits) as f64;
    ((pe * simd) as f64 * lane).round() as usize
        + simd * layer.entries * response_counter_luts(layer.response_bits)
}

/// The cost rule: a folding's (PE, SIMD) set the layer's throughput as for a dense layer
/// (II = vectors·NF·SF, SF = kh·kw·C/SIMD); decode spends PE·SIMD decode lanes on it, sharing
/// spends SIMD·E response counters and [`share_pe`]·SIMD select lanes. The cheaper by
/// estimated LUT4 wins, decode on a tie. `forced` (the folding file's `compute`) overrides;
/// with it, PE is the unit's own.
pub fn choose(
    layer: &CodebookLayer,
    pe: usize,
    simd: usize,
    forced: Option<CodebookCompute>,
) -> Choice {
    let shared_pe = share_pe(layer, pe);
    let decode_luts = decode_cost(layer, pe, simd);
    let share_luts = share_cost(layer, shared_pe, simd);
    let (compute, pe) = match forced {
        Some(c) => (c, pe),
        None if share_luts < decode_luts => (CodebookCompute::Share, shared_pe),
        None => (CodebookCompute::Decode, pe),
    };
    Choice {
        compute,
        pe,
        decode_luts,
        share_luts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CNV-shaped 3×3 layer: 64 outputs, τ = 4, binary inputs (responses 0..9, 4 bits).
    fn layer() -> CodebookLayer {
        CodebookLayer {
            o: 64,
            taps: 9,
            tau: 4,
            entries: 16,
            response_bits: 4,
        }
    }

    #[test]
    fn response_ranges_by_hand() {
        assert_eq!(response_range(Lane::Xnor, 9, 1, false), (0, 9));
        assert_eq!(response_range(Lane::AndMasked, 9, 1, false), (-9, 9));
        // uint8 × ±1: each tap is ±x with x ≤ 255.
        assert_eq!(response_range(Lane::AddSub, 9, 8, false), (-2295, 2295));
        // int8 × {0,1}: each tap is x ∈ [−128, 127] or 0.
        assert_eq!(response_range(Lane::AddZero, 4, 8, true), (-512, 508));
        assert_eq!(response_bits((0, 9)), 4);
        assert_eq!(response_bits((-9, 9)), 5);
    }

    #[test]
    fn sharing_keeps_the_throughput_with_fewer_pe() {
        // NF 1 → NF' ≤ 9: the largest divisor of 64 is 8, PE 8.
        assert_eq!(share_pe(&layer(), 64), 8);
        // NF 4 → NF' ≤ 36: 32, PE 2.
        assert_eq!(share_pe(&layer(), 16), 2);
        // NF 64 → NF' ≤ 576: PE 1.
        assert_eq!(share_pe(&layer(), 1), 1);
    }

    #[test]
    fn wide_layers_share_and_narrow_ones_decode() {
        // By hand, SIMD 8: decode lane 4.5 + 15 (16:1 plane mux); select lane 4.5 + 4·(15 + 1);
        // counter 5. PE 64: decode 512·19.5 = 9,984; share (PE 8) 64·68.5 + 8·16·5 = 5,024.
        let c = choose(&layer(), 64, 8, None);
        assert_eq!((c.decode_luts, c.share_luts), (9_984, 5_024));
        assert_eq!((c.compute, c.pe), (CodebookCompute::Share, 8));
        // PE 2: decode 16·19.5 = 312; share (PE 1) 8·68.5 + 640 = 1,188.
        let c = choose(&layer(), 2, 8, None);
        assert_eq!((c.decode_luts, c.share_luts), (312, 1_188));
        assert_eq!((c.compute, c.pe), (CodebookCompute::Decode, 2));
        // The folding file overrides, and PE is then taken as given.
        let c = choose(&layer(), 2, 8, Some(CodebookCompute::Share));
        assert_eq!((c.compute, c.pe), (CodebookCompute::Share, 2));
    }
}
