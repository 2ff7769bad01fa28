#!/usr/bin/env bash
# The cost of sharding: one `minewatch run` against `plan` + every `run --shard` + `merge`
# on the same machine, on the peers' synthetic scene.
#
#   scripts/bench-shards.sh [N=16384] [TILE=2048] [BATCH=8] [RUNS=3]
#
# Generates the N x N scene with ../shared/peers/gen_scene.py (seed 42) if missing, writes a
# detect-only run config (the peers' rule, bgrns profile), and times RUNS single-process runs
# and RUNS sharded runs (shards one after another, each with every core, as an array task
# on a node of this size would run), and again with the merge streaming beside the shards
# (`merge --wait 1`). Checks the merged patches are byte-identical to the single run's, and prints medians: wall and CPU per step, the overhead of sharding
# ((plan + shards + merge) − single) in seconds and in % of the single run, tile objects'
# size, and the per-tile cost that docs/scaling.md extrapolates from.
set -euo pipefail
N=${1:-16384}; TILE=${2:-2048}; BATCH=${3:-8}; RUNS=${4:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS:-$ROOT/../shared/peers}
DATA=${DATA:-/tmp/peerdata}; VENV=${VENV:-/tmp/peervenv}; RESULTS=${RESULTS:-/tmp/mw-bench-shards}
mkdir -p "$RESULTS"
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
D=$DATA/n$N
if [ ! -f "$D/t2_deflate.tif" ]; then
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q rasterio numpy scipy
  fi
  echo "bench: generating the ${N}² scene into $D" >&2
  "$VENV/bin/python" "$PEERS/gen_scene.py" --n "$N" --out "$DATA" >&2
fi
(cd "$ROOT" && cargo build --release --locked -p minewatch-cli >&2)
MW=$ROOT/target/release/minewatch
cat "$D/t1_deflate.tif" "$D/t2_deflate.tif" > /dev/null   # warm the page cache

CFG=$RESULTS/run_$N.toml
{ grep -v '^profile' "$ROOT/pipelines/peer-rule.toml"; echo 'profile = "bgrns"'; } > "$RESULTS/params.toml"
cat > "$CFG" <<TOML
name = "bench-$N"
out = "out"
[detect]
images = ["$D/t1_deflate.tif", "$D/t2_deflate.tif"]
dates = ["2020-01-01", "2021-01-01"]
params = "params.toml"
[shards]
tile = $TILE
batch = $BATCH
TOML

ROWS=$RESULTS/steps.tsv
: > "$ROWS"
timed() { # timed RUN STEP cmd...  -> "run step wall cpu rss_kb"
  local run=$1 step=$2; shift 2
  local tf; tf=$(mktemp)
  /usr/bin/time -f "%e %U %S %M" -o "$tf" "$@" > /dev/null 2>> "$RESULTS/log.txt"
  read -r wall user sys rss < "$tf"
  echo "$run $step $wall $(awk "BEGIN{print $user + $sys}") $rss" >> "$ROWS"
  rm -f "$tf"
}
for r in $(seq 1 "$RUNS"); do
  rm -rf "$RESULTS/single" "$RESULTS/sharded"
  timed "$r" single "$MW" run "$CFG" --out "$RESULTS/single"
  timed "$r" plan "$MW" plan "$CFG" --out "$RESULTS/sharded"
  SHARDS=$("$MW" plan "$CFG" --out "$RESULTS/sharded" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["shards"])')
  for i in $(seq 0 $((SHARDS - 1))); do
    timed "$r" shard "$MW" run "$CFG" --out "$RESULTS/sharded" --shard "$i"
  done
  timed "$r" merge "$MW" merge "$CFG" --out "$RESULTS/sharded"
  for f in patches.geojson patches.gpkg patches.csv; do
    cmp "$RESULTS/single/detect/$f" "$RESULTS/sharded/detect/$f" || { echo "bench: $f differs" >&2; exit 1; }
  done
  du -sb "$RESULTS/sharded/shards/tiles" | cut -f1 > "$RESULTS/tiles_bytes"
  ls "$RESULTS/sharded/shards/tiles" | wc -l > "$RESULTS/tiles_count"
  # Streaming: the merge starts with the shards (`merge --wait`) and sweeps each tile row
  # as soon as its tiles are there, as a Kubernetes merge Job does.
  rm -rf "$RESULTS/streamed"
  timed "$r" streamed bash -c "
    '$MW' plan '$CFG' --out '$RESULTS/streamed' >/dev/null
    '$MW' merge '$CFG' --out '$RESULTS/streamed' --wait 1 >/dev/null & m=\$!
    for i in \$(seq 0 $((SHARDS - 1))); do '$MW' run '$CFG' --out '$RESULTS/streamed' --shard \$i >/dev/null; done
    wait \$m"
  for f in patches.geojson patches.gpkg patches.csv; do
    cmp "$RESULTS/single/detect/$f" "$RESULTS/streamed/detect/$f" || { echo "bench: streamed $f differs" >&2; exit 1; }
  done
done
python3 - "$ROWS" "$N" "$TILE" "$BATCH" "$(cat "$RESULTS/tiles_bytes")" "$(cat "$RESULTS/tiles_count")" <<'PY'
import sys, statistics as st, collections
rows, n, tile, batch, tbytes, tcount = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
per = collections.defaultdict(lambda: collections.defaultdict(lambda: [0.0, 0.0, 0]))
for line in open(rows):
    r, step, wall, cpu, rss = line.split()
    p = per[step][r]; p[0] += float(wall); p[1] += float(cpu); p[2] = max(p[2], int(rss))
def med(step, i): return st.median(v[i] for v in per[step].values())
print(f"scene {n}², tiles {tile} px ({tcount} tiles, {tbytes/1e6:.1f} MB of tile objects), {batch} per shard, {len(per['single'])} runs (medians)\n")
print("| step | wall s | CPU s | peak RSS MiB |\n|---|---|---|---|")
for s in ["single", "plan", "shard", "merge"]:
    print(f"| {s}{' (all shards)' if s == 'shard' else ''} | {med(s,0):.2f} | {med(s,1):.2f} | {med(s,2)/1024:.0f} |")
tot = [med('plan', i) + med('shard', i) + med('merge', i) for i in (0, 1)]
print(f"| plan + shards + merge | {tot[0]:.2f} | {tot[1]:.2f} | |")
ow, oc = tot[0] - med('single', 0), tot[1] - med('single', 1)
print(f"\noverhead of sharding: {ow:+.2f} s wall ({100*ow/med('single',0):+.1f} %), {oc:+.2f} s CPU ({100*oc/med('single',1):+.1f} %)")
sw, sc = med('streamed', 0) - med('single', 0), med('streamed', 1) - med('single', 1)
print(f"| merge streaming beside the shards (plan + shards ‖ merge --wait 1) | {med('streamed',0):.2f} | {med('streamed',1):.2f} | |")
print(f"overhead, streaming merge: {sw:+.2f} s wall ({100*sw/med('single',0):+.1f} %), {sc:+.2f} s CPU ({100*sc/med('single',1):+.1f} %)")
print(f"per tile: {med('shard',0)/tcount:.3f} s wall, {med('shard',1)/tcount:.3f} s CPU ({tile}² px, 2 dates, 5 bands)")
PY
