//! Folding: how much of each matrix layer runs in parallel (PE output channels × SIMD input
//! elements per cycle), from a file or chosen by a documented rule.
//!
//! File format (`--folding F.json`), every field optional:
//! ```json
//! { "tree_pipeline": 1,
//!   "layers": { "fc1": { "pe": 16, "simd": 49, "memory": "block", "thresholds": "lut",
//!                        "fanout": true },
//!               "conv1": { "pe": 8, "simd": 16, "compute": "share" } } }
//! ```
//! For a fanned-out tiled layer (see [`LayerFolding::fanout`]) PE counts distinct filters: it
//! divides O / fanout.
//! `compute` picks how a kernel-codebook convolution computes (see [`CodebookCompute`]); without
//! it, [`super::codebook::choose`] decides by its cost rule.
//! `tree_pipeline` is the number of adder-tree levels between pipeline registers (0: none);
//! `memory_output_register: true` adds a second operand/weight register behind the weight
//! memories (default false; `xnorc build` turns it on for ECP5); a layer's
//! `broadcast_register: true` a third (see [`LayerFolding::broadcast_register`]);
//! `reset_copies: true` gives every instance its own copy of the reset
//! (see [`FoldingFile::reset_copies`]).
//! Layers are named as in the model; a layer not listed gets the automatic choice.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use xnorc_compiler::error::{ModelError, Result};

/// Where a layer's weights and thresholds live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryStyle {
    /// Block RAM (iCE40 SB_RAM40_4K, ECP5 DP16KD): synchronous read.
    Block,
    /// LUTs / registers: for tiny memories.
    Lut,
}

/// Where a writable buffer lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BufferStyle {
    /// Block RAM (synchronous read).
    Block,
    /// LUT RAM (ECP5 TRELLIS_DPR16X4: 16 words × 4 bits per cell); iCE40 has none.
    Distributed,
    /// Flip-flops and a read multiplexer.
    Registers,
}

impl BufferStyle {
    /// The value of yosys's `ram_style` attribute.
    pub fn attribute(self) -> &'static str {
        match self {
            BufferStyle::Block => "block",
            BufferStyle::Distributed => "distributed",
            BufferStyle::Registers => "logic",
        }
    }
}

/// The registers a folding gets where it does not say: none, except what `xnorc build` picks
/// for its device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegisterDefaults {
    /// [`FoldingFile::memory_output_register`]'s default.
    pub memory_output_register: bool,
    /// [`FoldingFile::broadcast_register`]'s default.
    pub broadcast_register: bool,
    /// [`FoldingFile::reset_copies`]' default.
    pub reset_copies: bool,
}

impl RegisterDefaults {
    /// Sets the fields `folding` leaves unset.
    pub fn fill(self, folding: &mut FoldingFile) {
        folding
            .memory_output_register
            .get_or_insert(self.memory_output_register);
        folding
            .broadcast_register
            .get_or_insert(self.broadcast_register);
        folding.reset_copies.get_or_insert(self.reset_copies);
    }

    /// A folding with these registers and nothing else set.
    pub fn folding(self) -> FoldingFile {
        let mut f = FoldingFile::default();
        self.fill(&mut f);
        f
    }
}

/// One layer's folding as given in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerFolding {
    /// Output channels computed in parallel; must divide the output count.
    pub pe: Option<usize>,
    /// Input elements consumed per cycle; must divide the input count.
    pub simd: Option<usize>,
    /// Where the weights live; chosen by size when absent.
    pub memory: Option<MemoryStyle>,
    /// Where the thresholds live; chosen by size when absent.
    pub thresholds: Option<MemoryStyle>,
    /// Tiled layers followed by a threshold: compute the filters shared by the tile's
    /// repeats once and send the result to every copy (default true). False computes every
    /// output channel (the tile is still stored once).
    pub fanout: Option<bool>,
    /// Kernel-codebook convolutions: decode each index to kernel bits tap by tap, share the
    /// responses of the codebook's kernels, or decode whole kernels (PE and SIMD are then the
    /// sharing or whole-kernel unit's own, SIMD counting channels). Chosen by the cost rule of
    /// [`super::codebook::choose`] when absent.
    pub compute: Option<CodebookCompute>,
    /// A third operand/weight register (default false): the operand reaches the lanes through
    /// a tree of copies and the weight address through one more register (in a logic ROM a
    /// tree of copies too). One cycle more latency, for a wide unit on a large device, where
    /// one route across the die takes 10–13 ns. Needs `memory_output_register` and a layer
    /// that does not decode codebook indices.
    pub broadcast_register: Option<bool>,
}

