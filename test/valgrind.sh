#!/usr/bin/env bash
# Run the unit test binaries of the normal build under valgrind memcheck:
# any invalid read or write, use of uninitialised memory, bad free, or a
# definite/indirect leak fails the run.  `make test-valgrind` runs it through
# test/run-tests.sh, so it lands in the `make check` summary.
#   test/valgrind.sh [BINARY...]
# Binaries default to $VALGRIND_BINS, else build/test/unit_*.  Two run at a
# time (the machine has two cores), slowest first.  Exits 77 (skip) when
# valgrind is missing and cannot be installed.
set -u
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing valgrind"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind) >/dev/null 2>&1
  fi
  if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind is not installed (apt-get install valgrind)"
    exit 77
  fi
fi

if [ $# -gt 0 ]; then set -- "$@"
elif [ -n "${VALGRIND_BINS:-}" ]; then set -- $VALGRIND_BINS
else set -- build/test/unit_*
fi
[ -x "$1" ] || { echo "no test binary found (run 'make test-units' first)"; exit 1; }

# scrypt (128 MiB, N=2^17: ~5 s a run under valgrind) in unit_kdf and the
# fuzz-style loops in unit_wire dominate under valgrind: start them first so
# the pair of workers ends together.  (unit_config replaces scrypt.)
slow="unit_kdf unit_wire unit_hostile unit_sim unit_config unit_crypto"
ordered=()
for s in $slow; do for t in "$@"; do [ "$(basename "$t")" = "$s" ] && ordered+=("$t"); done; done
for t in "$@"; do case " $slow " in *" $(basename "$t") "*) ;; *) ordered+=("$t") ;; esac; done

mkdir -p build/logs
jobs_max=${VALGRIND_JOBS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_one() {
  local t=$1 n vglog start rc secs
  n=$(basename "$t")
  vglog=build/logs/valgrind-$n.vg
  start=$(date +%s.%N)
  # cmocka output goes to the run log, valgrind's own report to $vglog.
  timeout 600 valgrind --error-exitcode=99 --leak-check=full \
      --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
      --num-callers=30 -q --log-file="$vglog" "$t" >"build/logs/valgrind-$n.log" 2>&1
  rc=$?
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  if [ $rc = 0 ] && [ ! -s "$vglog" ]; then
    echo "$n clean ${secs}s"
  elif [ $rc = 99 ] || [ -s "$vglog" ]; then
    echo "$n VALGRIND ERRORS (exit $rc, ${secs}s; report $vglog)"
    head -n 60 "$vglog" | sed 's/^/    | /'
  else
    echo "$n TEST FAILED under valgrind (exit $rc, ${secs}s; log build/logs/valgrind-$n.log)"
    tail -n 20 "build/logs/valgrind-$n.log" | sed 's/^/    | /'
  fi
  [ $rc = 0 ] && [ ! -s "$vglog" ]
}

i=0
for t in "${ordered[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  i=$((i + 1))
  (run_one "$t" >"$out/$i.txt"; echo $? >"$out/$i.rc") &
done
wait

fail=0
for j in $(seq 1 "$i"); do
  cat "$out/$j.txt"
  [ "$(cat "$out/$j.rc")" = 0 ] || fail=$((fail + 1))
done
echo "valgrind: $((i - fail)) of $i unit test binaries clean"
[ $fail = 0 ]
