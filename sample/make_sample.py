#!/usr/bin/python3
"""Makes the batch-scoring sample: a small image classifier trained here, on CPU, on images this
script draws, and a labelled set of sample images it has never seen.

    /usr/bin/python3 sample/make_sample.py        (Debian's python3 with python3-torch, python3-pil)

Writes sample/classifier.onnx (opset 13, input "image" N×3×64×64, output "logits" N×6),
sample/labels.txt (one class per line, in output order) and sample/images/<class>/<n>.jpg
(50 per class). Everything is drawn procedurally, so the sample carries no third-party licence:
it is the project's own work, under the project's licence. Deterministic for a given torch build.

Preprocessing the model expects (sluice --preprocess): size=64,mean=0.5:0.5:0.5,std=0.25:0.25:0.25
"""
import io, math, os, random, shutil
import numpy as np
import torch
import torch.nn as nn
from PIL import Image, ImageDraw, ImageFilter

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSES = ["circle", "square", "triangle", "star", "cross", "stripes"]
SIZE = 96  # drawn size; the model sees 64x64


def draw(cls, rnd):
    bg = tuple(rnd.randint(0, 255) for _ in range(3))
    fg = tuple((c + rnd.randint(90, 165)) % 256 for c in bg)
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    cx, cy = rnd.uniform(32, 64), rnd.uniform(32, 64)
    r = rnd.uniform(16, 28)
    a = rnd.uniform(0, 2 * math.pi)

    def poly(points):
        d.polygon([(cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)) for x, y in points], fill=fg)

    if cls == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fg)
    elif cls == "square":
        poly([(-r, -r), (r, -r), (r, r), (-r, r)])
    elif cls == "triangle":
        poly([(r * math.cos(t), r * math.sin(t)) for t in (0, 2 * math.pi / 3, 4 * math.pi / 3)])
    elif cls == "star":
        poly([((r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5), (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5)) for i in range(10)])
    elif cls == "cross":
        w = r * 0.35
        poly([(-w, -r), (w, -r), (w, -w), (r, -w), (r, w), (w, w), (w, r), (-w, r), (-w, w), (-r, w), (-r, -w), (-w, -w)])
    else:  # stripes
        period = rnd.uniform(8, 14)
        for k in range(-12, 13):
            o = k * period
            poly([(o - period / 4, -2 * SIZE), (o + period / 4, -2 * SIZE), (o + period / 4, 2 * SIZE), (o - period / 4, 2 * SIZE)])
    if rnd.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(rnd.uniform(0, 1.2)))
    arr = np.asarray(img).astype(np.int16)
    arr = arr + np.array([rnd.randint(-12, 12) for _ in range(SIZE * SIZE * 3)], dtype=np.int16).reshape(arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def jpeg(img, rnd):
    """A JPEG round trip, as the sample images get, so training sees the same artefacts."""
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=rnd.choice((80, 90, 95)))
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def tensor(img):
    a = np.asarray(img.resize((64, 64), Image.BILINEAR), dtype=np.float32) / 255.0
    return torch.from_numpy(((a - 0.5) / 0.25).transpose(2, 0, 1).copy())


class Net(nn.Module):
    def __init__(self):
        super().__init__()

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(*block(3, 16), nn.MaxPool2d(2), *block(16, 32), nn.MaxPool2d(2),
                                      *block(32, 64), nn.MaxPool2d(2), *block(64, 64), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(64, len(CLASSES))

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rnd = random.Random(1)
    xs, ys = [], []
    for i in range(6000):
        c = i % len(CLASSES)
        xs.append(tensor(jpeg(draw(CLASSES[c], rnd), rnd)))
        ys.append(c)
    x, y = torch.stack(xs), torch.tensor(ys)
    net = Net()
    epochs = 16
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(x) + 63) // 64))
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x))
        for b in range(0, len(x), 64):
            idx = perm[b:b + 64]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print("epoch %d loss %.3f" % (epoch, loss.item()), flush=True)
    net.eval()

    out = os.path.join(HERE, "images")
    shutil.rmtree(out, ignore_errors=True)
    rnd = random.Random(2)  # images the model never saw
    correct = total = 0
    for c, name in enumerate(CLASSES):
        os.makedirs(os.path.join(out, name))
        for n in range(50):
            img = draw(name, rnd)
            path = os.path.join(out, name, "%03d.jpg" % n)
            img.save(path, quality=90)
            with torch.no_grad():
                pred = net(tensor(Image.open(path).convert("RGB"))[None]).argmax(1).item()
            correct += pred == c
            total += 1
    print("accuracy of the PyTorch model on the sample: %.3f" % (correct / total))
    with open(os.path.join(HERE, "labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    torch.onnx.export(net, torch.zeros(1, 3, 64, 64), os.path.join(HERE, "classifier.onnx"), opset_version=13,
                      input_names=["image"], output_names=["logits"], dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}})


if __name__ == "__main__":
    main()
