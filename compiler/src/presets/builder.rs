//! The random model builder: layer by layer, with sample frames carried through so thresholds
//! sit where the values really are.

use crate::bits::BitVec;
use crate::format::{
    BatchNormDef, BinarizeDef, ConvDef, DenseDef, FlattenDef, InputDef, InputType, MaxPoolDef,
    ModelFile, NodeDef, OpDef, OutputDef, PadMode, PaddingDef, StepDef, TensorDef, ThresholdDef,
    WeightValues, WeightsDef,
};
use rand::{Rng, SeedableRng};

mod stream;
use rand_chacha::ChaCha8Rng;
pub use stream::Branch;

/// How a builder stores a layer's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// One bit per weight.
    Dense,
    /// A codebook of `entries` random kernels (≤ 2^τ) and a random τ-bit index per kernel
    /// (conv2d only).
    Codebook {
        /// Index width.
        tau: u32,
        /// Codebook entries.
        entries: usize,
    },
    /// A random tile repeated `p` times (p must divide the weight count).
    Tiled {
        /// Repeats.
        p: usize,
        /// Give random per-chunk scales α (then a `binarize` must follow). Chunks that one
        /// filter spans share their α, as the format requires.
        alpha: bool,
    },
}

/// Frames the builder carries through the layers to place thresholds at real quantiles.
const SAMPLE_FRAMES: usize = 8;

/// Builds random chains layer by layer; presets and randomized tests use it.
///
/// It carries [`SAMPLE_FRAMES`] random input frames through every layer it adds (plain integer
/// loops), so thresholds and epilogues can be placed at quantiles of the values they will really
/// see: analytic estimates drift after a few layers and leave whole layers constant.
pub struct Builder {
    rng: ChaCha8Rng,
    /// How the next matrix layer stores its weights (reset to dense after it).
    storage: Storage,
    /// α per channel of the tiled layer just added, for the `binarize` that must follow (a
    /// split filter's first α).
    pending_scale: Option<Vec<f64>>,
    /// Draw every chunk's α independently, so filters spanning chunks get different scales
    /// (split partial sums); else chunks that one filter spans share their α.
    independent_chunk_scales: bool,
    nodes: Vec<NodeDef>,
    last: String,
    dims: Vec<usize>,
    binary: bool,
    /// Current activation per sample frame, logical order; binary values as ±1.
    samples: Vec<Vec<i64>>,
}

