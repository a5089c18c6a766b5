//! How a kernel-codebook convolution computes, and the cost rule that picks the way.
//!
//! **Decode** (the MVU's [`crate::stage::CodebookDecode`]): every lane turns its τ-bit index into the
//! kernel bit of the op's tap through a 2^τ:1 multiplexer on the tap's plane, then runs the
//! ordinary lane. A window costs kh·kw·C/SIMD ops per pass.
//!
//! **Share** (pattern-response sharing): a [`crate::stage::Responses`] stage computes, for every input
//! channel of a window, the response of each of the E codebook kernels — its kh·kw taps summed
//! with the lane function — once; the MVU's lanes then add the response their index selects
//! ([`Lane::Select`]). A window costs C/SIMD ops per pass, kh·kw times fewer, so the same
//! throughput needs up to kh·kw times fewer lanes; but each select lane multiplexes E responses
//! of several bits, and the responses stage keeps SIMD·E counters.
//!
//! **Kernels** (whole-kernel decode, the MVU's `DECODE = 2`): the window generator brings each
//! channel block's kh·kw taps in a row, as for sharing, a width converter joins them into one
//! beat, and every index becomes its whole kernel through the codebook, a constant of the
//! unit: each kernel bit is a function of the τ index bits alone (one LUT4 for τ ≤ 4, where
//! decode's plane multiplexer reads register data and costs 2^τ − 1). The kh·kw bits feed
//! ordinary lanes. A window costs C/SIMD ops per pass, as sharing's does, with kh·kw lanes per
//! index and no responses stage. Padded taps must not be masked (the beat has no flag per
//! tap).
//!
//! The rule compares the three at the throughput the folding asks for ([`choose`]).

use super::folding::{CodebookCompute, LUTS_PER_LANE};
use crate::lane::Lane;
use xnorc_compiler::ir::int_bits;

/// LUT4s of a one-bit n:1 multiplexer: n − 1 two-way selections, one LUT4 each (iCE40 has no
/// wider multiplexer primitive; ECP5's PFUMX makes both ways cheaper alike).
pub fn mux_luts(n: usize) -> usize {
    n.saturating_sub(1)
}

/// LUT4s a decode lane adds to a binary lane on iCE40, which the cost rule ([`choose`]) uses
/// on every family. With the index memory in block RAM, its 2^τ:1 plane multiplexer. In
/// logic, about one: the index ROM and the plane ROM are both read through registers of their
/// addresses, so yosys folds ROM and multiplexer into one function of (address, kernel
/// position) — a ROM of the expanded bits (measured on iCE40: 1,461 LUT4 for 256 decode lanes
/// of cnv-small's conv2, 5.7 per lane).
pub fn decode_lane_luts(tau: u32, index_in_block_ram: bool) -> usize {
    if index_in_block_ram {
        mux_luts(1 << tau)
    } else {
        1
    }
}

/// LUT4s a decode lane adds to a binary lane on `family`, for the resource estimate. On ECP5
/// yosys 0.23's wide-LUT mapping (`synth_ecp5`, LUT5–7 from LUT4s and PFU multiplexers) makes
/// each 4:1 step of the plane multiplexer a LUT6 of four LUT4s, about twice the iCE40 count,
/// with the indices in block RAM or in logic alike (measured: CNV's τ = 4 conv2 at PE 4 ×
/// SIMD 64, 256 decode lanes: 8,340 LUT4 with the indices in block RAM, 9,466 in logic, against
/// 806 for the same unit with dense weights — 29.4 and 29.8 per lane once the index ROM's own
/// LUT4s are counted apart).
pub fn decode_lane_luts_on(family: xnorc_boards::Family, tau: u32, in_block_ram: bool) -> usize {
    match family {
        xnorc_boards::Family::Ice40 => decode_lane_luts(tau, in_block_ram),
        xnorc_boards::Family::Ecp5 => 2 * mux_luts(1 << tau),
    }
}

/// LUT4s a select lane adds to a binary lane: a `response_bits`-wide E:1 multiplexer of
/// register data and adder-tree leaves `response_bits` wide, ≈ 4/3 LUT4 per entry and response
/// bit (measured on iCE40, `-noflatten`, E = 16: 93 LUT4 per lane for 4-bit responses, 108 for
/// 5-bit ones).
pub fn select_lane_luts(entries: usize, response_bits: u32) -> usize {
    (4 * response_bits as usize * entries).div_ceil(3)
}

