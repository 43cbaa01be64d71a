#!/usr/bin/python3
"""Makes a photo-like JPEG image set for the end-to-end scoring benchmark (bench/score.sh).

    /usr/bin/python3 bench/make_images.py [N] [OUTDIR]      (default 2000, bench/data/images)

ImageNet-like: sizes drawn from the common ImageNet shapes (500x375, 500x333, 375x500, 640x480,
500x400, 800x600), JPEG quality 90, 10 class folders, content made of smooth colour fields,
shapes, texture and sensor-like noise so files weigh what photos of that size weigh (~60-150 KB).
Deterministic. Debian's python3 with numpy and PIL.
"""
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZES = [(500, 375), (500, 333), (375, 500), (640, 480), (500, 400), (800, 600)]


def image(rng):
    w, h = SIZES[rng.integers(len(SIZES))]
    # Smooth colour field: low-resolution noise upsampled.
    lo = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    img = Image.fromarray(lo).resize((w, h), Image.BICUBIC)
    d = ImageDraw.Draw(img)
    for _ in range(rng.integers(3, 9)):
        x0, y0 = rng.integers(0, w), rng.integers(0, h)
        x1, y1 = x0 + rng.integers(20, w // 2), y0 + rng.integers(20, h // 2)
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse([x0, y0, x1, y1], fill=col)
        else:
            d.rectangle([x0, y0, x1, y1], fill=col)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    a = np.asarray(img).astype(np.int16)
    a += rng.integers(-10, 11, size=a.shape, dtype=np.int16)  # texture / sensor noise
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "images")
    rng = np.random.default_rng(7)
    for i in range(n):
        cls = "class%02d" % (i % 10)
        os.makedirs(os.path.join(out, cls), exist_ok=True)
        image(rng).save(os.path.join(out, cls, "%05d.jpg" % i), quality=90)
    print("wrote %d images to %s" % (n, out))


if __name__ == "__main__":
    main()
