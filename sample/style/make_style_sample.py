#!/usr/bin/python3
"""Makes the style-transfer sample: a fast-neural-style TransformerNet trained here, on CPU, and a
short clip to restyle with it.

    /usr/bin/python3 sample/style/make_style_sample.py     (Debian python3-torch, python3-pil, ffmpeg)

Writes
  sample/style/clip.mp4      4 s, 320x180, 24 fps, H.264 + AAC: ffmpeg's testsrc2 and a sine tone
  sample/style/poster.pth    the TransformerNet state dict (pytorch/examples fast_neural_style format)
  sample/style/frame.png     a frame of the clip (the Go test's input) ...
  sample/style/target.png    ... and the "poster" transform of it, computed by poster() below

There are no VGG weights offline, so this is not the perceptual-loss training of the original.
Instead the real TransformerNet (scenarios/styletransfer/testdata/transformer_net.py, unchanged)
is trained supervised to reproduce poster(): a fixed, deterministic "poster/comic" look (luma
posterized into four bands mapped to a warm palette, colours posterized, dark edges), on small
crops of frames this script renders (drawn shapes and ffmpeg testsrc2/mandelbrot frames). The
training stops after TRAIN_SECONDS (default 330) of wall time whatever the load, so how far it gets
depends on the machine; it uses THREADS (default 1) torch threads: on a loaded 2-core machine one
thread ran 3-5x more steps per second than two. OUT=DIR writes the files to DIR instead; CROP and
BATCH (default 48 and 4) set the training crops. Everything is rendered
procedurally, so the sample carries no third-party licence: it is the project's own work, under
the project's licence.
"""
import math, os, random, subprocess, sys, time
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

SRC = os.path.dirname(os.path.abspath(__file__))
HERE = os.environ.get("OUT", SRC)  # where the files go
sys.path.insert(0, os.path.join(SRC, "..", "..", "scenarios", "styletransfer", "testdata"))
from transformer_net import TransformerNet, load, stylize  # noqa: E402

TRAIN_SECONDS = float(os.environ.get("TRAIN_SECONDS", "330"))
CROP = int(os.environ.get("CROP", "48"))
BATCH = int(os.environ.get("BATCH", "4"))
LR = float(os.environ.get("LR", "2e-3"))
W, H = 320, 180

PALETTE = np.array([[0.10, 0.07, 0.22],   # dark indigo
                    [0.62, 0.16, 0.36],   # crimson
                    [0.96, 0.55, 0.16],   # orange
                    [1.00, 0.93, 0.70]],  # cream
                   dtype=np.float32)


def poster(img):
    """The target look. img: uint8 H×W×3. Returns float32 H×W×3 in 0–1."""
    x = img.astype(np.float32) / 255
    luma = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    band = np.clip((luma * 4).astype(np.int32), 0, 3)
    pal = PALETTE[band]
    col = np.floor(x * 3 + 0.5) / 3          # colours in 4 levels per channel
    out = 0.65 * pal + 0.35 * col
    # Dark edges: Sobel magnitude of a 3x3-box-blurred luma.
    p = np.pad(luma, 2, mode="edge")
    b = sum(p[1 + dy:1 + dy + luma.shape[0], 1 + dx:1 + dx + luma.shape[1]] for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9
    q = np.pad(b, 1, mode="edge")
    s = lambda dy, dx: q[1 + dy:1 + dy + b.shape[0], 1 + dx:1 + dx + b.shape[1]]
    gx = (s(-1, 1) + 2 * s(0, 1) + s(1, 1)) - (s(-1, -1) + 2 * s(0, -1) + s(1, -1))
    gy = (s(1, -1) + 2 * s(1, 0) + s(1, 1)) - (s(-1, -1) + 2 * s(-1, 0) + s(-1, 1))
    edge = np.clip((np.sqrt(gx * gx + gy * gy) - 0.15) * 4, 0, 1)
    return (out * (1 - 0.85 * edge[..., None])).astype(np.float32)


def ffmpeg_frames(src, n, skip, seconds):
    """n frames (uint8 N×H×W×3) from a lavfi source, spread over seconds after the first skip."""
    rate = n / seconds
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"{src}=size={W}x{H}:rate={rate}",
                          "-ss", str(skip), "-t", str(seconds), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3)[:n]


