//! A model's `weights` objects → the IR's weights: declared shapes checked, dense bits,
//! codebooks (τ-bit indices into a codebook of kernels) and tiles decoded.

use crate::error::{ModelError, Result};
use crate::format::{DType, TensorDef, WeightValues, WeightsDef};
use crate::ir::{Codebook, Tiled, WeightStore, Weights};

/// The weight shape a `weights` object declares, and the field that declares it.
pub(super) fn declared_shape(w: &WeightsDef) -> Result<(Vec<usize>, &'static str)> {
    match w {
        WeightsDef::Dense { bits, .. } => Ok((bits.shape.clone(), "weights.bits.shape")),
        WeightsDef::Tiled { shape, .. } => Ok((shape.clone(), "weights.shape")),
        WeightsDef::Int { ints } => Ok((ints.shape.clone(), "weights.ints.shape")),
        WeightsDef::Codebook {
            codebook, indices, ..
        } => {
            let [n, kh, kw] = codebook.shape[..] else {
                return Err(ModelError::new(format!(
                    "expected [entries, kh, kw], found {:?}",
                    codebook.shape
                ))
                .at_field("weights.codebook.shape"));
            };
            // Integers [out, in], or packed τ bits per index: bits [out, in, τ].
            let (o, c) = match (indices.dtype, &indices.shape[..]) {
                (DType::Bits, &[o, c, _]) => (o, c),
                (DType::Bits, _) => {
                    return Err(ModelError::new(format!(
                        "expected [out, in, tau] (τ bits per kernel's index), found {:?}",
                        indices.shape
                    ))
                    .at_field("weights.indices.shape"))
                }
                (_, &[o, c]) => (o, c),
                _ => {
                    return Err(ModelError::new(format!(
                        "expected [out, in] (one index per kernel), found {:?}",
                        indices.shape
                    ))
                    .at_field("weights.indices.shape"))
                }
            };
            if n == 0 {
                return Err(ModelError::new("the codebook has no entries")
                    .at_field("weights.codebook.shape"));
            }
            Ok((vec![o, c, kh, kw], "weights.indices.shape"))
        }
    }
}

/// Largest codebook index width: 16 bits index 65,536 kernels, far beyond any 3×3 codebook.
const MAX_TAU: u32 = 16;

/// Decodes the weights, checking the shape against what the layer's input implies.
pub(super) fn decode_weights(w: &WeightsDef, expected_tail: &[usize]) -> Result<Weights> {
    if expected_tail.len() == 1 && matches!(w, WeightsDef::Codebook { .. }) {
        return Err(ModelError::new(
            "codebook storage is for conv2d layers: an entry is a kh×kw kernel",
        )
        .at_field("weights.storage")
        .with_hint("store a dense layer's weights as \"dense\" or \"tiled\""));
    }
    let (dims, field) = declared_shape(w)?;
    if dims.len() != 1 + expected_tail.len() || dims[0] == 0 || dims[1..] != *expected_tail {
        let mut want = vec!["out".to_string()];
        want.extend(expected_tail.iter().map(|d| d.to_string()));
        return Err(ModelError::new(format!(
            "expected shape [{}] from the layer's input, found {:?}",
            want.join(", "),
            dims
        ))
        .at_field(field));
    }
    let (kh, kw) = match expected_tail.len() {
        1 => (1, 1),
        _ => (dims[2], dims[3]),
    };
    // A declared shape is untrusted: its product may overflow (found by the loader's fuzzer).
    let count = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            ModelError::new(format!(
                "shape {dims:?} holds more weights than can be counted"
            ))
            .at_field(field)
        })?;
    let store = match w {
        WeightsDef::Dense { bits, .. } => {
            WeightStore::Dense(bits.to_bits().map_err(|e| e.at_field("weights.bits"))?)
        }
        WeightsDef::Codebook {
            tau,
            codebook,
            indices,
            ..
        } => decode_codebook(*tau, codebook, indices)?,
        WeightsDef::Tiled { p, tile, alpha, .. } => decode_tiled(*p, tile, alpha, count)?,
        WeightsDef::Int { ints } => decode_ints(ints)?,
    };
    if w.values() == WeightValues::Int && !matches!(store, WeightStore::Int(_)) {
        return Err(ModelError::new(format!(
            "\"int\" weights are stored one integer each, not as {} bits",
            w_storage(w)
        ))
        .at_field("weights.values")
        .with_hint("use {\"storage\": \"int\", \"ints\": …}, or values pm1 / zero_one"));
    }
    Ok(Weights {
        values: w.values(),
        out_channels: dims[0],
        in_channels: dims[1],
        kh,
        kw,
        store,
    })
}

/// The `storage` name of a weights object.
fn w_storage(w: &WeightsDef) -> &'static str {
    match w {
        WeightsDef::Dense { .. } => "dense",
        WeightsDef::Codebook { .. } => "codebook",
        WeightsDef::Tiled { .. } => "tiled",
        WeightsDef::Int { .. } => "int",
    }
}

