#!/usr/bin/python3
"""PyTorch + PIL peer of the end-to-end scoring benchmark (bench/cmd/scorebench).

    /usr/bin/python3 score_torch.py IMAGES_DIR OUT.csv BATCH THREADS WORKERS

What a PyTorch user writes: torchvision ImageFolder with PIL decoding and the standard transforms
(Resize(256), CenterCrop(224), ToTensor, Normalize with ImageNet statistics), a DataLoader with
WORKERS worker processes, torchvision resnet18 (random weights, eval, inference_mode) on THREADS
threads, softmax + top-5, and one CSV line per image. Prints one JSON object: images, seconds
(from the first batch requested to the output closed), images_per_s.
"""
import json
import sys
import time

import torch
import torchvision
from torch.utils.data import DataLoader
from torchvision import datasets, transforms as T


def main():
    root, out, batch, threads, workers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    ds = datasets.ImageFolder(root, transform=tf)
    dl = DataLoader(ds, batch_size=batch, num_workers=workers, shuffle=False)
    net = torchvision.models.resnet18().eval()
    n = 0
    t0 = time.perf_counter()
    with torch.inference_mode(), open(out, "w") as f:
        f.write("path,label,score\n")
        for x, _ in dl:
            p = torch.softmax(net(x), 1)
            s, i = p.topk(5, 1)
            for j in range(x.shape[0]):
                f.write("%s,%d,%.6f\n" % (ds.samples[n + j][0], i[j, 0].item(), s[j, 0].item()))
            n += x.shape[0]
    secs = time.perf_counter() - t0
    print(json.dumps({"runtime": "pytorch+pil", "images": n, "seconds": secs, "images_per_s": n / secs,
                      "batch": batch, "threads": threads, "workers": workers}))


if __name__ == "__main__":
    main()
