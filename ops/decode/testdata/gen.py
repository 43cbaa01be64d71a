#!/usr/bin/python3
"""Makes the image fixtures of ops/decode and PIL's decoding of each (the reference): for every
fixture NAME, NAME.rgb holds PIL's ImageOps.exif_transpose(img).convert("RGB") pixels, preceded by
"W H\n". Run with Debian's python3 (python3-pil): /usr/bin/python3 gen.py"""
import os, struct, zlib
from PIL import Image, ImageOps

here = os.path.dirname(os.path.abspath(__file__))
W, H = 37, 23


def base():
    img = Image.new("RGB", (W, H))
    px = img.load()
    for y in range(H):
        for x in range(W):
            px[x, y] = ((x * 7) % 256, (y * 11) % 256, ((x + y) * 5) % 256)
    return img


def save(img, name, **kw):
    path = os.path.join(here, name)
    img.save(path, **kw)
    ref = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    with open(path + ".rgb", "wb") as f:
        f.write(b"%d %d\n" % ref.size)
        f.write(ref.tobytes())


b = base()
save(b, "baseline.jpg", quality=90)
save(b, "progressive.jpg", quality=85, progressive=True)
save(b.convert("L"), "gray.jpg", quality=90)
save(b.convert("CMYK"), "cmyk.jpg", quality=95)
for o in (3, 6, 8):
    exif = Image.Exif()
    exif[0x0112] = o
    save(b, "orient%d.jpg" % o, quality=90, exif=exif.tobytes())
save(b, "rgb.png")
rgba = b.convert("RGBA")
rgba.putalpha(128)
save(rgba, "rgba.png")
save(b.convert("P", palette=Image.ADAPTIVE, colors=16), "palette.png")
save(b.convert("L"), "gray.png")
save(b.convert("P", palette=Image.ADAPTIVE, colors=32), "first.gif")
save(b, "image.bmp")
save(b, "lossless.webp", lossless=True)

# 16-bit RGB PNG, written by hand (PIL cannot write it): PIL reads it as 8-bit RGB (high bytes).
raw = b"".join(b"\x00" + b"".join(struct.pack(">HHH", r * 257 + 3, g * 257, bb * 257) for (r, g, bb) in
                                  (b.getpixel((x, y)) for x in range(W))) for y in range(H))


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)


png16 = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 16, 2, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
with open(os.path.join(here, "rgb16.png"), "wb") as f:
    f.write(png16)
ref = Image.open(os.path.join(here, "rgb16.png")).convert("RGB")
with open(os.path.join(here, "rgb16.png.rgb"), "wb") as f:
    f.write(b"%d %d\n" % ref.size + ref.tobytes())

# Broken files.
bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)) + \
    chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
with open(os.path.join(here, "bad_bomb.png"), "wb") as f:
    f.write(bomb)
jpg = open(os.path.join(here, "baseline.jpg"), "rb").read()
i = jpg.index(b"\xff\xc0")
bombj = jpg[:i + 5] + struct.pack(">HH", 60000, 60000) + jpg[i + 9:]
with open(os.path.join(here, "bad_bomb.jpg"), "wb") as f:
    f.write(bombj)
with open(os.path.join(here, "bad_truncated.jpg"), "wb") as f:
    f.write(jpg[: len(jpg) // 2])
with open(os.path.join(here, "bad_empty.jpg"), "wb") as f:
    pass
with open(os.path.join(here, "bad_random.jpg"), "wb") as f:
    f.write(bytes((i * 97 + 13) % 256 for i in range(500)))
with open(os.path.join(here, "bad_text.png"), "wb") as f:
    f.write(b"just some text, not an image\n")