/// Integer weights: any integer tensor whose values fit 8 signed bits (the hardware's
/// multiplier lanes are sized for them).
fn decode_ints(ints: &TensorDef) -> Result<WeightStore> {
    let values = ints.to_i64().map_err(|e| e.at_field("weights.ints"))?;
    let out: Vec<i8> = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            i8::try_from(v).map_err(|_| {
                ModelError::new(format!(
                    "weight {i} (row-major) is {v}; integer weights must lie in [-128, 127]"
                ))
                .at_field("weights.ints")
            })
        })
        .collect::<Result<_>>()?;
    Ok(WeightStore::Int(out))
}

fn decode_codebook(tau: u32, codebook: &TensorDef, indices: &TensorDef) -> Result<WeightStore> {
    if !(1..=MAX_TAU).contains(&tau) {
        return Err(ModelError::new(format!(
            "is {tau}; the index width must be between 1 and {MAX_TAU} bits"
        ))
        .at_field("weights.tau"));
    }
    let entries = codebook.shape[0];
    if entries > 1 << tau {
        return Err(ModelError::new(format!(
            "{entries} entries cannot all be addressed by {tau}-bit indices (at most {})",
            1u64 << tau
        ))
        .at_field("weights.codebook.shape"));
    }
    let bits = codebook
        .to_bits()
        .map_err(|e| e.at_field("weights.codebook"))?;
    let raw = decode_indices(tau, indices)?;
    let in_channels = indices.shape[1];
    let mut out = Vec::with_capacity(raw.len());
    for (i, &v) in raw.iter().enumerate() {
        if v < 0 || v as u64 >= entries as u64 {
            return Err(ModelError::new(format!(
                "index {v} of kernel [{}, {}] is out of range for a codebook of {entries} entries",
                i / in_channels,
                i % in_channels
            ))
            .at_field("weights.indices"));
        }
        out.push(v as u32);
    }
    Ok(WeightStore::Codebook(Codebook {
        tau,
        entries,
        bits,
        indices: out,
    }))
}

/// The indices as integers: read from an integer tensor `[out, in]`, or unpacked from a bits
/// tensor `[out, in, τ]` whose last axis holds each index LSB first (Σ_j bit_j·2^j).
fn decode_indices(tau: u32, indices: &TensorDef) -> Result<Vec<i64>> {
    if indices.dtype != DType::Bits {
        return indices.to_i64().map_err(|e| e.at_field("weights.indices"));
    }
    let width = indices.shape[2];
    if width != tau as usize {
        return Err(ModelError::new(format!(
            "packed indices of {width} bits, but tau is {tau}: the last axis holds τ bits"
        ))
        .at_field("weights.indices.shape"));
    }
    let bits = indices
        .to_bits()
        .map_err(|e| e.at_field("weights.indices"))?;
    Ok((0..bits.len() / width)
        .map(|i| {
            (0..width)
                .filter(|&j| bits.get(i * width + j))
                .map(|j| 1i64 << j)
                .sum()
        })
        .collect())
}

fn decode_tiled(
    p: usize,
    tile: &TensorDef,
    alpha: &Option<TensorDef>,
    count: usize,
) -> Result<WeightStore> {
    let [l] = tile.shape[..] else {
        return Err(ModelError::new(format!(
            "expected [L] (one dimension), found {:?}",
            tile.shape
        ))
        .at_field("weights.tile.shape"));
    };
    if p == 0 {
        return Err(ModelError::new("must be at least 1").at_field("weights.p"));
    }
    if l.checked_mul(p) != Some(count) {
        return Err(ModelError::new(format!(
            "a tile of {l} bits repeated {p} times covers {} weights, but the layer has {count}",
            l as u128 * p as u128
        ))
        .at_field("weights.tile.shape")
        .with_hint("the tile length L must be the weight count divided by p"));
    }
    let bits = tile.to_bits().map_err(|e| e.at_field("weights.tile"))?;
    let alpha = match alpha {
        None => None,
        Some(t) => {
            let values = t.to_f64().map_err(|e| e.at_field("weights.alpha"))?;
            let values = match t.shape[..] {
                [n] if n == p => values,
                [1] => vec![values[0]; p],
                _ => {
                    return Err(ModelError::new(format!(
                        "expected [{p}] (one per chunk) or [1], found {:?}",
                        t.shape
                    ))
                    .at_field("weights.alpha.shape"))
                }
            };
            if let Some(i) = values.iter().position(|a| !(a.is_finite() && *a > 0.0)) {
                return Err(ModelError::new(format!(
                    "chunk {i} has scale {}; every α must be finite and > 0",
                    values[i]
                ))
                .at_field("weights.alpha"));
            }
            Some(values)
        }
    };
    Ok(WeightStore::Tiled(Tiled {
        tile: bits,
        p,
        alpha,
    }))
}
