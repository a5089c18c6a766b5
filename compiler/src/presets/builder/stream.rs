//! The builder's residual stream: integer weights, forks and joins, `affine`, `sumpool`,
//! SiMaN's `meansign` and the option-A `pad_channels`,
//! each placed from the sample frames so that values use their range without always clipping.

use super::Builder;
use crate::format::{
    AddDef, AffineDef, MeanSignDef, OpDef, PadChannelsDef, ShiftRounding, SumPoolDef, TensorDef,
    WeightValues, WeightsDef,
};
use rand::Rng;

/// A point of the chain to join later (the shortcut of a residual block).
#[derive(Debug, Clone)]
pub struct Branch {
    name: String,
    dims: Vec<usize>,
    binary: bool,
    samples: Vec<Vec<i64>>,
}

/// The floor of u / 2^shift, saturated to `bits` (the affine's and add's last steps).
fn requantize(u: i64, shift: u32, bits: Option<u32>) -> i64 {
    let y = u >> shift;
    match bits {
        Some(b) => y.clamp(-(1 << (b - 1)), (1 << (b - 1)) - 1),
        None => y,
    }
}

impl Builder {
    /// Random integer weights in [−127, 127] (mostly small, as trained int8 weights are).
    pub(super) fn int_weights(&mut self, shape: Vec<usize>) -> (WeightsDef, Vec<i64>) {
        let n: usize = shape.iter().product();
        let ints: Vec<i8> = (0..n)
            .map(|_| {
                let magnitude = if self.rng.gen_ratio(1, 8) { 127 } else { 15 };
                self.rng.gen_range(-magnitude..=magnitude)
            })
            .collect();
        let values = ints.iter().map(|&v| v as i64).collect();
        let ints = TensorDef::from_i8(shape, &ints);
        (WeightsDef::Int { ints }, values)
    }

    /// The current point of the chain, to join with [`Builder::add`] later.
    pub fn fork(&self) -> Branch {
        Branch {
            name: self.last.clone(),
            dims: self.dims.clone(),
            binary: self.binary,
            samples: self.samples.clone(),
        }
    }

    /// Continues the chain from `branch` (a block's second path starts where the first did).
    pub fn resume(&mut self, branch: &Branch) {
        self.last = branch.name.clone();
        self.dims = branch.dims.clone();
        self.binary = branch.binary;
        self.samples = branch.samples.clone();
    }

    /// The current activation plus `other` (same shape), shifted left by `shift` and
    /// saturated to `bits`.
    pub fn add(&mut self, name: &str, other: &Branch, shift: [u32; 2], bits: Option<u32>) {
        self.expect_no_scale();
        assert!(
            !self.binary && !other.binary && self.dims == other.dims,
            "preset bug: add needs two integer activations of one shape"
        );
        for (frame, b) in self.samples.iter_mut().zip(&other.samples) {
            for (a, &b) in frame.iter_mut().zip(b) {
                *a = requantize((*a << shift[0]) + (b << shift[1]), 0, bits);
            }
        }
        let inputs = vec![self.last.clone(), other.name.clone()];
        self.push(
            name,
            OpDef::Add(AddDef {
                shift: (shift != [0, 0]).then(|| shift.to_vec()),
                bits,
            }),
        );
        self.nodes.last_mut().expect("just pushed").inputs = inputs;
    }

    /// A random per-channel fixed-point affine mapping each channel's sampled spread onto about
    /// ±2^(bits−2) (so some values clip at `bits`), and, when `piecewise`, a PReLU slope in
    /// [0, 1/2] with an RPReLU shift.
    pub fn affine(&mut self, name: &str, piecewise: bool, bits: Option<u32>) {
        self.affine_rounded(name, piecewise, bits, ShiftRounding::Floor);
    }

