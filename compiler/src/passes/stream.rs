//! Lowering the residual stream's nodes (`add`, `affine`, `sumpool`): parameters decoded and
//! checked, output ranges derived exactly, so no register of the hardware can overflow.

use super::nodes::require_integer_input;
use crate::error::{ModelError, Result};
use crate::format::{AddDef, AffineDef, PadChannelsDef, ShiftRounding, SumPoolDef, TensorDef};
use crate::ir::{shift_right, signed_range, Add, Affine, Node, Op, Shape, SumPool, ValueType};
use crate::sanitize::printable;

type Lowered = (Op, Shape, ValueType);

/// Largest shift: alignment of fixed-point scales never needs more.
const MAX_SHIFT: u32 = 32;
/// Widest saturation: a 32-bit stream is far beyond what any residual network carries.
const MAX_SAT_BITS: u32 = 32;
/// Values and intermediates stay within ±2^62, so that no i64 evaluation can overflow.
const LIMIT: i128 = 1 << 62;

fn check_bits(bits: Option<u32>) -> Result<()> {
    match bits {
        Some(b) if !(2..=MAX_SAT_BITS).contains(&b) => Err(ModelError::new(format!(
            "is {b}; a saturating width is between 2 and {MAX_SAT_BITS} bits"
        ))
        .at_field("bits")),
        _ => Ok(()),
    }
}

fn check_shift(shift: u32, field: &str) -> Result<()> {
    if shift > MAX_SHIFT {
        return Err(
            ModelError::new(format!("is {shift}; a shift is at most {MAX_SHIFT}")).at_field(field),
        );
    }
    Ok(())
}

/// `[lo, hi]` within the saturation range, as an integer value type.
fn clipped(lo: i128, hi: i128, bits: Option<u32>, what: &str) -> Result<ValueType> {
    let (lo, hi) = match bits {
        Some(b) => {
            let (a, z) = signed_range(b);
            (
                lo.clamp(a as i128, z as i128),
                hi.clamp(a as i128, z as i128),
            )
        }
        None => (lo, hi),
    };
    if lo <= -LIMIT || hi >= LIMIT {
        return Err(ModelError::new(format!(
            "{what} can reach [{lo}, {hi}], beyond the 62 bits xnorc computes in"
        ))
        .with_hint("saturate it with `bits`, or shift it down"));
    }
    Ok(ValueType::Int {
        min: lo as i64,
        max: hi as i64,
    })
}

pub(super) fn lower_add(d: &AddDef, a: &Node, b: &Node) -> Result<Lowered> {
    for x in [a, b] {
        require_integer_input(x, "add")?;
    }
    if a.shape != b.shape {
        return Err(ModelError::new(format!(
            "adds \"{}\" ({}) and \"{}\" ({}); the operands must have one shape",
            printable(&a.name),
            a.shape,
            printable(&b.name),
            b.shape
        ))
        .at_field("inputs"));
    }
    let shift = match d.shift.as_deref() {
        None => [0, 0],
        Some(&[sa, sb]) => [sa, sb],
        Some(other) => {
            return Err(ModelError::new(format!(
                "expected [a, b] (one left shift per operand), found {} numbers",
                other.len()
            ))
            .at_field("shift"))
        }
    };
    for (k, &s) in shift.iter().enumerate() {
        check_shift(s, &format!("shift[{k}]"))?;
    }
    check_bits(d.bits)?;
    let ((amin, amax), (bmin, bmax)) = (a.vtype.range(), b.vtype.range());
    let scaled = |v: i64, s: u32| (v as i128) << s;
    let lo = scaled(amin, shift[0]) + scaled(bmin, shift[1]);
    let hi = scaled(amax, shift[0]) + scaled(bmax, shift[1]);
    let vtype = clipped(lo, hi, d.bits, "the sum")?;
    let op = Op::Add(Add {
        shift,
        saturate: d.bits,
    });
    Ok((op, a.shape, vtype))
}

/// A per-channel integer parameter: `[C]` or `[1]` (broadcast), or `default` when absent.
fn per_channel(t: Option<&TensorDef>, c: usize, default: &[i64], field: &str) -> Result<Vec<i64>> {
    let Some(t) = t else {
        return Ok(default.to_vec());
    };
    let values = t.to_i64().map_err(|e| e.at_field(field))?;
    match t.shape.as_slice() {
        [n] if *n == c => Ok(values),
        [1] => Ok(vec![values[0]; c]),
        other => Err(ModelError::new(format!(
            "expected [{c}] (one per channel) or [1], found {other:?}"
        ))
        .at_field(format!("{field}.shape"))),
    }
}

