#!/usr/bin/env bash
# Puts the bundled trained models (models/trained/, from models/train_methods.sh) through the
# hardware path: a bitstream build with its report, then the built design's Verilator
# co-simulation on the 1,000 held-out MNIST frames against the reference simulator. TFC models go to the iCEBreaker (UP5K) with
# models/trained/tfc_up5k.folding.json (the bundled Brevitas model's folding, under xnorc train's
# layer names); cnv-small models to the ULX3S-25F with the automatic folding. Writes
# build/trained/<name>/ and build/trained/<name>.{verify,build}.json; the figures in
# docs/benchmarks.md ("Training") come from this script.
#
# Usage, from the repository root:
#   models/build_methods.sh [WORD]                # only names containing WORD
#   models/build_methods.sh --verify-only [WORD]  # no bitstream: the automatic folding's design
#                                                 # under Verilator on the 1,000 frames
set -euo pipefail
cd "$(dirname "$0")/.."
XNORC=target/release/xnorc
OUT=build/trained
mkdir -p "$OUT"
verify_only=false
if [ "${1:-}" = "--verify-only" ]; then
  verify_only=true
  shift
fi
only="${1:-}"

for model in models/trained/*.xnm; do
  name=$(basename "$model" .xnm)
  if [ -n "$only" ] && [[ "$name" != *"$only"* ]]; then
    continue
  fi
  if $verify_only; then
    echo "== $name: verify under Verilator" >&2
    "$XNORC" verify "$model" --input datasets/mnist.npz:x_test --json > "$OUT/$name.verify.json"
    continue
  fi
  case "$name" in
    # SiMaN's mean-centred sign buffers each frame: with the fixed folding the memories need
    # one block RAM more than the UP5K has, so the automatic fit chooses its folding.
    tfc-siman) board=(--board icebreaker) ;;
    # With the 1-bit model's folding nextpnr-ice40's placer hung on seeds 1-3 for p = 8; the
    # automatic fit's design placed and built in 48 s.
    tfc-tiled-p8) board=(--board icebreaker) ;;
    # Two-bit activations: three thresholds per neuron, whose memories in that folding need 41
    # block RAMs of the UP5K's 30.
    tfc-*-a2) board=(--board icebreaker) ;;
    tfc-*) board=(--board icebreaker --folding models/trained/tfc_up5k.folding.json) ;;
    # SiMaN's cnv-small (its mean-centred signs buffer the maps) reached 54.5 MHz at 62.5.
    cnv-small-siman) board=(--board ulx3s-25f --clock-mhz 50) ;;
    # resnet-small reached 57.8-61.9 MHz at 62.5 (binarynet, rebnn, tiled p = 2, codebook tau = 4).
    resnet-small-*) board=(--board ulx3s-25f --clock-mhz 50) ;;
    # ResNet-20's 18 blocks: the compiler's 9-block preset already takes 19k of the 25F's 24k
    # cells at one lane per layer, so the 85F (not yet built: measured under Verilator only).
    resnet20-*) board=(--board ulx3s-85f --clock-mhz 50) ;;
    # The ULX3S models ask for 62.5 MHz: at the ECP5 goal (68.75 MHz) cnv-small-binarynet
    # reached 67.4 MHz and `xnorc build` built it again at 62.5, doubling a 6-minute build.
    *) board=(--board ulx3s-25f --clock-mhz 62.5) ;;
  esac
  echo "== $name: build ${board[*]}, then verify the built design" >&2
  start=$(date +%s)
  "$XNORC" build "$model" "${board[@]}" --out "$OUT/$name" --json > "$OUT/$name.build.json"
  echo "$name: built in $(( $(date +%s) - start )) s" >&2
  "$XNORC" verify "$model" --design "$OUT/$name" --folding "$OUT/$name/folding.json" \
    --input datasets/mnist.npz:x_test --json > "$OUT/$name.verify.json"
done
