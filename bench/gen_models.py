#!/usr/bin/python3
"""Exports the benchmark models for Sluice's harness (bench/README.md).

    /usr/bin/python3 bench/gen_models.py [OUTDIR]

torchvision resnet18, mobilenet_v2 and squeezenet1_1 with random weights
(BatchNorm statistics calibrated by a few train-mode forwards on random data,
so activations stay in a realistic range), exported at opset 13 with a
dynamic batch dimension and a fixed 3×224×224 image, as
OUTDIR/<model>_op13.onnx. OUTDIR defaults to bench/models (git-ignored).
Needs Debian's python3-torch, python3-torchvision, python3-onnx.
Deterministic for a given torch build (fixed seed).
"""
import os
import sys

import torch
import torchvision

MODELS = ("resnet18", "mobilenet_v2", "squeezenet1_1")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
    os.makedirs(out, exist_ok=True)
    for name in MODELS:
        torch.manual_seed(0)
        net = getattr(torchvision.models, name)()
        net.train()
        with torch.no_grad():
            for _ in range(4):
                net(torch.rand(8, 3, 224, 224) * 2 - 1)
        net.eval()
        path = os.path.join(out, name + "_op13.onnx")
        torch.onnx.export(net, torch.rand(1, 3, 224, 224), path, opset_version=13,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          do_constant_folding=True)
        print(path)


if __name__ == "__main__":
    main()
