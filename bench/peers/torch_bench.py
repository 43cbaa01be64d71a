#!/usr/bin/python3
"""PyTorch peer for Sluice's benchmark harness (bench/README.md).

    /usr/bin/python3 torch_bench.py MODEL BATCH THREADS SECONDS [SIZE]

MODEL is a torchvision model name (resnet18, mobilenet_v2, squeezenet1_1) or
the path of one of the harness's ONNX files, whose base name (minus _op9 /
_op13 and .onnx) names it. PyTorch cannot execute ONNX files, so it runs the
same torchvision architecture, random weights, eval mode, under
torch.inference_mode(). Prints one JSON object (bench.InferResult). Same
protocol as the other runtimes: 2 warm-up runs, then runs until SECONDS have
passed (at least 3).
"""
import json
import os
import re
import sys
import time

import torch
import torchvision


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    model = sys.argv[1]
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 5
    size = int(sys.argv[5]) if len(sys.argv) > 5 else 224
    name = re.sub(r"(_op\d+)?\.onnx$", "", os.path.basename(model))
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = getattr(torchvision.models, name)().eval()
    x = torch.rand(batch, 3, size, size) * 2 - 1
    with torch.inference_mode():
        t0 = time.perf_counter()
        for _ in range(2):
            net(x)
        warmup = time.perf_counter() - t0
        runs = []
        cpu0 = time.process_time()
        start = time.perf_counter()
        while len(runs) < 3 or time.perf_counter() - start < seconds:
            t = time.perf_counter()
            net(x)
            runs.append(time.perf_counter() - t)
        total = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    print(json.dumps({
        "runtime": "pytorch",
        "model": os.path.basename(model).removesuffix(".onnx"),
        "batch": batch,
        "threads": threads,
        "images_per_s": batch * len(runs) / total,
        "best_images_per_s": batch / min(runs),
        "cpu_images_per_s": batch * len(runs) / (cpu / threads) if cpu > 0 else 0,
        "runs": len(runs),
        "warmup_s": warmup,
        "note": "torch " + torch.__version__ + " (torchvision " + name + ", eager)",
    }))


if __name__ == "__main__":
    main()
