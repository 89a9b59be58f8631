#!/usr/bin/env bash
# Static analysis of the library: the layer check (test/layers.py: no
# include or call runs the wrong way, no cycle), cppcheck over lib/ and
# include/, then clang-tidy over lib/*.c with the checked-in .clang-tidy.  Any finding
# fails the run; `make test-lint` runs it through test/run-tests.sh, so it
# lands in the `make check` summary.
#   test/lint.sh [FILE.c...]    (default: lib/*.c)
# False positives go to test/cppcheck-suppressions.txt (or an inline
# `// cppcheck-suppress id`), checks that do not fit go out of .clang-tidy,
# each with its reason.  Exits 77 (skip) when a tool is missing and cannot
# be installed.  LINT_JOBS sets clang-tidy's parallelism (default 2).
set -u
cd "$(dirname "$0")/.."

tidy=""
find_tidy() {
  for c in clang-tidy-14 clang-tidy; do
    if command -v "$c" >/dev/null 2>&1; then tidy=$c; return 0; fi
  done
  return 1
}

missing=""
command -v cppcheck >/dev/null 2>&1 || missing="$missing cppcheck"
find_tidy || missing="$missing clang-tidy-14"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null 2>&1
  fi
  if ! command -v cppcheck >/dev/null 2>&1 || ! find_tidy; then
    echo "lint tools missing:$missing (apt-get install cppcheck clang-tidy-14)"
    exit 77
  fi
fi

if [ $# -gt 0 ]; then files=("$@"); else files=(lib/*.c); fi
# The same preprocessor and warning flags as the Makefile's build (less
# -Werror: .clang-tidy turns every finding into an error already).
cflags=(-std=c11 -D_GNU_SOURCE -Iinclude -Ilib -Wall -Wextra -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla)
fail=0

# --- layers: the file graph of lib/ runs one way (test/layers.py) -----------
echo "== layers"
if [ $# -eq 0 ]; then
  if ! python3 test/layers.py; then fail=1; fi
fi

# --- cppcheck ----------------------------------------------------------------
cpp_opts=(--enable=warning,style,performance,portability --std=c11 --library=posix
          --inline-suppr --error-exitcode=1 --suppressions-list=test/cppcheck-suppressions.txt
          -Iinclude -Ilib -D_GNU_SOURCE --quiet
          --template='{file}:{line}:{column}: {severity}: {message} [{id}]')
# --check-level arrived in cppcheck 2.11; 2.10 (Debian 12) is always thorough.
if cppcheck --help 2>/dev/null | grep -q -- '--check-level'; then
  cpp_opts+=(--check-level=exhaustive)
fi
echo "== $(cppcheck --version)"
if [ $# -gt 0 ]; then cpp_targets=("$@"); else cpp_targets=(lib include); fi
if cppcheck "${cpp_opts[@]}" "${cpp_targets[@]}"; then
  echo "cppcheck: no findings"
else
  echo "cppcheck: FINDINGS above"
  fail=1
fi

# --- clang-tidy --------------------------------------------------------------
echo "== $($tidy --version | grep -m1 -i version)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Largest files first, so the workers finish together.
mapfile -t ordered < <(ls -S "${files[@]}")
printf '%s\n' "${ordered[@]}" |
  xargs -P "${LINT_JOBS:-2}" -I{} sh -c \
    'f=$1; shift; o="$0/$(echo "$f" | tr / _)"; if "$@" --quiet "$f" -- '"${cflags[*]}"' >"$o.txt" 2>"$o.err"; then :; else echo "$f" >>"$0/failed"; fi' \
    "$out" {} "$tidy"
for f in "${ordered[@]}"; do
  o="$out/$(echo "$f" | tr / _)"
  # clang-tidy prints "N warnings generated." on stderr for suppressed
  # system-header noise; anything else there is worth showing.
  grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^$' \
    "$o.err" >>"$o.txt" || true
  cat "$o.txt"
done
if [ -s "$out/failed" ]; then
  echo "clang-tidy: FINDINGS in $(sort "$out/failed" | tr '\n' ' ')"
  fail=1
else
  echo "clang-tidy: no findings in ${#ordered[@]} files"
fi
exit $fail
