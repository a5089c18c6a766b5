//! Input data for the simulator: `.npy` frames checked against the model's input declaration
//! (or float32 frames through an imported model's input map), labels, random frames, float
//! argmax, and node dumps.

use crate::npy::{NpyArray, NpyError, NpyType};
use crate::{Frames, SimError, Simulator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use xnorc_compiler::fsutil::{create_dir, OutputError};
use xnorc_compiler::ir::{Graph, ValueType};

/// Why input data cannot be used or outputs cannot be written.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DataError {
    /// A `.npy` file cannot be read or parsed (bad input).
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::data::npy),
        help("write arrays with numpy.save: C order, little-endian bool, integer or float32")
    )]
    Npy(#[from] NpyError),
    /// The data do not fit the model (bad input): the message names the file.
    #[error("{}: {message}", path.display())]
    #[diagnostic(
        code(xnorc::data),
        help("`xnorc inspect MODEL` shows the input the model takes: its shape, type and range")
    )]
    Mismatch {
        /// The data file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The simulator refused the frames (bad input).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sim(#[from] SimError),
    /// The model is bad (file, node, field inside).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(#[from] xnorc_compiler::ModelError),
    /// A batch larger than [`MAX_BATCH_VALUES`] (bad input: an argument or a file's shape).
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::data::too_large),
        help("split the batch: run the command once per part")
    )]
    TooLarge(String),
    /// An output cannot be written: an unusable folder (bad input) or the machine's fault.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Output(#[from] OutputError),
}

impl DataError {
    /// True when the machine failed (a directory or file could not be written), false when the
    /// data are bad.
    pub fn is_machine_failure(&self) -> bool {
        matches!(self, DataError::Output(e) if !e.is_bad_path())
    }
}

fn mismatch(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Mismatch {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Writes `bytes` to `path` atomically (a failed run never leaves a partial file).
pub fn write_output(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    Ok(xnorc_compiler::fsutil::write_output(path, bytes)?)
}

/// Input frames owned in the byte type the model takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputData {
    /// Binary 0/1 or uint8.
    U8(Vec<u8>),
    /// int8.
    I8(Vec<i8>),
}

impl InputData {
    /// The frames as the simulator takes them.
    pub fn frames(&self) -> Frames<'_> {
        match self {
            InputData::U8(d) => Frames::U8(d),
            InputData::I8(d) => Frames::I8(d),
        }
    }

    /// Values `at..at + len`.
    pub fn slice(&self, at: usize, len: usize) -> Frames<'_> {
        match self {
            InputData::U8(v) => Frames::U8(&v[at..at + len]),
            InputData::I8(v) => Frames::I8(&v[at..at + len]),
        }
    }

    /// Keeps the first `len` values.
    pub fn truncate(&mut self, len: usize) {
        match self {
            InputData::U8(v) => v.truncate(len),
            InputData::I8(v) => v.truncate(len),
        }
    }
}

