//! The simulator's throughput against a popcount bound measured in the same run (so the ratio
//! holds on a noisy machine), and the model load time.

use crate::input::{DataError, InputData};
use crate::Simulator;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;
use xnorc_compiler::ir::ValueType;
use xnorc_compiler::{format, passes};

/// What `xnorc bench` measured (its `--json` output; field order is key order).
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Model name.
    pub model: String,
    /// Frames per timed run.
    pub frames: usize,
    /// Rayon threads.
    pub threads: usize,
    /// Best run's wall time.
    pub seconds: f64,
    /// Frames per second of the best run.
    pub frames_per_second: f64,
    /// XOR+popcount words the model needs per frame in its popcount form.
    pub popcount_words_per_frame: u64,
    /// Of those, the words of layers the simulator sums directly on integers instead (few
    /// input channels); the bound still counts them, as a popcount simulator needs them.
    pub direct_words_per_frame: u64,
    /// What this machine does in XOR+popcount words per second.
    pub xor_popcount_words_per_second: f64,
    /// The machine's rate over the words per frame.
    pub popcount_bound_frames_per_second: f64,
    /// Frames per second over the bound.
    pub ratio_to_bound: f64,
    /// Bytes of the model file.
    pub model_bytes: usize,
    /// Best of 20 loads (parse, validate, fold), in ms.
    pub model_load_ms: f64,
}

/// Loads the model file's bytes (best of 20) and runs the simulator `repeats` times over
/// `frames` frames, the best run counted.
pub fn measure(text: &[u8], frames: usize, repeats: usize) -> Result<BenchReport, DataError> {
    // Model load = parse + validate + fold, from the file's bytes; best of 20.
    let mut load_seconds = f64::INFINITY;
    let mut graph = None;
    for _ in 0..20 {
        let start = Instant::now();
        let g = passes::lower(&format::parse(text)?)?;
        load_seconds = load_seconds.min(start.elapsed().as_secs_f64());
        graph = Some(g);
    }
    let graph = graph.expect("loaded at least once");
    let node = graph.input_node();
    let per_frame = node.shape.numel();
    let (lo, hi) = match node.vtype {
        ValueType::Bits => (0, 1),
        ValueType::Int { min, max } => (min, max),
    };
    let name = graph.name.clone();
    let sim = Simulator::new(graph)?;
    // A pool of distinct frames, repeated up to `frames` (generating 784M random values
    // would dominate the benchmark's own run time).
    let pool = 4096.min(frames.max(1));
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let distinct: Vec<i64> = (0..pool * per_frame)
        .map(|_| rng.gen_range(lo..=hi))
        .collect();
    let values = distinct.iter().copied().cycle().take(frames * per_frame);
    let input = if lo < 0 {
        InputData::I8(values.map(|v| v as i8).collect())
    } else {
        InputData::U8(values.map(|v| v as u8).collect())
    };
    let threads = rayon::current_num_threads();
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let r = sim.run(input.frames())?;
        std::hint::black_box(&r);
        best = best.min(start.elapsed().as_secs_f64());
    }
    let fps = frames as f64 / best;
    let words = sim.popcount_words_per_frame();
    let rate = crate::xor_popcount_rate(threads, 0.5);
    let bound = rate / words as f64;
    Ok(BenchReport {
        model: name,
        frames,
        threads,
        seconds: best,
        frames_per_second: fps,
        popcount_words_per_frame: words,
        direct_words_per_frame: sim.direct_words_per_frame(),
        xor_popcount_words_per_second: rate,
        popcount_bound_frames_per_second: bound,
        ratio_to_bound: fps / bound,
        model_bytes: text.len(),
        model_load_ms: load_seconds * 1e3,
    })
}
