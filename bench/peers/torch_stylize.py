#!/usr/bin/python3
"""The PyTorch + ffmpeg peer of `sluice stylize` (Debian python3-torch; call /usr/bin/python3):

    /usr/bin/python3 bench/peers/torch_stylize.py --model M.pth --input IN.mp4 --output OUT.mp4 \
        [--threads 2] [--crf 18] [--preset medium] [--content-scale S] [--json]

The same job as Sluice: ffmpeg decodes the video to RGB24 frames over a pipe, each frame goes
through pytorch/examples' TransformerNet (loaded as neural_style.py does: stale InstanceNorm
keys dropped; input ToTensor()*255, output clamp(0, 255) then uint8), and ffmpeg encodes the frames
(libx264, yuv420p, the CRF) at the source's frame rate with the source's audio copied. Decoder,
network and encoder overlap as separate processes joined by pipes. Prints frames/s (with --json
one JSON object: frames, seconds, frames_per_s, threads, width, height).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scenarios", "styletransfer",
                                "testdata"))
import transformer_net  # noqa: E402


def probe(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=width,height,r_frame_rate", "-of", "json", path], check=True,
                         capture_output=True).stdout
    s = json.loads(out)["streams"][0]
    audio = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries", "stream=index",
                            "-of", "csv=p=0", path], check=True, capture_output=True).stdout.strip()
    return s["width"], s["height"], s["r_frame_rate"], bool(audio)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--preset", default="medium")
    ap.add_argument("--content-scale", type=float, default=1.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    start = time.time()
    model = transformer_net.load(a.model)
    W, H, rate, audio = probe(a.input)
    w, h = int(W / a.content_scale), int(H / a.content_scale)
    dec_args = ["ffmpeg", "-v", "error", "-nostdin", "-i", a.input, "-map", "0:v:0"]
    if (w, h) != (W, H):
        dec_args += ["-vf", "scale=%d:%d:flags=lanczos" % (w, h)]
    dec = subprocess.Popen(dec_args + ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], stdout=subprocess.PIPE)
    enc_args = ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "%dx%d" % (w, h),
                "-framerate", rate, "-i", "pipe:0"]
    if audio:
        enc_args += ["-i", a.input, "-map", "0:v:0", "-map", "1:a:0", "-c:a", "copy"]
    enc_args += ["-c:v", "libx264", "-preset", a.preset, "-crf", str(a.crf), "-pix_fmt", "yuv420p",
                 "-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2", a.output]
    enc = subprocess.Popen(enc_args, stdin=subprocess.PIPE)
    n, size = 0, w * h * 3
    while True:
        buf = dec.stdout.read(size)
        if len(buf) < size:
            break
        frame = np.frombuffer(buf, dtype=np.uint8).reshape(1, h, w, 3)
        _, img = transformer_net.stylize(model, frame)
        enc.stdin.write(np.ascontiguousarray(img[0, :h, :w, :]).tobytes())
        n += 1
    enc.stdin.close()
    if dec.wait() != 0 or enc.wait() != 0:
        sys.exit("ffmpeg failed")
    secs = time.time() - start
    if a.json:
        print(json.dumps({"frames": n, "seconds": secs, "frames_per_s": n / secs, "threads": a.threads,
                          "width": w, "height": h}))
    else:
        print("%d frames in %.2f s: %.3f frames/s (%d threads, %dx%d)" % (n, secs, n / secs, a.threads, w, h))


if __name__ == "__main__":
    main()
