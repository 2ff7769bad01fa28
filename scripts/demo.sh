#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run minewatch detect on the
# bundled real Landsat 5 pair (Nanjing, 2000-05-03 / 2002-07-12, crossing the Yangtze).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p minewatch-cli
OUT=${1:-out/demo}
./target/release/minewatch detect \
  fixtures/real/nanjing_L5TM_20000503_clip400.tif \
  fixtures/real/nanjing_L5TM_20020712_clip400.tif \
  --params pipelines/peer-rule.toml --quicklook --out "$OUT"
echo "results in $OUT/: patches.geojson (lon/lat), patches.gpkg (UTM 50N), patches.csv, quicklook.png, manifest.json" >&2
