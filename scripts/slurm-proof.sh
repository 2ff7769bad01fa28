#!/usr/bin/env bash
# End-to-end proof that a sharded minewatch run on a real Slurm engine gives the same bytes
# as a single-process run, including a shard that fails and is resubmitted:
#
#   1. install Slurm from Debian if it is missing (slurm-wlm);
#   2. start a private one-node cluster on loopback (config, state, logs in a temp dir,
#      nothing in /etc, private ports, no munge);
#   3. run pipelines/smoke.toml single-process as the reference;
#   4. run the script `minewatch emit slurm` prints, through a wrapper that fails array
#      task 2 once (exit 65, permanent): the other tasks finish, `missing` says `2`, the
#      merge hangs on its dependency and is cancelled, nothing is merged;
#   5. run the same emitted script again: only task 2 and the merge are submitted;
#   6. compare detect/ and overlay/ of both runs byte for byte (manifests excepted).
#
# Usage: bash scripts/slurm-proof.sh
#   MINEWATCH_BIN=path   binary to test (default target/release/minewatch, rebuilt if stale)
#   KEEP=1               keep the temp dir (configs, logs, both runs) for inspection
#   SLURM_PROOF_PORT=N   slurmctld port (default 16817); slurmd uses N+1
# Needs root (it installs packages and runs slurmd). Exit 0 only if every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="/usr/local/bin:$HOME/.cargo/bin:$PATH"

