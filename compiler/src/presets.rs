//! Random but valid models of fixed architectures, for tests, benchmarks and demos.
//!
//! Weights are uniform random bits. Thresholds and float epilogues are placed near the middle of
//! each channel's expected accumulator distribution under uniform random inputs, so that
//! activations vary (a model whose thresholds sit outside the range would be constant and test
//! nothing). Generation is deterministic for a given preset and seed (ChaCha8).

use crate::bits::BitVec;
use crate::format::{
    BatchNormDef, BinarizeDef, ConvDef, DenseDef, FlattenDef, InputDef, InputType, MaxPoolDef,
    ModelFile, NodeDef, OpDef, OutputDef, PadMode, PaddingDef, StepDef, TensorDef, ThresholdDef,
    WeightValues, WeightsDef,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A preset: its name, a one-line description, and its generator.
pub struct Preset {
    /// Name used on the command line.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    build: fn(&mut Builder),
}

/// Every preset, in the order `--help` lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "tiny",
        description: "binary 16-input MLP 16-12-8-4, for fast tests",
        build: tiny,
    },
    Preset {
        name: "all-ops",
        description: "small int8 CNN using every op and option (both pad modes, stride 2, \
                      {0,+1} weights, float epilogues, multi-level thresholds, affine output)",
        build: all_ops,
    },
    Preset {
        name: "tfc",
        description: "FINN TFC-w1a1 shape: binary 784-64-64-64-10",
        build: tfc,
    },
    Preset {
        name: "tfc-u8",
        description: "TFC with an 8-bit (uint8) input layer",
        build: tfc_u8,
    },
    Preset {
        name: "cnv-small",
        description: "uint8 1x28x28 input, three 3x3 convs with max-pool, dense 64-10",
        build: cnv_small,
    },
    Preset {
        name: "cnv",
        description: "FINN CNV-w1a1 shape: uint8 3x32x32, unpadded 3x3 convs \
                      64-64-pool-128-128-pool-256-256, fc 512-512-10",
        build: cnv,
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name)
}

impl Preset {
    /// Generates the model for `seed`.
    pub fn generate(&self, seed: u64) -> ModelFile {
        let mut b = Builder::new(seed);
        (self.build)(&mut b);
        let mut metadata = std::collections::BTreeMap::new();
        metadata.insert(
            "provenance".to_string(),
            format!("xnorc random-model --arch {} --seed {seed}", self.name).into(),
        );
        metadata.insert("dataset".to_string(), "none (random weights)".into());
        ModelFile {
            name: self.name.to_string(),
            metadata,
            nodes: b.nodes,
        }
    }
}

/// Statistics of the current activation under random inputs, per channel.
#[derive(Clone)]
enum Act {
    Bits,
    Int { mean: Vec<f64>, std: Vec<f64> },
}

struct Builder {
    rng: ChaCha8Rng,
    nodes: Vec<NodeDef>,
    last: String,
    dims: Vec<usize>,
    act: Act,
    /// Value range of the current activation when it is integer.
    int_range: (i64, i64),
}

impl Builder {
    fn new(seed: u64) -> Self {
        Builder {
            rng: ChaCha8Rng::seed_from_u64(seed),
            nodes: Vec::new(),
            last: String::new(),
            dims: Vec::new(),
            act: Act::Bits,
            int_range: (0, 0),
        }
    }

    fn push(&mut self, name: &str, op: OpDef) {
        let inputs = if self.last.is_empty() {
            vec![]
        } else {
            vec![self.last.clone()]
        };
        self.nodes.push(NodeDef {
            name: name.to_string(),
            inputs,
            op,
        });
        self.last = name.to_string();
    }

    fn channels(&self) -> usize {
        self.dims[0]
    }

