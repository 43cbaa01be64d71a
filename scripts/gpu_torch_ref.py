#!/usr/bin/env python3
"""PyTorch CUDA reference rates for docs/gpu.md (run by scripts/gpu-check.sh on a GPU host).

Same models (torchvision resnet18, mobilenet_v2, squeezenet1_1 with random weights; the
fast-neural-style TransformerNet of nn/testdata/gen_models.py), same input sizes and batches as
the Go TestThroughput, float32 with TF32 off (as Sluice's GPU backend computes), cuDNN autotuned.
Prints one JSON object per line: model, batch, height, width, images_per_s (device-resident
input, forward only: PyTorch's model-only rate), e2e_images_per_s (host tensor in, host tensor
out, like Session.Run).
"""
import json
import os
import sys
import time

import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, "nn/testdata")
from gen_models import TransformerNet  # noqa: E402

SECONDS = float(os.environ.get("SLUICE_GPU_BENCH_SECONDS", "1.5"))


def rate(fn, batch):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < SECONDS or n < 3:
        fn()
        n += 1
    torch.cuda.synchronize()
    return n * batch / (time.perf_counter() - t0)


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(0)
    plans = {
        "resnet18": (torchvision.models.resnet18, [(1, 224, 224), (8, 224, 224), (32, 224, 224), (128, 224, 224)]),
        "mobilenet_v2": (torchvision.models.mobilenet_v2, [(1, 224, 224), (8, 224, 224), (32, 224, 224), (128, 224, 224)]),
        "squeezenet1_1": (torchvision.models.squeezenet1_1, [(1, 224, 224), (8, 224, 224), (32, 224, 224), (128, 224, 224)]),
        "transformernet": (TransformerNet, [(1, 720, 1280), (8, 256, 256)]),
    }
    dev = torch.device("cuda")
    for name, (ctor, shapes) in plans.items():
        model = ctor().eval().to(dev)
        for b, h, w in shapes:
            x_host = torch.randn(b, 3, h, w)
            x_dev = x_host.to(dev)
            with torch.inference_mode():
                model_only = rate(lambda: model(x_dev), b)
                e2e = rate(lambda: model(x_host.to(dev)).cpu(), b)
            print(json.dumps({"model": name, "device": torch.cuda.get_device_name(0), "batch": b, "height": h,
                              "width": w, "images_per_s": round(model_only, 1), "e2e_images_per_s": round(e2e, 1),
                              "torch": torch.__version__}), flush=True)
        del model
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
