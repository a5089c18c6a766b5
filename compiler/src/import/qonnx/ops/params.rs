//! Constants as the parameters of elementwise steps: one value per element or per channel
//! (axis 1) of the tensor they apply to, under NumPy broadcasting.

use crate::error::{ModelError, Result};
use crate::import::qonnx::values::{broadcast_index, Const};

/// A constant as one value per element of a tensor of `shape` (or one value for all).
pub(super) fn per_element(c: &Const, shape: &[usize]) -> Result<Vec<f32>> {
    if let Some(v) = c.uniform() {
        if broadcast_index(&c.shape, shape).is_some() {
            return Ok(vec![v as f32]);
        }
    }
    let index = broadcast_index(&c.shape, shape).ok_or_else(|| {
        ModelError::new(format!(
            "the constant of shape {:?} does not broadcast to the tensor's {shape:?}",
            c.shape
        ))
    })?;
    Ok(index.iter().map(|&i| c.values[i] as f32).collect())
}

/// A constant as one value per channel (axis 1) of a tensor of `shape`, or one for all; an error
/// if it varies along any other axis.
pub(super) fn per_channel(c: &Const, shape: &[usize]) -> Result<Vec<f32>> {
    let full = per_element(c, shape)?;
    if full.len() == 1 {
        return Ok(full);
    }
    let channels = shape.get(1).copied().unwrap_or(1);
    let per: usize = shape.iter().skip(2).product();
    let mut out = Vec::with_capacity(channels);
    for ch in 0..channels {
        let slice = &full[ch * per..(ch + 1) * per];
        if slice.iter().any(|v| v.to_bits() != slice[0].to_bits()) {
            return Err(ModelError::new(format!(
                "the constant of shape {:?} varies inside channel {ch}; xnorc takes per-channel \
                 parameters on computed tensors",
                c.shape
            )));
        }
        out.push(slice[0]);
    }
    Ok(compact(out))
}

/// A BatchNorm parameter `[C]` (or a scalar) laid out for channel broadcasting against a tensor
/// of rank `rank`: `[1, C, 1, …]`.
pub(super) fn channel_vector(c: &Const, rank: usize) -> Const {
    let n = c.values.len();
    Const {
        shape: if n == 1 {
            vec![1]
        } else {
            channel_shape(n, rank)
        },
        ..c.clone()
    }
}

/// A `[C]` parameter's broadcast shape against a tensor of rank `rank` (channel axis 1).
pub(super) fn channel_shape(n: usize, rank: usize) -> Vec<usize> {
    let mut s = vec![1; rank.max(2)];
    s[1] = n;
    s
}

/// One value when all agree.
pub(super) fn compact(v: Vec<f32>) -> Vec<f32> {
    match v.first() {
        Some(&f) if v.iter().all(|x| x.to_bits() == f.to_bits()) => vec![f],
        _ => v,
    }
}
