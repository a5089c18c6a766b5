//! Running a lowered graph on batches of frames, in parallel over chunks of frames.

use crate::intmat::IntMatMulPlan;
use crate::layout::{Buf, Frames, Geometry};
use crate::matmul::MatMulPlan;
use crate::ops::{flatten, maxpool, scores, ThresholdPlan};
use crate::split::SplitPlan;
use crate::stream;
use rayon::prelude::*;
use xnorc_compiler::ir::{Graph, NodeId, Op, ValueType};

/// Why a simulation cannot run.
#[derive(Debug, thiserror::Error, miette::Diagnostic, PartialEq, Eq)]
#[diagnostic(
    code(xnorc::frames),
    help("`xnorc inspect MODEL` shows the input the model takes: its shape, type and range")
)]
pub enum SimError {
    /// The graph still has float epilogues (run `passes::lower`).
    #[error("node \"{0}\" is an unfolded `binarize`; lower the model before simulating")]
    Unfolded(String),
    /// The input array does not hold a whole number of frames.
    #[error("input holds {values} values, not a multiple of the {per_frame} values of one frame")]
    InputLength {
        /// Values given.
        values: usize,
        /// Values per frame.
        per_frame: usize,
    },
    /// The input's element type does not match the model's input.
    #[error("the model's input is {expected}; these frames are {got}")]
    InputType {
        /// What the model takes.
        expected: &'static str,
        /// What was given.
        got: &'static str,
    },
    /// An input value is outside the input's declared range.
    #[error("input value {value} at frame {frame}, element {element} is outside [{min}, {max}]")]
    InputRange {
        /// Frame index.
        frame: usize,
        /// Element index within the frame (logical order).
        element: usize,
        /// The value.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
}

enum Plan {
    Input,
    MatMul(MatMulPlan),
    IntMatMul(IntMatMulPlan),
    Threshold(ThresholdPlan),
    MaxPool,
    Flatten,
    Output,
    /// The residual stream's ops, computed from the node's own op.
    Stream,
}

/// Class scores and predictions for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    /// Classes per frame.
    pub classes: usize,
    /// Scores, frame-major: `frames × classes`.
    pub scores: Vec<i64>,
    /// Predicted class per frame: the lowest index among the highest scores.
    pub argmax: Vec<usize>,
}

/// One node's values for a batch, in logical order (for dumps and debugging).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeValues {
    /// The node.
    pub node: NodeId,
    /// Frame shape (without the batch dimension).
    pub dims: Vec<usize>,
    /// True for binary values, given as the stored bit (0 = −1, 1 = +1).
    pub bits: bool,
    /// `frames × numel` values.
    pub values: Vec<i64>,
}

/// The bit-exact reference simulator for one lowered graph.
pub struct Simulator {
    graph: Graph,
    plans: Vec<Plan>,
    /// The last node reading each node's output (buffers are dropped after it).
    last_use: Vec<usize>,
    /// Frames per parallel work item, sized so a chunk's largest buffer stays cache-friendly.
    chunk: usize,
}

/// Bytes the largest buffer of one chunk may take: below glibc's mmap threshold (128 KiB),
/// so chunk buffers come from the heap instead of fresh zeroed pages each time.
const CHUNK_BYTES: usize = 96 << 10;

impl Simulator {
    /// Prepares a lowered graph (see `xnorc_compiler::passes::lower`).
    pub fn new(graph: Graph) -> Result<Self, SimError> {
        let mut plans = Vec::with_capacity(graph.nodes.len());
        for id in graph.ids() {
            let node = graph.node(id);
            plans.push(match &node.op {
                Op::Input => Plan::Input,
                Op::MatMul(m) if m.weights.is_int() => {
                    Plan::IntMatMul(IntMatMulPlan::new(m, graph.operand(id, 0), node.shape))
                }
                Op::MatMul(m) => Plan::MatMul(MatMulPlan::new(m, graph.operand(id, 0), node.shape)),
                Op::Binarize(_) => return Err(SimError::Unfolded(node.name.clone())),
                Op::Threshold(t) => {
                    let producer = graph.operand(id, 0);
                    let split = match &producer.op {
                        Op::MatMul(m) => {
                            SplitPlan::new(t, m, graph.operand(node.inputs[0], 0), producer.shape)
                        }
                        _ => None,
                    };
                    Plan::Threshold(ThresholdPlan::new(t, split))
                }
                Op::MaxPool(_) => Plan::MaxPool,
                Op::Flatten => Plan::Flatten,
                Op::Output(_) => Plan::Output,
                Op::Add(_)
                | Op::Affine(_)
                | Op::SumPool(_)
                | Op::MeanSign
                | Op::PadChannels { .. } => Plan::Stream,
            });
        }
        let mut last_use: Vec<usize> = (0..graph.nodes.len()).collect();
        for id in graph.ids() {
            for p in &graph.node(id).inputs {
                last_use[p.0] = last_use[p.0].max(id.0);
            }
            // Split channels read the layer's input as well as its sums.
            if let Some(layer_input) = split_layer_input(&graph, &plans, id) {
                last_use[layer_input.0] = last_use[layer_input.0].max(id.0);
            }
        }
        let largest = graph
            .nodes
            .iter()
            .map(|n| match n.vtype {
                ValueType::Bits => Geometry::of(n.shape).words() * Geometry::of(n.shape).pixels * 8,
                ValueType::Int { .. } => n.shape.numel() * 8,
            })
            .max()
            .unwrap_or(8);
        let chunk = (CHUNK_BYTES / largest).clamp(1, 256);
        Ok(Simulator {
            graph,
            plans,
            last_use,
            chunk,
        })
    }

