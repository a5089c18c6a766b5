//! The training loop: batches, steps, per-epoch metrics of the exported model, checkpoints.
//!
//! Every held-out accuracy the trainer reports is the exported model's, computed by xnorc's
//! reference simulator on the frames the model's input map codes — the number `xnorc simulate
//! --labels` prints for the written file, frame for frame. The float network's accuracy is
//! reported beside it, with the frames on which the two disagree (BatchNorm in float32 against
//! the folded thresholds, exact).

use crate::arch::{Arch, ArchSpec};
use crate::checkpoint::{Checkpoint, OptimState};
use crate::data::{code, Coded, Dataset};
use crate::error::TrainError;
use crate::export::layer_bits;
use crate::export::{model_file, Provenance};
use crate::method::{Hyper, Method};
use crate::net::{update_running, Forward, Layout, Params, Role, WeightForm};
use crate::optim::{Adam, Bop};
use crate::scheme::{refresh_codebook, siman_center_and_clamp};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;
use xnorc_compiler::format::ModelFile;
use xnorc_compiler::passes::lower;
use xnorc_compiler::progress::Progress;
use xnorc_sim::Simulator;

/// What a run trains, on what, and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Architecture (a preset's or a spec file's), without the class layer.
    pub arch: ArchSpec,
    /// Method.
    pub method: Method,
    /// Hyper-parameters.
    pub hyper: Hyper,
    /// Seed of the initialization and the batch order.
    pub seed: u64,
}

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch, from 1.
    pub epoch: usize,
    /// Mean training loss (cross-entropy) over the epoch's batches.
    pub loss: f64,
    /// Training accuracy of the float network during the epoch (batch statistics).
    pub train_accuracy: f64,
    /// Held-out accuracy of the exported model (the reference simulator).
    pub test_accuracy: f64,
    /// Held-out accuracy of the float network (running statistics).
    pub float_test_accuracy: f64,
    /// Held-out frames where the float network and the exported model predict differently.
    pub disagreements: usize,
    /// Binary weights flipped in the epoch (every method: sign changes of the weights used).
    pub flips: u64,
    /// Adam's learning rate in the epoch.
    pub lr: f64,
    /// Wall time of the epoch, training and evaluation.
    pub seconds: f64,
}

/// A finished run.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model file, with the final held-out accuracy in its metadata.
    pub model: ModelFile,
    /// Every epoch's figures (those before a resume included, from the checkpoint).
    pub history: Vec<EpochMetrics>,
    /// The exported model's class for every held-out frame.
    pub predictions: Vec<usize>,
    /// Held-out frames.
    pub test_frames: usize,
}

/// Where a run keeps its checkpoint and what it resumes from.
#[derive(Debug, Clone, Default)]
pub struct Persistence {
    /// Written after every epoch (atomically).
    pub checkpoint: Option<PathBuf>,
    /// A checkpoint to continue from.
    pub resume: Option<PathBuf>,
    /// Stop once this many epochs of the run are done (a checkpoint then holds the state to
    /// resume from): for machines that give a job limited time.
    pub stop_after: Option<usize>,
}

/// Everything a run holds between epochs.
struct State {
    params: Params,
    optim: Vec<OptimState>,
    history: Vec<EpochMetrics>,
}

