#!/usr/bin/env bash
# Puts the bundled trained models (models/trained/, from models/train_methods.sh) through the
# hardware path: a bitstream build with its report, then the built design's Verilator
# co-simulation on the 1,000 held-out MNIST frames against the reference simulator. TFC models go to the iCEBreaker (UP5K) with
# models/trained/tfc_up5k.folding.json (the bundled Brevitas model's folding, under xnorc train's
# layer names); cnv-small models to the ULX3S-25F with the automatic folding. Writes
# build/trained/<name>/ and build/trained/<name>.{verify,build}.json; the figures in
# docs/benchmarks.md ("Training") come from this script.
#
# Usage, from the repository root: models/build_methods.sh [WORD]  (only names containing WORD)
set -euo pipefail
cd "$(dirname "$0")/.."
XNORC=target/release/xnorc
OUT=build/trained
mkdir -p "$OUT"
only="${1:-}"

for model in models/trained/*.xnm; do
  name=$(basename "$model" .xnm)
  if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then
    continue
  fi
  case "$name" in
    # SiMaN's mean-centred sign buffers each frame: with the fixed folding the memories need
    # one block RAM more than the UP5K has, so the automatic fit chooses its folding.
    tfc-siman) board=(--board icebreaker) ;;
    tfc-*) board=(--board icebreaker --folding models/trained/tfc_up5k.folding.json) ;;
    *) board=(--board ulx3s-25f) ;;
  esac
  echo "== $name: build ${board[*]}, then verify the built design" >&2
  start=$(date +%s)
  "$XNORC" build "$model" "${board[@]}" --out "$OUT/$name" --json > "$OUT/$name.build.json"
  echo "$name: built in $(( $(date +%s) - start )) s" >&2
  "$XNORC" verify "$model" --design "$OUT/$name" --folding "$OUT/$name/folding.json" \
    --input datasets/mnist.npz:x_test --json > "$OUT/$name.verify.json"
done
