#!/usr/bin/env bash
# The test command of the README: installs what the tests need on a fresh machine, then runs them.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
go vet ./...
go test -race -shuffle=on -timeout 20m ./...
