#!/usr/bin/env bash
# Quality at equal wall time: onnxgan (tfjs wasm) and the reference PyTorch program train the same
# model on the same 9,000 embedded digits for MINUTES each, side by side (one core each), then both are
# scored by the same `onnxgan eval`. Usage: bash bench/quality-vs-reference.sh cgan 8 [extra train flags]
# Needs Debian's python3-torch (/usr/bin/python3). Prints one markdown row per implementation.
set -euo pipefail
model=$1; minutes=$2; shift 2
out=$(mktemp -d /tmp/onnxgan-quality-XXXX)
cd "$(dirname "$0")/.."
# Epochs without end (the reference has none either); SIGINT at the deadline: onnxgan checkpoints and exits 0.
(timeout -s INT "$((minutes * 60))" node dist/cli.js train --model "$model" --seed 1 --out "$out/ours" --epochs 1000000 --sample-every 1000 "$@" > "$out/ours.log" 2>&1 || true) &
/usr/bin/python3 bench/reference_train.py --model "$model" --minutes "$minutes" --seed 1 --out "$out/reference" > "$out/reference.log" 2>&1 &
wait
node dist/cli.js export "$out/ours" --out "$out/ours.onnx" > /dev/null
steps_ours=$(node -e "console.log(require('$out/ours/checkpoint.json').position.step)")
steps_ref=$(sed -n 's/.*"steps": \([0-9]*\).*/\1/p' "$out/reference.log")
row() { # id label input steps
  node dist/cli.js eval "$3" --n 5000 --no-ceiling --json > "$out/$1.json"
  node bench/eval-row.mjs "$out/$1.json" "$model" "$2" "$minutes min" "$4"
}
echo "| model | implementation | wall time | generator steps | FID-judge | IS | coverage | entropy | class accuracy |"
echo "|---|---|---|---|---|---|---|---|---|"
row ours "onnxgan (tfjs wasm) $*" "$out/ours.onnx" "$steps_ours"
row reference "reference PyTorch (1 thread)" "$out/reference.npy" "$steps_ref"