/// LUT4s of one response counter: the lane function, the first-tap clear and a
/// `response_bits` adder, ≈ 2 per bit (measured on iCE40: 8.3 per 4-bit counter, 10.1 per
/// 5-bit one).
pub fn response_counter_luts(response_bits: u32) -> usize {
    2 * response_bits as usize
}

/// LUT4s of one kernel bit of a whole-kernel lane group: a function of the τ index bits (the
/// codebook is a constant), one LUT4 up to 4 bits, then a 2^(τ−4):1 multiplexer of LUT4s
/// (measured on ECP5, CNV's τ = 4 conv2 at PE 8 × 8 channels, 576 lanes, indices in block
/// RAM: 2,232 LUT4 and 259 CCU2C for the whole unit, 3.9 LUT4 a lane with its tree and
/// accumulators).
pub fn kernel_bit_luts(tau: u32) -> usize {
    if tau <= 4 {
        1
    } else {
        (1usize << (tau - 4)) + mux_luts(1 << (tau - 4))
    }
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
        Lane::Select { .. } | Lane::Mul { .. } => {
            unreachable!("responses are computed from a binary-weight tap lane")
        }
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
    /// Input channels.
    pub c: usize,
    /// Kernel positions (kh·kw).
    pub taps: usize,
    /// Index width.
    pub tau: u32,
    /// Codebook entries.
    pub entries: usize,
    /// Bits of one response.
    pub response_bits: u32,
    /// The decode unit's index memory would be in block RAM (by the folding, or by its size).
    pub index_in_block_ram: bool,
    /// Whole kernels are possible: padded taps are not masked, and a kernel fits the
    /// generator's fields (at most [`MAX_KERNEL_TAPS`] positions).
    pub whole_kernels: bool,
}

/// The most kernel positions a whole-kernel unit takes: its codebook is a parameter of fields
/// of kh·kw bits, each written as one integer.
pub const MAX_KERNEL_TAPS: usize = 62;

/// Whether a codebook convolution of `taps` kernel positions can decode whole kernels: not
/// when its padded taps are `masked` (a joined beat has no flag per tap), nor past
/// [`MAX_KERNEL_TAPS`].
pub fn whole_kernels_possible(masked: bool, taps: usize) -> bool {
    !masked && taps <= MAX_KERNEL_TAPS
}

/// The rule's decision for one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The way it computes.
    pub compute: CodebookCompute,
    /// The unit's PE.
    pub pe: usize,
    /// The unit's SIMD (also the window generator's and the responses stage's).
    pub simd: usize,
    /// Estimated LUT4 of the decode lanes at the folding's PE·SIMD.
    pub decode_luts: usize,
    /// Estimated LUT4 of sharing at the same throughput: counters and select lanes.
    pub share_luts: usize,
    /// Estimated LUT4 of whole kernels at the same throughput (None where not possible).
    pub kernel_luts: Option<usize>,
}

/// Cycles per window of a decode folding: NF passes of taps·C/SIMD ops.
pub fn decode_cycles(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    layer.o / pe * layer.taps * (layer.c / simd)
}

/// Cycles per window of a sharing folding: NF' passes of C/SIMD' ops, but never fewer than
/// the taps·C/SIMD' beats the window generator and the responses stage take.
pub fn share_cycles(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    (layer.o / pe).max(layer.taps) * (layer.c / simd)
}

/// The cheapest sharing folding (PE' | O, SIMD' | C; by [`share_cost`], then fewer cycles)
/// that is at least as fast as the decode folding (`pe`, `simd`). One always exists: (`pe`,
/// `simd`) itself is `taps` times faster or bound by the same window stream.
pub fn share_folding(layer: &CodebookLayer, pe: usize, simd: usize) -> (usize, usize) {
    cheapest_as_fast(layer, pe, simd, share_cost)
}

/// The cheapest whole-kernel folding (by [`kernel_cost`]) at least as fast as the decode
/// folding (`pe`, `simd`); it takes as many cycles per window as sharing does.
pub fn kernel_folding(layer: &CodebookLayer, pe: usize, simd: usize) -> (usize, usize) {
    cheapest_as_fast(layer, pe, simd, kernel_cost)
}

