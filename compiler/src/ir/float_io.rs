//! The float edges of an imported model: how the source graph's float input becomes the input
//! codes the integer graph takes, and how the integer class scores become the source graph's
//! float output. Both are evaluated in binary32, one rounding per operation, because that is
//! what the ONNX graph computes (docs/semantics.md, "Imported models").

use super::ops::FloatStep;
pub use crate::format::RoundingMode;

/// One elementwise operation on the float input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementOp {
    /// x ← x · a.
    Mul,
    /// x ← x + b.
    Add,
    /// x ← x / d.
    Div,
}

/// An elementwise float32 step: one parameter for every element, or one for all.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementStep {
    /// The operation.
    pub op: ElementOp,
    /// One value (broadcast) or one per element of the frame.
    pub values: Vec<f32>,
}

impl ElementStep {
    /// The step applied to element `i` holding `x`.
    pub fn apply(&self, i: usize, x: f32) -> f32 {
        let v = if self.values.len() == 1 {
            self.values[0]
        } else {
            self.values[i]
        };
        match self.op {
            ElementOp::Mul => x * v,
            ElementOp::Add => x + v,
            ElementOp::Div => x / v,
        }
    }
}

/// How a float value becomes an input code.
#[derive(Debug, Clone, PartialEq)]
pub enum InputQuant {
    /// Bit 1 when x ≥ 0, else bit 0 (QONNX `BipolarQuant`; NaN gives bit 0, as `x >= 0` does).
    Bipolar,
    /// The value is the code: an integer in [min, max] (bits: 0/1, or −1/+1 for bit 0/1 when
    /// min is −1 and max is 1).
    Codes {
        /// Smallest value.
        min: i64,
        /// Largest value.
        max: i64,
        /// Binary input: the code is the bit, (x + 1) / 2 when min is −1.
        bits: bool,
    },
    /// FINN `MultiThreshold`: the number of thresholds of the element's channel x reaches.
    Thresholds {
        /// `channels × levels` thresholds, row per channel (one row when shared).
        table: Vec<f32>,
        /// Thresholds per channel.
        levels: usize,
        /// Elements per channel: element i is in channel (i / stride) mod channels.
        stride: usize,
    },
    /// QONNX `Quant` with zero point 0: x / scale, clamped to [min, max], then rounded.
    Int {
        /// Smallest code.
        min: i64,
        /// Largest code.
        max: i64,
        /// The scale (> 0).
        scale: f32,
        /// Rounding mode.
        rounding: RoundingMode,
    },
}

impl InputQuant {
    /// The code of element `i` holding `x` (a bit as 0/1, or the integer); an error for a value
    /// that is not a code of an input that takes codes.
    pub fn code(&self, i: usize, x: f32) -> Result<i64, String> {
        Ok(match *self {
            InputQuant::Bipolar => (x >= 0.0) as i64,
            InputQuant::Codes { min, max, bits } => {
                let ok = x.fract() == 0.0
                    && x >= min as f32
                    && x <= max as f32
                    && !(bits && min == -1 && x == 0.0);
                if !ok {
                    return Err(format!(
                        "element {i} is {x}, but the graph's input is annotated as integers in \
                         [{min}, {max}]{}",
                        if bits && min == -1 { " without 0" } else { "" }
                    ));
                }
                if bits && min == -1 {
                    (x as i64 + 1) / 2
                } else {
                    x as i64
                }
            }
            InputQuant::Thresholds {
                ref table,
                levels,
                stride,
            } => {
                let channels = table.len() / levels.max(1);
                let c = (i / stride.max(1)) % channels.max(1);
                table[c * levels..(c + 1) * levels]
                    .iter()
                    .filter(|&&t| x >= t)
                    .count() as i64
            }
            InputQuant::Int {
                min,
                max,
                scale,
                rounding,
            } => {
                // NaN passes the clamp; numpy would then cast NaN to an arbitrary integer, we
                // pick the smallest code so the result is at least defined.
                let r = clamp_round(x / scale, min, max, rounding);
                if r.is_nan() {
                    min
                } else {
                    r as i64
                }
            }
        })
    }
}

