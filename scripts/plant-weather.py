#!/usr/bin/env python3
"""Plant weather in a Sentinel-2 13-band stack, for measuring the cloud and shadow screen
on real ground (docs/accuracy.md, "Cloud, cloud-shadow and haze screening").

    $VENV/bin/python scripts/plant-weather.py IN.tif OUT_YYYYMMDD.tif

Adds, to a copy of IN (reflectance x 10000): a band of haze over the upper right (band
offsets falling with wavelength), two opaque clouds (flat white in the visible and NIR,
lower at 1.6 and 2.2 um, soft 5 px edges) and their shadows 46 px to the north-west, away
from a morning sun in the south-east (direct beam removed: x0.35, plus a little blue
skylight). Positions are for the 540 x 695 Hong Kong
pair. Needs numpy and rasterio (the bench virtualenv of scripts/bench-peers.sh has both).
"""
import sys

import numpy as np
import rasterio

src_path, out_path = sys.argv[1], sys.argv[2]
with rasterio.open(src_path) as src:
    x = src.read().astype(float)
    profile = src.profile
h, w = x.shape[1:]
yy, xx = np.mgrid[0:h, 0:w]
# B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B10 B11 B12
haze = np.array([800, 700, 550, 450, 380, 350, 330, 300, 280, 200, 0, 120, 60.0])
ramp = np.clip((xx - 300) / 60, 0, 1) * np.clip((200 - yy) / 40, 0, 1)
x += haze[:, None, None] * ramp
cloud = np.array([4800, 4500, 4400, 4300, 4300, 4400, 4500, 4600, 4600, 1500, 60, 3200, 2200.0])
skylight = np.array([150, 100, 60, 40, 40, 40, 40, 40, 40, 20, 0, 20, 10.0])


def disk(cy, cx, r, soft=5):
    return np.clip((r + soft - np.hypot(yy - cy, xx - cx)) / soft, 0, 1)


for cy, cx in [(380, 170), (520, 330)]:
    a = disk(cy, cx, 18)
    x = x * (1 - a) + cloud[:, None, None] * a
for cy, cx in [(345, 140), (485, 300)]:
    a = disk(cy, cx, 18)
    x = x * (1 - 0.65 * a) + skylight[:, None, None] * a
profile.update(compress="deflate")
with rasterio.open(out_path, "w", **profile) as dst:
    dst.write(np.clip(x, 0, 65535).astype("uint16"))
