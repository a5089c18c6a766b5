//! Accuracy against labels: overall, per class, and the confusion matrix (what `simulate
//! --labels` reports).

use serde::Serialize;

/// Predictions counted against labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Number of classes.
    pub classes: usize,
    /// `matrix[label][predicted]`: frames of class `label` predicted as `predicted`.
    pub matrix: Vec<Vec<u64>>,
}

/// One class's share of correct predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassAccuracy {
    /// The class.
    pub class: usize,
    /// Frames labelled with it.
    pub frames: u64,
    /// Of those, predicted as it.
    pub correct: u64,
    /// `correct / frames`; `None` when no frame has the label.
    pub accuracy: Option<f64>,
}

impl Confusion {
    /// Counts `predictions` against `labels` (each a class below `classes`: the label reader
    /// checks labels, the simulator's argmax gives predictions).
    pub fn new(classes: usize, labels: &[i64], predictions: &[usize]) -> Self {
        let mut matrix = vec![vec![0u64; classes]; classes];
        for (&label, &predicted) in labels.iter().zip(predictions) {
            matrix[label as usize][predicted] += 1;
        }
        Confusion { classes, matrix }
    }

    /// Frames counted.
    pub fn frames(&self) -> u64 {
        self.matrix.iter().flatten().sum()
    }

    /// Frames predicted as their label.
    pub fn correct(&self) -> u64 {
        (0..self.classes).map(|c| self.matrix[c][c]).sum()
    }

    /// The share of frames predicted as their label (0 with no frames).
    pub fn accuracy(&self) -> f64 {
        self.correct() as f64 / self.frames().max(1) as f64
    }

    /// Every class's accuracy (its recall), in class order.
    pub fn per_class(&self) -> Vec<ClassAccuracy> {
        (0..self.classes)
            .map(|c| {
                let frames: u64 = self.matrix[c].iter().sum();
                let correct = self.matrix[c][c];
                ClassAccuracy {
                    class: c,
                    frames,
                    correct,
                    accuracy: (frames > 0).then(|| correct as f64 / frames as f64),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_label_and_prediction() {
        // Three classes; class 2 never labelled.
        let c = Confusion::new(3, &[0, 0, 1, 1, 1], &[0, 2, 1, 0, 1]);
        assert_eq!(c.matrix, vec![vec![1, 0, 1], vec![1, 2, 0], vec![0, 0, 0]]);
        assert_eq!((c.frames(), c.correct()), (5, 3));
        assert!((c.accuracy() - 0.6).abs() < 1e-12);
        let per = c.per_class();
        assert_eq!(per[0].accuracy, Some(0.5));
        assert_eq!(per[1].accuracy, Some(2.0 / 3.0));
        assert_eq!((per[2].frames, per[2].accuracy), (0, None));
    }
}

/// How far a model's float outputs are from a reference's on the same frames (what `import
/// --calibrate` reports: the integer model against the float graph it approximates).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// Frames compared.
    pub frames: usize,
    /// Frames whose argmax (lowest index on ties) is the reference's.
    pub argmax_agree: usize,
    /// The largest |model − reference| over every output of every frame.
    pub max_abs_error: f64,
    /// The largest |model − reference| of a frame divided by that frame's largest reference
    /// magnitude.
    pub max_rel_error: f64,
}

impl Agreement {
    /// Compares `got` with `reference`, frame by frame (equal lengths).
    pub fn between(reference: &[Vec<f32>], got: &[Vec<f32>]) -> Agreement {
        let mut out = Agreement {
            frames: reference.len().min(got.len()),
            argmax_agree: 0,
            max_abs_error: 0.0,
            max_rel_error: 0.0,
        };
        for (r, g) in reference.iter().zip(got) {
            if crate::input::argmax_f32(r) == crate::input::argmax_f32(g) {
                out.argmax_agree += 1;
            }
            let err = r
                .iter()
                .zip(g)
                .fold(0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
            let scale = r.iter().fold(0f64, |m, &a| m.max((a as f64).abs()));
            out.max_abs_error = out.max_abs_error.max(err);
            if scale > 0.0 {
                out.max_rel_error = out.max_rel_error.max(err / scale);
            }
        }
        out
    }

    /// The share of frames whose argmax agrees.
    pub fn argmax_share(&self) -> f64 {
        self.argmax_agree as f64 / self.frames.max(1) as f64
    }
}

#[cfg(test)]
mod agreement_tests {
    use super::*;

    #[test]
    fn agreement_by_hand() {
        let reference = vec![vec![1.0, 3.0, 2.0], vec![0.5, 0.25, -1.0]];
        let got = vec![vec![1.0, 2.5, 2.75], vec![0.5, 0.25, -0.5]];
        let a = Agreement::between(&reference, &got);
        // Frame 0: argmax 1 vs 2, error 0.75 of 3.0; frame 1: argmax 0 both, error 0.5 of 1.0.
        assert_eq!((a.frames, a.argmax_agree), (2, 1));
        assert_eq!(a.max_abs_error, 0.75);
        assert_eq!(a.max_rel_error, 0.5);
    }
}
