#!/bin/sh
# Scale report (`make bench`): runs build/test/bench_scale for each cluster
# size, prints a table with PASS/MISS per target (never fails the run on a
# MISS), writes bench/results/scale-<date>.json and draws the infection
# curve (bench/results/scale-<date>-infection.svg).
#
#   NS="100 1000 10000"  cluster sizes (default; QUICK=1 defaults to "100 1000")
#   QUICK=1              short windows, for a smoke test (about a minute)
#   DEADLINE=540         real seconds one size may take before it skips the
#                        rest of its phases (the JSON says which were skipped)
#   GOSSIP_SIM_SEED      the simulator seed (default fixed: runs replay)
#   OUT=bench/results    where results go
#   REPORT_ONLY=file     re-print the table and targets of a saved report
set -u
cd "$(dirname "$0")/.." || exit 1
B=${B:-build}
BIN=$B/test/bench_scale
OUT=${OUT:-bench/results}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then NS=${NS:-"100 1000"}; else NS=${NS:-"100 1000 10000"}; fi
DEADLINE=${DEADLINE:-540}
DATE=$(date +%Y-%m-%d)
STAMP=$(date -u +%Y-%m-%dT%H:%M:%SZ)
[ -x "$BIN" ] || { echo "scale.sh: $BIN missing (run 'make bench')" >&2; exit 1; }
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Per-size windows.  The loss windows are short at large N: false failures
# are extrapolated to per node-hour from window x live nodes (the JSON keeps
# the window length).  Above 3,000 nodes the cluster starts from restored
# views (-r, see test/bench_scale.c: forming by joins would cost ~N^2 log N
# record receipts) and the 20% loss window is 10 s: every node then gossips
# every false suspicion of the whole cluster (~130 datagrams per node per
# second at N=10,000), which costs the simulator ~11 s per virtual second.
args_for() {
    n=$1
    if [ "$QUICK" = 1 ]; then echo "-c 3 -i 30 -l 60 -L 20"; return; fi
    if [ "$n" -le 300 ]; then echo "-c 15 -i 300 -l 3600 -L 900"
    elif [ "$n" -le 3000 ]; then echo "-c 9 -i 300 -l 600 -L 60"
    else echo "-r -c 5 -i 120 -l 180 -L 10"; fi
}

echo "libgossip scale report, $STAMP, $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD -- lib 2>/dev/null || echo '+lib-changes'), N = $NS$( [ "$QUICK" = 1 ] && echo ' (QUICK)')"
[ -n "${REPORT_ONLY:-}" ] && NS=""
for n in $NS; do
    # shellcheck disable=SC2046
    echo "--- N=$n: $BIN -n $n $(args_for "$n") -d $DEADLINE"
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -v -o "$TMP/time-$n.txt" "$BIN" -n "$n" $(args_for "$n") -d "$DEADLINE" \
            -j "$TMP/run-$n.json" -k "$TMP/curve-$n.dat"
    else
        "$BIN" -n "$n" $(args_for "$n") -d "$DEADLINE" -j "$TMP/run-$n.json" -k "$TMP/curve-$n.dat"
    fi
    rc=$?
    [ $rc = 0 ] || echo "scale.sh: bench_scale -n $n exited with $rc" >&2
    [ -s "$TMP/curve-$n.dat" ] && cp "$TMP/curve-$n.dat" "$OUT/scale-$DATE-curve-$n.dat"
done

JSON="$OUT/scale-$DATE.json"
SRC=$TMP
if [ -n "${REPORT_ONLY:-}" ]; then SRC=$REPORT_ONLY; JSON=$REPORT_ONLY; fi
python3 - "$SRC" "$JSON" "$STAMP" "$QUICK" "$NS" <<'EOF'
import json, math, os, re, subprocess, sys
tmp, path, stamp, quick, ns = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1", sys.argv[5].split()
runs = []
if tmp.endswith(".json"):  # REPORT_ONLY: re-render a saved report
    saved = json.load(open(tmp))
    runs, ns = saved["runs"], [str(r["n"]) for r in saved["runs"]]
for n in ([] if tmp.endswith(".json") else ns):
    try:
        r = json.load(open(os.path.join(tmp, "run-%s.json" % n)))
    except Exception as e:
        runs.append({"n": int(n), "error": "no result (%s)" % e})
        continue
    tv = os.path.join(tmp, "time-%s.txt" % n)
    if os.path.exists(tv):
        t = open(tv).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", t)
        if m:
            r["time_v_max_rss_mib"] = int(m.group(1)) / 1024
        m = re.search(r"Elapsed \(wall clock\) time.*: (.*)", t)
        if m:
            r["time_v_elapsed"] = m.group(1).strip()
    runs.append(r)