/// Trains `settings` on `data`; `command` is recorded as the model's provenance.
pub fn train(
    data: &Dataset,
    settings: &Settings,
    command: &str,
    persistence: &Persistence,
    progress: &dyn Progress,
) -> Result<Trained, TrainError> {
    settings.hyper.check()?;
    let arch = Arch::new(&settings.arch, data.classes);
    let layout = settings
        .hyper
        .layout(settings.method, &arch.matrices(&data.frame)?)?;
    let mut rng = ChaCha8Rng::seed_from_u64(settings.seed);
    let mut params = Params::init(&arch, &data.frame, &layout, &mut rng);
    check_whole_filter_tiles(&arch, &params)?;
    if arch.levels() > 1 && layout.form == WeightForm::Magnitude {
        return Err(TrainError::Input(format!(
            "act_bits {}: siman binarizes against each frame's mean (`meansign`), which has \
             two levels; train multi-bit activations with another method",
            arch.act_bits
        )));
    }
    if layout.form == WeightForm::PlusMinusOne {
        // Flip optimizers own ±1 weights from the start (Bop's first step binarizes them).
        for m in params.matrices.iter_mut().filter(|m| !m.int8) {
            for w in &mut m.weight.data {
                *w = if *w >= 0.0 { 1.0 } else { -1.0 };
            }
        }
    }
    let provenance = |accuracy| Provenance {
        dataset: data.path.display().to_string(),
        command: command.to_string(),
        trained_with: format!(
            "xnorc train: {}{} ({} epochs, batch {}, seed {})",
            settings.method.name(),
            match arch.act_bits {
                1 => String::new(),
                b => format!(", {b}-bit activations"),
            },
            settings.hyper.epochs,
            settings.hyper.batch,
            settings.seed
        ),
        accuracy,
    };
    // The model as it stands, for the simulator's held-out accuracy.
    let export =
        |params: &Params| model_file(&arch, &data.frame, &layout, params, &provenance(None));
    // The input map comes from the model itself, so training codes frames as the model does.
    let graph = lower(&export(&params)?).map_err(|e| TrainError::Export(e.to_string()))?;
    let map = graph
        .input_map
        .as_ref()
        .expect("the export writes an input map");
    let vtype = graph.input_node().vtype;
    let train_set = code(&data.path, "train", &data.train, map, vtype)?;
    let test_set = code(&data.path, "test", &data.test, map, vtype)?;

    let mut state = State {
        optim: optim_states(&params, settings.method),
        params,
        history: Vec::new(),
    };
    if let Some(path) = &persistence.resume {
        let ck = Checkpoint::read(path)?;
        ck.check_matches(path, settings, data)?;
        (state.params, state.optim, state.history) = ck.restore(&state.params, path)?;
    }

    let device = burn_tensor::Device::flex().autodiff();
    let eval_device = burn_tensor::Device::flex();
    let forward = Forward {
        arch: &arch,
        frame: &data.frame,
        layout: &layout,
        dropout: settings
            .hyper
            .dropout
            .unwrap_or_else(|| arch.default_dropout()),
    };
    let mut predictions = Vec::new();
    let until = persistence
        .stop_after
        .map_or(settings.hyper.epochs, |n| n.min(settings.hyper.epochs));
    for epoch in state.history.len()..until {
        let start = Instant::now();
        let mut metrics = run_epoch(
            &forward, settings, epoch, &train_set, &mut state, &device, progress,
        );
        if arch.is_residual() {
            // Measured: on resnet-small the running averages (momentum 0.1) let the held-out
            // accuracy swing between 50% and 87% from one epoch to the next while the training
            // accuracy climbed steadily; a stream's statistics shift with every flip upstream.
            // The population statistics of the epoch's final weights replace them.
            let precise = forward.precise_statistics(
                &state.params,
                &train_set.values,
                train_set.frames(),
                settings.hyper.batch,
                &eval_device,
            );
            let bns = state
                .params
                .matrices
                .iter_mut()
                .filter_map(|m| m.bn.as_mut());
            for (bn, (mean, var)) in bns.zip(precise) {
                (bn.mean, bn.var) = (mean, var);
            }
        }
        predictions = simulate(&export(&state.params)?, &test_set)?;
        let float = forward.predict(
            &state.params,
            &test_set.values,
            test_set.frames(),
            &eval_device,
        );
        metrics.test_accuracy = accuracy(&predictions, &test_set.labels);
        metrics.float_test_accuracy = accuracy(&float, &test_set.labels);
        metrics.disagreements = predictions
            .iter()
            .zip(&float)
            .filter(|(a, b)| a != b)
            .count();
        metrics.seconds = start.elapsed().as_secs_f64();
        progress.note(&epoch_line(&metrics, settings));
        state.history.push(metrics);
        if let Some(path) = &persistence.checkpoint {
            Checkpoint::of(settings, data, &state.params, &state.optim, &state.history)
                .write(path)?;
        }
    }
    if predictions.is_empty() {
        // Resumed at or past the stop: nothing left to train, only to export.
        predictions = simulate(&export(&state.params)?, &test_set)?;
    }
    let final_accuracy = accuracy(&predictions, &test_set.labels);
    let model = model_file(
        &arch,
        &data.frame,
        &layout,
        &state.params,
        &provenance(Some(final_accuracy)),
    )?;
    Ok(Trained {
        model,
        history: state.history,
        predictions,
        test_frames: test_set.frames(),
    })
}

