#!/usr/bin/python3
"""Reference outputs for ops/preprocess, made with torchvision on PIL images (Debian's python3,
python3-torchvision): /usr/bin/python3 gen.py

For each source image NAME.png:
  NAME.tv.png     torchvision Resize(256) + CenterCrop(224) of it (the "torchvision" preset's pixels)
  NAME.inc.png    Resize((299, 299)) of it (the "inception" presets' pixels)
  NAME.small.f32  the full tensor of Resize(64) + CenterCrop(56) + ToTensor + Normalize(ImageNet),
                  CHW float32 little-endian
"""
import os
import numpy as np
from PIL import Image
from torchvision import transforms as T

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(5)


def make(w, h):
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    g = (y * 255 // max(h - 1, 1)).astype(np.uint8)
    b = np.where(((x // 7) + (y // 5)) % 2 == 0, 230, 20).astype(np.uint8)
    img = np.stack([r, g, b], axis=-1)
    img[::9, :, :] = rng.integers(0, 255, size=img[::9, :, :].shape, dtype=np.uint8)
    return Image.fromarray(img, "RGB")


norm = T.Compose([T.Resize(64), T.CenterCrop(56), T.ToTensor(),
                  T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
for name, (w, h) in {"land": (301, 200), "port": (150, 203), "tiny": (61, 50)}.items():
    img = make(w, h)
    img.save(os.path.join(here, name + ".png"))
    T.CenterCrop(224)(T.Resize(256)(img)).save(os.path.join(here, name + ".tv.png"))
    T.Resize((299, 299))(img).save(os.path.join(here, name + ".inc.png"))
    norm(img).numpy().astype("<f4").tofile(os.path.join(here, name + ".small.f32"))
