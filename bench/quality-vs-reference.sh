#!/usr/bin/env bash
# Quality at equal wall time: onnxgan with its defaults and the reference PyTorch program train the
# same model on the same 9,000 embedded digits for MINUTES each, side by side (one core each), then
# both are scored by the same `onnxgan eval`.
#   npm run build && bash bench/quality-vs-reference.sh cgan "10 20" [extra onnxgan train flags]
# Needs Debian's python3-torch with libopenblas0-pthread (/usr/bin/python3; without OpenBLAS torch
# falls back to the reference BLAS, ~8x slower). Prints one markdown row per implementation and budget.
#
# onnxgan's run is given an end, as a user with a time budget would: --epochs is set from the steps
# per second of a 90-second calibration pair (onnxgan beside the reference), so the default
# recipe's learning-rate decay ends with the budget. The budget is a hard limit (SIGINT at the deadline:
# onnxgan checkpoints and exits 0); the reference runs exactly MINUTES.
set -euo pipefail
model=$1; budgets=$2; shift 2
out=${QUALITY_OUT:-$(mktemp -d /tmp/onnxgan-quality-XXXX)}
mkdir -p "$out"
cd "$(dirname "$0")/.."
steps_per_epoch=30 # 9,000 digits, batch 300

pair() { # name minutes epochs: both implementations for `minutes`, one core each
  local name=$1 minutes=$2 epochs=$3
  shift 3
  rm -rf "$out/$name"
  (timeout -s INT "$(awk "BEGIN { print int($minutes * 60) }")" node dist/cli.js train --model "$model" --seed 1 --out "$out/$name" \
    --epochs "$epochs" --sample-every 1000 "$@" > "$out/$name.log" 2>&1 || true) &
  /usr/bin/python3 bench/reference_train.py --model "$model" --minutes "$minutes" --seed 1 --out "$out/$name-reference" > "$out/$name-reference.log" 2>&1 &
  wait
}
ckpt() { node -e "const p = require('$out/$1/checkpoint.json').position; console.log(p.$2)"; }

pair calibration 1.5 1000000 "$@"
# The steady rate: the second half of the calibration's epochs (the first ones include start-up and
# the JIT warming up; from epoch 2 on, the rate still came out ~15% low).
rate=$(node -e "
  const rows = require('fs').readFileSync('$out/calibration/metrics.jsonl', 'utf8').trim().split('\\n').map(JSON.parse);
  const [a, b] = [rows[Math.floor(rows.length / 2)], rows.at(-1)];
  console.log((b.step - a.step) / (b.wallSeconds - a.wallSeconds));")
echo "calibration: $rate generator steps/s in the second half ($(ckpt calibration step) steps in 1.5 min)" >&2

echo "| model | implementation | budget | wall time used | generator steps | FID-judge | IS | coverage | entropy | class accuracy |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for minutes in $budgets; do
  # The whole budget at the calibrated rate (a run slower than calibrated is stopped at the deadline,
  # near the end of its learning-rate decay; one faster ends a little early).
  epochs=$(node -e "console.log(Math.max(2, Math.floor($minutes * 60 * $rate / $steps_per_epoch)))")
  pair "ours-$minutes" "$minutes" "$epochs" "$@"
  node dist/cli.js export "$out/ours-$minutes" --out "$out/ours-$minutes.onnx" > /dev/null
  used=$(node -e "console.log(($(ckpt "ours-$minutes" wallTimeMs) / 60000).toFixed(1) + ' min')")
  steps_ref=$(sed -n 's/.*"steps": \([0-9]*\).*/\1/p' "$out/ours-$minutes-reference.log")
  node dist/cli.js eval "$out/ours-$minutes.onnx" --n 5000 --no-ceiling --json > "$out/ours-$minutes.json"
  node dist/cli.js eval "$out/ours-$minutes-reference.npy" --n 5000 --no-ceiling --json > "$out/ours-$minutes-reference.json"
  node bench/eval-row.mjs "$out/ours-$minutes.json" "$model" "onnxgan, defaults (--epochs $epochs) $*" "$minutes min" "$used" "$(ckpt "ours-$minutes" step)"
  node bench/eval-row.mjs "$out/ours-$minutes-reference.json" "$model" "reference PyTorch (1 thread)" "$minutes min" "$minutes min" "$steps_ref"
done