/// QONNX `Quant`'s integer code of y = x / scale (+ zero point), in float32: clamped to
/// [min, max] first, then rounded by `mode` (as `int_quant` does; a NaN stays NaN).
pub fn clamp_round(y: f32, min: i64, max: i64, mode: RoundingMode) -> f32 {
    let y = if y > max as f32 {
        max as f32
    } else if y < min as f32 {
        min as f32
    } else {
        y
    };
    round(y, mode)
}

/// `y` rounded to an integer in float32 by `mode`, the way QONNX's numpy functions do it
/// (including their float32 intermediate `|y| ± 0.5`).
pub fn round(y: f32, mode: RoundingMode) -> f32 {
    let sign = |v: f32| {
        if v > 0.0 {
            1.0
        } else if v < 0.0 {
            -1.0
        } else {
            0.0
        }
    };
    match mode {
        RoundingMode::HalfEven => y.round_ties_even(),
        RoundingMode::Ceil => y.ceil(),
        RoundingMode::Floor => y.floor(),
        RoundingMode::Up => sign(y) * y.abs().ceil(),
        RoundingMode::Down => y.trunc(),
        RoundingMode::HalfUp => sign(y) * (y.abs() + 0.5).floor(),
        RoundingMode::HalfDown => sign(y) * (y.abs() - 0.5).ceil(),
    }
}

/// The source graph's float input → the input codes.
#[derive(Debug, Clone, PartialEq)]
pub struct InputMap {
    /// Shape of one float frame (without batch); as many elements as the input node.
    pub shape: Vec<usize>,
    /// Elementwise steps, in order.
    pub steps: Vec<ElementStep>,
    /// The quantizer.
    pub quant: InputQuant,
}

impl InputMap {
    /// The code of element `i` of a frame holding `x`. NaN and ±∞ are refused: every
    /// quantizer would turn them into some code (a sign quantizer into bit 0) that means
    /// nothing, and such a frame is almost always a bug in the data's preparation.
    pub fn code(&self, i: usize, x: f32) -> Result<i64, String> {
        if !x.is_finite() {
            return Err(format!(
                "element {i} is {x}; input frames must hold finite numbers"
            ));
        }
        let y = self.steps.iter().fold(x, |y, step| step.apply(i, y));
        self.quant.code(i, y)
    }

    /// The codes of whole frames (`x` holds frames back to back); an error names the frame.
    pub fn codes(&self, x: &[f32]) -> Result<Vec<i64>, String> {
        let per = self.shape.iter().product::<usize>().max(1);
        x.iter()
            .enumerate()
            .map(|(i, &v)| {
                self.code(i % per, v)
                    .map_err(|e| format!("frame {}, {e}", i / per))
            })
            .collect()
    }
}

/// The integer scores → the source graph's float output.
#[derive(Debug, Clone, PartialEq)]
pub struct FloatTail {
    /// Shape of one output frame of the source graph (without batch).
    pub shape: Vec<usize>,
    /// Float32 steps per class.
    pub steps: Vec<FloatStep>,
}

impl FloatTail {
    /// The float output of class `c` with integer score `score` (|score| ≤ 2^24, validated).
    pub fn apply(&self, c: usize, score: i64) -> f32 {
        FloatStep::apply_all_f32(&self.steps, c, score as f32)
    }