/// The (PE' | O, SIMD' | C) of least `cost`, then fewer cycles, whose window-stream-bound
/// cycles ([`share_cycles`]) beat the decode folding (`pe`, `simd`).
fn cheapest_as_fast(
    layer: &CodebookLayer,
    pe: usize,
    simd: usize,
    cost: fn(&CodebookLayer, usize, usize) -> usize,
) -> (usize, usize) {
    let goal = decode_cycles(layer, pe, simd);
    let divisors = |n: usize| (1..=n).filter(move |d| n.is_multiple_of(*d));
    let mut best = (pe, simd);
    let key = |p: usize, s: usize| (cost(layer, p, s), share_cycles(layer, p, s));
    for p in divisors(layer.o) {
        for s in divisors(layer.c) {
            if share_cycles(layer, p, s) <= goal && key(p, s) < key(best.0, best.1) {
                best = (p, s);
            }
        }
    }
    best
}

/// Estimated LUT4 of decoding with `pe` × `simd` lanes: a binary lane each
/// ([`LUTS_PER_LANE`]) and its plane multiplexer.
pub fn decode_cost(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    let lane = LUTS_PER_LANE + decode_lane_luts(layer.tau, layer.index_in_block_ram) as f64;
    ((pe * simd) as f64 * lane).round() as usize
}

/// Estimated LUT4 of sharing with `pe` × `simd` select lanes and SIMD·E response counters.
pub fn share_cost(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    let lane = LUTS_PER_LANE + select_lane_luts(layer.entries, layer.response_bits) as f64;
    ((pe * simd) as f64 * lane).round() as usize
        + simd * layer.entries * response_counter_luts(layer.response_bits)
}

/// Estimated LUT4 of whole kernels with `pe` × `simd` indices per op: taps binary lanes
/// each, and a decoded kernel bit per lane.
pub fn kernel_cost(layer: &CodebookLayer, pe: usize, simd: usize) -> usize {
    let lane = LUTS_PER_LANE + kernel_bit_luts(layer.tau) as f64;
    ((pe * simd * layer.taps) as f64 * lane).round() as usize
}