impl Builder {
    /// An empty model whose random choices come from `seed`.
    pub fn new(seed: u64) -> Self {
        Builder {
            rng: ChaCha8Rng::seed_from_u64(seed),
            storage: Storage::Dense,
            pending_scale: None,
            independent_chunk_scales: false,
            nodes: Vec::new(),
            last: String::new(),
            dims: Vec::new(),
            binary: true,
            samples: Vec::new(),
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

    /// Channel of logical element `i` of the current activation.
    fn channel_of(&self, i: usize) -> usize {
        match self.dims.as_slice() {
            [_] => i,
            [_, h, w] => i / (h * w),
            _ => unreachable!("dims are [n] or [c, h, w]"),
        }
    }

    /// Applies `f(channel, value)` to every sample value of the current activation.
    fn map_samples(&mut self, f: impl Fn(usize, i64) -> i64) {
        let samples = std::mem::take(&mut self.samples);
        self.samples = samples
            .into_iter()
            .map(|frame| {
                frame
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| f(self.channel_of(i), v))
                    .collect()
            })
            .collect();
    }

    /// Sorted sample values of every channel.
    fn channel_samples(&self) -> Vec<Vec<i64>> {
        let mut out = vec![Vec::new(); self.channels()];
        for frame in &self.samples {
            for (i, &v) in frame.iter().enumerate() {
                out[self.channel_of(i)].push(v);
            }
        }
        for v in &mut out {
            v.sort_unstable();
        }
        out
    }

    /// The graph input: `dims` is `[n]` or `[c, h, w]`.
    pub fn input(&mut self, dims: &[usize], dtype: InputType) {
        self.dims = dims.to_vec();
        self.binary = dtype == InputType::Bits;
        let n: usize = dims.iter().product();
        let (lo, hi) = match dtype {
            InputType::Bits => (0, 1),
            InputType::Uint8 => (0, 255),
            InputType::Int8 => (-128, 127),
        };
        let binary = self.binary;
        self.samples = (0..SAMPLE_FRAMES)
            .map(|_| {
                (0..n)
                    .map(|_| {
                        let v = self.rng.gen_range(lo..=hi);
                        if binary {
                            2 * v - 1
                        } else {
                            v
                        }
                    })
                    .collect()
            })
            .collect();
        self.push(
            "input",
            OpDef::Input(InputDef {
                shape: dims.to_vec(),
                dtype,
                from_float: None,
            }),
        );
    }

    fn expect_no_scale(&self) {
        assert!(
            self.pending_scale.is_none(),
            "preset bug: a tiled layer with α must be followed by binarize"
        );
    }

    /// Stores the next matrix layer's weights as `storage` (one layer only).
    pub fn storage(&mut self, storage: Storage) {
        self.storage = storage;
    }

    /// Draw the chunk scales α of later tiled layers independently, so that filters spanning
    /// chunks get different α (split partial sums).
    pub fn independent_chunk_scales(&mut self, on: bool) {
        self.independent_chunk_scales = on;
    }

    /// Whether later tiled layers draw their chunk scales independently.
    pub fn chunk_scales_independent(&self) -> bool {
        self.independent_chunk_scales
    }

    /// The storage the next matrix layer will use.
    pub fn pending_storage(&self) -> Storage {
        self.storage
    }

    /// Random weights of `shape` in the pending storage, and their integer values.
    fn weights(&mut self, shape: Vec<usize>, values: WeightValues) -> (WeightsDef, Vec<i64>) {
        self.expect_no_scale();
        let n: usize = shape.iter().product();
        let storage = std::mem::replace(&mut self.storage, Storage::Dense);
        if values == WeightValues::Int {
            return self.int_weights(shape);
        }
        let (def, bools) = match storage {
            Storage::Dense => {
                let bools: Vec<bool> = (0..n).map(|_| self.rng.gen()).collect();
                let bits = TensorDef::from_bits(shape, &BitVec::from_bools(&bools));
                (WeightsDef::Dense { values, bits }, bools)
            }
            Storage::Codebook { tau, entries } => {
                let [o, c, kh, kw] = shape[..] else {
                    panic!("preset bug: codebook storage on a dense layer")
                };
                assert!(
                    entries >= 1 && entries <= 1 << tau,
                    "preset bug: codebook size"
                );
                let book: Vec<bool> = (0..entries * kh * kw).map(|_| self.rng.gen()).collect();
                let idx: Vec<i64> = (0..o * c)
                    .map(|_| self.rng.gen_range(0..entries as i64))
                    .collect();
                let bools = idx
                    .iter()
                    .flat_map(|&e| book[e as usize * kh * kw..][..kh * kw].to_vec())
                    .collect();
                let def = WeightsDef::Codebook {
                    values,
                    tau,
                    codebook: TensorDef::from_bits(
                        vec![entries, kh, kw],
                        &BitVec::from_bools(&book),
                    ),
                    // Packed: τ bits per index, LSB first (the format's bits form).
                    indices: TensorDef::from_bits(
                        vec![o, c, tau as usize],
                        &BitVec::from_bools(
                            &idx.iter()
                                .flat_map(|&e| (0..tau).map(move |j| e >> j & 1 == 1))
                                .collect::<Vec<_>>(),
                        ),
                    ),
                };
                (def, bools)
            }
            Storage::Tiled { p, alpha } => {
                assert!(
                    p >= 1 && n.is_multiple_of(p),
                    "preset bug: p must divide {n}"
                );
                let l = n / p;
                let tile: Vec<bool> = (0..l).map(|_| self.rng.gen()).collect();
                let alpha = alpha.then(|| self.chunk_scales(&shape, p, l));
                let bools = (0..n).map(|f| tile[f % l]).collect();
                let def = WeightsDef::Tiled {
                    values,
                    shape,
                    p,
                    tile: TensorDef::from_bits(vec![l], &BitVec::from_bools(&tile)),
                    alpha: alpha.as_ref().map(|a| TensorDef::from_f64(vec![p], a)),
                };
                (def, bools)
            }
        };
        let ints = bools
            .iter()
            .map(|&b| match values {
                WeightValues::Pm1 => 2 * b as i64 - 1,
                WeightValues::ZeroOne => b as i64,
                WeightValues::Int => unreachable!("integer weights returned above"),
            })
            .collect();
        (def, ints)
    }

    /// Random α per chunk of `l` weights, equal across the chunks any one filter spans unless
    /// [`Builder::independent_chunk_scales`]; also records each output channel's (first) α for
    /// the next `binarize`.
    fn chunk_scales(&mut self, shape: &[usize], p: usize, l: usize) -> Vec<f64> {
        let mut alpha: Vec<f64> = (0..p).map(|_| self.rng.gen_range(0.25..2.0)).collect();
        let taps: usize = shape[1..].iter().product();
        let chunks = |o: usize| (o * taps / l, (o * taps + taps - 1) / l);
        if !self.independent_chunk_scales {
            for o in 0..shape[0] {
                let (first, last) = chunks(o);
                for i in first + 1..=last {
                    alpha[i] = alpha[first];
                }
            }
        }
        self.pending_scale = Some((0..shape[0]).map(|o| alpha[chunks(o).0]).collect());
        alpha
    }

    /// A dense layer of `out` outputs with random weights.
    pub fn dense(&mut self, name: &str, out: usize, values: WeightValues) {
        let n: usize = self.dims.iter().product();
        let (weights, w) = self.weights(vec![out, n], values);
        for frame in &mut self.samples {
            *frame = (0..out)
                .map(|o| (0..n).map(|i| w[o * n + i] * frame[i]).sum())
                .collect();
        }
        self.dims = vec![out];
        self.binary = false;
        self.push(name, OpDef::Dense(DenseDef { weights }));
    }

    /// A k×k convolution with the same padding on every side.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        &mut self,
        name: &str,
        out: usize,
        k: usize,
        stride: usize,
        pad: usize,
        mode: PadMode,
        values: WeightValues,
    ) {
        self.conv_padded(name, out, [k, k], stride, [pad; 4], mode, values);
    }

