#!/usr/bin/env bash
# Time to quality of two ways to train: the same model on the same data for MINUTES each, side by
# side (one core each), with flags A and flags B (on top of the defaults and the common flags), then
# both scored by the same `onnxgan eval --n 5000`. Decides --recipe best's choices (bench/RESULTS.md).
#   npm run build && bash bench/side-by-side.sh MODEL MINUTES "FLAGS A" "FLAGS B" [common train flags]
#   e.g. bash bench/side-by-side.sh cgan 20 "--arch mlp" "--arch dcgan"
#        bash bench/side-by-side.sh cgan 10 "--augment none" "--augment diff" --data fashion --limit 1000
# Prints one markdown row per side (bench/eval-row.mjs); the runs and logs are in $QUALITY_OUT.
set -euo pipefail
model=$1; minutes=$2; a=$3; b=$4; shift 4
out=${QUALITY_OUT:-$(mktemp -d /tmp/onnxgan-side-XXXX)}
mkdir -p "$out"
cd "$(dirname "$0")/.."
sides=("$a" "$b")
for i in 0 1; do
  rm -rf "$out/$model-$i"
  # --minutes plans whole epochs (up to half of one over); the deadline is hard: SIGINT checkpoints and exits 0.
  # shellcheck disable=SC2086 # the flag sets are word lists
  (timeout -s INT "$(awk "BEGIN { print int($minutes * 60) }")" node dist/cli.js train --model "$model" ${sides[$i]} \
    --minutes "$minutes" --seed 1 --out "$out/$model-$i" --sample-every 1000 "$@" > "$out/$model-$i.log" 2>&1 || true) &
done
wait
ckpt() { node -e "const c = require('$out/$1/checkpoint.json'); console.log(c.position.$2)"; }
for i in 0 1; do
  run="$out/$model-$i"
  node dist/cli.js export "$run" --out "$run.onnx" > /dev/null
  node dist/cli.js eval "$run.onnx" --n 5000 --no-ceiling --json > "$run.json"
  used=$(node -e "console.log(($(ckpt "$model-$i" wallTimeMs) / 60000).toFixed(1) + ' min')")
  batch=$(node -e "console.log(require('$run/checkpoint.json').batch)")
  node bench/eval-row.mjs "$run.json" "$model" "${sides[$i]} $* (batch $batch)" "$minutes min" "$used" "$(ckpt "$model-$i" step)"
done
