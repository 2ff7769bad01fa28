#!/usr/bin/env python3
"""libdeflate against ISA-L (and zlib) on the DEFLATE tiles of GeoTIFFs, 3 alternated passes.

  /tmp/peervenv/bin/pip install isal deflate tifffile
  /tmp/peervenv/bin/python scripts/inflate-compare.py $D/t1_deflate.tif $D/t2_deflate.tif

Tiles are read as in ../shared/peers/ref_inflate.py; times include Python's per-call cost,
the same for every library, so read the ratios.
"""
import sys, time, zlib
import tifffile
from isal import isal_zlib
import deflate
tiles=[]; 
for path in sys.argv[1:]:
    with tifffile.TiffFile(path) as tf:
        p=tf.pages[0]; fh=tf.filehandle
        for off,cnt in zip(p.dataoffsets,p.databytecounts):
            fh.seek(off); tiles.append(fh.read(cnt))
raw=[zlib.decompress(t) for t in tiles]
n=sum(map(len,raw))
for rep in range(3):
    t=time.perf_counter(); [deflate.zlib_decompress(x,len(r)) for x,r in zip(tiles,raw)]; a=time.perf_counter()-t
    t=time.perf_counter(); [isal_zlib.decompress(x) for x in tiles]; b=time.perf_counter()-t
    t=time.perf_counter(); [zlib.decompress(x) for x in tiles]; c=time.perf_counter()-t
    print(f"libdeflate {a:.3f}s {n/a/1e6:.0f}MB/s  isal {b:.3f}s {n/b/1e6:.0f}MB/s  zlib {c:.3f}s")