    /// [`Builder::affine`] whose shift rounds as `rounding` says.
    pub fn affine_rounded(
        &mut self,
        name: &str,
        piecewise: bool,
        bits: Option<u32>,
        rounding: ShiftRounding,
    ) {
        self.expect_no_scale();
        assert!(!self.binary, "preset bug: affine after a binary activation");
        let per_channel = self.channel_samples();
        let c = per_channel.len();
        let target = 1i64 << (bits.unwrap_or(10) - 2);
        let spreads: Vec<i64> = per_channel
            .iter()
            .map(|s| (s[s.len() * 7 / 8] - s[s.len() / 8]).max(1))
            .collect();
        // Enough shift that every multiplier keeps at least 4 significant bits, and a little
        // more at random.
        let widest = *spreads.iter().max().expect("a channel");
        let needed = (64 - ((16 * widest / target).max(1) as u64).leading_zeros()).min(24);
        let shift = needed + self.rng.gen_range(0..=2);
        let (mut mul, mut neg_mul, mut pre, mut bias) = (vec![], vec![], vec![], vec![]);
        for (sorted, &spread) in per_channel.iter().zip(&spreads) {
            let centre = sorted[sorted.len() / 2];
            // mul·spread / 2^shift ≈ target.
            let m = ((target << shift) / spread).clamp(1, 1 << 16);
            let m = if self.rng.gen_ratio(1, 5) { -m } else { m };
            let p = if piecewise {
                -centre + self.rng.gen_range(-spread / 4..=spread / 4)
            } else {
                0
            };
            let slope = if piecewise {
                m * self.rng.gen_range(0..=4) / 8
            } else {
                m
            };
            let b = if piecewise { 0 } else { -m * centre }
                + self.rng.gen_range(-(1 << shift)..=1 << shift);
            mul.push(m);
            neg_mul.push(slope);
            pre.push(p);
            bias.push(b);
        }
        let half_even = rounding == ShiftRounding::HalfEven;
        self.map_samples(|ch, x| {
            let t = x + pre[ch];
            let m = if t >= 0 { mul[ch] } else { neg_mul[ch] };
            let y = crate::ir::shift_right((m * t + bias[ch]) as i128, shift, half_even);
            requantize(y as i64, 0, bits)
        });
        let t = |v: &[i64]| TensorDef::from_i64(vec![c], v);
        self.push(
            name,
            OpDef::Affine(AffineDef {
                mul: t(&mul),
                neg_mul: piecewise.then(|| t(&neg_mul)),
                pre: piecewise.then(|| t(&pre)),
                bias: Some(t(&bias)),
                shift,
                rounding,
                bits,
            }),
        );
    }

    /// A `kernel`×`kernel` window sum moved by `stride` (`window` = (kernel, stride)), or the
    /// global sum when `window` is `None`.
    pub fn sumpool(&mut self, name: &str, window: Option<(usize, usize)>) {
        self.expect_no_scale();
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        let (kh, kw, stride) = match window {
            Some((k, s)) => (k, k, s),
            None => (h, w, 1),
        };
        let (oh, ow) = ((h - kh) / stride + 1, (w - kw) / stride + 1);
        for frame in &mut self.samples {
            let mut next = vec![0i64; c * oh * ow];
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                next[(ch * oh + oy) * ow + ox] +=
                                    frame[(ch * h + oy * stride + ky) * w + ox * stride + kx];
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
            OpDef::SumPool(SumPoolDef {
                kernel: window.map(|(k, _)| k),
                stride: window.and_then(|(k, s)| (s != k).then_some(s)),
                global: window.is_none(),
            }),
        );
    }

    /// SiMaN's sign against the frame's mean: bit = [N·x_i ≥ Σ x].
    pub fn meansign(&mut self, name: &str) {
        self.expect_no_scale();
        assert!(
            !self.binary,
            "preset bug: meansign after a binary activation"
        );
        for frame in &mut self.samples {
            let n = frame.len() as i64;
            let sum: i64 = frame.iter().sum();
            for v in frame.iter_mut() {
                *v = if n * *v >= sum { 1 } else { -1 };
            }
        }
        self.binary = true;
        self.push(name, OpDef::MeanSign(MeanSignDef {}));
    }

    /// Zero channels around the current map (the option-A shortcut's channel part).
    pub fn pad_channels(&mut self, name: &str, before: usize, after: usize) {
        self.expect_no_scale();
        let (c, h, w) = (self.dims[0], self.dims[1], self.dims[2]);
        for frame in &mut self.samples {
            let mut v = vec![0i64; before * h * w];
            v.extend(frame.iter());
            v.extend(vec![0i64; after * h * w]);
            *frame = v;
        }
        self.dims = vec![c + before + after, h, w];
        self.push(name, OpDef::PadChannels(PadChannelsDef { before, after }));
    }

    /// An integer-weight dense layer (a classifier head kept in higher precision).
    pub fn dense_int(&mut self, name: &str, out: usize) {
        self.dense(name, out, WeightValues::Int);
    }
}
