//! Checkpoints: a run's whole state after an epoch — parameters, running statistics, optimizer
//! moments, the metrics so far — and the settings and data it belongs to. A run resumed from a
//! checkpoint continues exactly as the uninterrupted run would have (the batch order depends on
//! the seed and the epoch only).
//!
//! JSON with the float vectors as base64 of their little-endian bytes: exact, and readable
//! enough to see what a checkpoint belongs to.

use crate::data::Dataset;
use crate::error::TrainError;
use crate::net::Params;
use crate::optim::{Adam, Bop};
use crate::trainer::{EpochMetrics, Settings};
use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::Path;

const FORMAT: &str = "xnorc-train-checkpoint";

/// An optimizer's state for one trained tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimState {
    /// Adam's moments.
    Adam(#[serde(with = "adam_b64")] Adam),
    /// Bop's moments.
    Bop(#[serde(with = "bop_b64")] Bop),
}

/// A run's state after its last finished epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checkpoint {
    format: String,
    settings: Settings,
    dataset: DataIdentity,
    params: StoredParams,
    optim: Vec<OptimState>,
    history: Vec<EpochMetrics>,
}

/// What identifies the data a run trained on: frame shape, classes and split sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct DataIdentity {
    frame: Vec<usize>,
    classes: usize,
    train: usize,
    test: usize,
}

impl DataIdentity {
    fn of(data: &Dataset) -> Self {
        DataIdentity {
            frame: data.frame.clone(),
            classes: data.classes,
            train: data.train.frames(),
            test: data.test.frames(),
        }
    }
}

/// Parameters as stored: every tensor's values, plus the running statistics.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredParams {
    #[serde(with = "vecs_b64")]
    tensors: Vec<Vec<f32>>,
    #[serde(with = "vecs_b64")]
    state: Vec<Vec<f32>>,
}

impl StoredParams {
    fn of(params: &Params) -> Self {
        let tensors = params
            .trained()
            .iter()
            .map(|(t, _)| t.data.clone())
            .collect();
        let state = params.state().into_iter().cloned().collect();
        StoredParams { tensors, state }
    }

    /// These values in the shapes of `like` (fresh parameters of the same run).
    fn into_params(self, like: &Params, path: &Path) -> Result<Params, TrainError> {
        let mut out = like.clone();
        let bad = || {
            TrainError::Checkpoint(format!(
                "{}: the stored parameters do not have the architecture's shapes",
                path.display()
            ))
        };
        let targets = out.trained_mut();
        if targets.len() != self.tensors.len() {
            return Err(bad());
        }
        for (t, v) in targets.into_iter().zip(self.tensors) {
            if t.data.len() != v.len() {
                return Err(bad());
            }
            t.data = v;
        }
        let targets = out.state_mut();
        if targets.len() != self.state.len() {
            return Err(bad());
        }
        for (t, v) in targets.into_iter().zip(self.state) {
            if t.len() != v.len() {
                return Err(bad());
            }
            *t = v;
        }
        Ok(out)
    }
}

impl Checkpoint {
    /// The checkpoint of a run's state.
    pub fn of(
        settings: &Settings,
        data: &Dataset,
        params: &Params,
        optim: &[OptimState],
        history: &[EpochMetrics],
    ) -> Self {
        Checkpoint {
            format: FORMAT.into(),
            settings: settings.clone(),
            dataset: DataIdentity::of(data),
            params: StoredParams::of(params),
            optim: optim.to_vec(),
            history: history.to_vec(),
        }
    }

    /// Writes the checkpoint atomically (a crash mid-write leaves the previous one).
    pub fn write(&self, path: &Path) -> Result<(), TrainError> {
        let json = serde_json::to_string(self).expect("a checkpoint serializes");
        xnorc_compiler::fsutil::write_output(path, json.as_bytes())?;
        Ok(())
    }

