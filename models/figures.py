#!/usr/bin/env python3
"""Prints docs/benchmarks.md's "Training" table from the files models/train_methods.sh and
models/build_methods.sh wrote: per bundled model the method, stored bits per weight (`xnorc
inspect --json`), held-out accuracy and training time (models/trained/<name>.json), the Verilator
check on the 1,000 held-out frames, and the bitstream's LUT4, block RAM, Fmax and frames/s
(build/trained/<name>.{verify,build}.json). Run from the repository root."""

import glob
import json
import os
import subprocess


def load(path):
    """The JSON at `path`, or None while it is missing or still being written."""
    try:
        return json.load(open(path))
    except (OSError, json.JSONDecodeError):
        return None


def main():
    print("| model | method | bit/weight | held out | train time | Verilator, 1,000 frames "
          "| board | LUT4 | block RAM | Fmax (clock) | frames/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for path in sorted(glob.glob("models/trained/*.xnm")):
        name = os.path.basename(path)[:-4]
        run = load(f"models/trained/{name}.json")
        inspect = json.loads(subprocess.run(
            ["target/release/xnorc", "inspect", path, "--json"],
            check=True, capture_output=True, text=True).stdout)
        verify = load(f"build/trained/{name}.verify.json")
        build = load(f"build/trained/{name}.build.json")
        settings = run["settings"]
        method = settings["method"]
        hyper = settings["hyper"]
        if hyper.get("tiles"):
            method += " p=" + ",".join(map(str, hyper["tiles"]["p"]))
        if hyper.get("tau"):
            method += f" τ={hyper['tau']}"
        cells = [name, method, f"{inspect['bits_per_weight']:.3f}",
                 f"{100 * run['test_accuracy']:.1f}%", f"{run['wall_seconds']:.1f} s"]
        if verify:
            cells.append("bit-exact" if verify["matches"] else "**differs**")
        else:
            cells.append("")
        if build:
            device = build["device"]
            cells += [build["board"], f"{build['luts']:,} / {device['luts']:,}",
                      f"{build['ram_blocks']} / {device['ram_blocks']}",
                      f"{build['fmax_mhz']:.1f} ({build['clock_mhz']:.1f}) MHz",
                      f"{build['frames_per_second']:,.0f}"]
        else:
            cells += ["", "", "", "", ""]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