/// How a kernel-codebook convolution computes (docs/hardware.md, "Sub-bit weights").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodebookCompute {
    /// Each lane turns its τ-bit index into the kernel bit of the current tap and runs the
    /// ordinary XNOR/AND lane: a window costs kh·kw·C/SIMD ops per pass.
    Decode,
    /// Pattern-response sharing: a responses stage computes, for every input channel of a
    /// window, the responses of all 2^τ codebook kernels once; the unit's lanes then add the
    /// response each index selects: a window costs C/SIMD ops per pass.
    Share,
    /// Whole kernels: the window generator brings each channel block's kh·kw taps in a row,
    /// a width converter joins them into one beat, and each index becomes its whole kernel
    /// through the constant codebook (one LUT4 per kernel bit for τ ≤ 4), feeding kh·kw
    /// ordinary lanes: a window costs C/SIMD ops per pass, SIMD counting channels. Not for a
    /// layer whose padded taps are masked.
    Kernels,
}

/// A folding file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FoldingFile {
    /// Adder-tree levels per pipeline register (0 = unpipelined). Default 1: a register at
    /// every level (≈75 MHz on UP5K vs ≈16 MHz unpipelined, measured).
    pub tree_pipeline: Option<u32>,
    /// A second operand/weight register behind the weight memories, so no lane starts at a
    /// block RAM output: worth it on ECP5 (a DP16KD takes 5.6 ns from clock to data without
    /// its output register), not on iCE40, where the extra flip-flops pushed an UP5K build to
    /// 85% of its logic cells. Default false.
    pub memory_output_register: Option<bool>,
    /// The `broadcast_register` of every layer that does not set its own and can take it (with
    /// `memory_output_register`, not decoding codebook indices). Default false; `xnorc build`
    /// turns it on for ECP5 devices above 50k LUT4s.
    pub broadcast_register: Option<bool>,
    /// A registered copy of the reset per instance of the core, and on a board per instance of
    /// the board top and per part of the link, placed beside what it resets: on a large ECP5,
    /// where nextpnr puts only the clock on a global network, one reset register's route
    /// across the die was the critical path. Not on iCE40: nextpnr-ice40 puts the reset on a
    /// global network, and more reset nets constrain which cells share a logic block (an
    /// UP5K build at 80% no longer placed). Default false: every instance takes the reset
    /// itself; `xnorc build` turns it on for ECP5. With the copies the core's stages leave
    /// reset one cycle after its `rst` falls (`xnorc_rtl::top::reset_release_cycles`).
    pub reset_copies: Option<bool>,
    /// Lanes (PE·SIMD summed over layers) the automatic rule may spend.
    pub lane_budget: Option<usize>,
    /// Per-layer settings, by node name.
    #[serde(default)]
    pub layers: BTreeMap<String, LayerFolding>,
}

impl FoldingFile {
    /// Reads a folding file; errors name the file and the field.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let shown = path.display().to_string();
        let text = std::fs::read(path)
            .map_err(|e| ModelError::new(format!("cannot read folding: {e}")).in_file(&shown))?;
        check_objects(&text).map_err(|e| e.in_file(&shown))?;
        let de = &mut serde_json::Deserializer::from_slice(&text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            ModelError::new(e.inner().to_string())
                .at_field(e.path().to_string())
                .in_file(&shown)
        })
    }
}

/// Refuses a folding whose top level or whose layers are not JSON objects before serde reads
/// it: serde also reads a struct from an array, field by field in order, so `[1, 2, 3]` would
/// be answered with "expected a boolean" for its second element.
fn check_objects(text: &[u8]) -> Result<()> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(text) else {
        return Ok(()); // Not JSON at all: serde's own error says where.
    };
    let found = |v: &serde_json::Value| match v {
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Object(_) => "an object",
    };
    let Some(top) = value.as_object() else {
        return Err(ModelError::new(format!(
            "a folding file is a JSON object such as {{\"layers\": {{\"fc1\": {{\"pe\": 4, \"simd\": 16}}}}}}, not {}",
            found(&value)
        )));
    };
    if let Some(layers) = top.get("layers").and_then(|l| l.as_object()) {
        for (name, layer) in layers {
            if !layer.is_object() {
                return Err(ModelError::new(format!(
                    "a layer's folding is an object such as {{\"pe\": 4, \"simd\": 16}}, not {}",
                    found(layer)
                ))
                .at_field(format!("layers.{name}")));
            }
        }
    }
    Ok(())
}

/// Default lane budget: ≈4,000 LUT4 at ≈4.5 LUT4 per lane with accumulator and threshold
/// (measured on UP5K), i.e. a design that leaves room on an iCE40 UP5K.
pub const DEFAULT_LANE_BUDGET: usize = 900;