    /// The float outputs of whole frames of `classes` scores each.
    pub fn outputs(&self, scores: &[i64], classes: usize) -> Vec<f32> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &s)| self.apply(i % classes.max(1), s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_modes_match_their_definitions() {
        // Values from numpy: np.round, np.ceil, np.floor, sign·ceil|x|, np.fix, and the
        // half-up / half-down formulas on these inputs.
        let xs = [2.5f32, -2.5, 1.5, 0.5, -0.5, 1.2, -1.7, 0.0];
        let expect = [
            (
                RoundingMode::HalfEven,
                [2.0, -2.0, 2.0, 0.0, -0.0, 1.0, -2.0, 0.0],
            ),
            (
                RoundingMode::Ceil,
                [3.0, -2.0, 2.0, 1.0, -0.0, 2.0, -1.0, 0.0],
            ),
            (
                RoundingMode::Floor,
                [2.0, -3.0, 1.0, 0.0, -1.0, 1.0, -2.0, 0.0],
            ),
            (
                RoundingMode::Up,
                [3.0, -3.0, 2.0, 1.0, -1.0, 2.0, -2.0, 0.0],
            ),
            (
                RoundingMode::Down,
                [2.0, -2.0, 1.0, 0.0, -0.0, 1.0, -1.0, 0.0],
            ),
            (
                RoundingMode::HalfUp,
                [3.0, -3.0, 2.0, 1.0, -1.0, 1.0, -2.0, 0.0],
            ),
            (
                RoundingMode::HalfDown,
                [2.0, -2.0, 1.0, 0.0, -0.0, 1.0, -2.0, 0.0],
            ),
        ];
        for (mode, want) in expect {
            let got: Vec<f32> = xs.iter().map(|&x| round(x, mode)).collect();
            assert_eq!(got, want, "{mode:?}");
        }
    }

    #[test]
    fn int_quant_clamps_then_rounds() {
        // Q1.7: scale 2^-7, signed 8 bits, not narrow: codes [-128, 127].
        let q = InputQuant::Int {
            min: -128,
            max: 127,
            scale: 1.0 / 128.0,
            rounding: RoundingMode::HalfEven,
        };
        assert_eq!(q.code(0, 1.0), Ok(127));
        assert_eq!(q.code(0, -1.0), Ok(-128));
        assert_eq!(q.code(0, -5.0), Ok(-128));
        assert_eq!(q.code(0, 0.5 / 128.0), Ok(0)); // a tie rounds to even
        assert_eq!(q.code(0, 1.5 / 128.0), Ok(2));
        assert_eq!(q.code(0, 0.25), Ok(32));
    }

    #[test]
    fn input_map_applies_steps_per_element_then_quantizes() {
        // x·2 − 1 then BipolarQuant, as Brevitas' TFC does: x ≥ 0.5 gives bit 1.
        let map = InputMap {
            shape: vec![3],
            steps: vec![
                ElementStep {
                    op: ElementOp::Mul,
                    values: vec![2.0],
                },
                ElementStep {
                    op: ElementOp::Add,
                    values: vec![-1.0, 0.0, 1.0],
                },
            ],
            quant: InputQuant::Bipolar,
        };
        assert_eq!(
            map.codes(&[0.5, -0.1, -0.6, 0.49, 0.0, -0.5]).unwrap(),
            [1, 0, 0, 0, 1, 1]
        );
    }

    #[test]
    fn codes_and_thresholds_map_like_finn() {
        // Bipolar-annotated bits: −1 → bit 0, +1 → bit 1; 0 is no bipolar value.
        let bipolar = InputQuant::Codes {
            min: -1,
            max: 1,
            bits: true,
        };
        assert_eq!(bipolar.code(0, -1.0), Ok(0));
        assert_eq!(bipolar.code(0, 1.0), Ok(1));
        assert!(bipolar.code(3, 0.0).unwrap_err().contains("element 3 is 0"));
        let uint4 = InputQuant::Codes {
            min: 0,
            max: 15,
            bits: false,
        };
        assert_eq!(uint4.code(0, 15.0), Ok(15));
        assert!(uint4.code(0, 16.0).is_err());
        assert!(uint4.code(0, 2.5).is_err());
        // Two channels of two elements, two thresholds each: channel 1 is elements 2 and 3.
        let t = InputQuant::Thresholds {
            table: vec![0.0, 1.0, -1.0, 5.0],
            levels: 2,
            stride: 2,
        };
        let got: Vec<i64> = [0.5, 1.0, 0.5, 5.0]
            .iter()
            .enumerate()
            .map(|(i, &x)| t.code(i, x).unwrap())
            .collect();
        assert_eq!(got, [1, 2, 1, 2]);
    }
}