    /// A kh×kw convolution with padding `[top, left, bottom, right]`.
    #[allow(clippy::too_many_arguments)]
    pub fn conv_padded(
        &mut self,
        name: &str,
        out: usize,
        [kh, kw]: [usize; 2],
        stride: usize,
        pads: [usize; 4],
        mode: PadMode,
        values: WeightValues,
    ) {
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        let (weights, wv) = self.weights(vec![out, c, kh, kw], values);
        let [top, left, bottom, right] = pads;
        let oh = (h + top + bottom - kh) / stride + 1;
        let ow = (w + left + right - kw) / stride + 1;
        let pad_value = if mode == PadMode::MinusOne { -1 } else { 0 };
        for frame in &mut self.samples {
            let mut next = vec![0i64; out * oh * ow];
            for o in 0..out {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut s = 0;
                        for ci in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * stride + ky).checked_sub(top).filter(|&y| y < h);
                                    let ix =
                                        (ox * stride + kx).checked_sub(left).filter(|&x| x < w);
                                    let x = match (iy, ix) {
                                        (Some(y), Some(x)) => frame[(ci * h + y) * w + x],
                                        _ => pad_value,
                                    };
                                    s += wv[((o * c + ci) * kh + ky) * kw + kx] * x;
                                }
                            }
                        }
                        next[(o * oh + oy) * ow + ox] = s;
                    }
                }
            }
            *frame = next;
        }
        self.dims = vec![out, oh, ow];
        self.binary = false;
        let padded = pads.iter().any(|&p| p > 0);
        self.push(
            name,
            OpDef::Conv2d(ConvDef {
                weights,
                stride,
                padding: padded.then(|| PaddingDef::Sides(pads.to_vec())),
                pad_mode: padded.then_some(mode),
            }),
        );
    }

    /// The current activation's dimensions (`[n]` or `[c, h, w]`).
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// True when the current activation is binary.
    pub fn is_binary(&self) -> bool {
        self.binary
    }

    /// The random generator, for callers choosing architectures.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    /// The model built so far.
    pub fn finish(self, name: &str) -> ModelFile {
        ModelFile {
            name: name.to_string(),
            metadata: Default::default(),
            nodes: self.nodes,
        }
    }

    /// `levels` thresholds per channel at sampled quantiles (jittered); `mixed` makes a quarter
    /// of the channels compare with ≤ instead of ≥.
    pub fn threshold(&mut self, name: &str, levels: usize, mixed: bool) {
        self.expect_no_scale();
        assert!(
            !self.binary,
            "preset bug: threshold after a binary activation"
        );
        let per_channel = self.channel_samples();
        let c = per_channel.len();
        let mut t = Vec::with_capacity(c * levels);
        let mut dir = Vec::with_capacity(c);
        for sorted in &per_channel {
            for k in 0..levels {
                let q = (k as f64 + 0.5) / levels as f64
                    + self.rng.gen_range(-0.15..0.15) / levels as f64;
                let idx =
                    ((q.clamp(0.0, 1.0) * sorted.len() as f64) as usize).min(sorted.len() - 1);
                t.push(sorted[idx]);
            }
            dir.push(if mixed && self.rng.gen_ratio(1, 4) {
                -1
            } else {
                1
            });
        }
        self.map_samples(|ch, s| {
            let row = &t[ch * levels..(ch + 1) * levels];
            let count = row
                .iter()
                .filter(|&&th| if dir[ch] == 1 { s >= th } else { s <= th })
                .count() as i64;
            if levels == 1 {
                2 * count - 1
            } else {
                count
            }
        });
        self.binary = levels == 1;
        let shape = if levels == 1 {
            vec![c]
        } else {
            vec![c, levels]
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
    /// BatchNorm (some γ negative), PReLU and an activation shift, centred on a sampled
    /// quantile of each channel.
    pub fn binarize(&mut self, name: &str) {
        assert!(
            !self.binary,
            "preset bug: binarize after a binary activation"
        );
        // A tiled layer's α scales S before the epilogue: place the epilogue in y = α·S.
        let pre = self.pending_scale.take();
        let k = |ch: usize| pre.as_ref().map_or(1.0, |p| p[ch]);
        let per_channel = self.channel_samples();
        let c = per_channel.len();
        let mut alpha = Vec::with_capacity(c);
        let (mut gamma, mut beta, mut bn_mean, mut var) = (vec![], vec![], vec![], vec![]);
        let bias: Vec<f64> = (0..c).map(|_| self.rng.gen_range(-0.5..0.5)).collect();
        for (ch, sorted) in per_channel.iter().enumerate() {
            let r: f64 = self.rng.gen();
            let a = match r {
                r if r < 0.05 => 0.0,
                r if r < 0.1 => 1e-300,
                r if r < 0.3 => -self.rng.gen_range(0.01..2.0),
                _ => self.rng.gen_range(0.01..2.0),
            };
            alpha.push(a);
            let q: f64 = self.rng.gen_range(0.25..0.75);
            let centre =
                sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)] as f64 * k(ch);
            let spread =
                (sorted[sorted.len() * 3 / 4] - sorted[sorted.len() / 4]).max(1) as f64 * k(ch);
            let g: f64 = self.rng.gen_range(0.1..2.0);
            gamma.push(if self.rng.gen_ratio(1, 5) { -g } else { g });
            bn_mean.push(centre * a + bias[ch] + self.rng.gen_range(-0.3..0.3) * a.abs());
            var.push((spread * a.abs()).powi(2) + self.rng.gen_range(0.0..0.1));
            beta.push(self.rng.gen_range(-0.2..0.2));
        }
        let slope: Vec<f64> = (0..c).map(|_| self.rng.gen_range(0.0..0.3)).collect();
        let shift: Vec<f64> = (0..c).map(|_| self.rng.gen_range(-0.05..0.05)).collect();
        let eps = 1e-5;
        self.map_samples(|ch, s| {
            let mut y = s as f64 * k(ch) * alpha[ch] + bias[ch];
            y = (y - bn_mean[ch]) / (var[ch] + eps).sqrt() * gamma[ch] + beta[ch];
            if y < 0.0 {
                y *= slope[ch];
            }
            y += shift[ch];
            if y >= 0.0 {
                1
            } else {
                -1
            }
        });
        self.binary = true;
        let f = |v: &[f64]| TensorDef::from_f64(vec![c], v);
        let steps = vec![
            StepDef::Mul(f(&alpha)),
            StepDef::Add(f(&bias)),
            StepDef::Batchnorm(BatchNormDef {
                gamma: f(&gamma),
                beta: f(&beta),
                mean: f(&bn_mean),
                var: f(&var),
                eps,
            }),
            StepDef::Prelu(f(&slope)),
            StepDef::Add(f(&shift)),
        ];
        self.push(
            name,
            OpDef::Binarize(BinarizeDef {
                steps,
                arithmetic: Default::default(),
            }),
        );
    }

    /// A `k`×`k` max-pool with stride `k`.
    pub fn maxpool(&mut self, name: &str, k: usize) {
        self.expect_no_scale();
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        let (oh, ow) = ((h - k) / k + 1, (w - k) / k + 1);
        for frame in &mut self.samples {
            let mut next = vec![i64::MIN; c * oh * ow];
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ky in 0..k {
                            for kx in 0..k {
                                let v = frame[(ch * h + oy * k + ky) * w + ox * k + kx];
                                let o = &mut next[(ch * oh + oy) * ow + ox];
                                *o = (*o).max(v);
                            }
                        }
                    }
                }
            }
            *frame = next;
        }
        self.dims = vec![c, oh, ow];
        self.push(
            name,
            OpDef::MaxPool(MaxPoolDef {
                kernel: k,
                stride: None,
            }),
        );
    }

    /// Flatten.
    pub fn flatten(&mut self, name: &str) {
        self.expect_no_scale();
        self.dims = vec![self.dims.iter().product()];
        self.push(name, OpDef::Flatten(FlattenDef {}));
    }

    /// The output node, with a random integer affine when `affine`.
    pub fn output(&mut self, affine: bool) {
        self.expect_no_scale();
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
        self.push(
            "scores",
            OpDef::Output(OutputDef {
                scale,
                offset,
                to_float: None,
            }),
        );
    }

    /// Dense layers of `widths` outputs with thresholds between them, then the output.
    pub(super) fn mlp(&mut self, widths: &[usize]) {
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