    fn input(&mut self, dims: &[usize], dtype: InputType) {
        self.dims = dims.to_vec();
        let c = dims[0].max(1);
        let channels = if dims.len() == 1 { dims[0] } else { c };
        self.act = match dtype {
            InputType::Bits => Act::Bits,
            InputType::Uint8 => {
                self.int_range = (0, 255);
                Act::Int {
                    mean: vec![127.5; channels],
                    std: vec![73.9; channels],
                }
            }
            InputType::Int8 => {
                self.int_range = (-128, 127);
                Act::Int {
                    mean: vec![-0.5; channels],
                    std: vec![73.9; channels],
                }
            }
        };
        self.push(
            "input",
            OpDef::Input(InputDef {
                shape: dims.to_vec(),
                dtype,
            }),
        );
    }

    fn random_bits(&mut self, n: usize) -> BitVec {
        let bools: Vec<bool> = (0..n).map(|_| self.rng.gen()).collect();
        BitVec::from_bools(&bools)
    }

    /// Mean and spread of the accumulator per output channel under random inputs.
    fn accumulator_stats(&self, bits: &BitVec, values: WeightValues, out: usize) -> Act {
        let taps = bits.len() / out;
        let in_c = self.channels();
        let per_c = taps / in_c;
        let mut mean = vec![0.0; out];
        let mut std = vec![0.0; out];
        for o in 0..out {
            let (mut m, mut v) = (0.0, 0.0);
            for t in 0..taps {
                let b = bits.get(o * taps + t) as i64;
                let w = match values {
                    WeightValues::Pm1 => (2 * b - 1) as f64,
                    WeightValues::ZeroOne => b as f64,
                };
                let (xm, xs) = match &self.act {
                    Act::Bits => (0.0, 1.0),
                    Act::Int { mean, std } => (mean[t / per_c], std[t / per_c]),
                };
                m += w * xm;
                v += w * w * xs * xs;
            }
            mean[o] = m;
            std[o] = v.sqrt().max(1.0);
        }
        Act::Int { mean, std }
    }

    fn weights(&mut self, shape: Vec<usize>, values: WeightValues) -> (WeightsDef, BitVec) {
        let n = shape.iter().product();
        let bits = self.random_bits(n);
        let def = WeightsDef::Dense {
            values,
            bits: TensorDef::from_bits(shape, &bits),
        };
        (def, bits)
    }

