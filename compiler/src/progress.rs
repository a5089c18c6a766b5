//! Reporting long steps. Library code that can run for seconds or more says what it is doing
//! through a [`Progress`]: the CLI draws it with indicatif (a spinner or bar per step, with the
//! time it took), a service or binding can forward it, and a caller that wants silence passes
//! [`Silent`]. No library writes to a terminal itself.

/// A receiver of progress: one step at a time, each optionally counted.
pub trait Progress: Sync {
    /// A step starts: what it does, and how many units of work it has when that is known.
    fn step(&self, what: &str, total: Option<u64>);
    /// `n` more units of the current step are done.
    fn advance(&self, n: u64);
    /// A line the user should keep (a result, a decision), shown whatever the terminal.
    fn note(&self, line: &str);
    /// The current step is over.
    fn done(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn step(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn note(&self, _: &str) {}
    fn done(&self) {}
}
