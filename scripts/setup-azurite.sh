#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator, npm package azurite) into .tools/azurite, where the
# Blob tests find it (internal/azuritetest). Idempotent and quiet when it is there already.
# Needs Node.js and npm (Debian: apt-get install -y nodejs npm). The tests start it themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
version=3.37.0
dir=.tools/azurite
if [ -x "$dir/node_modules/.bin/azurite-blob" ] && [ "$("$dir/node_modules/.bin/azurite-blob" --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nodejs npm
fi
mkdir -p "$dir"
(cd "$dir" && npm install --no-save --no-audit --no-fund --loglevel=error "azurite@$version")
"$dir/node_modules/.bin/azurite-blob" --version
