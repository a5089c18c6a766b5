//! Architectures a network trains with: the input encoding and the layer list, as presets.
//!
//! Every matrix layer but the last is followed by BatchNorm and a sign (the BinaryNet block);
//! the last layer's integer scores are the class scores. Shapes come from the dataset's frame
//! shape, so one preset serves MNIST's 28×28 and the 8×8 digits alike.

use crate::error::TrainError;

/// How a float frame (pixels in [0, 1]) becomes the network's integer input. The model file
/// records the same map (`input.from_float`), so `xnorc simulate` takes the float frames too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputCoding {
    /// One bit per pixel: 2x − 1 ≥ 0 (Brevitas bnn_pynq's 1-bit input), ±1 to the first layer.
    Bipolar,
    /// 8-bit codes: round(x · 255), 0..=255 to the first layer (FINN CNV's 8-bit input).
    Uint8,
}

/// One layer of an architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        stride: usize,
        /// Zero padding on every side.
        pad: usize,
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
        let preset = PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
            TrainError::Input(format!(
                "unknown architecture `{name}`; the presets are {}",
                Self::names().join(", ")
            ))
        })?;
        let mut layers = (preset.hidden)();
        layers.push(Layer::Dense { out: classes });
        Ok(Arch {
            name: preset.name.to_string(),
            input: preset.input,
            layers,
        })
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
    fn unknown_preset_lists_the_known_ones() {
        let err = Arch::preset("resnet-99", 10).unwrap_err().to_string();
        assert!(err.contains("tfc") && err.contains("cnv-small"), "{err}");
    }
}
