//! Calibrated import: fixed-point formats for the tensors a trained graph leaves unquantized.
//!
//! A residual network may add a BatchNorm's float output to its shortcut with no quantizer in
//! between. No integer graph equals that float sum, so the plain import refuses it. With
//! sample frames the user opts into an approximation, and nothing about it is silent:
//!
//! 1. the trace runs the float graph on every frame (each tensor a constant, every layer folded
//!    in float32 — `eval`) and records the largest magnitude of every operand of an `Add` and
//!    every input of an average;
//! 2. each such tensor gets a signed fixed-point format: `bits` bits and the least power-of-two
//!    scale whose codes hold the largest magnitude seen (larger values saturate);
//! 3. the import runs again and, where a join or an average reads a tensor that is not on a
//!    fixed-point grid, quantizes it to its format (a round-half-even `Quant`, as Brevitas'
//!    would be) before it; every other tensor is imported exactly as without calibration;
//! 4. the caller compares the integer model with the float graph's outputs on the same frames
//!    (`Calibration::float_outputs`) and reports how far apart they are.

use super::{display_name, topological, Importer};
use crate::error::{ModelError, Result};
use crate::format::ModelFile;
use crate::import::onnx::{self, GraphProto};
use crate::import::qonnx::values::{Const, Val};
use crate::sanitize::printable;
use std::collections::HashMap;
use std::path::Path;

/// Widest calibrated format: the affine that quantizes to it must be exact, and the stream
/// stays a 16-bit integer.
pub const MAX_BITS: u32 = 16;

/// A signed fixed-point format chosen from calibration frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedFormat {
    /// Bits of the signed codes.
    pub bits: u32,
    /// The value of one code step (a power of two).
    pub scale: f32,
    /// The largest magnitude the frames gave the tensor.
    pub max_abs: f32,
}

impl FixedFormat {
    /// `bits`-bit codes with the least power-of-two scale that holds `max_abs`.
    pub fn holding(max_abs: f32, bits: u32) -> FixedFormat {
        let top = ((1u64 << (bits - 1)) - 1) as f64;
        let e = if max_abs > 0.0 {
            (max_abs as f64 / top).log2().ceil() as i32
        } else {
            0
        };
        // A float32 power of two: e within float32's normal exponents.
        let scale = 2f64.powi(e.clamp(-126, 127)) as f32;
        FixedFormat {
            bits,
            scale,
            max_abs,
        }
    }
}

/// A tensor the import quantized to a calibrated format.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibratedTensor {
    /// The ONNX tensor.
    pub tensor: String,
    /// The xnorc node that quantizes it.
    pub node: String,
    /// The largest magnitude the frames gave it.
    pub max_abs: f32,
    /// Bits of its codes.
    pub bits: u32,
    /// Its scale (a power of two).
    pub scale: f32,
}

/// What calibration chose, and the float graph's outputs to compare the model with.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// The tensors quantized to calibrated formats (empty when the graph needed none).
    pub tensors: Vec<CalibratedTensor>,
    /// The float graph's output per frame (float32, flattened).
    pub float_outputs: Vec<Vec<f32>>,
}

/// Reads an ONNX file and imports it with formats calibrated on `frames` (each the graph
/// input's elements without the batch axis, row-major). Errors name the file.
pub fn load(path: &Path, frames: &[Vec<f32>], bits: u32) -> Result<(ModelFile, Calibration)> {
    let (bytes, stem, shown) = super::read(path)?;
    import(&bytes, &stem, frames, bits).map_err(|e| e.in_file(&shown))
}

/// The shape of one frame of the graph's float input (without the batch axis), which
/// calibration frames must have. Errors name the file.
pub fn frame_shape(path: &Path) -> Result<Vec<usize>> {
    let (bytes, _, shown) = super::read(path)?;
    let model = onnx::parse_model(&bytes).map_err(|e| e.in_file(&shown))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ModelError::new("the ONNX model has no graph").in_file(&shown))?;
    Ok(Importer::new(graph)
        .map_err(|e| e.in_file(&shown))?
        .float_input
        .1)
}

