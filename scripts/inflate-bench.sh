#!/usr/bin/env bash
# Is there a faster inflate than libdeflate for the peers' DEFLATE tiles? Extracts the raw
# tiles of one input with GDAL's TIFF metadata, then inflates them all with libdeflate and
# with ISA-L (igzip), three times each, in one process.
#
#   scripts/inflate-bench.sh [TIF=/tmp/peerdata/n8192/t1_deflate.tif]
#
# Needs libdeflate-dev and libisal-dev (apt), gcc and /usr/bin/python3 with GDAL.
set -euo pipefail
TIF=${1:-/tmp/peerdata/n8192/t1_deflate.tif}
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
/usr/bin/python3 - "$TIF" "$W/tiles.bin" <<'PY'
import struct, sys
from osgeo import gdal
src, out = sys.argv[1], sys.argv[2]
ds = gdal.Open(src); b = ds.GetRasterBand(1); bx, by = b.GetBlockSize()
raw = open(src, 'rb').read()
with open(out, 'wb') as f:
    for y in range((ds.RasterYSize + by - 1) // by):
        for x in range((ds.RasterXSize + bx - 1) // bx):
            off = int(b.GetMetadataItem(f'BLOCK_OFFSET_{x}_{y}', 'TIFF'))
            n = int(b.GetMetadataItem(f'BLOCK_SIZE_{x}_{y}', 'TIFF'))
            f.write(struct.pack('<I', n)); f.write(raw[off:off + n])
PY
cat > "$W/bench.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <time.h>
#include <libdeflate.h>
#include <isa-l/igzip_lib.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n); if (fread(buf, 1, n, f) != (size_t)n) return 1;
  size_t cap = 64 << 20; uint8_t *out = malloc(cap);
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  for (int rep = 0; rep < 3; rep++) {
    double t0 = now(); long a = 0, b = 0;
    for (long p = 0; p < n;) { uint32_t sz = *(uint32_t *)(buf + p); p += 4; size_t got;
      if (libdeflate_zlib_decompress(d, buf + p, sz, out, cap, &got)) return 2; a += got; p += sz; }
    double t1 = now();
    for (long p = 0; p < n;) { uint32_t sz = *(uint32_t *)(buf + p); p += 4; struct inflate_state st;
      isal_inflate_init(&st); st.crc_flag = ISAL_ZLIB; st.next_in = buf + p; st.avail_in = sz;
      st.next_out = out; st.avail_out = cap;
      if (isal_inflate(&st) != ISAL_DECOMP_OK || st.block_state != ISAL_BLOCK_FINISH) return 3;
      b += cap - st.avail_out; p += sz; }
    double t2 = now();
    printf("libdeflate %.3f s, ISA-L %.3f s (%ld / %ld bytes out)\n", t1 - t0, t2 - t1, a, b);
  }
  return 0;
}
C
gcc -O2 "$W/bench.c" -o "$W/bench" -ldeflate -lisal
"$W/bench" "$W/tiles.bin"
