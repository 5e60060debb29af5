#!/usr/bin/env bash
# A quality lever against the reference settings at equal generator steps: trains MODEL for EPOCHS
# (30 generator steps each on the 9,000 embedded digits) once per variant, then scores each with
# `onnxgan eval --n 2000`. Variants are quoted flag lists over `--recipe reference`; "" is the reference.
# Usage: bash bench/levers.sh gan 100 "" "--d-lr 1e-4" "--label-smoothing 0.2"
set -euo pipefail
model=$1; epochs=$2; shift 2
out=$(mktemp -d /tmp/onnxgan-levers-XXXX)
cd "$(dirname "$0")/.."
echo "| model | flags (seed 1) | steps | FID-judge | IS | coverage | entropy | class accuracy |"
echo "|---|---|---|---|---|---|---|---|"
i=0
for flags in "$@"; do
  i=$((i + 1))
  # shellcheck disable=SC2086 # flags are a word list on purpose
  node dist/cli.js train --model "$model" --recipe reference --epochs "$epochs" --seed 1 --out "$out/$i" --sample-every 1000 $flags > "$out/$i.log" 2>&1
  node dist/cli.js export "$out/$i" --out "$out/$i.onnx" > /dev/null
  node dist/cli.js eval "$out/$i.onnx" --n 2000 --no-ceiling --json > "$out/$i.json"
  node bench/eval-row.mjs "$out/$i.json" "$model" "${flags:-reference}" "$((epochs * 30))"
done
echo "(runs and samples in $out)"