/// Reads the input batch and checks it against the model's input declaration. An imported
/// model also takes float32 frames shaped like its source graph's input, mapped to codes by its
/// input map exactly as the graph computes them.
pub fn read_input(path: &Path, graph: &Graph) -> Result<(usize, InputData), DataError> {
    let array = NpyArray::read(path)?;
    if array.dtype == NpyType::F32 {
        return map_float_input(path, graph, &array);
    }
    if array.dtype == NpyType::F64 && graph.input_map.is_some() {
        return Err(mismatch(
            path,
            "holds float64; the graph's float input takes float32 frames (convert with \
             x.astype(numpy.float32)), or the model's input codes",
        ));
    }
    let node = graph.input_node();
    let dims = node.shape.dims();
    if array.shape.len() != dims.len() + 1 || array.shape[1..] != dims[..] {
        return Err(mismatch(
            path,
            format!(
                "shape {:?} does not match the model input: expected [N, {}]",
                array.shape,
                dims.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let (allowed, hint): (&[NpyType], &str) = match node.vtype {
        ValueType::Bits => (&[NpyType::Bool, NpyType::U8], "bool or uint8 holding 0/1"),
        ValueType::Int { min: 0, max: 255 } => (&[NpyType::U8], "uint8"),
        ValueType::Int { .. } => (&[NpyType::I8], "int8"),
    };
    if !allowed.contains(&array.dtype) {
        // An imported model also reads float32 frames; say so.
        let float = match &graph.input_map {
            Some(_) => ", or float32 frames for the graph's float input",
            None => "",
        };
        return Err(mismatch(
            path,
            format!(
                "dtype {} does not match the model's {} input; expected {hint}{float}",
                array.dtype.name(),
                node.vtype.describe()
            ),
        ));
    }
    if node.vtype == ValueType::Bits {
        if let Some(i) = array.data.iter().position(|&v| v > 1) {
            let per = node.shape.numel();
            return Err(mismatch(
                path,
                format!(
                    "frame {}, element {} is {}; a binary input takes only 0 and 1",
                    i / per,
                    i % per,
                    array.data[i]
                ),
            ));
        }
    }
    let data = match array.dtype {
        NpyType::I8 => InputData::I8(array.data.iter().map(|&b| b as i8).collect()),
        _ => InputData::U8(array.data),
    };
    Ok((array.shape[0], data))
}

/// Float32 frames through the model's input map.
fn map_float_input(
    path: &Path,
    graph: &Graph,
    array: &NpyArray,
) -> Result<(usize, InputData), DataError> {
    let Some(map) = &graph.input_map else {
        return Err(mismatch(
            path,
            format!(
                "holds float32, but the model takes {} codes (only models imported from ONNX \
                 map float input)",
                graph.input_node().vtype.describe()
            ),
        ));
    };
    if array.shape.len() != map.shape.len() + 1 || array.shape[1..] != map.shape[..] {
        return Err(mismatch(
            path,
            format!(
                "shape {:?} does not match the graph's float input: expected [N, {}]",
                array.shape,
                map.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let values = array.to_f32().expect("float32 checked");
    let codes = map.codes(&values).map_err(|e| mismatch(path, e))?;
    let data = match graph.input_node().vtype {
        ValueType::Int { min, .. } if min < 0 => {
            InputData::I8(codes.iter().map(|&c| c as i8).collect())
        }
        _ => InputData::U8(codes.iter().map(|&c| c as u8).collect()),
    };
    Ok((array.shape[0], data))
}

/// Reads `frames` integer labels, each a class index in `0..classes`.
pub fn read_labels(path: &Path, frames: usize, classes: usize) -> Result<Vec<i64>, DataError> {
    let array = NpyArray::read(path)?;
    if array.shape != [frames] {
        return Err(mismatch(
            path,
            format!("labels shape {:?}, expected [{frames}]", array.shape),
        ));
    }
    let labels = array.to_i64().ok_or_else(|| {
        mismatch(
            path,
            format!("labels must be integers, not {}", array.dtype.name()),
        )
    })?;
    if let Some(i) = labels
        .iter()
        .position(|&l| l < 0 || l as u64 >= classes as u64)
    {
        return Err(mismatch(
            path,
            format!(
                "label {i} is {}; the model has {classes} classes, labelled 0 to {}",
                labels[i],
                classes.saturating_sub(1)
            ),
        ));
    }
    Ok(labels)
}

/// The most input values (frames × values per frame) one batch may hold: 2^27, 128 MiB of
/// bytes (and 1 GiB as the `i64` that [`random_values`] draws), a million MNIST frames.
pub const MAX_BATCH_VALUES: usize = 1 << 27;

/// The values of `n` frames of the model's input, refused beyond [`MAX_BATCH_VALUES`] before
/// anything is allocated.
pub fn batch_values(graph: &Graph, n: usize) -> Result<usize, DataError> {
    let per_frame = graph.input_node().shape.numel();
    n.checked_mul(per_frame)
        .filter(|&v| v <= MAX_BATCH_VALUES)
        .ok_or_else(|| {
            DataError::TooLarge(format!(
                "{n} frames of {per_frame} values are more than the {MAX_BATCH_VALUES} values \
                 (2^27) of one batch; at most {} frames of this model",
                MAX_BATCH_VALUES / per_frame.max(1)
            ))
        })
}

/// Uniformly random values over the model input's range, `n` frames, as `i64` with the `.npy`
/// type they are stored in (uint8 for binary and uint8 inputs, int8 otherwise): what
/// `xnorc random-input` writes.
///
/// This and [`random_frames`] draw from the same seeded generator in different ways (an `i64`
/// range here, the byte type there), so each command's seeds keep giving the frames they always
/// gave; they are kept side by side rather than merged, which would change one of the two.
pub fn random_values(graph: &Graph, n: usize, seed: u64) -> Result<(NpyType, Vec<i64>), DataError> {
    let len = batch_values(graph, n)?;
    let node = graph.input_node();
    let (dtype, lo, hi) = match node.vtype {
        ValueType::Bits => (NpyType::U8, 0, 1),
        ValueType::Int { min: 0, max: 255 } => (NpyType::U8, 0, 255),
        ValueType::Int { min, max } => (NpyType::I8, min, max),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values = (0..len).map(|_| rng.gen_range(lo..=hi)).collect();
    Ok((dtype, values))
}

/// `n` random frames for the model (the stream `xnorc verify` checks without `--input`): bits
/// 0/1, bytes over their whole type.
pub fn random_frames(graph: &Graph, n: usize, seed: u64) -> Result<InputData, DataError> {
    let len = batch_values(graph, n)?;
    let node = graph.input_node();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(match node.vtype {
        ValueType::Bits => InputData::U8((0..len).map(|_| rng.gen_range(0..=1)).collect()),
        ValueType::Int { min, .. } if min < 0 => {
            InputData::I8((0..len).map(|_| rng.gen()).collect())
        }
        ValueType::Int { .. } => InputData::U8((0..len).map(|_| rng.gen()).collect()),
    })
}

/// Writes every node's output for the first `frames` frames as `.npy` files into `dir`
/// (binary values as stored bits 0/1); returns how many nodes were written.
pub fn dump(
    dir: &Path,
    sim: &Simulator,
    input: Frames<'_>,
    frames: usize,
) -> Result<usize, DataError> {
    create_dir(dir)?;
    let per = sim.frame_len();
    let trace = sim.trace(input.slice(0, frames * per))?;
    for (i, nv) in trace.iter().enumerate() {
        let node = sim.graph().node(nv.node);
        let mut shape = vec![frames];
        shape.extend(&nv.dims);
        let dtype = if nv.bits { NpyType::U8 } else { NpyType::I64 };
        let file = dir.join(format!("{i:02}_{}.npy", node.ident));
        write_output(
            &file,
            &NpyArray::from_i64(dtype, shape, &nv.values).to_bytes(),
        )?;
    }
    Ok(trace.len())
}

/// The index of the largest value, the lowest on ties (NumPy's `argmax`; a NaN wins, as there).
pub fn argmax_f32(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if values[best].is_nan() {
            break;
        }
        if v.is_nan() || v > values[best] {
            best = i;
        }
    }
    best
}