    /// The graph being simulated.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Values per input frame.
    pub fn frame_len(&self) -> usize {
        self.graph.input_node().shape.numel()
    }

    /// Checks the length, type and range of input frames; returns the frame count.
    /// Binary inputs are given as stored bits (0 or 1) in [`Frames::U8`].
    pub fn check_input(&self, input: Frames<'_>) -> Result<usize, SimError> {
        let per_frame = self.frame_len();
        if !input.len().is_multiple_of(per_frame) {
            return Err(SimError::InputLength {
                values: input.len(),
                per_frame,
            });
        }
        let (min, max) = match self.graph.input_node().vtype {
            ValueType::Bits => (0, 1),
            ValueType::Int { min, max } => (min, max),
        };
        let signed = min < 0;
        if signed != matches!(input, Frames::I8(_)) {
            let name = |s: bool| if s { "int8" } else { "uint8" };
            return Err(SimError::InputType {
                expected: name(signed),
                got: name(!signed),
            });
        }
        // Bytes cannot leave [-128, 255]; only narrower ranges (binary 0/1) need a scan.
        if let (Frames::U8(d), true) = (input, max < 255) {
            // A vectorizable maximum first; the position only on failure.
            let largest = d.iter().copied().max().unwrap_or(0) as i64;
            if largest > max {
                let i = d
                    .iter()
                    .position(|&v| v as i64 > max)
                    .expect("the maximum is out of range");
                return Err(SimError::InputRange {
                    frame: i / per_frame,
                    element: i % per_frame,
                    value: d[i] as i64,
                    min,
                    max,
                });
            }
        }
        Ok(input.len() / per_frame)
    }

    /// Runs every frame; `progress` is called with the number of frames just finished.
    pub fn run_with_progress(
        &self,
        input: Frames<'_>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Results, SimError> {
        let frames = self.check_input(input)?;
        let per_frame = self.frame_len();
        let classes = self.graph.classes();
        let mut all_scores = vec![0i64; frames * classes];
        all_scores
            .par_chunks_mut(self.chunk * classes)
            .enumerate()
            .for_each(|(i, out)| {
                let n = out.len() / classes.max(1);
                let first = i * self.chunk * per_frame;
                let x = input.slice(first, first + n * per_frame);
                let bufs = self.run_chunk(n, x, false);
                let Some(Buf::Int(s)) = &bufs[self.graph.output.0] else {
                    unreachable!("output buffer is kept")
                };
                out.copy_from_slice(s);
                progress(n);
            });
        let argmax = all_scores.chunks(classes.max(1)).map(argmax).collect();
        Ok(Results {
            classes,
            scores: all_scores,
            argmax,
        })
    }

    /// Runs every frame.
    pub fn run(&self, input: Frames<'_>) -> Result<Results, SimError> {
        self.run_with_progress(input, &|_| {})
    }

    /// Every node's output for every frame, in logical order. Meant for a handful of frames.
    pub fn trace(&self, input: Frames<'_>) -> Result<Vec<NodeValues>, SimError> {
        let frames = self.check_input(input)?;
        let bufs = self.run_chunk(frames, input, true);
        Ok(self
            .graph
            .ids()
            .map(|id| {
                let node = self.graph.node(id);
                let buf = bufs[id.0].as_ref().expect("trace keeps every buffer");
                NodeValues {
                    node: id,
                    dims: node.shape.dims(),
                    bits: node.vtype == ValueType::Bits,
                    values: buf.to_logical(frames, Geometry::of(node.shape)),
                }
            })
            .collect())
    }

