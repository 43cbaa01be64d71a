#!/usr/bin/env bash
# The test command of the README: installs what the tests need on a fresh machine, then runs them.
# SLUICE_TEST_STRICT makes a test fail, not skip, when a tool or fixture it needs is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
go vet ./...
SLUICE_TEST_STRICT=1 go test -race -shuffle=on -timeout 30m ./...
