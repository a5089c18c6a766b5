//! Helpers the integration tests share: running the `xnorc` binary, requiring a tool, paths.
//!
//! Each test crate uses a different subset, so unused ones are allowed here.
#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `xnorc` binary under test with `args`.
pub fn xnorc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xnorc"))
        .args(args)
        .output()
        .expect("run xnorc")
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    let out = xnorc(args);
    assert!(
        out.status.success(),
        "xnorc {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail with exit code 2 and no panic; returns stderr.
pub fn fails_with_2(args: &[&str]) -> String {
    let out = xnorc(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "xnorc {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Fails the test, naming the tool and how to install it, unless `tool --version` runs.
pub fn require_tool(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{tool} is not installed: run `make setup` (apt-get install {tool})"
    );
}

/// A path as `&str` (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
