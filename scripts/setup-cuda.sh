#!/usr/bin/env bash
# Installs Debian's CUDA toolkit (11.8, from the contrib and non-free components) so that the `cuda`
# build of Sluice (gpu/, gorgonia.org/cu and cuBLAS) compiles and links, and `go generate ./gpu/...`
# can rebuild the PTX. Idempotent: a machine that already has nvcc and cuBLAS is left as it is.
# No GPU is needed for any of this; the runtime needs one (and its driver) only to run.
set -euo pipefail

# No `ldconfig -p | grep -q` here: under pipefail, grep -q exiting early gives ldconfig a SIGPIPE and
# the check fails at random. Look for the linker's file instead.
have_cublas() {
	local d
	for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/local/cuda/lib64 /usr/lib64; do
		[ -e "$d/libcublas.so" ] && return 0
	done
	return 1
}
have() { command -v nvcc >/dev/null 2>&1 && [ -e /usr/include/cublas_v2.h ] && have_cublas; }
if have; then
	echo "setup-cuda: toolkit already installed ($(nvcc --version | tail -n1))"
	exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Add contrib and non-free to every Debian source that lacks them (deb822 .sources and one-line lists).
changed=0
for f in /etc/apt/sources.list.d/*.sources; do
	[ -e "$f" ] || continue
	if grep -q '^URIs:.*debian' "$f" && grep -q '^Components:' "$f" && ! grep -q '^Components:.*non-free' "$f"; then
		$SUDO sed -i -E '/^Components:/{/contrib/!s/$/ contrib/; s/$/ non-free/}' "$f"
		changed=1
	fi
done
if [ -e /etc/apt/sources.list ] && grep -Eq '^deb .*debian.* main' /etc/apt/sources.list && ! grep -Eq '^deb .*non-free' /etc/apt/sources.list; then
	$SUDO sed -i -E '/^deb .*debian/{/contrib/!s/$/ contrib/; s/$/ non-free/}' /etc/apt/sources.list
	changed=1
fi
if [ "$changed" = 1 ] || ! apt-cache show nvidia-cuda-toolkit >/dev/null 2>&1; then
	$SUDO apt-get update -q
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends nvidia-cuda-toolkit nvidia-cuda-dev
have || { echo "setup-cuda: nvcc or cuBLAS still missing after the install" >&2; exit 1; }
echo "setup-cuda: installed ($(nvcc --version | tail -n1))"
