#!/usr/bin/python3
"""Writes cmyk.jpg: a 32x16 CMYK JPEG (Adobe APP14 marker, as Photoshop writes them) whose left half
is red (220,30,30) and right half blue (30,30,220); javax.imageio alone cannot read it.
Run from this folder with Debian's python3-pil: /usr/bin/python3 generate_cmyk.py"""
from PIL import Image

img = Image.new("RGB", (32, 16))
for x in range(32):
    for y in range(16):
        img.putpixel((x, y), (220, 30, 30) if x < 16 else (30, 30, 220))
img.convert("CMYK").save("cmyk.jpg", quality=95)
