//! What the page reads: plan.json (every compile and build directory), report.json (a build
//! directory) and, when the user gives them, the reference simulator's predictions against
//! labels. Only the fields the page shows are read; each file is parsed with its path named in
//! any error.
//!
//! These are a reader's types, not the writers' (`xnorc_plan::report::PlanReport`,
//! `xnorc_bitstream::report::BuildReport`): the build calls this crate to write its page, so
//! this crate cannot depend on the build's; and the page reads the files as any user of them
//! would. The flow tests keep the two in step: every build parses its own report.json here.

use crate::ReportError;
use serde::Deserialize;
use std::path::Path;
pub use xnorc_sim::metrics::Confusion;

/// A component's (or a total's) resources.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Cost {
    /// LUT4s.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// DSPs.
    pub dsps: u64,
}

/// plan.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Plan {
    /// Model name.
    pub model: String,
    /// Cycles from a frame's first input beat to its output beat.
    pub latency_cycles: u64,
    /// Cycles per frame.
    pub ii_cycles: u64,
    /// The stages.
    pub stages: Vec<PlanStage>,
    /// The core's components in stream order.
    pub pipeline: Vec<PipelineComponent>,
    /// The estimate on a board (a build's plan.json, or `compile --board`).
    #[serde(default)]
    pub estimate: Option<PlanEstimate>,
}

/// One stage of plan.json.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanStage {
    /// Instance name.
    pub name: String,
    /// The model's layer.
    pub layer: String,
    /// `mvu`, `swg`, `maxpool`, …
    pub kind: String,
    /// MVU folding.
    #[serde(default)]
    pub pe: Option<u64>,
    /// MVU folding.
    #[serde(default)]
    pub simd: Option<u64>,
    /// Cycles per frame.
    pub cycles_per_frame: u64,
    /// Share of the II.
    pub share_of_ii: f64,
    /// The slowest stage.
    pub bottleneck: bool,
}

/// One pipeline component of plan.json.
#[derive(Debug, Clone, Deserialize)]
pub struct PipelineComponent {
    /// `fifo`, `dwc_up`, `mvu`, …
    pub kind: String,
    /// The stage it is, if any.
    #[serde(default)]
    pub stage: Option<usize>,
    /// A FIFO's entries.
    #[serde(default)]
    pub depth: Option<u64>,
    /// A converter's ratio.
    #[serde(default)]
    pub ratio: Option<u64>,
}

/// plan.json's estimate.
#[derive(Debug, Clone, Deserialize)]
pub struct PlanEstimate {
    /// Board.
    pub board: String,
    /// Family.
    pub family: String,
    /// Per component.
    pub components: Vec<ComponentEstimate>,
    /// The shell.
    pub shell: Cost,
    /// Everything.
    pub total: Cost,
}

/// One component's estimate.
#[derive(Debug, Clone, Deserialize)]
pub struct ComponentEstimate {
    /// Pipeline index.
    pub index: usize,
    /// Kind.
    pub kind: String,
    /// Layer.
    pub layer: String,
    /// Resources.
    pub cost: Cost,
}

/// report.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Build {
    /// Board name.
    pub board: String,
    /// Its device.
    pub device: Device,
    /// Logic cells placed.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// DSPs.
    pub dsps: u64,
    /// Fmax.
    pub fmax_mhz: f64,
    /// The clock the bitstream runs at.
    pub clock_mhz: f64,
    /// Fmax ≥ clock.
    pub timing_met: bool,
    /// Frames per second at the clock.
    pub frames_per_second: f64,
    /// Latency in µs.
    pub latency_us: f64,
    /// What yosys mapped.
    pub synth: Cost,
    /// The estimate's totals.
    pub estimate: EstimateTotal,
    /// Per instance.
    pub layers: Vec<LayerResources>,
    /// Every pass through synthesis and place and route.
    #[serde(default)]
    pub passes: Vec<PassRecord>,
    /// Tool steps.
    pub steps: Vec<Step>,
    /// Wall time.
    pub total_seconds: f64,
}

/// The device of report.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Device {
    /// Family.
    pub family: String,
    /// Part.
    pub part: String,
    /// Package.
    pub package: String,
    /// Logic cells.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// DSPs.
    pub dsps: u64,
}

/// report.json's estimate totals.
#[derive(Debug, Clone, Deserialize)]
pub struct EstimateTotal {
    /// LUT4s.
    pub luts: u64,
    /// Flip-flops.
    pub ffs: u64,
    /// Block RAMs.
    pub ram_blocks: u64,
    /// Logic cells once packed.
    pub logic_cells: u64,
}

/// One per-layer row of report.json.
#[derive(Debug, Clone, Deserialize)]
pub struct LayerResources {
    /// Instance.
    pub instance: String,
    /// Kind.
    pub kind: String,
    /// Layer.
    pub layer: String,
    /// Estimate.
    pub estimate: Cost,
    /// yosys.
    pub measured: Cost,
}

/// One pass of report.json.
#[derive(Debug, Clone, Deserialize)]
pub struct PassRecord {
    /// From 1.
    pub pass: u32,
    /// The clock aimed at.
    pub clock_mhz: f64,
    /// What place and route reached.
    pub fmax_mhz: f64,
}

/// One tool step of report.json.
#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    /// Step name.
    pub step: String,
    /// Wall time.
    pub seconds: f64,
    /// Its log.
    pub log: String,
}

/// Accuracy against labels: the reference simulator's predictions (which the hardware
/// reproduces bit for bit), counted by the simulator's own confusion matrix.
#[derive(Debug, Clone)]
pub struct Accuracy {
    /// The inputs file, as the user named it.
    pub inputs: String,
    /// Predictions against labels.
    pub confusion: Confusion,
}

/// Reads and parses `dir/name` as `T`; `Ok(None)` when the file does not exist.
pub fn read_json<T: serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
) -> Result<Option<T>, ReportError> {
    let path = dir.join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(ReportError::Input(format!(
                "{}: cannot read: {e}",
                path.display()
            )))
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        ReportError::Input(format!(
            "{}: not an xnorc {name}: {e} (regenerate it with this version of xnorc)",
            path.display()
        ))
    })
}