/// Imports ONNX bytes as `name` with formats calibrated on `frames`.
pub fn import(
    bytes: &[u8],
    name: &str,
    frames: &[Vec<f32>],
    bits: u32,
) -> Result<(ModelFile, Calibration)> {
    if !(2..=MAX_BITS).contains(&bits) {
        return Err(ModelError::new(format!(
            "calibrated formats of {bits} bits; xnorc takes 2 to {MAX_BITS}"
        )));
    }
    if frames.is_empty() {
        return Err(ModelError::new(
            "no calibration frames; give at least one frame of the graph's input",
        ));
    }
    let model = onnx::parse_model(bytes)
        .map_err(|e| e.with_hint("export with brevitas.export.export_qonnx or onnx.save"))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| ModelError::new("the ONNX model has no graph"))?;
    let order = topological(graph)?;
    let mut maxima: HashMap<String, f32> = HashMap::new();
    let mut float_outputs = Vec::with_capacity(frames.len());
    for (f, frame) in frames.iter().enumerate() {
        let (output, probes) = trace(graph, &order, frame).map_err(|mut e| {
            e.message = format!(
                "the calibration trace (the float graph on frame {f}) stopped: {}",
                e.message
            );
            e
        })?;
        float_outputs.push(output);
        for (tensor, m) in probes {
            let e = maxima.entry(tensor).or_insert(0.0);
            *e = e.max(m);
        }
    }
    let mut importer = Importer::new(graph)?;
    importer.formats = maxima
        .into_iter()
        .map(|(t, m)| (t, FixedFormat::holding(m, bits)))
        .collect();
    for node in &order {
        importer
            .node(node)
            .map_err(|e| e.at_node(display_name(node)))?;
    }
    let tensors = std::mem::take(&mut importer.calibrated);
    let nodes = importer.finish(graph)?;
    let file = ModelFile {
        name: name.to_string(),
        metadata: super::metadata(&model, name),
        nodes,
    };
    Ok((
        file,
        Calibration {
            tensors,
            float_outputs,
        },
    ))
}

/// The float graph on one frame: its output and the largest magnitude of each probed tensor.
fn trace(
    graph: &GraphProto,
    order: &[&crate::import::onnx::NodeProto],
    frame: &[f32],
) -> Result<(Vec<f32>, HashMap<String, f32>)> {
    let mut importer = Importer::new(graph)?;
    let input = importer.float_input.0.clone();
    let mut shape = vec![1];
    shape.extend(&importer.float_input.1);
    let numel: usize = shape.iter().product();
    if frame.len() != numel {
        return Err(ModelError::new(format!(
            "a frame of {} values; the graph input \"{}\" takes {numel} ({shape:?})",
            frame.len(),
            printable(&input)
        )));
    }
    if let Some(i) = frame.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::new(format!(
            "element {i} is {}; frames must be finite",
            frame[i]
        )));
    }
    importer
        .vals
        .insert(input, Val::Const(Const::f32(shape, frame.to_vec())));
    importer.probes = Some(HashMap::new());
    for node in order {
        importer
            .node(node)
            .map_err(|e| e.at_node(display_name(node)))?;
    }
    let output = graph
        .output
        .first()
        .ok_or_else(|| ModelError::new("the graph has no output"))?;
    let values = match importer.vals.get(output.name()) {
        Some(Val::Const(c)) => c.as_f32(),
        _ => {
            return Err(ModelError::new(format!(
                "graph output \"{}\" is not computed from the input",
                printable(output.name())
            )))
        }
    };
    Ok((values, importer.probes.take().unwrap_or_default()))
}

impl Importer {
    /// In the calibration trace, records the largest magnitude of `node`'s input `i`.
    pub(crate) fn probe(&mut self, node: &crate::import::onnx::NodeProto, i: usize, c: &Const) {
        let Some(probes) = self.probes.as_mut() else {
            return;
        };
        let Some(tensor) = node.input.get(i) else {
            return;
        };
        let m = c.values.iter().fold(0f64, |m, v| m.max(v.abs())) as f32;
        let e = probes.entry(tensor.clone()).or_insert(0.0);
        *e = e.max(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_hold_the_largest_magnitude_in_the_least_power_of_two() {
        // 8 bits: codes up to 127. 3.0 / 127 needs 2^−5 (127/32 = 3.97); 3.97 still fits.
        assert_eq!(FixedFormat::holding(3.0, 8).scale, 1.0 / 32.0);
        assert_eq!(FixedFormat::holding(127.0 / 32.0, 8).scale, 1.0 / 32.0);
        assert_eq!(FixedFormat::holding(4.0, 8).scale, 1.0 / 16.0);
        assert_eq!(FixedFormat::holding(0.0, 8).scale, 1.0);
        assert_eq!(FixedFormat::holding(1000.0, 4).scale, 256.0);
    }
}
