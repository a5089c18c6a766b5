//! Architectures a network trains with: the input encoding and the layer list, as presets.
//!
//! Every matrix layer but the last is followed by BatchNorm and a sign (the BinaryNet block);
//! the last layer's integer scores are the class scores. Shapes come from the dataset's frame
//! shape, so one preset serves MNIST's 28×28 and the 8×8 digits alike.

use crate::error::TrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// How a float frame (pixels in [0, 1]) becomes the network's integer input. The model file
/// records the same map (`input.from_float`), so `xnorc simulate` takes the float frames too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputCoding {
    /// One bit per pixel: 2x − 1 ≥ 0 (Brevitas bnn_pynq's 1-bit input), ±1 to the first layer.
    /// `"bits"` in a spec file.
    #[serde(rename = "bits")]
    Bipolar,
    /// 8-bit codes: round(x · 255), 0..=255 to the first layer (FINN CNV's 8-bit input).
    Uint8,
}

/// What a padded tap of a convolution is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PadMode {
    /// 0: the tap adds nothing (PyTorch, Larq).
    #[default]
    Zero,
    /// −1 (FINN's padding of binary maps); the layer's input must be binary.
    MinusOne,
}

fn one() -> usize {
    1
}

/// One layer of an architecture; in a spec file `{"dense": {"out": 64}}`,
/// `{"conv": {"out": 16, "kernel": 3, "stride": 1, "pad": 1, "pad_mode": "zero"}}` (stride 1,
/// pad 0 and zero padding by default) or `{"max_pool": {"kernel": 2}}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Layer {
    /// Fully connected binary layer with `out` outputs (a map input is flattened first).
    Dense {
        /// Output features.
        out: usize,
    },
    /// Square binary convolution, padded with zeros (a padded tap adds 0).
    Conv {
        /// Output channels.
        out: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        #[serde(default = "one")]
        stride: usize,
        /// Padding on every side.
        #[serde(default)]
        pad: usize,
        /// What a padded tap is.
        #[serde(default)]
        pad_mode: PadMode,
    },
    /// Max-pool of the preceding sign activations (square window, stride = window).
    MaxPool {
        /// Window size.
        kernel: usize,
    },
}

/// A named architecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arch {
    /// Preset name, written into the model's provenance.
    pub name: String,
    /// Input encoding.
    pub input: InputCoding,
    /// Layers in order; the last is a `Dense` whose outputs are the classes.
    pub layers: Vec<Layer>,
}

/// A matrix layer as the export names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixLayer {
    /// `fc1`…, `conv1`…, as the model file names the layer.
    pub name: String,
    /// Its weight count.
    pub weights: usize,
    /// Whether it is a 3×3 convolution (a codebook's kernel shape).
    pub is_3x3: bool,
}

/// A preset: name, what it is, and its layers before the class layer.
struct Preset {
    name: &'static str,
    description: &'static str,
    input: InputCoding,
    hidden: fn() -> Vec<Layer>,
}

fn dense(widths: &[usize]) -> Vec<Layer> {
    widths.iter().map(|&out| Layer::Dense { out }).collect()
}

fn conv(out: usize, pad: usize) -> Layer {
    Layer::Conv {
        out,
        kernel: 3,
        stride: 1,
        pad,
        pad_mode: PadMode::Zero,
    }
}

/// An architecture without its class layer: a preset, or a spec file's
/// `{"name": "…", "input": "bits" | "uint8", "layers": [...]}`. The class layer (a dense layer
/// with one output per class of the data) is appended to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchSpec {
    /// Name, written into the model.
    pub name: String,
    /// Input encoding.
    pub input: InputCoding,
    /// Layers before the class layer.
    pub layers: Vec<Layer>,
}

impl ArchSpec {
    /// The preset `name`.
    pub fn preset(name: &str) -> Result<ArchSpec, TrainError> {
        let preset = PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
            TrainError::Input(format!(
                "unknown architecture `{name}`; the presets are {}, or give a spec file \
                 (name.json, docs/training.md)",
                Arch::names().join(", ")
            ))
        })?;
        Ok(ArchSpec {
            name: preset.name.to_string(),
            input: preset.input,
            layers: (preset.hidden)(),
        })
    }

    /// `--arch`: a preset's name, or the path of a spec file (one ending in `.json`).
    pub fn resolve(arg: &str) -> Result<ArchSpec, TrainError> {
        if arg.ends_with(".json") {
            Self::read(Path::new(arg))
        } else {
            Self::preset(arg)
        }
    }

    /// Reads and checks a spec file.
    pub fn read(path: &Path) -> Result<ArchSpec, TrainError> {
        let bad = |why: String| TrainError::Input(format!("{}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let spec: ArchSpec = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not an architecture spec ({e}); see docs/training.md"
            ))
        })?;
        for (i, layer) in spec.layers.iter().enumerate() {
            let zero = match *layer {
                Layer::Dense { out } => (out == 0).then_some("dense.out"),
                Layer::Conv {
                    out,
                    kernel,
                    stride,
                    ..
                } => [
                    (out, "conv.out"),
                    (kernel, "conv.kernel"),
                    (stride, "conv.stride"),
                ]
                .into_iter()
                .find(|(v, _)| *v == 0)
                .map(|(_, f)| f),
                Layer::MaxPool { kernel } => (kernel == 0).then_some("max_pool.kernel"),
            };
            if let Some(field) = zero {
                return Err(bad(format!("layers[{i}]: {field} must be at least 1")));
            }
            let minus_one = matches!(
                layer,
                Layer::Conv {
                    pad_mode: PadMode::MinusOne,
                    pad: 1..,
                    ..
                }
            );
            if minus_one && i == 0 && spec.input == InputCoding::Uint8 {
                return Err(bad(format!(
                    "layers[{i}]: pad_mode minus_one pads binary maps only, and this layer \
                     takes the 8-bit input; use \"zero\""
                )));
            }
        }
        Ok(spec)
    }
}