    /// XOR/AND-popcount words one frame needs (bit planes counted), for the popcount bound.
    pub fn popcount_words_per_frame(&self) -> u64 {
        self.matmul_words(|_| true)
    }

    /// Those of [`Simulator::popcount_words_per_frame`] in layers summed directly on integers
    /// instead (few input channels: CNV's first layer), which the simulator does not popcount.
    pub fn direct_words_per_frame(&self) -> u64 {
        self.matmul_words(|m| m.sums_directly())
    }

    fn matmul_words(&self, counted: impl Fn(&MatMulPlan) -> bool) -> u64 {
        self.plans
            .iter()
            .map(|p| match p {
                Plan::MatMul(m) if counted(m) => m.words_per_frame(),
                _ => 0,
            })
            .sum()
    }

    /// Runs `frames` frames through the graph; keeps every buffer when `keep_all`, else only
    /// the output's.
    fn run_chunk(&self, frames: usize, input: Frames<'_>, keep_all: bool) -> Vec<Option<Buf>> {
        let g = &self.graph;
        let mut bufs: Vec<Option<Buf>> = vec![None; g.nodes.len()];
        for id in g.ids() {
            let node = g.node(id);
            let geometry = Geometry::of(node.shape);
            let operand = || {
                bufs[node.inputs[0].0]
                    .as_ref()
                    .expect("producer ran and its buffer is live")
            };
            let out = match &self.plans[id.0] {
                Plan::Input => Buf::from_frames(input, frames, geometry, node.vtype),
                Plan::MatMul(m) => m.run(frames, operand()),
                Plan::IntMatMul(m) => m.run(frames, operand()),
                Plan::Stream => {
                    let input = |i: usize| {
                        bufs[node.inputs[i].0]
                            .as_ref()
                            .expect("producer ran and its buffer is live")
                    };
                    match &node.op {
                        Op::Add(op) => stream::add(op, input(0), input(1)),
                        Op::Affine(op) => stream::affine(op, geometry, input(0)),
                        Op::SumPool(op) => stream::sumpool(
                            op,
                            frames,
                            g.operand(id, 0).shape,
                            node.shape,
                            input(0),
                        ),
                        Op::MeanSign => stream::meansign(frames, geometry, input(0)),
                        &Op::PadChannels { before, after } => {
                            stream::pad_channels(before, after, frames, geometry, input(0))
                        }
                        _ => unreachable!("stream plans are made for stream ops"),
                    }
                }
                Plan::Threshold(t) => {
                    let layer_input = split_layer_input(g, &self.plans, id).map(|i| {
                        bufs[i.0]
                            .as_ref()
                            .expect("the layer's input is kept for split channels")
                    });
                    t.run(frames, geometry, operand(), layer_input)
                }
                Plan::MaxPool => {
                    let Op::MaxPool(p) = &node.op else {
                        unreachable!()
                    };
                    maxpool(p, frames, g.operand(id, 0).shape, node.shape, operand())
                }
                Plan::Flatten => flatten(frames, Geometry::of(g.operand(id, 0).shape), operand()),
                Plan::Output => {
                    let Op::Output(s) = &node.op else {
                        unreachable!()
                    };
                    Buf::Int(scores(s, frames, node.shape.numel(), operand()))
                }
            };
            bufs[id.0] = Some(out);
            if !keep_all {
                for p in &node.inputs {
                    if self.last_use[p.0] == id.0 {
                        bufs[p.0] = None;
                    }
                }
            }
        }
        bufs
    }
}

/// The input node of the layer before threshold node `id`, when that threshold has split
/// channels (which read it).
fn split_layer_input(graph: &Graph, plans: &[Plan], id: NodeId) -> Option<NodeId> {
    match &plans[id.0] {
        Plan::Threshold(t) if t.split.is_some() => {
            Some(graph.node(graph.node(id).inputs[0]).inputs[0])
        }
        _ => None,
    }
}

/// Index of the highest score, the lowest such index on ties (as NumPy's argmax).
pub fn argmax(scores: &[i64]) -> usize {
    let mut best = 0;
    for (i, &s) in scores.iter().enumerate() {
        if s > scores[best] {
            best = i;
        }
    }
    best
}