fn optim_states(params: &Params, method: Method) -> Vec<OptimState> {
    params
        .trained()
        .iter()
        .map(|(t, role)| match (role, method.bop_order()) {
            (Role::BinaryWeight, Some(_)) => OptimState::Bop(Bop::new(t.data.len())),
            _ => OptimState::Adam(Adam::new(t.data.len())),
        })
        .collect()
}

/// One epoch over the training frames in the epoch's own shuffled order.
fn run_epoch(
    forward: &Forward,
    settings: &Settings,
    epoch: usize,
    set: &Coded,
    state: &mut State,
    device: &burn_tensor::Device,
    progress: &dyn Progress,
) -> EpochMetrics {
    let hyper = &settings.hyper;
    // The order depends on the seed and the epoch only, so a resumed run sees the same batches.
    let mut order: Vec<usize> = (0..set.frames()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(
        settings.seed ^ (epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    order.shuffle(&mut rng);
    let batches = set.frames().div_ceil(hyper.batch);
    progress.step(
        &format!("train: epoch {}/{}", epoch + 1, hyper.epochs),
        Some(batches as u64),
    );
    let lr = hyper.lr_at(epoch);
    let rates = hyper.bop_at(epoch);
    let signs_before = used_bits(forward.layout, &state.params);
    let (mut loss, mut correct) = (0.0f64, 0usize);
    let per = set.per_frame;
    let mut values = Vec::with_capacity(hyper.batch * per);
    let mut labels = Vec::with_capacity(hyper.batch);
    for chunk in order.chunks(hyper.batch) {
        values.clear();
        labels.clear();
        for &i in chunk {
            values.extend_from_slice(&set.values[i * per..(i + 1) * per]);
            labels.push(set.labels[i]);
        }
        if forward.layout.form == WeightForm::Magnitude {
            for m in &mut state.params.matrices {
                let filters = m.weight.shape[0];
                siman_center_and_clamp(&mut m.weight.data, filters, epoch, hyper.epochs);
            }
        }
        let out = forward.step(&state.params, &values, &labels, &mut rng, device);
        loss += out.loss as f64 * chunk.len() as f64;
        correct += out.correct;
        keep_weight_gradients(&mut state.params, &out.grads);
        apply(state, &out.grads, lr, rates, settings.method);
        for m in &mut state.params.matrices {
            if let Some(cb) = &mut m.codebook {
                refresh_codebook(&mut cb.patterns.data, &mut cb.memory, &mut rng);
            }
        }
        let mut stats = out.batch_stats.iter();
        for m in &mut state.params.matrices {
            if let Some(bn) = &mut m.bn {
                let (mean, var, n) = stats.next().expect("one statistic per BatchNorm");
                update_running(bn, mean, var, *n);
            }
        }
        progress.advance(1);
    }
    progress.done();
    let flips = used_bits(forward.layout, &state.params)
        .iter()
        .zip(&signs_before)
        .filter(|(a, b)| a != b)
        .count() as u64;
    EpochMetrics {
        epoch: epoch + 1,
        loss: loss / set.frames() as f64,
        train_accuracy: correct as f64 / set.frames() as f64,
        test_accuracy: 0.0,
        float_test_accuracy: 0.0,
        disagreements: 0,
        flips,
        lr: lr as f64,
        seconds: 0.0,
    }
}

fn apply(
    state: &mut State,
    grads: &[Vec<f32>],
    lr: f32,
    rates: Option<crate::optim::BopRates>,
    method: Method,
) {
    let roles: Vec<Role> = state.params.trained().iter().map(|(_, r)| *r).collect();
    let tensors = state.params.trained_mut();
    for (((t, g), opt), role) in tensors
        .into_iter()
        .zip(grads)
        .zip(&mut state.optim)
        .zip(roles)
    {
        match opt {
            OptimState::Adam(adam) => {
                // RBONN trains its recurrent factor at a tenth of the rate.
                let rate = if role == Role::Recurrent {
                    lr * 0.1
                } else {
                    lr
                };
                adam.step(&mut t.data, g, rate);
                if role == Role::BinaryWeight && method.clips_latents() {
                    // BinaryNet keeps the latent weights in [−1, 1] (bnn_pynq's clip_weights).
                    for w in &mut t.data {
                        *w = w.clamp(-1.0, 1.0);
                    }
                }
            }
            OptimState::Bop(bop) => {
                let order = method
                    .bop_order()
                    .expect("a Bop state belongs to a flip method");
                let rates = rates.expect("flip methods have Bop rates");
                bop.step(&mut t.data, g, order, rates);
            }
        }
    }
}

/// A tiled layer into the residual stream, or into multi-bit activations, must hold whole
/// filters in each of its p chunks: the stream's affine or the levels' thresholds take a
/// chunk's α as a per-channel scale.
fn check_whole_filter_tiles(arch: &Arch, params: &Params) -> Result<(), TrainError> {
    let names = arch.matrix_names();
    for (m, name) in params.matrices.iter().zip(&names) {
        let out = m.weight.shape[0];
        let feeds = if m.stream {
            "the residual stream"
        } else if arch.levels() > 1 && m.hidden {
            "multi-bit activations"
        } else {
            continue;
        };
        if m.tiles > 1 && out % m.tiles != 0 {
            return Err(TrainError::Input(format!(
                "--tiles: {name} feeds {feeds} and has {out} filters, which p = {} does not \
                 divide; a chunk of the tile must hold whole filters there (choose a p \
                 dividing {out}, or give p per layer with 1 for {name})",
                m.tiles
            )));
        }
    }
    Ok(())
}

/// Every binary weight the model would store, layer after layer (the bits a flip changes).
fn used_bits(layout: &Layout, params: &Params) -> Vec<bool> {
    params
        .matrices
        .iter()
        .filter(|m| !m.int8)
        .flat_map(|m| layer_bits(layout, m))
        .collect()
}

/// RBONN's recurrent update reads the previous step's gradient of each latent weight.
fn keep_weight_gradients(params: &mut Params, grads: &[Vec<f32>]) {
    let roles: Vec<Role> = params.trained().iter().map(|(_, r)| *r).collect();
    let weight_grads = grads
        .iter()
        .zip(roles)
        .filter(|(_, r)| matches!(r, Role::BinaryWeight | Role::IntWeight))
        .map(|(g, _)| g);
    for (m, g) in params.matrices.iter_mut().zip(weight_grads) {
        if let Some(prev) = &mut m.prev_grad {
            prev.clone_from(g);
        }
    }
}

/// The exported model's class for every frame of `set`, from the reference simulator.
pub fn simulate(model: &ModelFile, set: &Coded) -> Result<Vec<usize>, TrainError> {
    let graph = lower(model).map_err(|e| TrainError::Export(e.to_string()))?;
    let sim = Simulator::new(graph).map_err(|e| TrainError::Export(e.to_string()))?;
    let results = sim
        .run(set.input.frames())
        .map_err(|e| TrainError::Export(e.to_string()))?;
    Ok(results.argmax)
}

fn accuracy(predictions: &[usize], labels: &[i64]) -> f64 {
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(&p, &l)| p as i64 == l)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

fn epoch_line(m: &EpochMetrics, settings: &Settings) -> String {
    format!(
        "epoch {:>3}/{}: loss {:.4}, train {:.2}%, held out {:.2}% (float {:.2}%, {} differ), {} flips, lr {:.2e}, {:.1} s",
        m.epoch,
        settings.hyper.epochs,
        m.loss,
        100.0 * m.train_accuracy,
        100.0 * m.test_accuracy,
        100.0 * m.float_test_accuracy,
        m.disagreements,
        m.flips,
        m.lr,
        m.seconds
    )
}
