#!/usr/bin/env bash
# bench/rolling.sh - rolling restart (an operator's upgrade) of libgossip and
# serf side by side, with the shared harness's `rolling` scenario (run by
# `make bench-rolling`, and by `make bench-peers` after bench/peers.sh).
#
# Per N (16 and 32), one cluster_bench.py run per implementation: converge,
# then nodes 1..N-1 one at a time: drain (libgossip: SIGUSR1, one heartbeat),
# graceful stop (libgossip SIGTERM = leave; serf SIGINT = `serf leave`),
# start again with the same id and arguments, wait until every other node
# sees it alive, --gap s, next.  libgossip runs with the roles of
# bench/rolling-roles.conf (pinned to node 1, pinned to node 2 with QUORUM,
# two floating ones, one with QUORUM) and its logs are kept, so that
# bench/rolling_report.py can say how each role moved.
#
# Environment (all optional):
#   NS="16 32"              cluster sizes, in this order
#   QUICK=1                 smoke run: N=8, --gap 3, files tagged _quick
#   IMPL="libgossip serf"   implementations, in this order (one run each)
#   GAP=5                   seconds between one node back and the next drain
#   BASE_PORT=27000         node i on 127.0.0.1:BASE+i, serf RPC BASE+1000+i
#                           (below the ephemeral range: a client socket cannot
#                           take a restarting node's port)
#   LOAD_MAX=1.5 LOAD_WAIT=600   before each run wait (polling every 30 s, at
#                           most LOAD_WAIT s) until the 1-minute load is below
#                           LOAD_MAX; the load is saved with the results
#   BENCH_DIR=dir           where cluster_bench.py is (default <repo>/../shared/bench)
#   LIBGOSSIP_BIN=path      default <repo>/examples/gossip-node
#   OUT=dir                 results (default <repo>/bench/results)
#   EXTRA="..."             extra cluster_bench.py options for every run
#   SUFFIX=_rep2            appended to the result file names (a repeated run)
#   PYTHON=python3
# Results, per N and implementation: $OUT/<date>_rolling_N<n>_<impl>[_quick][SUFFIX].json
# (cluster_bench.py's raw numbers), .log (console), .meta.json (load, commit,
# command) and, for libgossip, .roles.json (bench/rolling_report.py roles).
# Node logs: <repo>/build/bench-runs/ (libgossip's are kept; never committed).
# Network: loopback only (the harness's default for rolling).
# Exit status 1 if any run failed or was aborted.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-$REPO/../shared/bench}
BENCH_DIR=$(cd "$BENCH_DIR" 2>/dev/null && pwd) || { echo "rolling.sh: bench folder not found (set BENCH_DIR)" >&2; exit 1; }
CB=$BENCH_DIR/cluster_bench.py
REPORT=$REPO/bench/rolling_report.py
ROLES=$REPO/bench/rolling-roles.conf
LIBGOSSIP_BIN=${LIBGOSSIP_BIN:-$REPO/examples/gossip-node}
OUT=${OUT:-$REPO/bench/results}
WORK=$REPO/build/bench-runs
IMPL=${IMPL:-"libgossip serf"}
BASE_PORT=${BASE_PORT:-27000}
LOAD_MAX=${LOAD_MAX:-1.5}
LOAD_WAIT=${LOAD_WAIT:-600}
EXTRA=${EXTRA:-}
QUICK=${QUICK:-0}
DATE=$(date +%Y-%m-%d)
if [ "$QUICK" = 1 ]; then
  NS=${NS:-8}; GAP=${GAP:-3}; TAG=_quick
else
  NS=${NS:-"16 32"}; GAP=${GAP:-5}; TAG=
fi
TAG=$TAG${SUFFIX:-}

die() { echo "rolling.sh: $*" >&2; exit 1; }
[ -f "$CB" ] || die "$CB not found (set BENCH_DIR)"
[ "$(id -u)" = 0 ] || die "needs root (the harness and apt-get)"
[ -x "$LIBGOSSIP_BIN" ] || die "$LIBGOSSIP_BIN missing: run make first"
[ -f "$ROLES" ] || die "$ROLES missing"

# --- Debian packages -----------------------------------------------------------
missing=""
case " $IMPL " in *" serf "*) command -v serf >/dev/null 2>&1 || missing="$missing serf" ;; esac
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
mkdir -p "$OUT" "$WORK" || die "cannot create $OUT / $WORK"
if [ -n "$missing" ]; then
  echo "rolling.sh: installing:$missing"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install$missing by hand"
  # shellcheck disable=SC2086  # a list of package names
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) \
    >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install$missing failed"; }
fi

