//! What xnorc knows of each FPGA family (as opposed to a board): nextpnr part names, PLL divider
//! ranges and search, and block-RAM shapes. Boards are data; families are code, because a new
//! family needs a new tool flow anyway.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An FPGA family with an open flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// Lattice iCE40 (nextpnr-ice40, icepack).
    Ice40,
    /// Lattice ECP5 (nextpnr-ecp5, ecppack).
    Ecp5,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ice40 => "ice40",
            Family::Ecp5 => "ecp5",
        })
    }
}

impl Family {
    /// nextpnr's device flags for this family (without the dashes).
    pub fn parts(self) -> &'static [&'static str] {
        match self {
            Family::Ice40 => &[
                "lp384", "lp1k", "lp4k", "lp8k", "hx1k", "hx4k", "hx8k", "up3k", "up5k", "u1k",
                "u2k", "u4k",
            ],
            Family::Ecp5 => &[
                "12k", "25k", "45k", "85k", "um-25k", "um-45k", "um-85k", "um5g-25k", "um5g-45k",
                "um5g-85k",
            ],
        }
    }

    /// Block-RAM aspect ratios as (width, depth) of one block.
    pub fn ram_shapes(self) -> &'static [(usize, usize)] {
        match self {
            // SB_RAM40_4K: 256×16, 512×8, 1024×4, 2048×2.
            Family::Ice40 => &[(16, 256), (8, 512), (4, 1024), (2, 2048)],
            // DP16KD / PDPW16KD (read-only memories may use the 36-bit pseudo-dual-port shape).
            Family::Ecp5 => &[
                (36, 512),
                (18, 1024),
                (9, 2048),
                (4, 4096),
                (2, 8192),
                (1, 16384),
            ],
        }
    }

    /// Block RAMs a `depth` × `width` memory needs at best.
    pub fn ram_blocks_for(self, depth: usize, width: usize) -> usize {
        if depth == 0 || width == 0 {
            return 0;
        }
        self.ram_shapes()
            .iter()
            .map(|&(w, d)| width.div_ceil(w) * depth.div_ceil(d))
            .min()
            .unwrap_or(0)
    }

    /// The best PLL setting for an output at most `target_mhz` from `ref_mhz`.
    pub fn pll(self, ref_mhz: f64, target_mhz: f64) -> Option<Pll> {
        match self {
            Family::Ice40 => ice40_pll(ref_mhz, target_mhz),
            Family::Ecp5 => ecp5_pll(ref_mhz, target_mhz),
        }
    }
}

/// A PLL setting chosen by [`Family::pll`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "primitive")]
pub enum Pll {
    /// SB_PLL40 in simple feedback mode: out = ref·(DIVF+1) / ((DIVR+1)·2^DIVQ).
    #[serde(rename = "SB_PLL40")]
    Ice40 {
        /// Reference divider.
        divr: u32,
        /// Feedback divider.
        divf: u32,
        /// Output divider (power of two).
        divq: u32,
        /// Loop filter range for the phase-detector frequency.
        filter_range: u32,
        /// Output frequency in MHz.
        out_mhz: f64,
        /// VCO frequency in MHz.
        vco_mhz: f64,
    },
    /// EHXPLLL with CLKOP fed back: out = ref / CLKI_DIV · CLKFB_DIV, VCO = out · CLKOP_DIV.
    #[serde(rename = "EHXPLLL")]
    Ecp5 {
        /// Input divider.
        clki_div: u32,
        /// Feedback divider.
        clkfb_div: u32,
        /// CLKOP output divider.
        clkop_div: u32,
        /// Output frequency in MHz.
        out_mhz: f64,
        /// VCO frequency in MHz.
        vco_mhz: f64,
    },
}

impl Pll {
    /// Output frequency in MHz.
    pub fn out_mhz(&self) -> f64 {
        match *self {
            Pll::Ice40 { out_mhz, .. } | Pll::Ecp5 { out_mhz, .. } => out_mhz,
        }
    }
}

/// Keeps the candidate closest to the target from below; on equal frequencies the first found
/// (smallest dividers) stays, which keeps the search deterministic.
fn better(best: &Option<Pll>, candidate: f64) -> bool {
    best.as_ref().is_none_or(|b| candidate > b.out_mhz() + 1e-9)
}

