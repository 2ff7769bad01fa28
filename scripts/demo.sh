#!/usr/bin/env bash
# Quick start, command 1: install what is missing, build, and run the chain so far on the
# bundled real data: minewatch detect (default automatic method) on the Landsat 5 pair over Nanjing (2000-05-03 /
# 2002-07-12, the north-west clip that reaches the Yangtze), then minewatch overlay of
# its patches against the real Yangtze corridors (1 km, 5 km) and Jiangsu province, then
# minewatch rank of the findings by the default policy, then minewatch package: the county
# verification package (tables with the field form, chips, 一张图, KML/GPX, offline page).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p minewatch-cli
OUT=${1:-out/demo}
./target/release/minewatch detect \
  fixtures/real/nanjing_L5TM_20000503_nw400.tif \
  fixtures/real/nanjing_L5TM_20020712_nw400.tif \
  --quicklook --out "$OUT/detect"
./target/release/minewatch overlay "$OUT/detect" \
  --layers pipelines/layers/nanjing.toml --out "$OUT/overlay"
echo "results in $OUT/detect/: patches.geojson (lon/lat), patches.gpkg (UTM 50N), patches.csv, quicklook.png, manifest.json" >&2
echo "findings in $OUT/overlay/: findings.gpkg (+ zone_hits table), findings.geojson, findings.csv (UTF-8 BOM), zone_hits.csv, overlay_manifest.json" >&2
./target/release/minewatch rank "$OUT/overlay" --policy pipelines/policy/default.toml --out "$OUT/rank"
echo "ranked tasks in $OUT/rank/: tasks.csv (score, term_* breakdown, reasons en/zh), tasks.gpkg, ledger.csv, trends, hot spots" >&2
./target/release/minewatch package "$OUT/rank" \
  --imagery fixtures/real/nanjing_L5TM_20000503_nw400.tif fixtures/real/nanjing_L5TM_20020712_nw400.tif \
  --layers pipelines/layers/nanjing.toml --out "$OUT/packages"
echo "county packages in $OUT/packages/: one folder + zip per county (open index.html in a browser, offline)" >&2