const PRESETS: &[Preset] = &[
    Preset {
        name: "tfc",
        description: "FINN TFC-w1a1: binary MLP 64-64-64 on 1-bit input, then the classes",
        input: InputCoding::Bipolar,
        hidden: || dense(&[64, 64, 64]),
    },
    Preset {
        name: "sfc",
        description: "FINN SFC-w1a1: binary MLP 256-256-256 on 1-bit input",
        input: InputCoding::Bipolar,
        hidden: || dense(&[256, 256, 256]),
    },
    Preset {
        name: "lfc",
        description: "FINN LFC-w1a1: binary MLP 1024-1024-1024 on 1-bit input",
        input: InputCoding::Bipolar,
        hidden: || dense(&[1024, 1024, 1024]),
    },
    Preset {
        name: "cnv-small",
        description: "8-bit input, 3x3 convs 16 (padded), 16 (padded), pool, 32, pool, dense 64 \
                      (xnorc's cnv-small shape)",
        input: InputCoding::Uint8,
        hidden: || {
            vec![
                conv(16, 1),
                conv(16, 1),
                Layer::MaxPool { kernel: 2 },
                conv(32, 0),
                Layer::MaxPool { kernel: 2 },
                Layer::Dense { out: 64 },
            ]
        },
    },
    Preset {
        name: "cnv",
        description: "FINN CNV-w1a1: 8-bit input, unpadded 3x3 convs 64-64-pool-128-128-pool-\
                      256-256, dense 512-512 (needs frames of 32x32 pixels or more, as CIFAR-10's)",
        input: InputCoding::Uint8,
        hidden: || {
            let mut layers = vec![conv(64, 0), conv(64, 0), Layer::MaxPool { kernel: 2 }];
            layers.extend([conv(128, 0), conv(128, 0), Layer::MaxPool { kernel: 2 }]);
            layers.extend([conv(256, 0), conv(256, 0)]);
            layers.extend(dense(&[512, 512]));
            layers
        },
    },
];

impl Arch {
    /// The preset `name` with `classes` outputs.
    pub fn preset(name: &str, classes: usize) -> Result<Arch, TrainError> {
        Ok(Self::new(&ArchSpec::preset(name)?, classes))
    }

    /// `spec` with its class layer of `classes` outputs.
    pub fn new(spec: &ArchSpec, classes: usize) -> Arch {
        let mut layers = spec.layers.clone();
        layers.push(Layer::Dense { out: classes });
        Arch {
            name: spec.name.clone(),
            input: spec.input,
            layers,
        }
    }

    /// The dropout the architecture trains with unless told otherwise: 0.2 for the binary
    /// MLPs (Brevitas' bnn_pynq FC), none for the convolutional networks (bnn_pynq's CNV has
    /// none).
    pub fn default_dropout(&self) -> f32 {
        match self.layers[0] {
            Layer::Dense { .. } => 0.2,
            _ => 0.0,
        }
    }

