#!/usr/bin/env bash
# Time `minewatch package` on ≥ 1,000 tasks with chips from two dates: a seeded synthetic
# scene (minewatch-synth, with the peers'-style zones) → detect → overlay → rank → package.
#   scripts/bench-package.sh [SIZE=2560] [OUT=/tmp/mw-package-bench]
set -euo pipefail
N=${1:-2560}; OUT=${2:-/tmp/mw-package-bench}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
cargo build --release --locked -p minewatch-cli -p minewatch-synth >&2
MW=target/release/minewatch
mkdir -p "$OUT"
[ -f "$OUT/zones.geojson" ] || target/release/minewatch-synth --width "$N" --height "$N" --seed 11 --zones --out "$OUT" >/dev/null
cat > "$OUT/layers.toml" <<TOML
[[layer]]
name = "redline"
path = "zones.geojson"
where = "zone_type = 'redline'"
kind = "ecological_red_line"
id_field = "zone_id"
[[layer]]
name = "mine"
path = "zones.geojson"
where = "zone_type = 'mine'"
kind = "mining_right"
id_field = "zone_id"
TOML
$MW detect "$OUT/synth_20200601.tif" "$OUT/synth_20210601.tif" --out "$OUT/det" --quiet >/dev/null
$MW overlay "$OUT/det" --layers "$OUT/layers.toml" --out "$OUT/ov" >/dev/null
$MW rank "$OUT/ov" --out "$OUT/rank" >/dev/null
rm -rf "$OUT/pkg"
/usr/bin/time -f "package: %e s wall, %U+%S s CPU, %M KB peak" \
  $MW package "$OUT/rank" --imagery "$OUT/synth_20200601.tif" "$OUT/synth_20210601.tif" \
  --layers "$OUT/layers.toml" --out "$OUT/pkg"
ls -la "$OUT/pkg"/*.zip
