#!/usr/bin/env bash
# bench/peers.sh - libgossip side by side with serf and tarantool swim, using
# the shared cluster_bench.py (run by `make bench-peers` from the repo root).
#
# Environment (all optional):
#   N=32                    cluster size
#   SCENARIOS="join detect idle partition loss"   subset to run, in this order
#   QUICK=1                 smoke run: N=8, one rep, short windows (file names get _quick)
#   IMPL=serf,tarantool,libgossip
#   BENCH_DIR=dir           where cluster_bench.py is (default <repo>/../shared/bench)
#   LIBGOSSIP_BIN=path      default <repo>/examples/gossip-node
#   OUT=dir                 results (default <repo>/bench/results)
#   EXTRA="..."             extra cluster_bench.py options for every run
#   PYTHON=python3
# Results: $OUT/<date>_<scenario>_N<n>[_variant].json plus a .log (console) next
# to each; per-run node logs go under <repo>/build/bench-runs (never into
# BENCH_DIR, which is read-only).  Exit status 1 if any run failed.
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
BENCH_DIR=${BENCH_DIR:-$REPO/../shared/bench}
BENCH_DIR=$(cd "$BENCH_DIR" 2>/dev/null && pwd) || { echo "peers.sh: bench folder not found (set BENCH_DIR)" >&2; exit 1; }
CB=$BENCH_DIR/cluster_bench.py
LIBGOSSIP_BIN=${LIBGOSSIP_BIN:-$REPO/examples/gossip-node}
OUT=${OUT:-$REPO/bench/results}
WORK=$REPO/build/bench-runs
IMPL=${IMPL:-serf,tarantool,libgossip}
SCENARIOS=${SCENARIOS:-"join detect idle partition loss"}
EXTRA=${EXTRA:-}
QUICK=${QUICK:-0}
DATE=$(date +%Y-%m-%d)

if [ "$QUICK" = 1 ]; then
  N=${N:-8}; TAG=_quick
  JOIN="--reps 1"; DETECT="--reps 1 --window 20"; IDLE_S=15
  PART1="--hold 15 --heal-timeout 60 --reps 1"; PART2=""
  LOSS_ARGS="20 --window 15 --recover-timeout 30"
  LIMIT=900
else
  N=${N:-32}; TAG=
  JOIN="--reps 3"; DETECT="--reps 3"; IDLE_S=60
  PART1="--hold 30 --reps 2"; PART2="--hold 120 --reps 1"
  LOSS_ARGS="20 --window 60"
  LIMIT=3600
fi

die() { echo "peers.sh: $*" >&2; exit 1; }
[ -f "$CB" ] || die "$CB not found (set BENCH_DIR)"
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, nft, apt-get)"
[ -x "$LIBGOSSIP_BIN" ] || die "$LIBGOSSIP_BIN missing: run make first"

# --- Debian packages the peers need ------------------------------------------
missing=""
command -v serf >/dev/null 2>&1 || missing="$missing serf"
command -v tarantool >/dev/null 2>&1 || missing="$missing tarantool"
command -v nft >/dev/null 2>&1 || missing="$missing nftables"
if [ -n "$missing" ]; then
  echo "peers.sh: installing:$missing"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install$missing by hand"
  mkdir -p "$WORK" || die "cannot create $WORK"
  # shellcheck disable=SC2086  # a list of package names
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) \
    >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install$missing failed"; }
fi

mkdir -p "$OUT" "$WORK" || die "cannot create $OUT / $WORK"

# --- runs ----------------------------------------------------------------------
child=0
interrupted=0
# shellcheck disable=SC2317  # invoked by the trap
on_signal() {
  interrupted=1
  [ "$child" != 0 ] && kill -TERM "$child" 2>/dev/null
}
trap on_signal INT TERM HUP

rc=0
files=()
# run NAME SUBCOMMAND ARGS...: one cluster_bench.py invocation, bounded by LIMIT s
run() {
  local name=$1; shift
  local json="$OUT/${DATE}_${name}${TAG}.json" log="$OUT/${DATE}_${name}${TAG}.log"
  echo "=== $name: cluster_bench.py $*  -> ${json#"$REPO"/}"
  : >"$log" || die "cannot write $log"
  # In the background so that a signal to this script reaches the trap at once;
  # timeout passes SIGTERM on to cluster_bench.py, which then cleans up.
  # shellcheck disable=SC2086
  timeout -k 30 "$LIMIT" "$PY" "$CB" "$@" --impl "$IMPL" --libgossip-bin "$LIBGOSSIP_BIN" \
      --workdir "$WORK" --json "$json" $EXTRA >"$log" 2>&1 &
  child=$!
  tail -n +1 -f --pid="$child" "$log" &
  local tailer=$!
  wait "$child"; local r=$?
  # wait returns early (>128) when a trapped signal arrives: let the child finish its cleanup
  while kill -0 "$child" 2>/dev/null; do wait "$child"; r=$?; done
  wait "$tailer" 2>/dev/null
  child=0
  if [ "$r" != 0 ]; then echo "=== $name: exit $r (see ${log#"$REPO"/})"; rc=1; fi
  [ -f "$json" ] && files+=("$json")
  [ "$interrupted" = 1 ] && { "$PY" "$CB" cleanup >/dev/null 2>&1; exit 130; }
  return 0
}

# The option strings above are word-split on purpose.
# shellcheck disable=SC2086
for s in $SCENARIOS; do
  case $s in
    join)      run "join_N$N" join "$N" $JOIN ;;
    detect)    run "detect_N$N" detect "$N" $DETECT ;;
    idle)      run "idle_N$N" idle "$N" "$IDLE_S" ;;
    partition) run "partition_N$N" partition "$N" $PART1
               [ -n "$PART2" ] && run "partition_N${N}_hold120" partition "$N" $PART2 ;;
    loss)      run "loss_N${N}_20pct" loss "$N" $LOSS_ARGS ;;
    *) echo "peers.sh: unknown scenario '$s' (join detect idle partition loss)" >&2; rc=1 ;;
  esac
done

if [ ${#files[@]} -gt 0 ]; then
  echo
  echo "=== report (${#files[@]} file(s) in ${OUT#"$REPO"/})"
  "$PY" "$CB" report "${files[@]}"
fi
exit $rc
