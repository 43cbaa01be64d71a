#!/usr/bin/python3
"""Makes the style-transfer fixtures (git-ignored; scripts/setup.sh runs this). Debian python:

    /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py [OUTDIR]

OUTDIR (default nn/testdata/models) receives, for a TransformerNet with random weights (fixed
seed) whose output is scaled to a pixel-like range (mean ~128, std ~50 on natural-ish input):

  style_random_legacy.pth  the state dict in the pre-1.6 serialization, WITH the stale
                           in*.running_mean/running_var keys the published checkpoints carry
  style_random_zip.pth     the same in the zip serialization (also with the stale keys)
  style_random_op9.onnx, style_random_op13.onnx   its ONNX exports (Upsample / Resize)
  style_frames_in.npy      2×3×40×56 float32 pixel values (0–255)
  style_frames_out.npy     PyTorch's output on them (float32, before clamping)
"""
import collections
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformer_net import TransformerNet  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "nn", "testdata", "models")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(2016)
    model = TransformerNet()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    # Smooth, image-like input: upsampled noise plus a gradient.
    g = torch.Generator().manual_seed(5)
    x = torch.nn.functional.interpolate(torch.rand(2, 3, 10, 14, generator=g) * 255, size=(40, 56), mode="bilinear",
                                        align_corners=False)
    x = (x * 0.7 + torch.linspace(0, 76, 56).view(1, 1, 1, 56)).clamp(0, 255)
    with torch.no_grad():
        y = model(x)
        s = 50.0 / y.std().item()
        model.deconv3.conv2d.weight.mul_(s)
        model.deconv3.conv2d.bias.mul_(s)
        model.deconv3.conv2d.bias.add_(128.0 - model(x).mean().item())
        y = model(x)
    sd = collections.OrderedDict()
    for k, v in model.state_dict().items():
        sd[k] = v
        m = k.rsplit(".", 1)
        if m[1] == "bias" and m[0].split(".")[-1].startswith("in"):
            n = model.get_submodule(m[0]).num_features
            sd[m[0] + ".running_mean"] = torch.zeros(n)  # stale stats, as in pre-0.4 checkpoints
            sd[m[0] + ".running_var"] = torch.ones(n)
    torch.save(sd, os.path.join(out, "style_random_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(sd, os.path.join(out, "style_random_zip.pth"))
    for opset in (9, 13):
        torch.onnx.export(model, x, os.path.join(out, "style_random_op%d.onnx" % opset), opset_version=opset,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}, "output": {0: "N", 2: "H", 3: "W"}},
                          do_constant_folding=True)
    np.save(os.path.join(out, "style_frames_in.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(out, "style_frames_out.npy"), y.numpy().astype(np.float32))
    print("style fixtures in %s: output mean %.1f std %.1f, %.1f%% clamped" % (
        out, y.mean().item(), y.std().item(), 100.0 * ((y < 0) | (y > 255)).float().mean().item()))
    with open(os.path.join(out, ".style-complete"), "w") as f:
        f.write("v1\n")


if __name__ == "__main__":
    main()
