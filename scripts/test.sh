#!/usr/bin/env bash
# The test command of the README: installs what the tests need on a fresh machine, then runs them.
# SLUICE_TEST_STRICT makes a test fail, not skip, when a tool or fixture it needs is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
go vet ./...
# The CUDA build (gpu/, behind the cuda tag) must compile and link, and the committed PTX must be
# what nvcc makes of gpu/kernels; the GPU tests themselves need a GPU (scripts/gpu-check.sh).
./scripts/setup-cuda.sh
go build -tags cuda ./...
go vet -tags cuda ./gpu/...
go generate ./gpu && git diff --exit-code gpu/kernels.ptx
SLUICE_TEST_STRICT=1 go test -race -shuffle=on -timeout 30m ./...
