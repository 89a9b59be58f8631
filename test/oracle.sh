#!/usr/bin/env bash
# The byte-exact oracle: run every simulator program (the scenarios and the
# simulator's unit test) with GOSSIP_SIM_ORACLE set, so each simulator
# records the hash of its trace, every datagram's bytes and every callback
# (test/sim.c), and compare the records with test/oracle.txt.
#   test/oracle.sh [--record] [BUILD_DIR]
# A behaviour-preserving change keeps every hash; a change that alters
# behaviour on purpose re-records (--record) in the same commit and says why.
set -u
cd "$(dirname "$0")/.."
record=0
if [ "${1:-}" = --record ]; then record=1; shift; fi
b=${1:-build}
expected=test/oracle.txt
got=$(mktemp)
trap 'rm -f "$got" "$got.log"' EXIT
progs=("$b"/test/unit_sim "$b"/test/scenario_*)
for p in "${progs[@]}"; do
  case "$p" in *.o|*.d) continue ;; esac
  [ -x "$p" ] || { echo "oracle: $p is not built"; exit 1; }
  if ! GOSSIP_SIM_SEED= GOSSIP_SIM_ORACLE="$got" "$p" >"$got.log" 2>&1; then
    echo "oracle: $p failed:"; tail -n 20 "$got.log"; exit 1
  fi
done
sort -o "$got" "$got"
n=$(wc -l <"$got")
if [ "$record" = 1 ]; then
  cp "$got" "$expected"
  echo "oracle: recorded $n simulator hashes in $expected"
  exit 0
fi
if diff -u "$expected" "$got"; then
  echo "oracle: all $n simulator hashes unchanged"
else
  echo "oracle: hashes differ from $expected (above): behaviour, wire bytes or callbacks changed"
  exit 1
fi