CONFIG=$ROOT/pipelines/smoke.toml # [shards] tile=128 batch=2: 16 tiles, array tasks 0-7
FAIL_TASK=2                       # the array task the wrapper fails once
CTLD_PORT=${SLURM_PROOF_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
POLL_TIMEOUT=120 # seconds for any one wait; the whole proof takes well under a minute

# A proof started from inside a Slurm job would hand that job's SLURM_* variables to
# sbatch and to the wrapper (SLURM_ARRAY_TASK_ID!), and SBATCH_*/SQUEUE_*... variables
# change what the commands submit or print; start from a clean slate.
while read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(SLURM|SBATCH|SQUEUE|SINFO|SCANCEL|SCONTROL)_' || true)

# ---------------------------------------------------------------- reporting helpers
PROOF_START=$(date +%s%N)
STEP="" STEP_START=0
TIMINGS=()
FAIL_MSG=""

log() { printf '[slurm-proof] %s\n' "$*" >&2; }
secs() { # nanoseconds since $1, as seconds with one decimal
  local ms=$((($(date +%s%N) - $1) / 1000000))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}
end_step() {
  [ -n "$STEP" ] || return 0
  local s
  s=$(secs "$STEP_START")
  log "    ${s} s  $STEP"
  TIMINGS+=("$(printf '%6s s  %s' "$s" "$STEP")")
  STEP=""
}
step() {
  end_step
  STEP=$1
  STEP_START=$(date +%s%N)
  log "== $STEP"
}
die() {
  FAIL_MSG=$*
  exit 1
}

# Poll (never `sbatch --wait`: the architecture notes want submit-and-poll, as a
# scheduler-agnostic driver would do it) until "$@" succeeds, or fail after POLL_TIMEOUT.
wait_until() {
  local what=$1
  shift
  local t0=$SECONDS
  until "$@"; do
    [ $((SECONDS - t0)) -lt "$POLL_TIMEOUT" ] || die "timed out after ${POLL_TIMEOUT}s waiting for: $what"
    sleep 1
  done
}

# ---------------------------------------------------------------- cleanup and diagnostics
T="" # the temp dir; empty until created
CLUSTER_STARTED=0 # we launched daemons: stop them by their pid files
CLUSTER_OURS=0    # the controller answering on our port is verified to be ours

# Is pid $2 a running $1? (/proc rather than ps: minimal images lack procps)
is_daemon() { [ "$(cat "/proc/$2/comm" 2>/dev/null)" = "$1" ]; }

# Stop one daemon by its pid file; the pid must still name that daemon, so a stale file
# whose pid was reused can never make us signal someone else's process.
stop_daemon() {
  local name=$1 pidfile=$2 pid i
  for i in 1 2 3 4 5 6; do # the daemon writes its pid file a moment after forking
    [ -s "$pidfile" ] && break
    sleep 0.5
  done
  [ -s "$pidfile" ] || {
    log "cleanup: no $pidfile, $name not running"
    return 0
  }
  pid=$(cat "$pidfile")
  is_daemon "$name" "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do # slurmctld saves its state before exiting
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  log "cleanup: $name (pid $pid) ignored SIGTERM for 10 s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

show_tail() { # file, lines
  [ -f "$1" ] || return 0
  printf '\n----- %s (last %s lines)\n' "$1" "$2" >&2
  tail -n "$2" "$1" >&2
}

diagnostics() {
  log "FAILED: ${FAIL_MSG:-unexpected error (exit $1) in step: ${STEP:-?}}"
  [ -n "$T" ] || return 0
  if [ "$CLUSTER_OURS" = 1 ]; then
    printf '\n----- squeue --states=all\n' >&2
    squeue --states=all -o '%.12i %.10T %.24r %j' >&2 2>&1 || true
    printf '\n----- sinfo\n' >&2
    sinfo -N -l >&2 2>&1 || true
  fi
  show_tail "$T/slurm/slurmctld.log" 40
  show_tail "$T/slurm/slurmd.log" 40
  local f
  for f in "$T"/submit-*.out "$T"/submit-*.err "$T"/sharded/shards/logs/*.log; do
    show_tail "$f" 25
  done
  # Once more after the logs, where it is seen.
  printf '\nslurm-proof: FAILED: %s\n' "${FAIL_MSG:-unexpected error (exit $1) in step: ${STEP:-?}}" >&2
}

cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [ "$rc" -eq 0 ] || diagnostics "$rc"
  if [ "$CLUSTER_STARTED" = 1 ]; then
    local t0
    t0=$(date +%s%N)
    # Cancel whatever is still queued or running in the private cluster so no job step
    # outlives its slurmd (only if the controller is ours!), then stop the daemons.
    if [ "$CLUSTER_OURS" = 1 ]; then
      scancel --quiet --partition=proof 2>/dev/null
      for _ in $(seq 1 20); do
        [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
    stop_daemon slurmd "$T/slurm/slurmd.pid"
    stop_daemon slurmctld "$T/slurm/slurmctld.pid"
    log "cleanup: daemons stopped in $(secs "$t0") s"
  fi
  if [ -n "$T" ]; then
    if [ "${KEEP:-0}" = 1 ]; then
      log "KEEP=1: kept $T"
    else
      rm -rf "$T"
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'FAIL_MSG="interrupted"; exit 130' INT
trap 'FAIL_MSG="terminated"; exit 143' TERM

[ "$(id -u)" -eq 0 ] || die "run as root: it installs Slurm and runs slurmd/slurmctld"

# ---------------------------------------------------------------- 1. Slurm and minewatch
step "install Slurm (if missing)"
# (not `sbatch --version`: without SLURM_CONF it first goes looking for a controller in DNS)
slurm_version() { dpkg-query -W -f '${Version}' slurmctld 2>/dev/null || echo "(not from a Debian package)"; }
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null; then
  log "    already installed: slurm-wlm $(slurm_version)"
else
  # --no-install-recommends keeps it to the daemons, the client tools and munge (a hard
  # dependency we do not use). Debian's maintainer scripts may try to start the system
  # services; without /etc/slurm/slurm.conf they do nothing useful, and we never use them.
  # A failed install is retried once after `apt-get update` (stale package lists).
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm >&2; }
  apt_install || { apt-get update -q >&2 && apt_install; } || die "apt-get install slurm-wlm failed"
  log "    installed: slurm-wlm $(slurm_version)"
fi

step "minewatch binary"
if [ -n "${MINEWATCH_BIN:-}" ]; then
  BIN_SRC=$(realpath "$MINEWATCH_BIN")
else
  BIN_SRC=$ROOT/target/release/minewatch
  # Rebuild only when the binary is missing or older than the sources: an old binary may
  # predate the shard commands, and calling cargo unconditionally can cost a minute.
  if [ ! -x "$BIN_SRC" ] || [ -n "$(find crates/*/src crates/*/Cargo.toml Cargo.toml Cargo.lock -newer "$BIN_SRC" -type f -print -quit)" ]; then
    command -v cargo >/dev/null || die "$BIN_SRC is missing or stale and cargo is not on PATH (set MINEWATCH_BIN)"
    log "    building $BIN_SRC"
    cargo build --release --locked -p minewatch-cli >&2
  fi
fi
[ -x "$BIN_SRC" ] || die "minewatch binary not found: $BIN_SRC"
"$BIN_SRC" emit slurm --help >/dev/null 2>&1 || die "$BIN_SRC has no 'emit slurm' (too old?)"

T=$(mktemp -d "${TMPDIR:-/tmp}/minewatch-slurm-proof.XXXXXX")
mkdir -p "$T/bin" "$T/slurm/state" "$T/slurm/spool"
# Both runs use one snapshot of the binary, so a rebuild during the proof cannot mix versions.
BIN=$T/bin/minewatch
cp "$BIN_SRC" "$BIN"
log "    $BIN_SRC -> $BIN"

# ---------------------------------------------------------------- 2. a one-node cluster
step "start one-node Slurm cluster"
# One proof per port at a time: a second one would find the port taken, or worse, check
# it in the same instant and then talk to the first one's controller. Wait our turn.
exec 9>"/tmp/minewatch-slurm-proof.$CTLD_PORT.lock"
flock -w 600 9 || die "another slurm-proof on port $CTLD_PORT held the lock for 10 minutes"
# Leftover daemons of an earlier, killed proof would hold our ports; say so rather than
# failing obscurely (bash's /dev/tcp needs no extra tools).
for port in "$CTLD_PORT" "$SLURMD_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port is in use (a leftover slurm-proof cluster? see 'ps -C slurmctld,slurmd'); set SLURM_PROOF_PORT"
  fi
done
# slurmd finds its NodeName and slurmctld its role by the short host name.
HOST=$(hostname -s)
CPUS=$(nproc)
# A bit below the real memory: a node configured with more than it has is drained.
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
export SLURM_CONF=$T/slurm/slurm.conf
cat >"$SLURM_CONF" <<EOF
# Private one-node cluster for scripts/slurm-proof.sh; everything lives in $T/slurm.
ClusterName=mwproof
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
# No munge: auth/none and cred/none exist in Debian's Slurm 22.05 and spare us a key and
# a munged to manage. Only acceptable because the daemons listen on loopback only (below).
AuthType=auth/none
CredType=cred/none
# No cgroups, no accounting database: plain process tracking is enough for a proof.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
# Bind to the configured addresses (127.0.0.1) instead of all interfaces: with auth/none
# anyone who can reach the ports could run jobs as root.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
MpiDefault=none
# Quiets "Configured MailProg is invalid" (no mailer here) in the logs we show on failure.
MailProg=/bin/true
# Start batch jobs as soon as they are eligible instead of batching starts up (default
# 3 s): measured 10 s -> 6 s for the array and 7 s -> 2 s for task + merge.
SchedulerParameters=batch_sched_delay=0
# A node that went down comes back as soon as its slurmd registers.
ReturnToService=2
# Keep finished jobs visible to squeue/scontrol for the checks (default 300 s).
MinJobAge=3600
StateSaveLocation=$T/slurm/state
SlurmdSpoolDir=$T/slurm/spool
SlurmctldLogFile=$T/slurm/slurmctld.log
SlurmdLogFile=$T/slurm/slurmd.log
SlurmctldPidFile=$T/slurm/slurmctld.pid
SlurmdPidFile=$T/slurm/slurmd.pid
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=proof Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
# Both daemons fork into the background and write their pid files (no -D); -i starts
# slurmctld even if it cannot read the (empty) state directory. 9>&-: the daemons must
# not inherit the lock, or leftovers of a killed proof would hold it forever.
CLUSTER_STARTED=1
slurmctld -i 9>&- || die "slurmctld did not start"
slurmd -N "$HOST" 9>&- || die "slurmd did not start"
# Both must be alive under their pid files (a daemon that cannot bind its port exits
# right after forking), and the controller that answers must be the one reading our
# config, not some other cluster on the same port.
daemon_up() { [ -s "$2" ] && is_daemon "$1" "$(cat "$2")"; }
wait_until "slurmctld pid file" daemon_up slurmctld "$T/slurm/slurmctld.pid"
wait_until "slurmd pid file" daemon_up slurmd "$T/slurm/slurmd.pid"
ctld_ours() { scontrol show config 2>/dev/null | grep -qx "StateSaveLocation *= *$T/slurm/state"; }
wait_until "our slurmctld to answer on port $CTLD_PORT" ctld_ours
CLUSTER_OURS=1
node_idle() { [ "$(sinfo -h -n "$HOST" -o %T 2>/dev/null)" = idle ]; }
wait_until "node $HOST idle in sinfo" node_idle
daemon_up slurmd "$T/slurm/slurmd.pid" || die "slurmd exited after registering"
log "    $HOST idle: $CPUS CPUs, ${MEM_MB} MB, ports $CTLD_PORT/$SLURMD_PORT, $(sinfo --version)"

# ---------------------------------------------------------------- 3. the reference
step "single-process reference run"
"$BIN" run "$CONFIG" --out "$T/single" >&2

# ---------------------------------------------------------------- 4. a failing shard
step "emit the Slurm script, wrapper failing task $FAIL_TASK once"
# The wrapper stands in for the binary on the "compute node": it fails array task
# $FAIL_TASK's shard run once with 65 (permanent, so the emitted retry loop does not retry
# it), and otherwise is the real binary. The marker makes the second submission succeed.
{
  echo '#!/bin/bash'
  echo "# Written by scripts/slurm-proof.sh: fail array task $FAIL_TASK once, else run minewatch."
  printf 'marker=%q\n' "$T/failed-once"
  cat <<EOF
if [ "\${1:-}" = run ] && [ "\${SLURM_ARRAY_TASK_ID:-}" = $FAIL_TASK ] && [ ! -e "\$marker" ]; then
  for a in "\$@"; do
    if [ "\$a" = --shard ]; then
      : >"\$marker"
      echo "flaky-minewatch: failing array task $FAIL_TASK on purpose (exit 65)" >&2
      exit 65
    fi
  done
fi
EOF
  printf 'exec %q "$@"\n' "$BIN"
} >"$T/flaky-minewatch"
chmod +x "$T/flaky-minewatch"
"$BIN" emit slurm "$CONFIG" --out "$T/sharded" --bin "$T/flaky-minewatch" \
  --cpus 1 --mem 256M --time 00:10:00 >"$T/submit.sh"

# Run the emitted script (from $T, the jobs' working directory) and name the jobs it
# submitted: its last line is the merge job id (sbatch --parsable: "id[;cluster]"), and
# the merge's dependency names the array it waits for.
MERGE="" ARRAY=""
submit() {
  local n=$1
  (cd "$T" && bash "$T/submit.sh") >"$T/submit-$n.out" 2>"$T/submit-$n.err" ||
    die "the emitted script failed (round $n)"
  MERGE=$(tail -n 1 "$T/submit-$n.out")
  MERGE=${MERGE%%;*}
  [[ "$MERGE" =~ ^[0-9]+$ ]] || die "no merge job id in the emitted script's output (round $n)"
  ARRAY=$(scontrol show job "$MERGE" -o | sed -n 's/.*Dependency=afterok:\([0-9][0-9]*\).*/\1/p')
  [[ "$ARRAY" =~ ^[0-9]+$ ]] || die "merge job $MERGE has no afterok dependency on an array (round $n)"
  log "    submitted array job $ARRAY, merge job $MERGE"
}
array_tasks() { squeue -h -r --states=all -o '%F %K %T' | awk -v a="$ARRAY" '$1 == a { print $2, $3 }' | sort -n; }
missing_now() { "$BIN" missing "$CONFIG" --out "$T/sharded" 2>/dev/null; }
job_is() { [ "$(squeue -h --states=all -j "$1" -o '%T %r' 2>/dev/null)" = "$2" ]; } # job, "STATE reason"

step "round 1: submit 8 array tasks and the merge"
submit 1

step "round 1: poll squeue until the array is done"
array_done() { ! squeue -h -o %F | grep -qx "$ARRAY"; } # no pending/running task left
wait_until "array job $ARRAY to finish" array_done
TASKS1=$(array_tasks)
log "    tasks: $(echo "$TASKS1" | tr '\n' ' ')"
expected1=$(for i in 0 1 2 3 4 5 6 7; do
  if [ "$i" = "$FAIL_TASK" ]; then echo "$i FAILED"; else echo "$i COMPLETED"; fi
done)
[ "$TASKS1" = "$expected1" ] || die "round 1: expected tasks 0-7 COMPLETED except $FAIL_TASK FAILED, got: $(echo "$TASKS1" | tr '\n' ' ')"
# ...and it failed because of the wrapper, not for some other reason.
grep -q 'flaky-minewatch: failing' "$T/sharded/shards/logs/${ARRAY}_$FAIL_TASK.log" ||
  die "round 1: task $FAIL_TASK's log does not show the planned failure"

step "round 1: check missing, stuck merge, nothing merged"
got=$(missing_now) || die "minewatch missing failed"
[ "$got" = "$FAIL_TASK" ] || die "round 1: 'missing' printed '$got', expected '$FAIL_TASK'"
# Slurm marks the dependency as never satisfiable on its next scheduling pass.
wait_until "merge job $MERGE pending on DependencyNeverSatisfied" job_is "$MERGE" "PENDING DependencyNeverSatisfied"
scancel "$MERGE"
merge_gone() { [ "$(squeue -h --states=all -j "$MERGE" -o %T 2>/dev/null)" = CANCELLED ]; }
wait_until "merge job $MERGE cancelled" merge_gone
[ ! -e "$T/sharded/detect" ] || die "round 1: $T/sharded/detect exists although the merge never ran"
MERGE1=$MERGE ARRAY1=$ARRAY

# ---------------------------------------------------------------- 5. resubmission
step "round 2: rerun the same emitted script"
submit 2
TASKS2=$(array_tasks | cut -d' ' -f1 | paste -sd,)
[ "$TASKS2" = "$FAIL_TASK" ] || die "round 2: expected an array of task $FAIL_TASK only, got tasks '$TASKS2'"

step "round 2: poll squeue until the queue is empty"
queue_empty() { [ -z "$(squeue -h -o %i)" ]; }
wait_until "the queue to empty" queue_empty
[ "$(array_tasks)" = "$FAIL_TASK COMPLETED" ] || die "round 2: task $FAIL_TASK did not complete: $(array_tasks)"
job_is "$MERGE" "COMPLETED None" || die "round 2: merge job $MERGE did not complete: $(squeue -h --states=all -j "$MERGE" -o '%T %r')"
got=$(missing_now) || die "minewatch missing failed"
[ -z "$got" ] || die "round 2: 'missing' printed '$got', expected an empty line"

# ---------------------------------------------------------------- 6. byte comparison
step "compare single vs sharded byte for byte"
# Manifests record timings, commands and paths, so they differ by design; everything else
# must be identical, and both sides must hold the same set of files.
is_manifest() { case ${1##*/} in manifest.json | *_manifest.json) return 0 ;; *) return 1 ;; esac }
compared=() skipped=()
for sub in detect overlay; do
  [ -d "$T/single/$sub" ] || die "reference run has no $sub/"
  [ -d "$T/sharded/$sub" ] || die "sharded run has no $sub/"
  while IFS= read -r rel; do
    if is_manifest "$rel"; then
      skipped+=("$rel")
      continue
    fi
    [ -f "$T/sharded/$rel" ] || die "sharded run lacks $rel"
    cmp -- "$T/single/$rel" "$T/sharded/$rel" >&2 || die "$rel differs between single and sharded runs"
    compared+=("$rel")
  done < <(cd "$T/single" && find "$sub" -type f | LC_ALL=C sort)
  while IFS= read -r rel; do
    is_manifest "$rel" || [ -f "$T/single/$rel" ] || die "sharded run has $rel, the reference does not"
  done < <(cd "$T/sharded" && find "$sub" -type f)
done
[ "${#compared[@]}" -gt 0 ] || die "no files compared"
for need in detect/patches.geojson detect/patches.gpkg detect/patches.csv \
  overlay/findings.geojson overlay/findings.gpkg overlay/findings.csv; do
  printf '%s\n' "${compared[@]}" | grep -qx "$need" || die "$need was not compared (not written?)"
done
end_step

# ---------------------------------------------------------------- report
cat <<EOF

slurm-proof: OK — sharded run on Slurm is byte-identical to the single-process run
  cluster   1 node ($HOST, $CPUS CPUs), $(sinfo --version), auth/none, ports $CTLD_PORT/$SLURMD_PORT
  round 1   array job $ARRAY1: $(echo "$TASKS1" | awk '{ s = s sep $1 "=" $2; sep = " " } END { print s }')
            missing: $FAIL_TASK; merge job $MERGE1 pending (DependencyNeverSatisfied), cancelled; nothing merged
  round 2   array job $ARRAY: task $FAIL_TASK only, COMPLETED; merge job $MERGE COMPLETED; missing: (empty)
  identical ${#compared[@]} files: ${compared[*]}
  skipped   ${#skipped[@]} manifests: ${skipped[*]}
  timings
$(printf '    %s\n' "${TIMINGS[@]}")
    total $(secs "$PROOF_START") s
EOF
