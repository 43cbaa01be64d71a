#!/usr/bin/env bash
# GPU check of the CUDA backend, run on a GPU host from the folder scripts/gpu-pack.sh filled
# (the device machine has CUDA and PyTorch but no Go): it relinks the packed cuda test binary of
# gpu/ against the host's cuBLAS (built against Debian's CUDA 11.8, libcublas.so.11), runs the
# GPU tests (every operator and the four model fixtures against nn/cpu, 1e-3 relative L2), the
# throughput report, and the PyTorch CUDA reference; logs and JSON go to $OUT.
#   bash .gpucarry/gpu-check.sh            (OUT defaults to /tmp/gpu-out)
set -uo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1
T=$(mktemp -d)
echo "== host"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.csv"
nproc; uname -r
libdir() { # first directory holding a file matching the regex $1
	local f
	f=$(ldconfig -p | awk -v re="$1" '$1 ~ re {print $NF; exit}')
	[ -n "$f" ] || f=$(find /usr/local /usr/lib /usr/lib64 /opt -regextype posix-extended -regex ".*/$1" 2>/dev/null | sort -V | tail -n1)
	echo "$f"
}
CUDA=${SLUICE_LIBCUDA:-$(libdir 'libcuda\.so\.1')}
CUBLAS=${SLUICE_LIBCUBLAS:-$(libdir 'libcublas\.so\.[0-9]+')}
echo "libcuda: $CUDA"; echo "libcublas: $CUBLAS"
[ -n "$CUDA" ] && [ -n "$CUBLAS" ] || { echo "FAIL: libcuda.so.1 or libcublas.so.N not found"; exit 1; }
export LD_LIBRARY_PATH="$(dirname "$CUBLAS"):$(dirname "$CUDA")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" "$D/gpu.test.xz" "$T/gpu.test"
chmod +x "$T/gpu.test" "$D/patchelf"
SONAME=$(basename "$CUBLAS")
if [ "$SONAME" != libcublas.so.11 ]; then
	args=()
	for s in $(cat "$D/cublas-symbols.txt"); do
		args+=(--clear-symbol-version "$s")
	done
	echo "relinking libcublas.so.11 -> $SONAME (${#args[@]} flags)"
	"$D/patchelf" --replace-needed libcublas.so.11 "$SONAME" "${args[@]}" "$T/gpu.test"
	python3 "$D/elf-weaken-verneed.py" "$T/gpu.test" libcublas
fi
mkdir -p "$T/models"
python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$D/models.tar.xz" "$T/models"
export SLUICE_GPU_MODELS="$T/models" SLUICE_TEST_STRICT=1
cd "$T"
echo "== tests"
timeout 300 ./gpu.test -test.v -test.timeout 280s -test.run 'TestDevices|TestOps|TestRunErrors|TestModels|TestModelsTF32' 2>&1 | tee "$OUT/tests.txt"
trc=${PIPESTATUS[0]}
echo "== throughput"
SLUICE_GPU_BENCH=1 SLUICE_GPU_BENCH_OUT="$OUT/throughput.jsonl" SLUICE_GPU_BENCH_SECONDS=${SLUICE_GPU_BENCH_SECONDS:-1} \
	timeout 240 ./gpu.test -test.v -test.timeout 230s -test.run TestThroughput 2>&1 | tee "$OUT/throughput.txt"
brc=${PIPESTATUS[0]}
echo "== pytorch reference"
prc=skipped
if [ -z "${SKIP_TORCH:-}" ]; then
	(cd "$D" && SLUICE_GPU_BENCH_SECONDS=${SLUICE_GPU_BENCH_SECONDS:-1} timeout 150 python3 gpu_torch_ref.py) 2>&1 | tee "$OUT/torch.jsonl"
	prc=${PIPESTATUS[0]}
fi
echo "== summary"
grep -E '^(--- FAIL|FAIL|ok|PASS)' "$OUT/tests.txt" | head -20
grep -E 'relative L2 error' "$OUT/tests.txt" | sed 's/^ *//' | head -16
grep -E 'images/s end-to-end|per operator' "$OUT/throughput.txt" | sed 's/^ *//'
grep -s '^{' "$OUT/torch.jsonl"
echo "tests rc=$trc throughput rc=$brc torch rc=$prc"
[ "$trc" = 0 ] && [ "$brc" = 0 ]