    fn dense(&mut self, name: &str, out: usize, values: WeightValues) {
        let n = self.dims.iter().product();
        let (weights, bits) = self.weights(vec![out, n], values);
        // A dense layer's "channels" are its inputs.
        self.dims = vec![n];
        self.act = self.accumulator_stats(&bits, values, out);
        self.dims = vec![out];
        self.push(name, OpDef::Dense(DenseDef { weights }));
    }

    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        name: &str,
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        mode: PadMode,
        values: WeightValues,
    ) {
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        let (weights, bits) = self.weights(vec![out, c, k, k], values);
        self.act = self.accumulator_stats(&bits, values, out);
        self.dims = vec![out, (h + 2 * pad - k) / stride + 1, (w + 2 * pad - k) / stride + 1];
        self.push(
            name,
            OpDef::Conv2d(ConvDef {
                weights,
                stride,
                padding: (pad > 0).then_some(PaddingDef::Same(pad)),
                pad_mode: (pad > 0).then_some(mode),
            }),
        );
    }

    fn stats(&self) -> (Vec<f64>, Vec<f64>) {
        match &self.act {
            Act::Int { mean, std } => (mean.clone(), std.clone()),
            Act::Bits => panic!("preset bug: threshold after a binary activation"),
        }
    }

    /// Thresholds spread over ±1 standard deviation; `mixed` makes a quarter of the channels
    /// compare with ≤.
    fn threshold(&mut self, name: &str, levels: usize, mixed: bool) {
        let (mean, std) = self.stats();
        let c = mean.len();
        let mut t = Vec::with_capacity(c * levels);
        let mut dir = Vec::with_capacity(c);
        for ch in 0..c {
            for k in 0..levels {
                let spread = (k as f64 + 0.5) / levels as f64 * 2.0 - 1.0;
                let jitter: f64 = self.rng.gen_range(-0.3..0.3);
                t.push((mean[ch] + (spread + jitter) * std[ch]).round() as i64);
            }
            dir.push(if mixed && self.rng.gen_ratio(1, 4) { -1 } else { 1 });
        }
        let shape = if levels == 1 { vec![c] } else { vec![c, levels] };
        self.act = if levels == 1 {
            Act::Bits
        } else {
            self.int_range = (0, levels as i64);
            let m = levels as f64 / 2.0;
            Act::Int {
                mean: vec![m; c],
                std: vec![m.max(0.5); c],
            }
        };
        self.push(
            name,
            OpDef::Threshold(ThresholdDef {
                thresholds: TensorDef::from_i64(shape, &t),
                direction: mixed.then(|| TensorDef::from_i64(vec![c], &dir)),
            }),
        );
    }

    /// A float epilogue exercising every step: scale α (some negative, tiny or zero), bias,
    /// BatchNorm (some γ negative), PReLU and an activation shift.
    fn binarize(&mut self, name: &str) {
        let (mean, std) = self.stats();
        let c = mean.len();
        let mut alpha = Vec::with_capacity(c);
        for _ in 0..c {
            let r: f64 = self.rng.gen();
            alpha.push(match r {
                r if r < 0.05 => 0.0,
                r if r < 0.1 => 1e-300,
                r if r < 0.3 => -self.rng.gen_range(0.01..2.0),
                _ => self.rng.gen_range(0.01..2.0),
            });
        }
        let bias: Vec<f64> = (0..c).map(|_| self.rng.gen_range(-0.5..0.5)).collect();
        let mut gamma = Vec::with_capacity(c);
        let mut bn_mean = Vec::with_capacity(c);
        let mut var = Vec::with_capacity(c);
        let mut beta = Vec::with_capacity(c);
        for ch in 0..c {
            let g: f64 = self.rng.gen_range(0.1..2.0);
            gamma.push(if self.rng.gen_ratio(1, 5) { -g } else { g });
            let centre = mean[ch] + self.rng.gen_range(-0.5..0.5) * std[ch];
            bn_mean.push(centre * alpha[ch] + bias[ch]);
            var.push((std[ch] * alpha[ch].abs()).powi(2) + self.rng.gen_range(0.0..0.1));
            beta.push(self.rng.gen_range(-0.2..0.2));
        }
        let slope: Vec<f64> = (0..c).map(|_| self.rng.gen_range(0.0..0.3)).collect();
        let shift: Vec<f64> = (0..c).map(|_| self.rng.gen_range(-0.05..0.05)).collect();
        let f = |v: &[f64]| TensorDef::from_f64(vec![c], v);
        let steps = vec![
            StepDef::Mul(f(&alpha)),
            StepDef::Add(f(&bias)),
            StepDef::Batchnorm(BatchNormDef {
                gamma: f(&gamma),
                beta: f(&beta),
                mean: f(&bn_mean),
                var: f(&var),
                eps: 1e-5,
            }),
            StepDef::Prelu(f(&slope)),
            StepDef::Add(f(&shift)),
        ];
        self.act = Act::Bits;
        self.push(name, OpDef::Binarize(BinarizeDef { steps }));
    }

    fn maxpool(&mut self, name: &str, k: usize) {
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        self.dims = vec![c, (h - k) / k + 1, (w - k) / k + 1];
        self.push(
            name,
            OpDef::MaxPool(MaxPoolDef {
                kernel: k,
                stride: None,
            }),
        );
    }

    fn flatten(&mut self, name: &str) {
        let n = self.dims.iter().product::<usize>();
        if let Act::Int { mean, std } = &self.act {
            let per = n / self.dims[0];
            let expand = |v: &Vec<f64>| v.iter().flat_map(|&x| std::iter::repeat_n(x, per)).collect();
            self.act = Act::Int {
                mean: expand(mean),
                std: expand(std),
            };
        }
        self.dims = vec![n];
        self.push(name, OpDef::Flatten(FlattenDef {}));
    }

    fn output(&mut self, affine: bool) {
        let classes = self.channels();
        let (scale, offset) = if affine {
            let s: Vec<i64> = (0..classes).map(|_| self.rng.gen_range(-3..=3)).collect();
            let o: Vec<i64> = (0..classes).map(|_| self.rng.gen_range(-20..=20)).collect();
            (
                Some(TensorDef::from_i64(vec![classes], &s)),
                Some(TensorDef::from_i64(vec![classes], &o)),
            )
        } else {
            (None, None)
        };
        self.push("scores", OpDef::Output(OutputDef { scale, offset }));
    }

    fn mlp(&mut self, widths: &[usize]) {
        for (i, &w) in widths.iter().enumerate() {
            let name = format!("fc{}", i + 1);
            self.dense(&name, w, WeightValues::Pm1);
            if i + 1 < widths.len() {
                self.threshold(&format!("act{}", i + 1), 1, false);
            }
        }
        self.output(false);
    }
}

