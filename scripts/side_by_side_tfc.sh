#!/usr/bin/env bash
# TFC-w1a1 on datasets/mnist.npz trained by Brevitas (scripts/brevitas_tfc.py, the recipe of
# models/train_tfc_w1a1.py) and by `xnorc train` (binarynet, the same recipe; rebnn), seeds 0-2,
# one after the other in one run: held-out accuracy and wall time for docs/benchmarks.md.
# PYTHON must have torch and brevitas (not part of the set-up): PYTHON=/path/to/python.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
"$PYTHON" scripts/brevitas_tfc.py 0 1 2 | sed 's/^/brevitas /'
for method in binarynet rebnn; do
  for seed in 0 1 2; do
    start=$(date +%s.%N)
    acc=$(target/release/xnorc train --data datasets/mnist.npz --arch tfc --method "$method" \
      --epochs 40 --seed "$seed" -o /tmp/side_by_side.xnm --json 2>/dev/null |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["test_accuracy"])')
    end=$(date +%s.%N)
    echo "xnorc-$method {\"seed\": $seed, \"accuracy\": $acc, \"seconds\": $(python3 -c "print(round($end - $start, 2))")}"
  done
done
