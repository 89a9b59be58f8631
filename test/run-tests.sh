#!/usr/bin/env bash
# Run a group of test programs, one line per program, and keep a tally in
# build/results.txt.  `run-tests.sh summary` prints the closing
# "N passed, N failed" line for the whole `make check` and fails if any did.
#   run-tests.sh GROUP PROGRAM...
# A program that exits 77 was skipped (and says why on its output).
set -u
results=build/results.txt
mkdir -p build
if [ "${1:-}" = summary ]; then
  p=$(grep -c ' PASS ' "$results" 2>/dev/null); f=$(grep -c ' FAIL ' "$results" 2>/dev/null)
  s=$(grep -c ' SKIP ' "$results" 2>/dev/null)
  grep -E ' (FAIL|SKIP) ' "$results" 2>/dev/null | sed 's/^/  /'
  echo "${p:-0} passed, ${f:-0} failed, ${s:-0} skipped"
  [ "${f:-0}" = 0 ]
  exit
fi
group=$1; shift
fail=0
for t in "$@"; do
  name="$group/$(basename "$t")"
  log="build/logs/$group-$(basename "$t").log"
  mkdir -p build/logs
  start=$(date +%s.%N)
  case "$t" in
    *.py) timeout 600 python3 "$t" >"$log" 2>&1 ;;
    *)    timeout 600 "$t" >"$log" 2>&1 ;;
  esac
  rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc = 0 ]; then
    echo "$name PASS ${secs}s" | tee -a "$results"
  elif [ $rc = 77 ]; then
    echo "$name SKIP ($(tail -n 1 "$log"))" | tee -a "$results"
  else
    echo "$name FAIL (exit $rc, ${secs}s; log $log)" | tee -a "$results"
    tail -n 40 "$log" | sed 's/^/    | /'
    fail=1
  fi
done
exit $fail
