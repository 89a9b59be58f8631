#!/usr/bin/env bash
# libFuzzer targets of libgossip (test/fuzz/fuzz_*.c): build, bounded runs
# for `make check`, long runs on demand.
#
#   run.sh [check]      build; run every crasher kept in
#                       test/fuzz/regressions/<t>/ and every seed in
#                       test/fuzz/corpus/<t>/ once; then fuzz each target for
#                       FUZZ_SECONDS (default 20) from a fresh copy of its
#                       seeds.  Exit 0, 1 (a crash, leak or timeout), or 77
#                       when clang or its libFuzzer runtime is missing and
#                       cannot be installed (the reason is the last line).
#   run.sh fuzz [t...]  build; fuzz each target (default: all) for
#                       FUZZ_SECONDS (default 600) in build/fuzz/corpus-<t>,
#                       which starts as a copy of the seeds and keeps growing
#                       over runs.  The repository corpus is never written.
#   run.sh build        build build/fuzz/fuzz_<t> only.
#
# Crashes land in build/fuzz/artifacts/<t>/; keep each one (after the fix)
# as test/fuzz/regressions/<t>/<name> so every later check runs it.
# Environment: CLANG (default clang), FUZZ_SECONDS, FUZZ_JOBS (parallel
# fuzzing processes per target in `fuzz` mode, default 1), FUZZ_FLAGS
# (extra libFuzzer flags).
set -u
cd "$(dirname "$0")/../.."
mode=${1:-check}
[ $# -gt 0 ] && shift
TARGETS="wire receive config"
OUT=build/fuzz
CLANG=${CLANG:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS_FUZZ="-std=c11 -D_GNU_SOURCE -Iinclude -Ilib -g -O1 -fno-omit-frame-pointer -Wall -Wextra"
LIBS="-linih -lcrypto -lcares -lm -ldl"
# max_len: whole datagrams with chunk headers for receive; configs are text.
declare -A MAXLEN=([wire]=2048 [receive]=8192 [config]=8192)

skip() { echo "fuzz: skipped: $*"; exit 77; }

# A clang that links -fsanitize=fuzzer; install it (Debian) when root.
have_fuzzer() {
    command -v "$CLANG" >/dev/null 2>&1 || return 1
    local d; d=$(mktemp -d) || return 1
    printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$d/t.c"
    "$CLANG" -fsanitize=fuzzer,address,undefined -o "$d/t" "$d/t.c" >/dev/null 2>&1
    local rc=$?
    rm -rf "$d"
    return $rc
}

ensure_toolchain() {
    have_fuzzer && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        local pkgs="clang"
        if command -v "$CLANG" >/dev/null 2>&1; then
            local v; v=$("$CLANG" -dumpversion 2>/dev/null | cut -d. -f1)
            pkgs="libclang-rt-${v}-dev"
        fi
        echo "fuzz: installing $pkgs"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $pkgs) >/dev/null 2>&1
        if ! have_fuzzer && [ "$pkgs" = clang ] && command -v "$CLANG" >/dev/null 2>&1; then
            v=$("$CLANG" -dumpversion 2>/dev/null | cut -d. -f1)
            echo "fuzz: installing libclang-rt-${v}-dev"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "libclang-rt-${v}-dev" >/dev/null 2>&1
        fi
        have_fuzzer && return 0
    fi
    skip "no clang with a libFuzzer runtime (install clang and libclang-rt-<version>-dev)"
}

# Library objects once (instrumented for coverage, not linked with the
# fuzzer's main), then one link per target.  Rebuilt when a source is newer.
build() {
    ensure_toolchain
    mkdir -p "$OUT/obj"
    local objs="" s o
    for s in lib/*.c; do
        o="$OUT/obj/$(basename "${s%.c}").o"
        objs="$objs $o"
        if [ ! -e "$o" ] || [ -n "$(find "$s" lib/*.h include/gossip.h -newer "$o" 2>/dev/null)" ]; then
            "$CLANG" $CFLAGS_FUZZ -fsanitize=fuzzer-no-link $SAN -c -o "$o" "$s" || return 1
        fi
    done
    # objects of sources that are gone must not be linked
    for o in "$OUT"/obj/*.o; do
        [ -e "lib/$(basename "${o%.o}").c" ] || rm -f "$o"
    done
    local t b
    for t in $TARGETS; do
        b="$OUT/fuzz_$t"
        # test/forge.c: hand-made wire format 2 datagrams (fuzz_receive)
        if [ ! -e "$b" ] || [ -n "$(find test/fuzz/fuzz_$t.c test/forge.c test/forge.h $objs -newer "$b" 2>/dev/null)" ]; then
            echo "fuzz: building $b"
            "$CLANG" $CFLAGS_FUZZ -Itest -fsanitize=fuzzer $SAN -o "$b" "test/fuzz/fuzz_$t.c" test/forge.c $objs \
                $LIBS || return 1
        fi
    done
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One line from a libFuzzer log: runs, time, exec/s, coverage.
summarize() { # target log seconds
    local runs cov ft
    runs=$(grep -oE '^Done [0-9]+ runs' "$2" | tail -n 1 | grep -oE '[0-9]+')
    cov=$(grep -oE 'cov: [0-9]+' "$2" | tail -n 1 | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' "$2" | tail -n 1 | grep -oE '[0-9]+')
    local eps=$(( ${runs:-0} / ($3 > 0 ? $3 : 1) ))
    echo "fuzz_$1: ${runs:-?} runs in $3 s (~$eps exec/s), coverage: ${cov:-?} edges, ${ft:-?} features"
}

# Fuzz one target for $2 seconds in corpus dir $3; 0 or 1.
fuzz_one() { # target seconds corpus-dir [jobs]
    local t=$1 secs=$2 dir=$3 jobs=${4:-1}
    local log="$OUT/logs/fuzz-$t.log" art="$OUT/artifacts/$t/"
    mkdir -p "$OUT/logs" "$art" "$dir"
    local start=$SECONDS rc
    local extra=()
    [ "$jobs" -gt 1 ] && extra=(-jobs="$jobs" -workers="$jobs")
    "$OUT/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="${MAXLEN[$t]}" \
        -print_final_stats=1 -artifact_prefix="$art" "${extra[@]}" ${FUZZ_FLAGS:-} \
        "$dir" >"$log" 2>&1
    rc=$?
    [ "$jobs" -gt 1 ] && cat fuzz-*.log >>"$log" 2>/dev/null && rm -f fuzz-*.log
    summarize "$t" "$log" $((SECONDS - start))
    if [ $rc != 0 ]; then
        echo "fuzz_$t: FAILED (exit $rc); log $log; input kept in $art:"
        ls -1t "$art" | head -n 3 | sed "s|^|    $art|"
        grep -E 'ERROR|SUMMARY|check failed|runtime error' "$log" | head -n 8 | sed 's/^/    | /'
        return 1
    fi
    return 0
}

# Each crasher and seed once: a target given files runs each one and exits.
regressions() { # target
    local t=$1 files=() f
    for f in test/fuzz/regressions/$t/* test/fuzz/corpus/$t/*; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} = 0 ] && return 0
    local log="$OUT/logs/regress-$t.log"
    mkdir -p "$OUT/logs"
    if "$OUT/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "${files[@]}" >"$log" 2>&1; then
        echo "fuzz_$t: ${#files[@]} regression and seed inputs pass"
        return 0
    fi
    echo "fuzz_$t: a regression or seed input FAILED; log $log"
    grep -E 'Running:|ERROR|SUMMARY|check failed|runtime error' "$log" | tail -n 8 | sed 's/^/    | /'
    return 1
}

case "$mode" in
build)
    build || exit 1
    ;;
check)
    build || { echo "fuzz: build failed"; exit 1; }
    secs=${FUZZ_SECONDS:-20}
    fail=0
    for t in $TARGETS; do
        regressions "$t" || fail=1
    done
    for t in $TARGETS; do
        dir="$OUT/check-corpus-$t"
        rm -rf "$dir" && mkdir -p "$dir" && cp test/fuzz/corpus/$t/* "$dir"/
        fuzz_one "$t" "$secs" "$dir" || fail=1
    done
    [ $fail = 0 ] && echo "fuzz: all targets pass" || echo "fuzz: FAILED"
    exit $fail
    ;;
fuzz)
    build || { echo "fuzz: build failed"; exit 1; }
    secs=${FUZZ_SECONDS:-600}
    [ $# -gt 0 ] && TARGETS="$*"
    fail=0
    for t in $TARGETS; do
        [ -e "test/fuzz/fuzz_$t.c" ] || { echo "fuzz: no target $t"; exit 2; }
        dir="$OUT/corpus-$t"
        mkdir -p "$dir" && cp -n test/fuzz/corpus/$t/* "$dir"/ 2>/dev/null
        echo "fuzz_$t: fuzzing for $secs s in $dir"
        fuzz_one "$t" "$secs" "$dir" "${FUZZ_JOBS:-1}" || fail=1
    done
    exit $fail
    ;;
*)
    echo "usage: $0 [check|fuzz [target...]|build]" >&2
    exit 2
    ;;
esac
