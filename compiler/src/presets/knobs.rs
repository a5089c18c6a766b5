//! The knobs of the sub-bit presets (`--tau`, `--repeats`).

/// A preset's tunable parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// Codebook index width τ.
    Tau,
    /// Tile repeats p.
    Repeats,
}

/// Parameters of the sub-bit presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Knobs {
    /// Codebook index width τ (a codebook of 2^τ kernels).
    pub tau: u32,
    /// Tile repeats p.
    pub repeats: usize,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs { tau: 4, repeats: 4 }
    }
}