def shapes(rnd, n):
    out = []
    for _ in range(n):
        img = Image.new("RGB", (W, H), tuple(rnd.randint(0, 255) for _ in range(3)))
        d = ImageDraw.Draw(img)
        for _ in range(rnd.randint(6, 16)):
            c = tuple(rnd.randint(0, 255) for _ in range(3))
            x, y, r = rnd.uniform(0, W), rnd.uniform(0, H), rnd.uniform(8, 60)
            k = rnd.random()
            if k < 0.4:
                d.ellipse([x - r, y - r, x + r, y + r], fill=c)
            elif k < 0.7:
                d.rectangle([x - r, y - r * 0.6, x + r, y + r * 0.6], fill=c)
            elif k < 0.9:
                d.polygon([(x + r * math.cos(a), y + r * math.sin(a)) for a in (rnd.uniform(0, 6.3) for _ in range(3))], fill=c)
            else:
                d.text((x, y), "Sluice", fill=c)
        if rnd.random() < 0.5:
            img = img.filter(ImageFilter.GaussianBlur(rnd.uniform(0.3, 2)))
        out.append(np.asarray(img))
    return np.stack(out)


def main():
    torch.manual_seed(6)
    rnd = random.Random(6)
    np_rnd = np.random.default_rng(6)
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))

    clip = os.path.join(HERE, "clip.mp4")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={W}x{H}:rate=24",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "4",
                    "-c:v", "libx264", "-preset", "slow", "-crf", "26", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "64k", "-map_metadata", "-1", "-fflags", "+bitexact",
                    "-movflags", "+faststart", clip], check=True)

    # Training frames: drawn shapes, testsrc2 (seconds 10–40, which the clip does not show) and mandelbrot.
    frames = np.concatenate([shapes(rnd, 60),
                             ffmpeg_frames("testsrc2", 40, 10, 30),
                             ffmpeg_frames("mandelbrot", 20, 0, 20)])
    targets = np.stack([poster(f) for f in frames])
    print(f"{len(frames)} training frames", flush=True)

    model = TransformerNet()
    with torch.no_grad():  # start from the targets' mean colour, not from 0
        model.deconv3.conv2d.bias.copy_(torch.from_numpy(targets.mean(axis=(0, 1, 2)) * 255))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    start, step, avg, gnorm, skipped = time.time(), 0, None, None, 0
    while time.time() - start < TRAIN_SECONDS:
        xs, ys = [], []
        while len(xs) < BATCH:
            i = np_rnd.integers(len(frames))
            y0, x0 = np_rnd.integers(H - CROP + 1), np_rnd.integers(W - CROP + 1)
            if frames[i, y0:y0 + CROP, x0:x0 + CROP].std() < 8:
                continue  # a flat crop: InstanceNorm of (almost) nothing makes huge gradients
            xs.append(frames[i, y0:y0 + CROP, x0:x0 + CROP])
            ys.append(targets[i, y0:y0 + CROP, x0:x0 + CROP])
        x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).float()  # 0–255, as stylize feeds
        y = torch.from_numpy(np.stack(ys)).permute(0, 3, 1, 2)
        # Pixel values in 0–255 out, as the original (Adam's steps suit that scale).
        loss = torch.nn.functional.l1_loss(model(x), y * 255) / 255
        opt.zero_grad()
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 3 * gnorm if gnorm else 1e9).item()
        if not (math.isfinite(loss.item()) and math.isfinite(gn)):  # a batch whose gradient overflows: skipped
            skipped += 1
            continue
        gnorm = gn if gnorm is None else 0.9 * gnorm + 0.1 * min(gn, 3 * gnorm)
        opt.step()
        step += 1
        avg = loss.item() if avg is None else 0.95 * avg + 0.05 * loss.item()
        if step % 20 == 0:
            print(f"step {step:4d}  {time.time() - start:5.0f}s  L1 {avg * 255:.1f}/255", flush=True)
    print(f"trained {step} steps ({skipped} skipped: not finite) in {time.time() - start:.0f}s, L1 {avg * 255:.1f}/255", flush=True)

    state = model.state_dict()
    pth = os.path.join(HERE, "poster.pth")
    torch.save(state, pth)

    # The Go test's frame: frame 30 of the clip as decoded, and its target.
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", clip, "-vf", "select=eq(n\\,30)", "-vframes", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    frame = np.frombuffer(raw, np.uint8).reshape(H, W, 3)
    target = (poster(frame) * 255 + 0.5).astype(np.uint8)
    Image.fromarray(frame).save(os.path.join(HERE, "frame.png"), optimize=True)
    Image.fromarray(target).save(os.path.join(HERE, "target.png"), optimize=True)

    _, img = stylize(load(pth), frame[None, :H // 4 * 4, :W // 4 * 4])
    f, t, o = (a[:H // 4 * 4, :W // 4 * 4].astype(np.float64) for a in (frame, target, img[0]))
    print(f"frame 30: |output-input| {np.abs(o - f).mean():.1f}, |output-target| {np.abs(o - t).mean():.1f}, "
          f"|input-target| {np.abs(f - t).mean():.1f} (mean absolute difference, 0-255)")
    for p in (clip, pth):
        print(f"{os.path.relpath(p, HERE)}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
