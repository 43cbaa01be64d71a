#!/usr/bin/env bash
# Installs what builds and tests need on a fresh Debian 12 machine (Go 1.26 is already there).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
apt_pkgs=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || apt_pkgs+=("$1"); }
need_pkg ffmpeg            # video decode/encode (ops/video), sample clips
need_pkg libturbojpeg0-dev # JPEG decoding through libjpeg-turbo (ops/decode; build with -tags noturbojpeg without it)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${apt_pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
fi
go mod download
