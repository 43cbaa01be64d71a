#!/usr/bin/python3
"""Builds the model-conformance fixtures of nn/cpu's model tests.

Run with Debian's python (apt-get install python3-torch python3-torchvision
python3-onnx python3-numpy):

    /usr/bin/python3 nn/testdata/gen_models.py [--opsets 9,13] [OUTDIR]

For torchvision resnet18, mobilenet_v2, squeezenet1_1 and the pytorch/examples
fast-neural-style TransformerNet it builds the network with random weights
(BatchNorm statistics calibrated by train-mode forwards on random data, so
outputs do not collapse), exports it to ONNX at opsets 9 and 13 with a dynamic
batch dimension (and dynamic height and width for the fully convolutional
TransformerNet; torch cannot export ceil-mode pooling with a symbolic size at
opset 9), and saves an input and PyTorch's output as .npy:

    OUTDIR/<model>_op9.onnx, <model>_op13.onnx, <model>_input.npy, <model>_output.npy

OUTDIR defaults to nn/testdata/models (git-ignored: the .onnx files are
megabytes). Deterministic for a given torch build (fixed seeds). --opsets
exports more opsets (torch 1.13 reaches 7–17; TransformerNet needs >= 9);
the Go test runs every <model>_op*.onnx it finds.
"""
import os
import sys

import numpy as np
import torch
import torchvision

OPSETS = (9, 13)


# --- pytorch/examples fast_neural_style/neural_style/transformer_net.py ---
class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super().__init__()
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        return self.conv2d(self.reflection_pad(x))


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        return out + residual


class UpsampleConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = torch.nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode="nearest", scale_factor=self.upsample)
        return self.conv2d(self.reflection_pad(x_in))


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ConvLayer(3, 32, kernel_size=9, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(32, affine=True)
        self.conv2 = ConvLayer(32, 64, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(64, affine=True)
        self.conv3 = ConvLayer(64, 128, kernel_size=3, stride=2)
        self.in3 = torch.nn.InstanceNorm2d(128, affine=True)
        self.res1 = ResidualBlock(128)
        self.res2 = ResidualBlock(128)
        self.res3 = ResidualBlock(128)
        self.res4 = ResidualBlock(128)
        self.res5 = ResidualBlock(128)
        self.deconv1 = UpsampleConvLayer(128, 64, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = UpsampleConvLayer(64, 32, kernel_size=3, stride=1, upsample=2)
        self.in5 = torch.nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = ConvLayer(32, 3, kernel_size=9, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.relu(self.in3(self.conv3(y)))
        y = self.res1(y)
        y = self.res2(y)
        y = self.res3(y)
        y = self.res4(y)
        y = self.res5(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


def calibrate(model, shape):
    """Sets BatchNorm running statistics from train-mode forwards."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.randn(8, *shape[1:]))
    model.eval()


def randomize_affine(model):
    """Non-trivial affine parameters for the normalization layers."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.InstanceNorm2d, torch.nn.modules.batchnorm._BatchNorm)) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


# name -> (constructor, input shape for the saved reference)
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 64, 64)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), (1, 3, 64, 64)),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(weights=None), (2, 3, 64, 64)),
    "transformernet": (TransformerNet, (1, 3, 64, 64)),
}


def main():
    args = sys.argv[1:]
    opsets = OPSETS
    if len(args) >= 2 and args[0] == "--opsets":
        opsets = tuple(int(v) for v in args[1].split(","))
        args = args[2:]
    out = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for i, (name, (ctor, shape)) in enumerate(MODELS.items()):
        torch.manual_seed(1234 + i)
        model = ctor()
        randomize_affine(model)
        calibrate(model, shape)
        x = torch.randn(*shape)
        if name == "transformernet":
            x = x.abs() * 100  # pixel-like range, as the style scripts feed
        with torch.no_grad():
            y = model(x)
        np.save(os.path.join(out, name + "_input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(out, name + "_output.npy"), y.numpy().astype(np.float32))
        for opset in opsets:
            if name == "transformernet" and opset < 9:
                continue  # torch cannot export ReflectionPad2d/Upsample below opset 9
            path = os.path.join(out, "%s_op%d.onnx" % (name, opset))
            axes = {0: "N"}
            if name == "transformernet":
                axes = {0: "N", 2: "H", 3: "W"}  # fully convolutional
            torch.onnx.export(
                model, x, path, opset_version=opset,
                input_names=["input"], output_names=["output"],
                dynamic_axes={"input": axes, "output": {0: "N"}},
                do_constant_folding=True,
            )
            print("wrote", path, "output", tuple(y.shape), "std %.4g" % y.std().item())
    with open(os.path.join(out, ".complete"), "w") as f:  # scripts/setup.sh regenerates without it
        f.write("opsets %s\n" % ",".join(str(o) for o in opsets))


if __name__ == "__main__":
    main()
