#!/usr/bin/python3
"""PyTorch's TransformerNet output on given frames, for Sluice's style-transfer tests.

    /usr/bin/python3 torch_reference.py MODEL.pth FRAMES_IN.npy FRAMES_OUT.npy

FRAMES_IN: uint8 N×H×W×3 (RGB frames as decoded). FRAMES_OUT: uint8 N×H×W×3, neural_style.py's
image (model output clamped to 0–255, then astype uint8), cropped to H×W.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transformer_net  # noqa: E402

torch.set_num_threads(1)
model = transformer_net.load(sys.argv[1])
frames = np.load(sys.argv[2])
_, img = transformer_net.stylize(model, frames)
np.save(sys.argv[3], np.ascontiguousarray(img[:, :frames.shape[1], :frames.shape[2], :]))
