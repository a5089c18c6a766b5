#!/usr/bin/env bash
# Every bundled board: build the `tiny` preset, check the bitstream (netlist check on iCE40,
# round trip on ECP5), print the flash command. Run from the repository root after
# `cargo build --release`; writes build/sweep/. Used for docs/benchmarks.md.
set -u
X="$(pwd)/target/release/xnorc"
mkdir -p build/sweep && cd build/sweep || exit 1
"$X" random-model --arch tiny --seed 21 -o tiny.xnm > /dev/null
for b in $("$X" boards --json | python3 -c "import json,sys; print(' '.join(b['name'] for b in json.load(sys.stdin)))"); do
  family=$("$X" boards --json | python3 -c "import json,sys; print([b for b in json.load(sys.stdin) if b['name']=='$b'][0]['device']['family'])")
  if [ "$family" = ecp5 ]; then clk=50; else clk=24; fi
  start=$(date +%s)
  if "$X" build tiny.xnm --board "$b" --clock-mhz "$clk" --out "$b" --json > "$b.build.json" 2> "$b.build.err"; then
    figures=$(python3 -c "import json; r=json.load(open('$b/report.json')); print('Fmax %.1f MHz, %d LUT4, timing met: %s' % (r['fmax_mhz'], r['luts'], r['timing_met']))")
    check=$("$X" verify --bitstream "$b" --vectors 2 2>&1 | tail -1 | cut -c1-80)
    flash=$("$X" flash "$b" --dry-run 2>/dev/null || "$X" flash "$b" --flash --dry-run)
    echo "$b | $figures | $(( $(date +%s) - start )) s | $check | $flash"
  else
    echo "$b | BUILD FAILED | $(tail -3 "$b.build.err" | tr '\n' ' ')"
  fi
done