/// The cost rule: a folding's (PE, SIMD) set the layer's throughput as for a dense layer
/// (II = vectors·NF·SF, SF = kh·kw·C/SIMD); decode spends PE·SIMD decode lanes on it, sharing
/// the cheapest [`share_folding`] that is as fast, whole kernels the cheapest
/// [`kernel_folding`] (where possible). The cheapest by estimated LUT4 wins, on a tie decode,
/// then whole kernels. `forced` (the folding file's `compute`) overrides; with it, PE and SIMD
/// are the unit's own.
pub fn choose(
    layer: &CodebookLayer,
    pe: usize,
    simd: usize,
    forced: Option<CodebookCompute>,
) -> Choice {
    let shared = share_folding(layer, pe, simd);
    let kernels = kernel_folding(layer, pe, simd);
    let decode_luts = decode_cost(layer, pe, simd);
    let share_luts = share_cost(layer, shared.0, shared.1);
    let kernel_luts = layer
        .whole_kernels
        .then(|| kernel_cost(layer, kernels.0, kernels.1));
    let mut ways = vec![(decode_luts, CodebookCompute::Decode, (pe, simd))];
    if let Some(luts) = kernel_luts {
        ways.push((luts, CodebookCompute::Kernels, kernels));
    }
    ways.push((share_luts, CodebookCompute::Share, shared));
    let (compute, (pe, simd)) = match forced {
        Some(c) => (c, (pe, simd)),
        // The first of the cheapest, in the order above.
        None => {
            let first_cheapest = |best: (usize, _, _), w: &(usize, _, _)| match w.0 < best.0 {
                true => *w,
                false => best,
            };
            let (_, c, folding) = ways.iter().fold(ways[0], first_cheapest);
            (c, folding)
        }
    };
    Choice {
        compute,
        pe,
        simd,
        decode_luts,
        share_luts,
        kernel_luts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CNV-shaped 3×3 layer: 64 × 64 channels, τ = 4 (16 Kbit of indices: block RAM),
    /// binary inputs (responses 0..9, 4 bits).
    fn layer() -> CodebookLayer {
        CodebookLayer {
            o: 64,
            c: 64,
            taps: 9,
            tau: 4,
            entries: 16,
            response_bits: 4,
            index_in_block_ram: true,
            whole_kernels: false,
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
    fn sharing_keeps_the_throughput_at_the_least_cost() {
        // Share costs SIMD·(90.5·PE + 128) LUT4 (select lane 4.5 + ⌈4·4·16/3⌉ = 86, counters
        // 16·8) and takes max(64/PE, 9)·64/SIMD cycles per window.
        // Decode PE 64, SIMD 8: 72 cycles. Sharing needs max(64/PE, 9) ≤ 1.125·SIMD: SIMD 8
        // with PE 8 (6,816), SIMD 16 with PE 4 (7,840), SIMD 32 with PE 2 (9,888), SIMD 64
        // with PE 1 (13,984); SIMD ≤ 4 cannot. The cheapest is PE 8, SIMD 8.
        assert_eq!(share_folding(&layer(), 64, 8), (8, 8));
        // Decode PE 2, SIMD 8: 2,304 cycles. SIMD 1 with PE 2 (32 ≤ 36 passes): 309; SIMD 2
        // with PE 1: 437.
        assert_eq!(share_folding(&layer(), 2, 8), (2, 1));
        assert_eq!(share_cycles(&layer(), 2, 1), 2_048);
        assert_eq!(decode_cycles(&layer(), 2, 8), 2_304);
    }

    #[test]
    fn the_rule_by_hand() {
        // Decode lane 4.5 + 15 (16:1 plane multiplexer: the indices are in block RAM).
        // PE 64 × SIMD 8: decode 512·19.5 = 9,984 against sharing's 6,816.
        let c = choose(&layer(), 64, 8, None);
        assert_eq!((c.decode_luts, c.share_luts), (9_984, 6_816));
        assert_eq!((c.compute, c.pe, c.simd), (CodebookCompute::Share, 8, 8));
        // PE 1 × SIMD 1: decode 19.5 → 20 against 91 + 128 = 219 (counters dominate).
        let c = choose(&layer(), 1, 1, None);
        assert_eq!((c.decode_luts, c.share_luts), (20, 219));
        assert_eq!((c.compute, c.pe, c.simd), (CodebookCompute::Decode, 1, 1));
        // cnv-small's conv2 (16 × 16 channels, zero padding: 5-bit responses), whose 1 Kbit
        // of indices sit in logic, at PE 16 × SIMD 16: decode 256·5.5 = 1,408 LUT4 (yosys:
        // 1,461); sharing at 9 cycles per window needs SIMD 16 and PE ≥ 2: 32·111.5 +
        // 256·10 = 6,128 (yosys: 3,450 + 2,595 = 6,045). Decode.
        let small = CodebookLayer {
            o: 16,
            c: 16,
            response_bits: 5,
            index_in_block_ram: false,
            ..layer()
        };
        let c = choose(&small, 16, 16, None);
        assert_eq!((c.decode_luts, c.share_luts), (1_408, 6_128));
        assert_eq!(c.compute, CodebookCompute::Decode);
        // The folding file overrides, and PE and SIMD are then taken as given.
        let c = choose(&layer(), 2, 8, Some(CodebookCompute::Share));
        assert_eq!((c.compute, c.pe, c.simd), (CodebookCompute::Share, 2, 8));
    }

    #[test]
    fn whole_kernels_by_hand() {
        let whole = CodebookLayer {
            whole_kernels: true,
            ..layer()
        };
        // A kernel bit costs one LUT4 up to τ = 4; τ = 6: 4 LUT4s and their 4:1 multiplexer.
        assert_eq!((kernel_bit_luts(4), kernel_bit_luts(6)), (1, 7));
        // An index feeds 9 lanes of 4.5 + 1: 49.5 LUT4. Decode PE 64 × SIMD 8 takes 72 cycles
        // a window; whole kernels take sharing's max(64/PE, 9)·64/SIMD, which 64 indices
        // (3,168 LUT4, against sharing's 6,816 and decode's 9,984) meet as PE 8 × SIMD 8 (72
        // cycles), PE 4 × SIMD 16 and PE 2 × SIMD 32 (all 64), or PE 1 × SIMD 64 (64):
        // the fewest cycles, then the first found (the least PE).
        assert_eq!(kernel_folding(&whole, 64, 8), (1, 64));
        assert_eq!(share_cycles(&whole, 1, 64), 64);
        let c = choose(&whole, 64, 8, None);
        assert_eq!(c.kernel_luts, Some(3_168));
        assert_eq!((c.compute, c.pe, c.simd), (CodebookCompute::Kernels, 1, 64));
        // PE 1 × SIMD 1: decode's 20 LUT4 against 49.5 for one index's nine lanes.
        let c = choose(&whole, 1, 1, None);
        assert_eq!(
            (c.compute, c.kernel_luts),
            (CodebookCompute::Decode, Some(50))
        );
        // Where padded taps are masked, whole kernels are never chosen.
        assert_eq!(choose(&layer(), 64, 8, None).kernel_luts, None);
    }
}