fn tiny(b: &mut Builder) {
    b.input(&[16], InputType::Bits);
    b.mlp(&[12, 8, 4]);
}

fn tfc(b: &mut Builder) {
    b.input(&[784], InputType::Bits);
    b.mlp(&[64, 64, 64, 10]);
}

fn tfc_u8(b: &mut Builder) {
    b.input(&[784], InputType::Uint8);
    b.mlp(&[64, 64, 64, 10]);
}

fn cnv_small(b: &mut Builder) {
    use PadMode::Zero;
    use WeightValues::Pm1;
    b.input(&[1, 28, 28], InputType::Uint8);
    b.conv("conv1", 16, 3, 1, 1, Zero, Pm1);
    b.threshold("act1", 1, false);
    b.conv("conv2", 16, 3, 1, 1, Zero, Pm1);
    b.threshold("act2", 1, false);
    b.maxpool("pool1", 2);
    b.conv("conv3", 32, 3, 1, 0, Zero, Pm1);
    b.threshold("act3", 1, false);
    b.maxpool("pool2", 2);
    b.flatten("flatten");
    b.dense("fc1", 64, Pm1);
    b.threshold("act4", 1, false);
    b.dense("fc2", 10, Pm1);
    b.output(false);
}

fn cnv(b: &mut Builder) {
    use PadMode::Zero;
    use WeightValues::Pm1;
    b.input(&[3, 32, 32], InputType::Uint8);
    let convs: [(usize, bool); 6] = [
        (64, false),
        (64, true),
        (128, false),
        (128, true),
        (256, false),
        (256, false),
    ];
    for (i, &(ch, pool)) in convs.iter().enumerate() {
        b.conv(&format!("conv{}", i + 1), ch, 3, 1, 0, Zero, Pm1);
        b.threshold(&format!("act_conv{}", i + 1), 1, false);
        if pool {
            b.maxpool(&format!("pool{}", i / 2 + 1), 2);
        }
    }
    b.flatten("flatten");
    b.dense("fc1", 512, Pm1);
    b.threshold("act_fc1", 1, false);
    b.dense("fc2", 512, Pm1);
    b.threshold("act_fc2", 1, false);
    b.dense("fc3", 10, Pm1);
    b.output(false);
}

fn all_ops(b: &mut Builder) {
    use PadMode::{MinusOne, Zero};
    use WeightValues::{Pm1, ZeroOne};
    b.input(&[2, 9, 9], InputType::Int8);
    b.conv("conv_int_zero_pad", 6, 3, 1, 1, Zero, Pm1);
    b.binarize("bn_sign1");
    b.conv("conv_s2_minus_one", 5, 3, 2, 1, MinusOne, ZeroOne);
    b.threshold("multi_threshold", 3, true);
    b.conv("conv_1x1_int", 4, 1, 1, 0, Zero, Pm1);
    b.threshold("act2", 1, true);
    b.maxpool("pool", 2);
    b.flatten("flatten");
    b.dense("fc_zero_one", 7, ZeroOne);
    b.binarize("bn_sign2");
    b.dense("fc_out", 3, Pm1);
    b.output(true);
}
