#!/usr/bin/env bash
# minewatch vs the reference peers on the peers' synthetic scene, side by side.
#
#   scripts/bench-peers.sh N [RUNS=3] [VARIANT=deflate]
#
# Generates the N x N two-date 5-band scene with ../shared/peers/gen_scene.py (seed 42)
# if missing, runs `minewatch detect` with the peers' rule and both peers (GDAL command
# line, Python stack) RUNS times each under /usr/bin/time, checks that patch count and
# total area match the peers exactly, and prints medians of wall time, CPU time and peak
# RSS with ratios. Also GDAL's single-core decode of both inputs (ref_read.py) as the floor.
# Then `minewatch overlay` of those patches against the scene's zones.geojson (one layer per
# zone type), checked against the peers' per-type overlap sums; reported as the whole
# pipeline (detect + overlay vs each peer's whole run) and as the overlay stage against the
# peers' join stage (their stages.tsv).
# Needs: python3-venv, gdal-bin, python3-gdal, time (installed if missing, as root).
set -euo pipefail
N=${1:-8192}; RUNS=${2:-3}; VARIANT=${3:-deflate}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
DATA=${DATA:-/tmp/peerdata}; VENV=${VENV:-/tmp/peervenv}; RESULTS=${RESULTS:-/tmp/mw-bench}
mkdir -p "$RESULTS"
bash "$ROOT/scripts/setup.sh"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
if [ ! -x "$VENV/bin/python" ]; then
  echo "bench: creating $VENV (rasterio numpy scipy scikit-image shapely geopandas pyogrio)" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q rasterio numpy scipy scikit-image shapely geopandas pyogrio
fi
D=$DATA/n$N
if [ ! -f "$D/t2_$VARIANT.tif" ]; then
  echo "bench: generating the ${N}² scene into $D" >&2
  "$VENV/bin/python" "$PEERS/gen_scene.py" --n "$N" --out "$DATA" >&2
fi
(cd "$ROOT" && cargo build --release --locked -p minewatch-cli >&2)
MW=$ROOT/target/release/minewatch
T1=$D/t1_$VARIANT.tif; T2=$D/t2_$VARIANT.tif
cat "$T1" "$T2" > /dev/null   # warm the page cache

LAYERS=$RESULTS/layers_$N.toml
: > "$LAYERS"
for t in province river redline nomining mine; do
  case $t in
    province) kind='kind = "custom"
weight = "province"';;
    river) kind='kind = "river_corridor"';;
    redline) kind='kind = "ecological_red_line"';;
    nomining) kind='kind = "no_mining_zone"';;
    mine) kind='kind = "mining_right"';;
  esac
  printf '[[layer]]\nname = "%s"\npath = "%s"\nwhere = "zone_type = '"'"'%s'"'"'"\n%s\nid_field = "zone_id"\nname_field = "name"\n' \
    "$t" "$D/zones.geojson" "$t" "$kind" >> "$LAYERS"
done

# The same two stages as one `minewatch run` (one process: the patches go to the overlay
# without being written and read back in between).
{ grep -v '^profile' "$ROOT/pipelines/peer-rule.toml"; echo 'profile = "bgrns"'; } > "$RESULTS/params_$N.toml"
RUNCFG=$RESULTS/run_$N.toml
cat > "$RUNCFG" <<TOML
name = "bench-peers-$N"
out = "out_run_$N"
[detect]
images = ["$T1", "$T2"]
dates = ["2020-01-01", "2021-01-01"]
params = "params_$N.toml"
[overlay]
layers = "$LAYERS"
TOML

ROWS=$RESULTS/runs_${N}_$VARIANT.tsv
: > "$ROWS"
: > "$RESULTS/ov_stages_$N.tsv"
timed() { # timed LABEL cmd...  -> appends "label wall cpu rss_kb exit"
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S %M %x" -o "$tf" "$@" > /dev/null 2>&1 || true
  read -r wall user sys rss code < "$tf"
  echo "$label $wall $(awk "BEGIN{print $user + $sys}") $rss $code" >> "$ROWS"
  rm -f "$tf"
}
for r in $(seq 1 "$RUNS"); do
  timed minewatch "$MW" detect "$T1" "$T2" --dates 20200101,20210101 --profile bgrns \
    --params "$ROOT/pipelines/peer-rule.toml" --out "$RESULTS/out_mw_$N" --quiet
  timed minewatch_overlay "$MW" overlay "$RESULTS/out_mw_$N" --layers "$LAYERS" --out "$RESULTS/ov_mw_$N"
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["timings_s"]; print(t["load_layers"], t["overlay"])' \
    "$RESULTS/ov_mw_$N/overlay_manifest.json" >> "$RESULTS/ov_stages_$N.tsv"
  rm -rf "$RESULTS/out_run_$N"
  timed minewatch_run "$MW" run "$RUNCFG"
  timed gdal_decode_1core /usr/bin/python3 "$PEERS/ref_read.py" gdal "$T1" "$T2"
  rm -f "$RESULTS/out_a_$N/stages.tsv"
  STAGES_LOG=$RESULTS/stages_a_$N.tsv timed peer_a_gdal_cli bash "$PEERS/peer_a_gdal.sh" "$T1" "$T2" "$D/zones.geojson" "$RESULTS/out_a_$N" 10
  STAGES_LOG=$RESULTS/stages_b_$N.tsv timed peer_b_python "$VENV/bin/python" "$PEERS/peer_b_py.py" "$T1" "$T2" "$D/zones.geojson" "$RESULTS/out_b_$N"
done