    /// Reads a checkpoint, naming the file in every error.
    pub fn read(path: &Path) -> Result<Checkpoint, TrainError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TrainError::Checkpoint(format!("{}: cannot read: {e}", path.display())))?;
        let ck: Checkpoint = serde_json::from_slice(&bytes).map_err(|e| {
            TrainError::Checkpoint(format!(
                "{}: not an xnorc training checkpoint ({e})",
                path.display()
            ))
        })?;
        if ck.format != FORMAT {
            return Err(TrainError::Checkpoint(format!(
                "{}: format is `{}`, not `{FORMAT}`",
                path.display(),
                ck.format
            )));
        }
        Ok(ck)
    }

    /// Checks that the checkpoint belongs to this run: the same settings and data.
    pub fn check_matches(
        &self,
        path: &Path,
        settings: &Settings,
        data: &Dataset,
    ) -> Result<(), TrainError> {
        let differs = |what: &str, was: String, now: String| {
            Err(TrainError::Checkpoint(format!(
                "{}: the checkpoint's {what} is {was}, this run's {now}",
                path.display()
            )))
        };
        if self.settings != *settings {
            return differs(
                "settings",
                serde_json::to_string(&self.settings).unwrap_or_default(),
                serde_json::to_string(settings).unwrap_or_default(),
            );
        }
        let identity = DataIdentity::of(data);
        if self.dataset != identity {
            return differs(
                "data",
                format!("{:?}", self.dataset),
                format!("{identity:?}"),
            );
        }
        Ok(())
    }

    /// The stored parameters and optimizer states in the shapes of `like` (fresh parameters
    /// of the same run).
    pub fn restore(
        self,
        like: &Params,
        path: &Path,
    ) -> Result<(Params, Vec<OptimState>, Vec<EpochMetrics>), TrainError> {
        let params = self.params.into_params(like, path)?;
        let sizes: Vec<usize> = params.trained().iter().map(|(t, _)| t.data.len()).collect();
        let fits = self.optim.len() == sizes.len()
            && self.optim.iter().zip(&sizes).all(|(o, &n)| match o {
                OptimState::Adam(a) => a.m.len() == n && a.v.len() == n,
                OptimState::Bop(b) => b.m.len() == n && b.v.len() == n,
            });
        if !fits {
            return Err(TrainError::Checkpoint(format!(
                "{}: the stored optimizer states do not fit the parameters",
                path.display()
            )));
        }
        Ok((params, self.optim, self.history))
    }
}

fn encode(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn decode<E: serde::de::Error>(s: &str) -> Result<Vec<f32>, E> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(E::custom)?;
    if bytes.len() % 4 != 0 {
        return Err(E::custom(
            "float data is not a whole number of float32 values",
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

mod vecs_b64 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[Vec<f32>], s: S) -> Result<S::Ok, S::Error> {
        let strings: Vec<String> = v.iter().map(|x| encode(x)).collect();
        strings.serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<f32>>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings.iter().map(|s| decode(s)).collect()
    }
}

#[derive(Serialize, Deserialize)]
struct Moments {
    m: String,
    v: String,
    #[serde(default)]
    t: u64,
}

mod adam_b64 {
    use super::*;
    pub fn serialize<S: Serializer>(a: &Adam, s: S) -> Result<S::Ok, S::Error> {
        Moments {
            m: encode(&a.m),
            v: encode(&a.v),
            t: a.t,
        }
        .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Adam, D::Error> {
        let m = Moments::deserialize(d)?;
        Ok(Adam {
            m: decode(&m.m)?,
            v: decode(&m.v)?,
            t: m.t,
        })
    }
}

mod bop_b64 {
    use super::*;
    pub fn serialize<S: Serializer>(b: &Bop, s: S) -> Result<S::Ok, S::Error> {
        Moments {
            m: encode(&b.m),
            v: encode(&b.v),
            t: 0,
        }
        .serialize(s)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bop, D::Error> {
        let m = Moments::deserialize(d)?;
        Ok(Bop {
            m: decode(&m.m)?,
            v: decode(&m.v)?,
        })
    }
}