/// LUT4 per lane with accumulator and threshold: the unit of a board-independent lane budget,
/// iCE40's measured cost (`xnorc_boards::costs::ICE40`, where the number and its measurement
/// are).
pub const LUTS_PER_LANE: f64 = xnorc_boards::costs::ICE40.luts_per_lane;

/// Lanes the automatic rule may spend for a budget of `luts` LUT4.
pub fn lanes_for_luts(luts: usize) -> usize {
    ((luts as f64 / LUTS_PER_LANE) as usize).max(1)
}

/// Largest memory (bits) kept in LUTs when no style is given.
pub const LUT_MEMORY_BITS: usize = 2048;

/// An MVU's input buffer (the operand kept for passes after the first) goes to block RAM above
/// this many bits, in logic below: on iCE40 "logic" means flip-flops and a read multiplexer, so
/// only tiny buffers stay out of block RAM.
pub const IBUF_LOGIC_BITS: usize = 256;

fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Widest SIMD the automatic rule picks while another choice exists: a stream (and its FIFO
/// registers) is SIMD elements wide.
pub const MAX_AUTO_SIMD: usize = 64;

/// What the automatic rule needs to know about a matrix layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerShape {
    /// Inputs per output (K; kh·kw·C for a convolution).
    pub k: usize,
    /// Outputs (O).
    pub o: usize,
    /// Vectors per frame (output pixels of a convolution, 1 for a dense layer).
    pub vectors: usize,
    /// SIMD must divide this: K for a dense layer, C for a convolution (a beat holds channels of
    /// one pixel).
    pub simd_unit: usize,
}

/// The automatic rule. With budget B lanes and total work W = Σ vectors·K·O (MACs per frame),
/// aim at an initiation interval T = ⌈W / B⌉ cycles; give every layer the fewest lanes
/// (PE·SIMD, PE | O, SIMD | K or C) whose vectors·NF·SF ≤ T, with SIMD ≤ [`MAX_AUTO_SIMD`] when
/// possible, preferring SIMD over PE on ties (fewer accumulators and comparators). A layer that
/// cannot reach T even fully parallel gets PE = O and the widest SIMD. Balanced stages waste no
/// lanes on layers that would wait for the bottleneck anyway.
pub fn auto_fold(layers: &[LayerShape], budget: usize) -> Vec<(usize, usize)> {
    let work: usize = layers.iter().map(|l| l.vectors * l.k * l.o).sum();
    let target = work.div_ceil(budget.max(1)).max(1);
    layers
        .iter()
        .map(|l| {
            let mut best: Option<(usize, usize)> = None;
            for &pe in &divisors(l.o) {
                for &simd in &divisors(l.simd_unit) {
                    if l.vectors * (l.o / pe) * (l.k / simd) > target {
                        continue;
                    }
                    let key = |p: usize, s: usize| (s > MAX_AUTO_SIMD, p * s, std::cmp::Reverse(s));
                    let better = match best {
                        None => true,
                        Some((bp, bs)) => key(pe, simd) < key(bp, bs),
                    };
                    if better {
                        best = Some((pe, simd));
                    }
                }
            }
            best.unwrap_or((l.o, l.simd_unit))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_fold_balances_to_the_target() {
        // TFC: 784-64-64-64-10, 59,008 MACs, budget 900 lanes → target ⌈59008/900⌉ = 66 cycles.
        let dense = |k, o| LayerShape {
            k,
            o,
            vectors: 1,
            simd_unit: k,
        };
        let layers = [dense(784, 64), dense(64, 64), dense(64, 64), dense(64, 10)];
        let f = auto_fold(&layers, 900);
        for (&LayerShape { k, o, .. }, &(pe, simd)) in layers.iter().zip(&f) {
            assert_eq!(o % pe, 0);
            assert_eq!(k % simd, 0);
            assert!((o / pe) * (k / simd) <= 66, "{k}x{o}: pe {pe} simd {simd}");
        }
        // fc1 needs ≥ 784·64/66 = 760.2 lanes; the cheapest divisor pair with NF·SF ≤ 66
        // found by hand: PE 16 (NF 4) × SIMD 49 (SF 16) = 784 lanes, 64 cycles.
        assert_eq!(f[0], (16, 49));
    }

    #[test]
    fn infeasible_target_goes_fully_parallel() {
        let l = LayerShape {
            k: 7,
            o: 3,
            vectors: 1,
            simd_unit: 7,
        };
        assert_eq!(auto_fold(&[l], 1_000_000), vec![(3, 7)]);
        // A conv's SIMD divides its channels: 3 channels × 3×3 taps, 100 pixels.
        let conv = LayerShape {
            k: 27,
            o: 8,
            vectors: 100,
            simd_unit: 3,
        };
        assert_eq!(auto_fold(&[conv], 1_000_000), vec![(8, 3)]);
    }
}