    /// The preset names, in the order `--help` lists them.
    pub fn names() -> Vec<&'static str> {
        PRESETS.iter().map(|p| p.name).collect()
    }

    /// Each preset's name and description.
    pub fn descriptions() -> Vec<(&'static str, &'static str)> {
        PRESETS.iter().map(|p| (p.name, p.description)).collect()
    }

    /// Every matrix layer for frames of `frame`, in order: its name in the exported model
    /// (`fc1`…, `conv1`…), its weight count and whether it is a 3×3 convolution.
    pub fn matrices(&self, frame: &[usize]) -> Result<Vec<MatrixLayer>, TrainError> {
        let shapes = self.shapes(frame)?;
        let (mut fcs, mut convs) = (0, 0);
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let input = if i == 0 { frame } else { &shapes[i - 1] };
            let (name, weights, is_3x3) = match *layer {
                Layer::Dense { out } => {
                    fcs += 1;
                    (
                        format!("fc{fcs}"),
                        out * input.iter().product::<usize>(),
                        false,
                    )
                }
                Layer::Conv { out, kernel, .. } => {
                    convs += 1;
                    (
                        format!("conv{convs}"),
                        out * input[0] * kernel * kernel,
                        kernel == 3,
                    )
                }
                Layer::MaxPool { .. } => continue,
            };
            out.push(MatrixLayer {
                name,
                weights,
                is_3x3,
            });
        }
        Ok(out)
    }

    /// The shape after every layer for a frame of `frame` (`[c, h, w]`), or an error naming the
    /// layer whose output would be empty.
    pub fn shapes(&self, frame: &[usize]) -> Result<Vec<Vec<usize>>, TrainError> {
        let mut shape = frame.to_vec();
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            shape = match *layer {
                Layer::Dense { out } => vec![out],
                Layer::Conv {
                    out,
                    kernel,
                    stride,
                    pad,
                    ..
                } => {
                    let [_, h, w] = map_dims(&shape, self, i)?;
                    let side = |d: usize| (d + 2 * pad).checked_sub(kernel).map(|s| s / stride + 1);
                    match (side(h), side(w)) {
                        (Some(h), Some(w)) if h > 0 && w > 0 => vec![out, h, w],
                        _ => return Err(too_small(self, i, &shape)),
                    }
                }
                Layer::MaxPool { kernel } => {
                    let [c, h, w] = map_dims(&shape, self, i)?;
                    if h < kernel || w < kernel {
                        return Err(too_small(self, i, &shape));
                    }
                    vec![c, h / kernel, w / kernel]
                }
            };
            out.push(shape.clone());
        }
        Ok(out)
    }
}

fn map_dims(shape: &[usize], arch: &Arch, i: usize) -> Result<[usize; 3], TrainError> {
    match *shape {
        [c, h, w] => Ok([c, h, w]),
        _ => Err(TrainError::Input(format!(
            "architecture `{}`: layer {} needs a C x H x W map but follows a dense layer",
            arch.name,
            i + 1
        ))),
    }
}

fn too_small(arch: &Arch, i: usize, shape: &[usize]) -> TrainError {
    TrainError::Input(format!(
        "architecture `{}`: layer {} ({:?}) leaves nothing of its {:?} input; the frames are \
         too small for this architecture (try tfc, or cnv-small)",
        arch.name,
        i + 1,
        arch.layers[i],
        shape
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cnv_small_on_mnist_ends_in_32_by_5_by_5() {
        let arch = Arch::preset("cnv-small", 10).unwrap();
        let shapes = arch.shapes(&[1, 28, 28]).unwrap();
        // Padded convs keep 28; pool 14; the unpadded conv (14 − 3) + 1 = 12; pool 6.
        assert_eq!(shapes[4], vec![32, 6, 6]);
        assert_eq!(shapes.last().unwrap(), &vec![10]);
    }

    #[test]
    fn cnv_refuses_digits_frames() {
        let arch = Arch::preset("cnv", 10).unwrap();
        let err = arch.shapes(&[1, 8, 8]).unwrap_err().to_string();
        assert!(err.contains("too small"), "{err}");
    }

    #[test]
    fn a_spec_file_reads_with_its_defaults_and_refuses_bad_fields() {
        let dir = std::env::temp_dir().join(format!("xnorc-arch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("net.json");
        let spec = r#"{"name": "mine", "input": "bits", "layers": [
            {"conv": {"out": 8, "kernel": 3, "pad": 1, "pad_mode": "minus_one"}},
            {"max_pool": {"kernel": 2}}, {"dense": {"out": 32}}]}"#;
        std::fs::write(&path, spec).unwrap();
        let read = ArchSpec::resolve(path.to_str().unwrap()).unwrap();
        assert_eq!(
            read.layers[0],
            Layer::Conv {
                out: 8,
                kernel: 3,
                stride: 1,
                pad: 1,
                pad_mode: PadMode::MinusOne
            }
        );
        std::fs::write(&path, spec.replace("\"bits\"", "\"uint8\"")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("net.json") && err.contains("minus_one"),
            "{err}"
        );
        std::fs::write(&path, spec.replace("\"out\": 32", "\"out\": 0")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(
            err.contains("layers[2]") && err.contains("dense.out"),
            "{err}"
        );
        std::fs::write(&path, spec.replace("kernel\": 2", "kernal\": 2")).unwrap();
        let err = ArchSpec::read(&path).unwrap_err().to_string();
        assert!(err.contains("kernal"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = Arch::preset("resnet-99", 10).unwrap_err().to_string();
        assert!(err.contains("tfc") && err.contains("cnv-small"), "{err}");
    }
}
