#!/usr/bin/env bash
# Time to quality of the two architectures: `--arch mlp` and `--arch dcgan` train the same model with
# their defaults (--recipe best) on the same data for MINUTES each, side by side (one core each),
# then both are scored by the same `onnxgan eval --n 5000`. Decides --recipe best's --arch per kind.
#   npm run build && bash bench/arch-quality.sh cgan 20 [extra onnxgan train flags]
# Prints one markdown row per architecture (bench/eval-row.mjs), the runs and logs in $QUALITY_OUT.
set -euo pipefail
model=$1; minutes=$2; shift 2
out=${QUALITY_OUT:-$(mktemp -d /tmp/onnxgan-arch-XXXX)}
mkdir -p "$out"
cd "$(dirname "$0")/.."
for arch in mlp dcgan; do
  rm -rf "$out/$model-$arch"
  # --minutes plans whole epochs (up to half of one over); the deadline is hard: SIGINT checkpoints and exits 0.
  (timeout -s INT "$(awk "BEGIN { print int($minutes * 60) }")" node dist/cli.js train --model "$model" --arch "$arch" \
    --minutes "$minutes" --seed 1 --out "$out/$model-$arch" --sample-every 1000 "$@" > "$out/$model-$arch.log" 2>&1 || true) &
done
wait
ckpt() { node -e "const c = require('$out/$1/checkpoint.json'); console.log(c.position.$2)"; }
for arch in mlp dcgan; do
  run="$out/$model-$arch"
  node dist/cli.js export "$run" --out "$run.onnx" > /dev/null
  node dist/cli.js eval "$run.onnx" --n 5000 --no-ceiling --json > "$run.json"
  used=$(node -e "console.log(($(ckpt "$model-$arch" wallTimeMs) / 60000).toFixed(1) + ' min')")
  batch=$(node -e "console.log(require('$run/checkpoint.json').batch)")
  node bench/eval-row.mjs "$run.json" "$model" "--arch $arch $* (batch $batch)" "$minutes min" "$used" "$(ckpt "$model-$arch" step)"
done
