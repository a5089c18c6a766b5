//! xnorc's HTML report (`xnorc report DIR`, and report.html of every build): one self-contained
//! page — no script, no style sheet or font fetched — with the dataflow graph, the per-layer
//! table (folding, cycles, share of the II, estimated and measured resources), inline SVG
//! charts (cycles per layer, resources per layer against the device, estimate against
//! measured, Fmax per pass) and, when labels are given, accuracy with a confusion matrix.
//!
//! Owns: reading a compile or build directory's plan.json and report.json for the page, and the
//! page itself ([`page`], charts in [`svg`]).
//! Must not touch: the figures themselves (the plan, the build and the simulator make them;
//! this crate only shows what their files say).

pub mod data;
mod page;
pub mod svg;

use std::path::{Path, PathBuf};

pub use data::Accuracy;

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ReportError {
    /// A file of the directory is missing or malformed (bad input: exit 2).
    #[error("{0}")]
    #[diagnostic(
        code(xnorc::report::input),
        help("give a directory written by `xnorc compile` or `xnorc build`")
    )]
    Input(String),
    /// The page cannot be written.
    #[error(transparent)]
    #[diagnostic(code(xnorc::report::output))]
    Output(#[from] xnorc_compiler::fsutil::OutputError),
}

impl ReportError {
    /// True when what was given is bad (a directory without xnorc's files, an unusable output
    /// folder); false when the machine failed.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ReportError::Input(_) => true,
            ReportError::Output(e) => e.is_bad_path(),
        }
    }
}

/// The page for directory `dir` (plan.json required, report.json when it is a build), with
/// `accuracy` when given.
pub fn render(dir: &Path, accuracy: Option<&Accuracy>) -> Result<String, ReportError> {
    let plan: data::Plan = data::read_json(dir, "plan.json")?.ok_or_else(|| {
        ReportError::Input(format!(
            "{}: no plan.json: not a directory `xnorc compile` or `xnorc build` wrote",
            dir.display()
        ))
    })?;
    let build: Option<data::Build> = data::read_json(dir, "report.json")?;
    Ok(page::page(&plan, build.as_ref(), accuracy))
}

/// Renders the page for `dir` and writes it to `dir/report.html`; returns the path.
pub fn write_report(dir: &Path, accuracy: Option<&Accuracy>) -> Result<PathBuf, ReportError> {
    let html = render(dir, accuracy)?;
    let path = dir.join("report.html");
    xnorc_compiler::fsutil::write_output(&path, html.as_bytes())?;
    Ok(path)
}