def git(*a):
    try:
        return subprocess.check_output(["git"] + list(a), stderr=subprocess.DEVNULL).decode().strip()
    except Exception:
        return None

ok = [r for r in runs if "error" not in r]
by_n = {r["n"]: r for r in ok}
targets = []
def target(name, passed, detail):
    targets.append({"target": name, "result": "PASS" if passed else "MISS", "detail": detail})

def v(x):
    return x is not None and x >= 0

for r in ok:
    n = r["n"]
    fd = r["first_detect_periods"]["median"]
    target("N=%d median first detection <= 2 periods" % n, v(fd) and fd <= 2,
           "median %.2f, p99 %.2f periods" % (fd, r["first_detect_periods"]["p99"]) if v(fd) else "not measured")
    bound = r["suspicion_min_ms"] / r["heartbeat_ms"] + 2 * math.log2(n)
    a = r["all100_periods"]["p99"]
    target("N=%d all live know within suspicion timeout + 2 log2 N periods" % n, v(a) and a <= bound,
           "p99 %.2f, median %.2f periods; bound %.2f (min suspicion %.2f + %.2f)" %
           (a, r["all100_periods"]["median"], bound, r["suspicion_min_ms"] / 1000, 2 * math.log2(n)) if v(a) else "not measured")
    ff = r["false_failures"]
    f0, f5 = ff[0], ff[1]
    target("N=%d zero false failures at 0%% loss" % n, f0["window_s"] > 0 and f0["per_node_hour"] == 0,
           "%g per node-hour over %d s" % (f0["per_node_hour"], f0["window_s"]) if f0["window_s"] > 0 else "not measured")
    target("N=%d < 1 false failure per node-day at 5%% loss" % n, f5["window_s"] > 0 and f5["per_node_hour"] * 24 < 1,
           "%g per node-day over %d s (extrapolated)" % (f5["per_node_hour"] * 24, f5["window_s"]) if f5["window_s"] > 0 else "not measured")
small, large = min(by_n) if by_n else None, max(by_n) if by_n else None
if small is not None and large != small:
    s = by_n[small]
    for key, what in (("idle_datagrams_per_node_s", "datagrams"), ("idle_bytes_per_node_s", "bytes")):
        have = [m for m in sorted(by_n) if m != small and v(by_n[m][key])]
        name = "%s/node/s at N=%d <= 1.5x N=%d" % (what, large, small)
        if have and have[-1] == large and v(s[key]):
            l = by_n[large]
            target(name, l[key] <= 1.5 * s[key], "%.2f vs %.2f (x%.2f)" % (l[key], s[key], l[key] / s[key]))
        else:
            extra = ""
            if have and v(s[key]):
                m = have[-1]
                extra = "; at N=%d: %.2f vs %.2f (x%.2f)" % (m, by_n[m][key], s[key], by_n[m][key] / s[key])
            target(name, False, "not measured at N=%d%s" % (large, extra))
meas = [m for m in sorted(by_n) if v(by_n[m]["rss_bytes_per_member_record"])]
if meas:
    m = meas[-1]
    l = by_n[m]
    rec = l["rss_bytes_per_member_record"]
    target("<= 128 bytes per member record", rec <= 128 and l["sizeof_member"] <= 128,
           "RSS %.0f bytes per record at N=%d (largest N measured); sizeof(struct member) %d" % (rec, m, l["sizeof_member"]))
for r in runs:
    if r["n"] >= 10000:
        if "error" in r:
            target("N=%d fits (peak RSS < 16 GiB) and finishes < 600 s" % r["n"], False, r["error"])
            continue
        peak = r.get("time_v_max_rss_mib", r["peak_rss_mib"])
        done = not r["skipped"]
        target("N=%d peak RSS < 16 GiB" % r["n"], done and peak < 16 * 1024,
               "%.0f MiB%s" % (peak, "" if done else " when the run stopped incomplete: not judged"))
        target("N=%d finishes in < 10 min" % r["n"], done and r["wall_s"] < 600,
               "%.0f s%s" % (r["wall_s"], "" if done else ", skipped: " + r["skipped"]))

