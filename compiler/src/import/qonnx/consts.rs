//! Operations on constants, evaluated the way ONNX/QONNX evaluate them (float32 arithmetic for
//! float tensors): weight quantizers, the shape arithmetic of a raw export (`Shape`, `Gather`,
//! `Unsqueeze`, `Concat`), and parameter expressions such as TensorNorm's (var + ε)^0.5.

use super::values::{broadcast_index, Const};
use crate::error::{ModelError, Result};
use crate::format::RoundingMode;
use crate::ir::float_io::clamp_round;

/// Elementwise binary operation of two constants with NumPy broadcasting.
pub fn binary(op: &str, a: &Const, b: &Const) -> Result<Const> {
    let shape = broadcast_shape(&a.shape, &b.shape).ok_or_else(|| {
        ModelError::new(format!(
            "shapes {:?} and {:?} do not broadcast",
            a.shape, b.shape
        ))
    })?;
    let ia = broadcast_index(&a.shape, &shape).expect("broadcast shape");
    let ib = broadcast_index(&b.shape, &shape).expect("broadcast shape");
    let float = a.float || b.float;
    let f = |x: f64, y: f64| -> Result<f64> {
        if float {
            let (x, y) = (x as f32, y as f32);
            Ok(match op {
                "Mul" => x * y,
                "Add" => x + y,
                "Sub" => x - y,
                "Div" => x / y,
                "Pow" => x.powf(y),
                _ => unreachable!("caller passes arithmetic ops"),
            } as f64)
        } else {
            let (x, y) = (x as i64, y as i64);
            Ok(match op {
                "Mul" => x.checked_mul(y),
                "Add" => x.checked_add(y),
                "Sub" => x.checked_sub(y),
                // ONNX integer division truncates.
                "Div" => x.checked_div(y),
                "Pow" => u32::try_from(y).ok().and_then(|y| x.checked_pow(y)),
                _ => unreachable!("caller passes arithmetic ops"),
            }
            .ok_or_else(|| ModelError::new(format!("integer {op} of {x} and {y} overflows")))?
                as f64)
        }
    };
    let values = ia
        .iter()
        .zip(&ib)
        .map(|(&i, &j)| f(a.values[i], b.values[j]))
        .collect::<Result<Vec<f64>>>()?;
    if float {
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(ModelError::new(format!(
                "constant {op} gives {v}; parameters must be finite"
            )));
        }
    }
    Ok(Const {
        shape,
        values,
        float,
    })
}

