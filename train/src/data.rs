//! The training data: a NumPy archive of float frames and labels, split into training and
//! held-out frames, and coded through the model's own input map.
//!
//! An archive holds `x_train`, `y_train`, `x_test`, `y_test` (Keras' layout): frames float32
//! `[N, C, H, W]` (pixels in [0, 1], as scripts/datasets.py writes them), labels any integer type
//! `[N]`. The frames are coded by the input map the exported model carries (`input.from_float`),
//! so the trainer sees exactly the codes `xnorc simulate` computes from the same float frames.

use crate::error::TrainError;
use std::path::{Path, PathBuf};
use xnorc_compiler::ir::{InputMap, ValueType};
use xnorc_sim::input::{DataError, InputData};
use xnorc_sim::npy::{NpyArray, NpyType};

/// The four arrays of an archive, as read.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The archive.
    pub path: PathBuf,
    /// Shape of one frame, `[C, H, W]`.
    pub frame: Vec<usize>,
    /// Classes: the largest label plus one.
    pub classes: usize,
    /// Training frames and labels.
    pub train: Raw,
    /// Held-out frames and labels.
    pub test: Raw,
}

/// Float frames with their labels.
#[derive(Debug, Clone)]
pub struct Raw {
    /// Frames back to back.
    pub x: Vec<f32>,
    /// One label per frame.
    pub y: Vec<i64>,
}

impl Raw {
    /// Frame count.
    pub fn frames(&self) -> usize {
        self.y.len()
    }
}

/// Frames coded for the network: the simulator's input bytes and the first layer's values.
#[derive(Debug, Clone)]
pub struct Coded {
    /// Frames, for the reference simulator.
    pub input: InputData,
    /// The first layer's input values: ±1 for bits, the code for integers.
    pub values: Vec<f32>,
    /// Labels.
    pub labels: Vec<i64>,
    /// Elements per frame.
    pub per_frame: usize,
}

impl Coded {
    /// Frame count.
    pub fn frames(&self) -> usize {
        self.labels.len()
    }
}

impl Dataset {
    /// Reads `path` (a `.npz` with `x_train`, `y_train`, `x_test`, `y_test`).
    pub fn read(path: &Path) -> Result<Dataset, TrainError> {
        let train = read_split(path, "train")?;
        let test = read_split(path, "test")?;
        if train.1 != test.1 {
            return Err(mismatch(
                path,
                format!(
                    "x_train frames are {:?} but x_test frames {:?}; both splits need one shape",
                    train.1, test.1
                ),
            ));
        }
        let max = train
            .0
            .y
            .iter()
            .chain(&test.0.y)
            .copied()
            .max()
            .unwrap_or(0);
        if max < 1 {
            return Err(mismatch(path, "the labels hold fewer than two classes"));
        }
        Ok(Dataset {
            path: path.to_path_buf(),
            frame: train.1,
            classes: max as usize + 1,
            train: train.0,
            test: test.0,
        })
    }
}

fn read_split(path: &Path, split: &str) -> Result<(Raw, Vec<usize>), TrainError> {
    let member = |name: &str| PathBuf::from(format!("{}:{name}_{split}", path.display()));
    let x = NpyArray::read(&member("x")).map_err(DataError::from)?;
    let y = NpyArray::read(&member("y")).map_err(DataError::from)?;
    let x_name = format!("x_{split}");
    if x.dtype != NpyType::F32 {
        return Err(mismatch(
            path,
            format!(
                "{x_name} holds {}; frames are float32 pixels in [0, 1] (x.astype(numpy.float32))",
                x.dtype.name()
            ),
        ));
    }
    let frame = match x.shape.as_slice() {
        [_, c, h, w] => vec![*c, *h, *w],
        [_, h, w] => vec![1, *h, *w],
        _ => {
            return Err(mismatch(
                path,
                format!(
                    "{x_name} has shape {:?}; expected [N, C, H, W] or [N, H, W]",
                    x.shape
                ),
            ))
        }
    };
    let frames = x.shape[0];
    let labels = y.to_i64().filter(|_| y.shape.len() == 1).ok_or_else(|| {
        mismatch(
            path,
            format!(
                "y_{split} must be integer labels shaped [N], found {} {:?}",
                y.dtype.name(),
                y.shape
            ),
        )
    })?;
    if labels.len() != frames || frames == 0 {
        return Err(mismatch(
            path,
            format!(
                "x_{split} holds {frames} frames but y_{split} {} labels",
                labels.len()
            ),
        ));
    }
    if let Some(i) = labels.iter().position(|&l| l < 0) {
        return Err(mismatch(
            path,
            format!(
                "y_{split}[{i}] is {}; labels are classes 0, 1, …",
                labels[i]
            ),
        ));
    }
    let x = x.to_f32().expect("float32 checked");
    Ok((Raw { x, y: labels }, frame))
}

fn mismatch(path: &Path, message: impl Into<String>) -> TrainError {
    TrainError::Data(DataError::Mismatch {
        path: path.to_path_buf(),
        message: message.into(),
    })
}

/// Codes `raw` through `map` for an input of `vtype`.
pub fn code(
    path: &Path,
    split: &str,
    raw: &Raw,
    map: &InputMap,
    vtype: ValueType,
) -> Result<Coded, TrainError> {
    let codes = map
        .codes(&raw.x)
        .map_err(|e| mismatch(path, format!("x_{split}: {e}")))?;
    let values = codes
        .iter()
        .map(|&c| match vtype {
            ValueType::Bits => (2 * c - 1) as f32,
            _ => c as f32,
        })
        .collect();
    let input = match vtype {
        ValueType::Int { min, .. } if min < 0 => {
            InputData::I8(codes.iter().map(|&c| c as i8).collect())
        }
        _ => InputData::U8(codes.iter().map(|&c| c as u8).collect()),
    };
    Ok(Coded {
        input,
        values,
        labels: raw.y.clone(),
        per_frame: codes.len() / raw.frames(),
    })
}