doc = {"date": stamp, "quick": quick, "git": git("rev-parse", "HEAD"),
       "lib_dirty": git("status", "--porcelain", "lib") not in (None, ""),
       "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None),
       "cores": os.cpu_count(), "runs": runs, "targets": targets}
if tmp.endswith(".json"):
    doc.update({k: saved[k] for k in ("date", "quick", "git", "lib_dirty", "cpu", "cores") if k in saved})
json.dump(doc, open(path, "w"), indent=2)

def f(x, fmt="%.2f"):
    return (fmt % x) if v(x) else "-"
cols = [("N", lambda r: str(r["n"])),
        ("1st det med/p99", lambda r: f(r["first_detect_periods"]["median"]) + "/" + f(r["first_detect_periods"]["p99"])),
        ("99% know med/p99", lambda r: f(r["all99_periods"]["median"]) + "/" + f(r["all99_periods"]["p99"])),
        ("100% know med/p99", lambda r: f(r["all100_periods"]["median"]) + "/" + f(r["all100_periods"]["p99"])),
        ("join", lambda r: f(r["join_periods"], "%.1f")),
        ("event", lambda r: f(r["event_periods"], "%.1f")),
        ("FF/node-h 0/5/20%", lambda r: "/".join(f(x["per_node_hour"], "%.3g") if x["window_s"] > 0 else "-" for x in r["false_failures"])),
        ("dgram/n/s", lambda r: f(r["idle_datagrams_per_node_s"])),
        ("B/n/s", lambda r: f(r["idle_bytes_per_node_s"], "%.0f")),
        ("B/member", lambda r: f(r["rss_bytes_per_member_record"], "%.0f") + " (%d)" % r["sizeof_member"]),
        ("peak MiB", lambda r: "%.0f" % r.get("time_v_max_rss_mib", r["peak_rss_mib"])),
        ("node-s/s", lambda r: "%.0f" % r["node_s_per_real_s"]),
        ("wall s", lambda r: "%.0f" % r["wall_s"] + ("" if not r["skipped"] else "*"))]
rows = [[c[0] for c in cols]] + [[c[1](r) for c in cols] for r in ok]
w = [max(len(row[i]) for row in rows) for i in range(len(cols))]
print()
print("times in protocol periods (heartbeat %d ms); FF = false failures (live nodes declared failed)" %
      (ok[0]["heartbeat_ms"] if ok else 1000))
for row in rows:
    print("  ".join(x.rjust(w[i]) for i, x in enumerate(row)))
for r in runs:
    if "error" in r:
        print("N=%d: %s" % (r["n"], r["error"]))
    elif r["skipped"]:
        print("* N=%d incomplete: %s (after %.0f s)" % (r["n"], r["skipped"], r["wall_s"]))
print()
for t in targets:
    print("%-4s %s: %s" % (t["result"], t["target"], t["detail"]))
print("\nwrote %s" % path)
EOF

# --- the infection curve ---------------------------------------------------
PLOT="$OUT/scale-$DATE-infection.svg"
curves=""
for n in $NS; do [ -s "$OUT/scale-$DATE-curve-$n.dat" ] && curves="$curves $n"; done
[ -n "$curves" ] || { echo "no infection curve data"; exit 0; }
if ! command -v gnuplot >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing gnuplot-nox"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null 2>&1; }
    fi
fi
if command -v gnuplot >/dev/null 2>&1; then
    gnuplot -e "out='$PLOT'; files='$(for n in $curves; do printf '%s ' "$OUT/scale-$DATE-curve-$n.dat"; done)'; labels='$curves'" \
        bench/plot_infection.gp && echo "wrote $PLOT"
elif /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    /usr/bin/python3 - "$PLOT" $curves <<EOF
import sys
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt
for n in sys.argv[2:]:
    xs, ys = [], []
    for line in open("$OUT/scale-$DATE-curve-%s.dat" % n):
        if not line.startswith("#"):
            a, b = line.split(); xs.append(float(a)); ys.append(float(b))
    plt.step(xs, ys, where="post", label="N=%s" % n)
plt.xlabel("protocol periods since the crash"); plt.ylabel("fraction of live nodes that report it failed")
plt.legend(); plt.grid(True); plt.savefig(sys.argv[1])
EOF
    echo "wrote $PLOT"
else
    echo "no gnuplot or matplotlib: infection curve not drawn (data in $OUT/scale-$DATE-curve-*.dat)"
fi
exit 0