/// The shape two shapes broadcast to (NumPy rules).
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    let get = |s: &[usize], i: usize| -> usize { (i + s.len()).checked_sub(n).map_or(1, |j| s[j]) };
    (0..n)
        .map(|i| match (get(a, i), get(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// QONNX `BipolarQuant` on a constant: +scale where x ≥ 0, else −scale.
pub fn bipolar_quant(x: &Const, scale: &Const) -> Result<Const> {
    let ones = Const {
        shape: x.shape.clone(),
        values: x
            .values
            .iter()
            .map(|&v| if v as f32 >= 0.0 { 1.0 } else { -1.0 })
            .collect(),
        float: true,
    };
    let out = binary("Mul", &ones, scale)?;
    same_shape(x, out)
}

/// Parameters of a QONNX `Quant` node.
pub struct IntQuant {
    /// Bit width.
    pub bits: u32,
    /// Signed codes.
    pub signed: bool,
    /// Narrow range.
    pub narrow: bool,
    /// Rounding mode.
    pub rounding: RoundingMode,
}

/// QONNX `Quant` on a constant, as `qonnx.custom_op.general.intquant.int_quant` computes it:
/// y = x / scale + zeropt; 1-bit signed → ±1 by y ≥ 0, else clamp then round; out = (y − zeropt)
/// · scale, all in float32.
pub fn int_quant(x: &Const, scale: &Const, zeropt: &Const, q: &IntQuant) -> Result<Const> {
    let y = binary("Add", &binary("Div", x, scale)?, zeropt)?;
    let (lo, hi) = crate::passes::int_range(q.bits, q.signed, q.narrow);
    let codes = Const {
        values: y
            .values
            .iter()
            .map(|&v| {
                let v = v as f32;
                let r = if q.bits == 1 && q.signed {
                    if v >= 0.0 {
                        1.0
                    } else {
                        -1.0
                    }
                } else {
                    clamp_round(v, lo, hi, q.rounding)
                };
                r as f64
            })
            .collect(),
        ..y
    };
    let out = binary("Mul", &binary("Sub", &codes, zeropt)?, scale)?;
    same_shape(x, out)
}

/// A quantizer must not change its input's shape (its parameters broadcast into it).
fn same_shape(x: &Const, out: Const) -> Result<Const> {
    if out.shape != x.shape {
        return Err(ModelError::new(format!(
            "the quantizer's parameters (broadcast to {:?}) do not fit the tensor's shape {:?}",
            out.shape, x.shape
        )));
    }
    Ok(out)
}

/// `Transpose` of a constant with permutation `perm`.
pub fn transpose(x: &Const, perm: &[usize]) -> Result<Const> {
    let rank = x.shape.len();
    let mut seen = vec![false; rank];
    if perm.len() != rank
        || perm
            .iter()
            .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
    {
        return Err(
            ModelError::new(format!("perm {perm:?} is not a permutation of {rank} axes"))
                .at_field("attribute perm"),
        );
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let mut strides = vec![1usize; rank];
    for a in (0..rank.saturating_sub(1)).rev() {
        strides[a] = strides[a + 1] * x.shape[a + 1];
    }
    let numel = x.values.len();
    let mut values = Vec::with_capacity(numel);
    let mut index = vec![0usize; rank];
    for _ in 0..numel {
        let src: usize = (0..rank).map(|a| index[a] * strides[perm[a]]).sum();
        values.push(x.values[src]);
        for a in (0..rank).rev() {
            index[a] += 1;
            if index[a] < shape[a] {
                break;
            }
            index[a] = 0;
        }
    }
    Ok(Const {
        shape,
        values,
        float: x.float,
    })
}

/// ONNX's rule for axes and indices: a negative one counts back from `len` (−1 is the last).
pub fn normalize_axis(axis: i64, len: usize) -> i64 {
    if axis < 0 {
        axis + len as i64
    } else {
        axis
    }
}

/// `axis` (possibly negative) as an index into `rank` axes, or an error naming it.
fn axis_index(axis: i64, rank: usize) -> Result<usize> {
    let axis = normalize_axis(axis, rank);
    usize::try_from(axis)
        .ok()
        .filter(|&a| a < rank)
        .ok_or_else(|| ModelError::new(format!("axis {axis} is out of range")))
}

/// `Gather` along `axis` of a constant with constant indices (negative indices count back).
pub fn gather(x: &Const, indices: &Const, axis: i64) -> Result<Const> {
    let axis = axis_index(axis, x.shape.len())?;
    let dim = x.shape[axis] as i64;
    let outer: usize = x.shape[..axis].iter().product();
    let inner: usize = x.shape[axis + 1..].iter().product();
    let idx = indices
        .as_i64()?
        .into_iter()
        .map(|i| {
            let j = normalize_axis(i, dim as usize);
            if (0..dim).contains(&j) {
                Ok(j as usize)
            } else {
                Err(ModelError::new(format!(
                    "index {i} is out of range for {dim}"
                )))
            }
        })
        .collect::<Result<Vec<usize>>>()?;
    let mut values = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &j in &idx {
            let start = (o * x.shape[axis] + j) * inner;
            values.extend_from_slice(&x.values[start..start + inner]);
        }
    }
    let mut shape = x.shape[..axis].to_vec();
    shape.extend(&indices.shape);
    shape.extend(&x.shape[axis + 1..]);
    Ok(Const {
        shape,
        values,
        float: x.float,
    })
}

/// `Concat` of constants along `axis`.
pub fn concat(parts: &[&Const], axis: i64) -> Result<Const> {
    let first = parts
        .first()
        .ok_or_else(|| ModelError::new("Concat of nothing"))?;
    let axis = axis_index(axis, first.shape.len())?;
    for p in parts {
        let same = p.shape.len() == first.shape.len()
            && p.shape
                .iter()
                .zip(&first.shape)
                .enumerate()
                .all(|(a, (x, y))| a == axis || x == y);
        if !same {
            return Err(ModelError::new(format!(
                "shapes {:?} and {:?} do not concatenate on axis {axis}",
                first.shape, p.shape
            )));
        }
    }
    let outer: usize = first.shape[..axis].iter().product();
    let mut values = Vec::new();
    for o in 0..outer {
        for p in parts {
            let chunk: usize = p.shape[axis..].iter().product();
            values.extend_from_slice(&p.values[o * chunk..(o + 1) * chunk]);
        }
    }
    let mut shape = first.shape.clone();
    shape[axis] = parts.iter().map(|p| p.shape[axis]).sum();
    Ok(Const {
        shape,
        values,
        float: parts.iter().any(|p| p.float),
    })
}

/// The shape a `Reshape` to `target` gives `shape` (0 copies the input's axis, −1 is inferred).
pub fn reshape_target(shape: &[usize], target: &[i64], allow_zero: bool) -> Result<Vec<usize>> {
    let numel: usize = shape.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (a, &t) in target.iter().enumerate() {
        out.push(match t {
            -1 if infer.is_none() => {
                infer = Some(a);
                1
            }
            0 if !allow_zero => *shape.get(a).ok_or_else(|| {
                ModelError::new(format!(
                    "target {target:?} copies axis {a}, which is missing"
                ))
            })?,
            t if t >= 0 => t as usize,
            _ => {
                return Err(ModelError::new(format!(
                    "target shape {target:?} is not valid"
                )))
            }
        });
    }
    let known: usize = out.iter().product();
    if let Some(a) = infer {
        if known == 0 || !numel.is_multiple_of(known) {
            return Err(ModelError::new(format!(
                "cannot reshape {shape:?} to {target:?}"
            )));
        }
        out[a] = numel / known;
    }
    if out.iter().product::<usize>() != numel {
        return Err(ModelError::new(format!(
            "cannot reshape {shape:?} ({numel} elements) to {target:?}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_and_gathers_like_numpy() {
        // np.arange(6).reshape(2, 3).T → [[0, 3], [1, 4], [2, 5]]
        let x = Const::ints(vec![2, 3], (0..6).collect());
        let t = transpose(&x, &[1, 0]).unwrap();
        assert_eq!(t.shape, [3, 2]);
        assert_eq!(t.values, [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        // np.take(x, [2, 0], axis=1) → [[2, 0], [5, 3]]
        let g = gather(&x, &Const::ints(vec![2], vec![2, 0]), 1).unwrap();
        assert_eq!(
            (g.shape.clone(), g.values),
            (vec![2, 2], vec![2.0, 0.0, 5.0, 3.0])
        );
        // Shape → Gather(0) of a scalar index gives a scalar.
        let s = Const::ints(vec![4], vec![1, 1, 28, 28]);
        let b = gather(&s, &Const::ints(vec![], vec![0]), 0).unwrap();
        assert_eq!((b.shape.clone(), b.values), (vec![], vec![1.0]));
        let c = concat(
            &[
                &Const::ints(vec![1], vec![1]),
                &Const::ints(vec![1], vec![-1]),
            ],
            0,
        )
        .unwrap();
        assert_eq!(c.values, [1.0, -1.0]);
        assert_eq!(
            reshape_target(&[1, 1, 28, 28], &[1, -1], false).unwrap(),
            [1, 784]
        );
        assert_eq!(
            reshape_target(&[1, 64, 2, 2], &[0, -1], false).unwrap(),
            [1, 256]
        );
        assert!(reshape_target(&[1, 10], &[3, -1], false).is_err());
    }

    #[test]
    fn quantizes_weights_like_qonnx() {
        let w = Const::f32(vec![4], vec![0.3, -0.2, 0.0, -0.0]);
        let one = Const::f32(vec![1], vec![1.0]);
        // BipolarQuant: x >= 0 → +1 (−0.0 >= 0 holds).
        assert_eq!(
            bipolar_quant(&w, &one).unwrap().values,
            [1.0, -1.0, 1.0, 1.0]
        );
        // 1-bit signed Quant is bipolar too (QONNX's special case).
        let zero = Const::f32(vec![], vec![0.0]);
        let q1 = IntQuant {
            bits: 1,
            signed: true,
            narrow: false,
            rounding: RoundingMode::HalfEven,
        };
        assert_eq!(
            int_quant(&w, &one, &zero, &q1).unwrap().values,
            [1.0, -1.0, 1.0, 1.0]
        );
        // 2-bit signed, scale 0.5: 0.3/0.5 = 0.6 → 1 → 0.5; −0.2/0.5 = −0.4 → −0 → −0.
        let q2 = IntQuant {
            bits: 2,
            signed: true,
            narrow: false,
            rounding: RoundingMode::HalfEven,
        };
        let half = Const::f32(vec![1], vec![0.5]);
        assert_eq!(
            int_quant(&w, &half, &zero, &q2).unwrap().values,
            [0.5, 0.0, 0.0, 0.0]
        );
    }
}
