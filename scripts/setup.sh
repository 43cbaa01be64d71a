#!/usr/bin/env bash
# Installs what builds and tests need on a fresh Debian 12 machine (Go 1.26 is already there) and
# makes the generated test fixtures. Idempotent: installs and generates only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_pkgs=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || apt_pkgs+=("$1"); }
need_pkg ffmpeg              # video decode/encode (ops/video), sample clips
need_pkg libturbojpeg0-dev   # JPEG decoding through libjpeg-turbo (ops/decode; build with -tags noturbojpeg without it)
command -v npm >/dev/null || { need_pkg nodejs; need_pkg npm; } # Azurite, the Blob tests' Azure Storage emulator
need_pkg chromium            # the web view's browser test (server/web)
need_pkg libonnx-testdata    # ONNX backend node tests (nn/cpu conformance)
need_pkg python3-torch; need_pkg python3-torchvision; need_pkg python3-onnx; need_pkg python3-numpy; need_pkg python3-pil
need_pkg libopenblas0-pthread # optional sgemm backend of nn/kernels, loaded at run time when present
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${apt_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
go mod download
./scripts/setup-azurite.sh >/dev/null
./scripts/setup-duckdb.sh >/dev/null
# Reference models with random weights, exported by PyTorch, and PyTorch's outputs (git-ignored).
if [ ! -f nn/testdata/models/.complete ]; then
  echo "setup: generating reference models (nn/testdata/gen_models.py, about 2 minutes)" >&2
  log=$(mktemp)
  /usr/bin/python3 nn/testdata/gen_models.py >"$log" 2>&1 || { cat "$log" >&2; exit 1; }  # torch's export warnings only on failure
  rm -f "$log"
fi
# Style-transfer fixtures: a random-weight TransformerNet as .pth (both serializations, with the
# stale InstanceNorm keys) and ONNX, with PyTorch's frames (git-ignored, nn/testdata/models/style_*).
if [ ! -f nn/testdata/models/.style-complete ]; then
  echo "setup: generating style-transfer fixtures (scenarios/styletransfer/testdata/gen_fixtures.py)" >&2
  /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py >/dev/null 2>&1
fi
