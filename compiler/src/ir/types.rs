//! Shapes and value types of the tensors that flow along the graph's edges.

use serde::Serialize;

/// The logical shape of a node's output (one frame; the batch dimension is not part of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// A vector of `n` elements.
    Flat(usize),
    /// A feature map of `c` channels, `h` rows, `w` columns (logical order C, H, W).
    Map {
        /// Channels.
        c: usize,
        /// Rows.
        h: usize,
        /// Columns.
        w: usize,
    },
}

/// The most elements one frame (the input, or any node's output) may hold: 2^24, a 4096 × 4096
/// single-channel image, far beyond any network whose activations an FPGA of the bundled boards
/// can buffer. Shapes read from a file are checked against it before anything is sized by them.
pub const MAX_FRAME_ELEMENTS: usize = 1 << 24;

/// The elements of a frame of `dims`, or why the shape is too large: the product exceeds
/// [`MAX_FRAME_ELEMENTS`] (or overflows, which it exceeds too).
pub fn frame_elements(dims: &[usize]) -> Result<usize, String> {
    // In 128 bits, so that a product beyond 64 bits is still reported by its size.
    let product = dims
        .iter()
        .try_fold(1u128, |n, &d| n.checked_mul(d as u128));
    match product {
        Some(n) if n <= MAX_FRAME_ELEMENTS as u128 => Ok(n as usize),
        _ => {
            let size = product.map_or("more than 2^128 elements".to_string(), |n| {
                format!("{n} elements")
            });
            Err(format!(
                "a frame of shape {dims:?} is {size}, more than the {MAX_FRAME_ELEMENTS} \
                 (2^24) xnorc takes"
            ))
        }
    }
}

impl Shape {
    /// Elements per frame.
    pub fn numel(&self) -> usize {
        match *self {
            Shape::Flat(n) => n,
            Shape::Map { c, h, w } => c * h * w,
        }
    }

    /// Channels: the dimension per-channel parameters index (a vector's every element).
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Flat(n) => n,
            Shape::Map { c, .. } => c,
        }
    }

    /// The dimensions as a list (`[n]` or `[c, h, w]`).
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Flat(n) => vec![n],
            Shape::Map { c, h, w } => vec![c, h, w],
        }
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Shape::Flat(n) => write!(f, "{n}"),
            Shape::Map { c, h, w } => write!(f, "{c}x{h}x{w}"),
        }
    }
}

/// What the elements of a tensor are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ValueType {
    /// Binary: bit 1 is +1, bit 0 is −1.
    Bits,
    /// Integers in the closed range `[min, max]`.
    Int {
        /// Smallest possible value.
        min: i64,
        /// Largest possible value.
        max: i64,
    },
}

impl ValueType {
    /// The smallest and largest value an element can take (bits: −1 and +1).
    pub fn range(&self) -> (i64, i64) {
        match *self {
            ValueType::Bits => (-1, 1),
            ValueType::Int { min, max } => (min, max),
        }
    }

    /// Bits a hardware register needs for one element (1 for binary data).
    pub fn bits(&self) -> u32 {
        match *self {
            ValueType::Bits => 1,
            ValueType::Int { min, max } => int_bits(min, max),
        }
    }

    /// Short human-readable form: `bit`, `u8`, `i12`, …
    pub fn describe(&self) -> String {
        match *self {
            ValueType::Bits => "bit".to_string(),
            ValueType::Int { min, max } if min >= 0 => format!("u{}", int_bits(min, max)),
            ValueType::Int { min, max } => format!("i{}", int_bits(min, max)),
        }
    }
}

/// Width of the narrowest two's complement (or, for `min >= 0`, unsigned) register that holds
/// every integer in `[min, max]`.
pub fn int_bits(min: i64, max: i64) -> u32 {
    debug_assert!(min <= max);
    if min >= 0 {
        (64 - (max as u64).leading_zeros()).max(1)
    } else {
        // Signed: enough bits for both -2^(n-1) <= min and max <= 2^(n-1) - 1.
        let neg = 64 - (!(min as u64)).leading_zeros() + 1;
        let pos = if max >= 0 {
            64 - (max as u64).leading_zeros() + 1
        } else {
            1
        };
        neg.max(pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: smallest n such that every value fits n-bit (un)signed.
    fn naive_bits(min: i64, max: i64) -> u32 {
        (1..=64)
            .find(|&n| {
                if min >= 0 {
                    (max as i128) < (1i128 << n)
                } else {
                    (min as i128) >= -(1i128 << (n - 1)) && (max as i128) < (1i128 << (n - 1))
                }
            })
            .unwrap()
    }

    #[test]
    fn int_bits_matches_brute_force() {
        let vals = [
            -1025, -1024, -129, -128, -127, -2, -1, 0, 1, 2, 127, 128, 255, 256, 1023,
        ];
        for &a in &vals {
            for &b in &vals {
                if a <= b {
                    assert_eq!(int_bits(a, b), naive_bits(a, b), "[{a}, {b}]");
                }
            }
        }
        assert_eq!(int_bits(i64::MIN, i64::MAX), 64);
    }
}
