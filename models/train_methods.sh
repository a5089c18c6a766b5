#!/usr/bin/env bash
# Trains the bundled models of every `xnorc train` method (models/trained/) on datasets/mnist.npz
# and records each run's figures beside it (<name>.json: settings, per-epoch metrics, wall time).
# The figures in docs/benchmarks.md ("Training") come from this script. The same command on the
# same data writes the same model bytes (`--seed`).
#
# Usage, from the repository root after `make setup` and `cargo build --release`:
#   models/train_methods.sh            # every model
#   models/train_methods.sh tfc-rebnn  # the models whose names contain the word
set -euo pipefail
cd "$(dirname "$0")/.."
XNORC=target/release/xnorc
DATA=datasets/mnist.npz
OUT=models/trained
mkdir -p "$OUT"
only="${1:-}"

train() {
  local name="$1"
  shift
  if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then
    return
  fi
  echo "== $name: xnorc train --data $DATA $*" >&2
  local start end
  start=$(date +%s.%N)
  local report
  report=$(mktemp)
  "$XNORC" train --data "$DATA" "$@" -o "$OUT/$name.xnm" --json > "$report"
  end=$(date +%s.%N)
  python3 - "$report" "$OUT/$name.json" "$start" "$end" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
report["wall_seconds"] = round(float(sys.argv[4]) - float(sys.argv[3]), 2)
report["output"] = report["output"].split("/")[-1]
json.dump(report, open(sys.argv[2], "w"), indent=1)
EOF
  rm "$report"
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(f\"{sys.argv[2]}: {100*r['test_accuracy']:.1f}% held out, {r['wall_seconds']} s\")" "$OUT/$name.json" "$name" >&2
}

# The sub-bit forms of a convolutional shape, 20 epochs: kernel codebooks with tau = 4, 5, 6, and
# tiles with p = 2, 4, 8 on its layers of 1,024 weights or more.
sub_bit_forms() {
  local arch="$1"
  for tau in 4 5 6; do
    train "$arch-codebook-tau$tau" --arch "$arch" --method codebook --tau "$tau" --epochs 20
  done
  for p in 2 4 8; do
    train "$arch-tiled-p$p" --arch "$arch" --method tiled --tiles "$p" --tile-min 1024 --epochs 20
  done
}

# TFC (784-64-64-64-10), 40 epochs, every method.
for method in binarynet bop bop2 bop2-unbiased rebnn rbonn siman; do
  train "tfc-$method" --arch tfc --method "$method" --epochs 40
done
for p in 2 4 8; do
  train "tfc-tiled-p$p" --arch tfc --method tiled --tiles "$p" --epochs 40
done

# cnv-small (8-bit 1x28x28, three 3x3 convs, dense 64), 20 epochs: methods of the 1-bit model,
# then the sub-bit forms of the same shape.
for method in binarynet bop2 rebnn siman; do
  train "cnv-small-$method" --arch cnv-small --method "$method" --epochs 20
done
sub_bit_forms cnv-small

# resnet-small (8-bit 1x28x28, stem 16 with stride 2, ReActNet blocks 16, 32 (stride 2), 32 on an
# 8-bit stream, global average pool), 20 epochs: every method; the sub-bit forms apply to its
# binary 3x3 blocks (tiles where p divides the filters, layers of 1,024 weights or more).
for method in binarynet bop bop2 rebnn rbonn siman; do
  train "resnet-small-$method" --arch resnet-small --method "$method" --epochs 20
done
sub_bit_forms resnet-small

# Beyond 1-bit: FINN's w1a2 (2-bit activations) on TFC and cnv-small, and resnet-small with the
# 8-bit stem and class layer the residual seeds keep (models/resnet-small-int8.json).
train "tfc-binarynet-a2" --arch tfc --method binarynet --act-bits 2 --epochs 40
train "cnv-small-rebnn-a2" --arch cnv-small --method rebnn --act-bits 2 --epochs 20
train "resnet-small-int8-rebnn" --arch models/resnet-small-int8.json --method rebnn --epochs 20

# ResNet-20 (the CIFAR network the methods report, here on MNIST's 1x28x28 frames): 18 binary
# blocks, about 3 minutes per epoch on two cores, so 8 epochs of the baseline.
train "resnet20-binarynet" --arch resnet20 --method binarynet --epochs 8
