//! Random but valid models of fixed architectures, for tests, benchmarks and demos.
//!
//! Weights are uniform random bits. Thresholds and float epilogues are placed near the middle of
//! each channel's expected accumulator distribution under uniform random inputs, so that
//! activations vary (a model whose thresholds sit outside the range would be constant and test
//! nothing). Generation is deterministic for a given preset and seed (ChaCha8).

mod archs;
mod builder;
mod knobs;
mod residual;

use crate::format::ModelFile;
use archs::*;
pub use builder::{Branch, Builder, Storage};
pub use knobs::{Knob, Knobs};
use residual::{resnet20, resnet20_siman, resnet_mini, tiny_residual};

/// A preset: its name, a one-line description, and its generator.
pub struct Preset {
    /// Name used on the command line.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    build: fn(&mut Builder, &Knobs),
    /// Which of the [`Knobs`] this preset reads.
    pub knobs: &'static [Knob],
}

/// Every preset, in the order `--help` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "tiny",
        description: "binary 16-input MLP 16-12-8-4, for fast tests",
        build: tiny,
        knobs: &[],
    },
    Preset {
        name: "all-ops",
        description: "small int8 CNN using every op and option (both pad modes, stride 2, \
                      {0,+1} weights, float epilogues, multi-level thresholds, affine output)",
        build: all_ops,
        knobs: &[],
    },
    Preset {
        name: "tfc",
        description: "FINN TFC-w1a1 shape: binary 784-64-64-64-10",
        build: tfc,
        knobs: &[],
    },
    Preset {
        name: "tfc-u8",
        description: "TFC with an 8-bit (uint8) input layer",
        build: tfc_u8,
        knobs: &[],
    },
    Preset {
        name: "cnv-small",
        description: "uint8 1x28x28 input, three 3x3 convs with max-pool, dense 64-10",
        build: cnv_small,
        knobs: &[],
    },
    Preset {
        name: "cnv",
        description: "FINN CNV-w1a1 shape: uint8 3x32x32, unpadded 3x3 convs \
                      64-64-pool-128-128-pool-256-256, fc 512-512-10",
        build: cnv,
        knobs: &[],
    },
    Preset {
        name: "tfc-tiled",
        description: "TFC with every layer a tile repeated p times (--repeats, default 4), \
                      per-chunk scales α folded by binarize epilogues",
        build: tfc_tiled,
        knobs: &[Knob::Repeats],
    },
    Preset {
        name: "cnv-small-codebook",
        description: "cnv-small with conv2 and conv3 as 2^τ-kernel codebooks (--tau, default 4)",
        build: cnv_small_codebook,
        knobs: &[Knob::Tau],
    },
    Preset {
        name: "cnv-small-tiled",
        description: "cnv-small with conv2, conv3 and both dense layers tiled (--repeats, \
                      default 4), α folded by binarize epilogues",
        build: cnv_small_tiled,
        knobs: &[Knob::Repeats],
    },
    Preset {
        name: "cnv-codebook",
        description: "CNV with conv2-conv6 as 2^τ-kernel codebooks (--tau, default 4) and fc1, \
                      fc2 tiled 4 times: ≤ 0.57 bit/weight",
        build: cnv_codebook,
        knobs: &[Knob::Tau],
    },
    Preset {
        name: "cnv-tiled",
        description: "CNV with conv2-conv6 and every dense layer tiled (--repeats, default 4), \
                      α folded by binarize epilogues",
        build: cnv_tiled,
        knobs: &[Knob::Repeats],
    },
    Preset {
        name: "tiny-residual",
        description: "residual binary MLP for fast tests: 16 bits in, a 6-bit stream, one \
                      block (sign, dense, affine, saturating join, PReLU), 4 classes",
        build: tiny_residual,
        knobs: &[],
    },
    Preset {
        name: "resnet-mini",
        description: "residual binary network for 1x28x28 uint8 input that fits an iCE40 UP5K: \
                      binary stem with stride 2, one Bi-Real block on a 6-bit stream (RSign, \
                      RPReLU), sign, max-pool, binary classifier",
        build: resnet_mini,
        knobs: &[],
    },
    Preset {
        name: "resnet20",
        description: "Bi-Real / ReActNet-style binary ResNet-20 for 3x32x32 uint8 input: \
                      int8 stem, 9 blocks of binary 3x3 convs (16-32-64), 8-bit stream, \
                      int8 head",
        build: resnet20,
        knobs: &[],
    },
    Preset {
        name: "resnet20-siman",
        description: "SiMaN's CIFAR ResNet-20 for 3x32x32 uint8 input: int8 stem, 9 blocks of \
                      {0,+1} 3x3 convs (16-32-64) on the sign against each frame's mean, option-A \
                      shortcuts (subsample, zero channels), 8-bit stream, int8 head",
        build: resnet20_siman,
        knobs: &[],
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// Generates the model for `seed` with the default knobs.
    pub fn generate(&self, seed: u64) -> ModelFile {
        self.generate_with(seed, &Knobs::default())
    }

    /// Generates the model for `seed` with `knobs` (those it does not read are ignored).
    pub fn generate_with(&self, seed: u64, knobs: &Knobs) -> ModelFile {
        let mut b = Builder::new(seed);
        (self.build)(&mut b, knobs);
        let mut model = b.finish(self.name);
        let mut metadata = std::collections::BTreeMap::new();
        let mut command = format!("xnorc random-model --arch {} --seed {seed}", self.name);
        for knob in self.knobs {
            match knob {
                Knob::Tau => command += &format!(" --tau {}", knobs.tau),
                Knob::Repeats => command += &format!(" --repeats {}", knobs.repeats),
            }
        }
        metadata.insert("provenance".to_string(), command.into());
        metadata.insert("dataset".to_string(), "none (random weights)".into());
        model.metadata = metadata;
        model
    }
}
