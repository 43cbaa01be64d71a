#!/usr/bin/env bash
# Packs what scripts/gpu-check.sh needs on a GPU host that has no Go toolchain into DEST
# (default .gpucarry): the cuda-tagged test binary of gpu/ (stripped, xz), patchelf, the ELF
# helper, the PyTorch reference script, and the op13 model fixtures with their weights rounded to
# float16 precision (stored as float32) so that they compress to fit a 64 MiB transfer — the GPU
# tests compare the GPU with nn/cpu on the same file, so any weights serve. Needs the CUDA
# toolkit (scripts/setup-cuda.sh), patchelf, xz and /usr/bin/python3 with onnx and numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.gpucarry}
MODELS=${SLUICE_GPU_MODELS:-nn/testdata/models}
mkdir -p "$DEST"
go test -tags cuda -c -ldflags='-s -w' -o "$DEST/gpu.test" ./gpu
nm -D --undefined-only "$DEST/gpu.test" | awk '/@libcublas/ {sub(/@.*/, "", $2); print $2}' >"$DEST/cublas-symbols.txt"
xz -T2 -6 -f "$DEST/gpu.test"
cp "$(command -v patchelf)" "$DEST/patchelf"
cp scripts/gpu-check.sh scripts/elf-weaken-verneed.py scripts/gpu_torch_ref.py nn/testdata/gen_models.py "$DEST/"
[ -s "$DEST/models.tar.xz" ] && [ -z "${REPACK_MODELS:-}" ] || /usr/bin/python3 - "$MODELS" "$DEST/models.tar.xz" <<'PY'
import io, os, sys, tarfile
import numpy as np
import onnx
from onnx import numpy_helper
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(dst, "w:xz", preset=6) as tar:
    for m in ("resnet18", "mobilenet_v2", "squeezenet1_1", "transformernet"):
        model = onnx.load(os.path.join(src, f"{m}_op13.onnx"))
        for init in model.graph.initializer:
            if init.data_type != onnx.TensorProto.FLOAT:
                continue
            a = numpy_helper.to_array(init)
            r = a.astype(np.float16).astype(np.float32)
            if np.all(np.isfinite(r)):
                init.CopyFrom(numpy_helper.from_array(r, init.name))
        b = model.SerializeToString()
        info = tarfile.TarInfo(f"{m}_op13.onnx"); info.size = len(b)
        tar.addfile(info, io.BytesIO(b))
        tar.add(os.path.join(src, f"{m}_input.npy"), arcname=f"{m}_input.npy")
PY
du -sh "$DEST"/*