pub(super) fn lower_affine(d: &AffineDef, x: &Node) -> Result<Lowered> {
    require_integer_input(x, "affine")?;
    let c = x.shape.channels();
    let mul = per_channel(Some(&d.mul), c, &[], "mul")?;
    let neg_mul = per_channel(d.neg_mul.as_ref(), c, &mul, "neg_mul")?;
    let pre = per_channel(d.pre.as_ref(), c, &vec![0; c], "pre")?;
    let bias = per_channel(d.bias.as_ref(), c, &vec![0; c], "bias")?;
    check_shift(d.shift, "shift")?;
    check_bits(d.bits)?;
    let half_even = d.rounding == ShiftRounding::HalfEven;
    // Each side of t = 0 is linear and the floor shift is monotone, so the extremes of every
    // channel lie at the ends of its two pieces: x = min, max, and the kink at t = −1, 0.
    let (xmin, xmax) = x.vtype.range();
    let (mut lo, mut hi) = (i128::MAX, i128::MIN);
    for ch in 0..c {
        let kink = -(pre[ch] as i128);
        for x in [xmin as i128, xmax as i128, kink - 1, kink] {
            if x < xmin as i128 || x > xmax as i128 {
                continue;
            }
            let t = x + pre[ch] as i128;
            let m = if t >= 0 { mul[ch] } else { neg_mul[ch] } as i128;
            let u = m * t + bias[ch] as i128;
            if u.abs() >= LIMIT {
                return Err(ModelError::new(format!(
                    "channel {ch}: (x + pre)·mul + bias reaches {u} at x = {x}, beyond the 62 \
                     bits xnorc computes in"
                ))
                .at_field("mul"));
            }
            let y = shift_right(u, d.shift, half_even);
            lo = lo.min(y);
            hi = hi.max(y);
        }
    }
    let vtype = clipped(lo, hi, d.bits, "the result")?;
    let op = Op::Affine(Affine {
        mul,
        neg_mul,
        pre,
        bias,
        shift: d.shift,
        round_half_even: half_even,
        saturate: d.bits,
    });
    Ok((op, x.shape, vtype))
}

pub(super) fn lower_sumpool(d: &SumPoolDef, x: &Node) -> Result<Lowered> {
    require_integer_input(x, "sumpool")?;
    let Shape::Map { c, h, w } = x.shape else {
        return Err(ModelError::new("sumpool needs a C×H×W input").at_field("inputs"));
    };
    let (pool, shape, window) = match (d.global, d.kernel) {
        (true, None) if d.stride.is_none() => {
            (SumPool::Global, Shape::Map { c, h: 1, w: 1 }, h * w)
        }
        (true, _) => {
            return Err(ModelError::new(
                "a global sumpool takes the whole map: give no kernel or stride",
            )
            .at_field("global"))
        }
        (false, None) => {
            return Err(ModelError::new("missing; or say \"global\": true").at_field("kernel"))
        }
        (false, Some(kernel)) => {
            let stride = d.stride.unwrap_or(kernel);
            if kernel == 0 {
                return Err(ModelError::new("must be at least 1").at_field("kernel"));
            }
            if stride == 0 {
                return Err(ModelError::new("must be at least 1").at_field("stride"));
            }
            if kernel > h || kernel > w {
                return Err(ModelError::new(format!(
                    "window {kernel} is larger than the {h}x{w} input"
                ))
                .at_field("kernel"));
            }
            let shape = Shape::Map {
                c,
                h: (h - kernel) / stride + 1,
                w: (w - kernel) / stride + 1,
            };
            (SumPool::Window { kernel, stride }, shape, kernel * kernel)
        }
    };
    let (xmin, xmax) = x.vtype.range();
    let n = window as i128;
    let vtype = clipped(n * xmin as i128, n * xmax as i128, None, "the window sum")?;
    Ok((Op::SumPool(pool), shape, vtype))
}

pub(super) fn lower_meansign(x: &Node) -> Result<Lowered> {
    require_integer_input(x, "meansign")?;
    // N·x_i and Σ x both stay within 62 bits.
    let n = x.shape.numel() as i128;
    let (min, max) = x.vtype.range();
    let reach = n * (min as i128).abs().max(max as i128);
    if reach >= LIMIT {
        return Err(ModelError::new(format!(
            "N·x reaches {reach} over the input's {n} elements, beyond the 62 bits xnorc \
             computes in"
        ))
        .at_field("inputs"));
    }
    Ok((Op::MeanSign, x.shape, ValueType::Bits))
}

pub(super) fn lower_pad_channels(d: &PadChannelsDef, x: &Node) -> Result<Lowered> {
    require_integer_input(x, "pad_channels")?;
    let Shape::Map { c, h, w } = x.shape else {
        return Err(ModelError::new("pad_channels needs a C×H×W input").at_field("inputs"));
    };
    let channels = c
        .checked_add(d.before)
        .and_then(|c| c.checked_add(d.after))
        .filter(|&c| c <= crate::ir::MAX_FRAME_ELEMENTS)
        .ok_or_else(|| ModelError::new("too many channels").at_field("after"))?;
    // The zero channels join the input's range.
    let (min, max) = x.vtype.range();
    let (min, max) = if d.before + d.after > 0 {
        (min.min(0), max.max(0))
    } else {
        (min, max)
    };
    Ok((
        Op::PadChannels {
            before: d.before,
            after: d.after,
        },
        Shape::Map { c: channels, h, w },
        ValueType::Int { min, max },
    ))
}