# The code measured: the commit, and whether lib/, include/ or examples/ differ from it.
COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain -- lib include examples 2>/dev/null)" ]; then
  COMMIT="$COMMIT+dirty"
fi

load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# wait_load: until the 1-minute load is below LOAD_MAX, at most LOAD_WAIT s
WAITED=0
wait_load() {
  local t0 now
  t0=$(date +%s)
  while awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; do
    now=$(date +%s)
    if [ $((now - t0)) -ge "$LOAD_WAIT" ]; then
      echo "rolling.sh: load $(loadavg) still >= $LOAD_MAX after ${LOAD_WAIT}s; running anyway (noted)"
      break
    fi
    echo "rolling.sh: load $(loadavg) >= $LOAD_MAX; waiting (${LOAD_WAIT}s at most)"
    sleep 30
  done
  WAITED=$(( $(date +%s) - t0 ))
}

child=0
interrupted=0
# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
  interrupted=1
  [ "$child" != 0 ] && kill -TERM "$child" 2>/dev/null
}
trap on_signal INT TERM HUP

rc=0
bases=()
# run N IMPL: one cluster_bench.py rolling run, bounded in time
run() {
  local n=$1 impl=$2 base="$OUT/${DATE}_rolling_N$1_$2${TAG}"
  local args=(rolling "$n" --gap "$GAP" --impl "$impl" --base-port "$BASE_PORT"
              --workdir "$WORK" --json "$base.json")
  if [ "$impl" = libgossip ]; then
    args+=(--drain-signal USR1 --libgossip-bin "$LIBGOSSIP_BIN"
           --libgossip-arg "--config $ROLES" --keep-logs)
  fi
  # rejoin timeout 60 s per node at most, plus start and convergence
  local limit=$(( 300 + n * (60 + ${GAP%.*} + 15) ))
  wait_load
  local before waited=$WAITED
  before=$(loadavg)
  echo "=== rolling N=$n $impl (load $before): cluster_bench.py ${args[*]} $EXTRA"
  : >"$base.log" || die "cannot write $base.log"
  # shellcheck disable=SC2086  # EXTRA is split on purpose
  timeout -k 30 "$limit" "$PY" "$CB" "${args[@]}" $EXTRA >"$base.log" 2>&1 &
  child=$!
  tail -n +1 -f --pid="$child" "$base.log" &
  local tailer=$!
  wait "$child"; local r=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; r=$?; done
  wait "$tailer" 2>/dev/null
  child=0
  local after
  after=$(loadavg)
  "$PY" - "$base.meta.json" "$COMMIT" "$before" "$after" "$waited" "$LOAD_MAX" "$r" \
      "cluster_bench.py ${args[*]} $EXTRA" <<'EOF'
import json, sys, datetime
p, commit, before, after, waited, lmax, rc, cmd = sys.argv[1:]
json.dump({'commit': commit, 'load_before': before, 'load_after': after,
           'load_wait_s': int(waited), 'load_max': float(lmax), 'exit': int(rc),
           'command': cmd, 'written': datetime.datetime.now().isoformat(timespec='seconds')},
          open(p, 'w'), indent=1)
EOF
  if [ "$r" != 0 ]; then echo "=== rolling N=$n $impl: exit $r (see ${base#"$REPO"/}.log)"; rc=1; fi
  if [ -f "$base.json" ] && ! "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = [r for r in d["results"] if r.get("error") or any(s.get("aborted") for s in r.get("summary", {}).values())]
sys.exit(1 if bad or not d["results"] else 0)' "$base.json"; then
    echo "=== rolling N=$n $impl: error or roll aborted (see ${base#"$REPO"/}.log)"; rc=1
  fi
  if [ "$impl" = libgossip ] && [ -f "$base.json" ]; then
    "$PY" "$REPORT" roles "$base.json" --bench-dir "$BENCH_DIR" --out "$base.roles.json" \
      | tee -a "$base.log" || rc=1
  fi
  [ -f "$base.json" ] && bases+=("$base")
  if [ "$interrupted" = 1 ]; then "$PY" "$CB" cleanup >/dev/null 2>&1; exit 130; fi
  return 0
}

for n in $NS; do
  for impl in $IMPL; do
    case $impl in
      libgossip|serf) run "$n" "$impl" ;;
      *) echo "rolling.sh: unknown implementation '$impl' (libgossip serf)" >&2; rc=1 ;;
    esac
  done
done

if [ ${#bases[@]} -gt 0 ]; then
  echo
  echo "=== report (${#bases[@]} run(s), commit $COMMIT)"
  files=()
  for b in "${bases[@]}"; do files+=("$b.json"); done
  "$PY" "$CB" report "${files[@]}"
  echo
  "$PY" "$REPORT" table "${bases[@]}"
fi
exit $rc
