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
