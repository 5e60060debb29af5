#!/usr/bin/env bash
# Installs what the test suite needs on a bare Debian/Ubuntu machine, then the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
/usr/bin/python3 -c "import onnx" 2>/dev/null || need+=(python3-onnx)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
# tests/image-*.test.ts build a colour data set from Adwaita's PNG icons (docs/data.md: Train on your own images).
[ -d /usr/share/icons/Adwaita/48x48/places ] || need+=(adwaita-icon-theme)
# tests/triton.test.ts parses config.pbtxt files against Triton's model_config.proto with protoc + protobuf.
command -v protoc >/dev/null || need+=(protobuf-compiler)
/usr/bin/python3 -c "import google.protobuf" 2>/dev/null || need+=(python3-protobuf)
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "tests/setup.sh: missing ${need[*]} and no apt-get here: install Chromium (/usr/bin/chromium or set CHROMIUM_PATH), python3 with the onnx and protobuf packages, protoc, Fashion-MNIST IDX files and the Adwaita icon theme (PNG icons)" >&2
    exit 1
  fi
  echo "installing ${need[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
# npm ci always deletes node_modules first: skip it when the installed tree (npm's record of it,
# node_modules/.package-lock.json) already matches package-lock.json. Optional packages npm skipped
# (other platforms' binaries) are allowed to be absent.
if node -e '
  const fs = require("node:fs");
  const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
  const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages;
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const ok = Object.entries(want).every(([k, v]) => k === "" || (k in have ? same(v, have[k]) : v.optional === true || v.devOptional === true)) &&
    Object.keys(have).every((k) => k in want);
  process.exit(ok ? 0 : 1);
' 2>/dev/null; then
  echo "node_modules matches package-lock.json: not reinstalling"
else
  # onnxruntime-node's install script would download CUDA libraries; its CPU library ships in the package.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci
fi