# Same patches as the peers: count and total planar area.
python3 - "$RESULTS/out_mw_$N/patches.csv" "$RESULTS/out_b_$N/summary.csv" "$RESULTS/out_a_$N/summary.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
n, area = len(rows), sum(float(r["grid_area_m2"]) for r in rows)
for peer in sys.argv[2:]:
    s = {r["zone_type"]: r for r in csv.DictReader(open(peer))}["all"]
    pn, pa = int(s["n_patches"]), float(s["area_m2"])
    ok = n == pn and abs(area - pa) <= 1e-6 * pa
    print(f"check: minewatch {n} patches {area:.0f} m2 vs {peer.split('/')[-2]} {pn} patches {pa:.0f} m2: {'MATCH' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit(1)
PY

# Same overlaps as peer A: patches hit and summed plane overlap per zone type.
python3 - "$RESULTS/ov_mw_$N/zone_hits.csv" "$RESULTS/out_a_$N/summary.csv" <<'PY'
import csv, sys, collections
agg = collections.defaultdict(lambda: [set(), 0.0])
for h in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig")):
    a = agg[h["layer"]]; a[0].add(h["patch_id"]); a[1] += float(h["overlap_grid_m2"])
for r in csv.DictReader(open(sys.argv[2])):
    t = r["zone_type"]
    if t == "all":
        continue
    n, area = len(agg[t][0]), agg[t][1]
    pn, pa = int(r["n_patches"]), float(r["area_m2"])
    ok = abs(area - pa) <= 1e-6 * pa
    print(f"check overlay {t}: minewatch {n} patches {area:.2f} m2 vs peer A {pn} patches {pa:.2f} m2: {'MATCH' if ok else 'MISMATCH'}"
          + ("" if n == pn else " (patch counts differ by zero-area touches)"))
    if not ok:
        sys.exit(1)
PY

python3 - "$ROWS" "$RESULTS" "$N" <<'PY'
import collections, statistics, sys, os, csv
rows, results, n = sys.argv[1], sys.argv[2], sys.argv[3]
by = collections.defaultdict(list)
for line in open(rows):
    label, wall, cpu, rss, code = line.split()
    by[label].append((float(wall), float(cpu), int(rss), int(code)))
def med(label, i):
    return statistics.median(r[i] for r in by[label])
mw = med("minewatch", 0)
print(f"\n{n}² scene, {len(by['minewatch'])} run(s) each, medians")
print(f"| tool | wall s | CPU s | peak RSS MiB | wall vs minewatch detect |")
print(f"|---|---|---|---|---|")
# detect + overlay, run by run
if "minewatch_overlay" in by:
    by["minewatch_detect_plus_overlay"] = [
        (a[0] + b[0], a[1] + b[1], max(a[2], b[2]), a[3] or b[3])
        for a, b in zip(by["minewatch"], by["minewatch_overlay"])]
for label in ["minewatch", "minewatch_overlay", "minewatch_detect_plus_overlay", "minewatch_run", "gdal_decode_1core", "peer_a_gdal_cli", "peer_b_python"]:
    if label in by:
        bad = [r for r in by[label] if r[3] != 0]
        print(f"| {label}{' (FAILED)' if bad else ''} | {med(label,0):.2f} | {med(label,1):.2f} | {med(label,2)/1024:.0f} | {med(label,0)/mw:.1f}x |")
if "minewatch_detect_plus_overlay" in by:
    whole = med("minewatch_detect_plus_overlay", 0)
    for peer in ["peer_a_gdal_cli", "peer_b_python"]:
        if peer in by:
            print(f"| whole pipeline: {peer} vs minewatch detect + overlay | {med(peer,0):.2f} vs {whole:.2f} | | | {med(peer,0)/whole:.1f}x |")
            if "minewatch_run" in by:
                run = med("minewatch_run", 0)
                print(f"| whole pipeline: {peer} vs minewatch run (detect + overlay, one process) | {med(peer,0):.2f} vs {run:.2f} | | | {med(peer,0)/run:.1f}x |")
# stages: the peers' detection stages and join stage beside minewatch's
ov = [tuple(map(float, l.split())) for l in open(os.path.join(results, f"ov_stages_{n}.tsv"))]
ov_load = statistics.median(x[0] for x in ov[-len(by["minewatch"]):])
ov_stage = statistics.median(x[1] for x in ov[-len(by["minewatch"]):])
print(f"| minewatch overlay stage (index + findings) | {ov_stage:.2f} | | | |")
print(f"| minewatch overlay: load layers | {ov_load:.2f} | | | |")
for peer, stages in [("peer_a_gdal_cli", {"calc", "sieve", "polygonize"}),
                     ("peer_b_python", {"read_calc", "sieve", "label", "stats", "polygonize"}),
                     ("peer_a_gdal_cli join", {"join"}),
                     ("peer_b_python zones_join", {"zones_join"})]:
    path = os.path.join(results, f"stages_{peer[5]}_{n}.tsv")
    what = "join stage" if "join" in peer else "detection stages only"
    peer = peer.split()[0]
    if not os.path.exists(path):
        continue
    runs, cur, seen = [], 0.0, set()
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] in seen:          # a new run starts when a stage name repeats
            runs.append(cur); cur, seen = 0.0, set()
        seen.add(f[0])
        if f[0] in stages:
            cur += float(f[1])
    runs.append(cur)
    d = statistics.median(runs)
    ref = ov_stage if what == "join stage" else mw
    print(f"| {peer}: {what} | {d:.2f} | | | {d/ref:.1f}x vs minewatch {'overlay stage' if what == 'join stage' else 'detect'} |")
PY