/// SB_PLL40 limits (iCE40 sysCLOCK PLL design guide, as icepll applies them): reference
/// 10–133 MHz, phase detector 10–133 MHz, VCO 533–1066 MHz, output 16–275 MHz.
fn ice40_pll(ref_mhz: f64, target_mhz: f64) -> Option<Pll> {
    if !(10.0..=133.0).contains(&ref_mhz) {
        return None;
    }
    let mut best = None;
    for divr in 0..16u32 {
        let pfd = ref_mhz / f64::from(divr + 1);
        if !(10.0..=133.0).contains(&pfd) {
            continue;
        }
        for divf in 0..128u32 {
            let vco = pfd * f64::from(divf + 1);
            if !(533.0..=1066.0).contains(&vco) {
                continue;
            }
            for divq in 1..7u32 {
                let out = vco / f64::from(1u32 << divq);
                if (16.0..=275.0).contains(&out) && out <= target_mhz + 1e-9 && better(&best, out) {
                    best = Some(Pll::Ice40 {
                        divr,
                        divf,
                        divq,
                        filter_range: ice40_filter_range(pfd),
                        out_mhz: out,
                        vco_mhz: vco,
                    });
                }
            }
        }
    }
    best
}

/// Loop filter setting for the phase-detector frequency (icepll's table).
fn ice40_filter_range(pfd_mhz: f64) -> u32 {
    match pfd_mhz {
        f if f < 17.0 => 1,
        f if f < 26.0 => 2,
        f if f < 44.0 => 3,
        f if f < 66.0 => 4,
        f if f < 101.0 => 5,
        _ => 6,
    }
}

/// EHXPLLL limits (as ecppll applies them): input 8–400 MHz, phase detector 3.125–400 MHz,
/// VCO 400–800 MHz, output 3.125–400 MHz; CLKI_DIV 1–128, CLKFB_DIV 1–80, CLKOP_DIV 1–128.
fn ecp5_pll(ref_mhz: f64, target_mhz: f64) -> Option<Pll> {
    if !(8.0..=400.0).contains(&ref_mhz) {
        return None;
    }
    let mut best = None;
    for clki_div in 1..=128u32 {
        let pfd = ref_mhz / f64::from(clki_div);
        if !(3.125..=400.0).contains(&pfd) {
            continue;
        }
        for clkfb_div in 1..=80u32 {
            let out = pfd * f64::from(clkfb_div);
            if !(3.125..=400.0).contains(&out) || out > target_mhz + 1e-9 || !better(&best, out) {
                continue;
            }
            // The smallest output divider that puts the VCO in range (any one is as good).
            let Some(clkop_div) =
                (1..=128u32).find(|&d| (400.0..=800.0).contains(&(out * f64::from(d))))
            else {
                continue;
            };
            best = Some(Pll::Ecp5 {
                clki_div,
                clkfb_div,
                clkop_div,
                out_mhz: out,
                vco_mhz: out * f64::from(clkop_div),
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ice40_pll_hand_checked() {
        // 12 MHz → 48 MHz: DIVR 0, DIVF 63 (VCO 768), DIVQ 4: 768 / 16 = 48 (icepll's answer).
        let p = Family::Ice40.pll(12.0, 48.0).unwrap();
        assert_eq!(p.out_mhz(), 48.0);
        let Pll::Ice40 { vco_mhz, divq, .. } = p else {
            panic!()
        };
        assert_eq!(vco_mhz / f64::from(1 << divq), 48.0);
        assert!((533.0..=1066.0).contains(&vco_mhz));
        // Never above the target.
        let p = Family::Ice40.pll(12.0, 50.0).unwrap();
        assert!(p.out_mhz() <= 50.0 && p.out_mhz() > 49.0, "{p:?}");
        assert!(Family::Ice40.pll(12.0, 10.0).is_none(), "below 16 MHz out");
    }

    #[test]
    fn ecp5_pll_hand_checked() {
        // 25 MHz → 100 MHz: 25 / 1 · 4, VCO in range.
        let p = Family::Ecp5.pll(25.0, 100.0).unwrap();
        assert_eq!(p.out_mhz(), 100.0);
        let Pll::Ecp5 {
            clki_div,
            clkfb_div,
            clkop_div,
            vco_mhz,
            ..
        } = p
        else {
            panic!()
        };
        assert_eq!(25.0 / f64::from(clki_div) * f64::from(clkfb_div), 100.0);
        assert_eq!(vco_mhz, 100.0 * f64::from(clkop_div));
        assert!((400.0..=800.0).contains(&vco_mhz));
    }

    #[test]
    fn ram_blocks() {
        // A 64-deep × 256-bit ROM: 16 iCE40 blocks of 256×16; 8 ECP5 blocks of 512×36.
        assert_eq!(Family::Ice40.ram_blocks_for(64, 256), 16);
        assert_eq!(Family::Ecp5.ram_blocks_for(64, 256), 8);
        assert_eq!(Family::Ice40.ram_blocks_for(2048, 2), 1);
        assert_eq!(Family::Ice40.ram_blocks_for(0, 8), 0);
    }
}
