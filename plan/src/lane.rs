//! What an MVU lane computes per input element and weight bit.

use serde::Serialize;

/// What an MVU lane computes per input element and weight bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// Binary input, ±1 weights: count of w == x (XNOR).
    Xnor,
    /// Binary input, {0,1} weights: count of w ∧ x (AND).
    And,
    /// Integer input, ±1 weights: +x if w else −x.
    AddSub,
    /// Integer input, {0,1} weights: x if w else 0.
    AddZero,
    /// Binary input with a per-beat valid flag (zero padding), ±1 weights: +1 if w == x, −1 if
    /// not, 0 for padded beats; accumulates S itself.
    XnorMasked,
    /// As `XnorMasked` for {0,1} weights: x (±1) if w, else 0; 0 for padded beats.
    AndMasked,
    /// A codebook convolution sharing its kernels' responses: each input element is one
    /// channel's vector of `entries` responses (`response_bits` each, two's complement when
    /// `signed`, entry j at bits [j·response_bits, +response_bits)); the weight is a `tau`-bit
    /// index and the lane adds the response it selects.
    Select {
        /// Index width.
        tau: u32,
        /// Codebook entries (responses per channel).
        entries: usize,
        /// Bits of one response.
        response_bits: u32,
        /// Responses are two's complement.
        signed: bool,
        /// Kernel positions summed into one response.
        taps: usize,
    },
    /// Integer input, integer weights of `weight_bits` bits (two's complement): x·w, a
    /// multiplier per lane (a stem, head or shortcut projection kept in higher precision).
    Mul {
        /// Bits of one weight.
        weight_bits: u32,
    },
}

impl Lane {
    /// Width and signedness of one leaf of the unit's adder tree for input elements of `eb`
    /// bits: 1 unsigned for a count (XNOR, AND), 2 signed for ±1/0 (masked), `eb + 1` signed for
    /// ±x, the response width for a select lane, `eb + weight_bits + 1` signed for x·w.
    pub fn leaf_format(self, eb: usize) -> (usize, bool) {
        match self {
            Lane::Xnor | Lane::And => (1, false),
            Lane::XnorMasked | Lane::AndMasked => (2, true),
            Lane::AddSub | Lane::AddZero => (eb + 1, true),
            Lane::Mul { weight_bits } => (eb + weight_bits as usize + 1, true),
            Lane::Select {
                response_bits,
                signed,
                ..
            } => (response_bits as usize, signed),
        }
    }
}
