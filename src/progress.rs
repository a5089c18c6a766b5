//! The terminal side of [`Progress`]: each step a spinner (a bar when the step is counted)
//! drawn by indicatif on stderr with its elapsed time, replaced by a line with the time it took
//! when the step ends. When stderr is not a terminal (CI, a pipe, a log file) each step and note
//! is a plain line instead, so logs keep them.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;
use xnorc_compiler::progress::Progress;

/// Progress on this process's stderr.
pub struct Terminal {
    tty: bool,
    current: Mutex<Option<(ProgressBar, String)>>,
}

impl Terminal {
    /// Progress on stderr, drawn when it is a terminal.
    pub fn new() -> Self {
        Terminal {
            tty: std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }

    fn bar(what: &str, total: Option<u64>) -> ProgressBar {
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::new(n),
                "{msg} {bar:30} {pos}/{len} [{elapsed}, eta {eta}]",
            ),
            None => (ProgressBar::new_spinner(), "{spinner} {msg} [{elapsed}]"),
        };
        bar.set_style(ProgressStyle::with_template(template).expect("a valid template"));
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }
}

impl Progress for Terminal {
    fn step(&self, what: &str, total: Option<u64>) {
        self.done();
        if self.tty {
            *self.current.lock().expect("progress lock") =
                Some((Self::bar(what, total), what.to_string()));
        } else {
            eprintln!("{what}");
        }
    }

    fn advance(&self, n: u64) {
        if let Some((bar, _)) = &*self.current.lock().expect("progress lock") {
            bar.inc(n);
        }
    }

    fn note(&self, line: &str) {
        match &*self.current.lock().expect("progress lock") {
            Some((bar, _)) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn done(&self) {
        if let Some((bar, what)) = self.current.lock().expect("progress lock").take() {
            let took = bar.elapsed();
            bar.finish_and_clear();
            eprintln!("{what} ({:.1} s)", took.as_secs_f64());
        }
    }
}

impl Drop for Terminal {
    /// A step cut short by an error leaves no spinner behind.
    fn drop(&mut self) {
        if let Some((bar, _)) = self.current.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

/// Runs `f`, one step that is usually quick (planning, generating a model): a spinner while it
/// runs on a terminal, and a line with its time afterwards when it took over a second, so
/// neither a terminal nor a log sits silent through a long one nor fills with quick ones.
pub fn spin<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| Terminal::bar(what, None));
    let start = std::time::Instant::now();
    let out = f();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let took = start.elapsed();
    if took > Duration::from_secs(1) {
        eprintln!("{what} ({:.1} s)", took.as_secs_f64());
    }
    out
}
