#!/usr/bin/env bash
# libgossip on loopback, in under a minute (`make demo`):
#   1. five gossip-node processes join through node 0;
#   2. node 4 crashes (SIGKILL): every other node reports it failed;
#   3. node 3 stops (SIGTERM): the others report it left, not failed;
#   4. three mail servers share the duties (roles); the acme.renew holder
#      crashes and another node takes the renewal over.
# Everything runs on 127.0.0.1 and is stopped by the script itself.
set -u
cd "$(dirname "$0")/.."
NODE=${GOSSIP_NODE:-examples/gossip-node}
MAIL=${GOSSIP_MAILSERVER:-examples/mailserver}
HB=500           # heartbeat (ms): faster than the default 1 s, for the demo
LIMIT=58         # seconds: the whole demo stops by itself before this

for b in "$NODE" "$MAIL"; do
  [ -x "$b" ] || { echo "demo: $b not built (run make)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "demo: python3 needed" >&2; exit 1; }

dir=$(mktemp -d /tmp/gossip-demo.XXXXXX)
pids=()
cleanup() {
  trap - EXIT INT TERM
  { for p in "${pids[@]}"; do kill -KILL "$p"; done; wait; } 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM
start=$SECONDS

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
now_ms() { date +%s%3N; }
since() { local d=$(( $(now_ms) - $1 )); printf '%d.%d s' $(( d / 1000 )) $(( d % 1000 / 100 )); }
# crash PID: SIGKILL, reaped at once (and without bash's "Killed" notice).
crash() { { kill -KILL "$1"; wait "$1"; } 2>/dev/null; }

# wait_until SECONDS DESCRIPTION COMMAND...: poll COMMAND, bounded.
wait_until() {
  local limit=$(( SECONDS + $1 )) what=$2; shift 2
  until "$@" 2>/dev/null; do
    if (( SECONDS >= limit || SECONDS - start >= LIMIT )); then
      echo "demo: gave up waiting: $what" >&2; return 1
    fi
    sleep 0.2
  done
}

# A block of free UDP ports on 127.0.0.1.
base=$(python3 - <<'EOF'
import socket
for base in range(47600, 60000, 20):
    try:
        socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(16)]
        for i, s in enumerate(socks):
            s.bind(('127.0.0.1', base + i))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
)
key=$(head -c 32 /dev/urandom | base64)

# The JSON lines of gossip-node, in words.
cat >"$dir/pretty.py" <<'EOF'
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    n, ev = e.get('node'), e.get('event')
    if ev == 'ready':
        print('  node %s: listening on port %s' % (n, e.get('port')))
    elif ev == 'role':
        continue  # every node holds the default roles: the mail servers show roles
    elif ev == 'user':
        print('  node %s: event from node %s: %s' % (n, e.get('origin'), e.get('data')))
    else:
        print('  node %s sees node %s %s' % (n, e.get('member'), ev))
    sys.stdout.flush()
EOF

# start_node ID [SEED-ID]: stdout to $dir/nID.out, and in words to the terminal.
start_node() {
  local seed=()
  [ $# -gt 1 ] && seed=(--seed "127.0.0.1:$((base + $2))")
  "$NODE" --node-id "$1" --bind 127.0.0.1 --port $((base + $1)) --key "$key" \
      --heartbeat-ms $HB "${seed[@]}" 2>"$dir/n$1.err" \
      > >(tee "$dir/n$1.out" | python3 -u "$dir/pretty.py") &
  pids[$1]=$!
}

# seen OBSERVER MEMBER EVENT: did OBSERVER print EVENT for MEMBER?
seen() { grep -q "\"member\": $2, \"event\": \"$3\"" "$dir/n$1.out" 2>/dev/null; }
all_seen() {   # all_seen "OBSERVERS" MEMBER EVENT
  local o; for o in $1; do seen "$o" "$2" "$3" || return 1; done
}
# stop SIGNAL PID...: signal the processes and reap them, killing any that
# is still there after 5 s.
stop() {
  local sig=$1 p alive i; shift
  kill "-$sig" "$@" 2>/dev/null
  for (( i = 0; i < 25; i++ )); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.2
  done
  { kill -KILL "$@"; wait "$@"; } 2>/dev/null
}
all_joined() {
  local o m
  for o in 0 1 2 3 4; do for m in 0 1 2 3 4; do
    [ "$o" = "$m" ] || seen "$o" "$m" join || return 1
  done; done
}

say "starting node 0 on 127.0.0.1:$base (heartbeat $HB ms, random key)"
start_node 0
wait_until 5 "node 0 ready" grep -q '"ready"' "$dir/n0.out" || exit 1
say "starting nodes 1-4, seeded with node 0"
for i in 1 2 3 4; do start_node $i 0; done
wait_until 15 "all nodes joined" all_joined || exit 1
say "all 5 nodes see each other ($(( SECONDS - start )) s)"
sleep 1

say "crash: SIGKILL node 4"
crash "${pids[4]}"
t=$(now_ms)
wait_until 15 "failure of node 4 reported" all_seen "0 1 2 3" 4 failed || exit 1
say "every node reported node 4 failed ($(since "$t") after the crash)"

say "graceful stop: SIGTERM node 3"
kill -TERM "${pids[3]}"
t=$(now_ms)
wait_until 8 "leave of node 3 reported" all_seen "0 1 2" 3 left || exit 1
say "nodes 0-2 reported node 3 left ($(since "$t")), nobody reported it failed"
say "stopping nodes 0-2 (SIGTERM): they see each other leave"
stop TERM "${pids[@]}"
pids=()

# --- mail servers: duties as roles --------------------------------------------
say "three mail servers (ids 1-3); acme.renew is pinned to node 1"
for i in 1 2 3; do
  seed=""; [ "$i" != 1 ] && seed="seed-nodes = [\"127.0.0.1:$((base + 10))\"]"
  cat >"$dir/mail$i.conf" <<EOF
[cluster]
node-id = $i
bind-addr = "127.0.0.1"
bind-port = $((base + 9 + i))
key = "$key"
heartbeat = "${HB}ms"
$seed

[cluster.roles.acme]
renew = [1]

[cluster.roles.purge]
stores = [1, 2]
accounts = [2]

[cluster.roles.metrics]
calculate = [3]
push = [3]
EOF
  "$MAIL" --config "$dir/mail$i.conf" --every-ms 2000 2>"$dir/mail$i.err" \
      > >(tee "$dir/mail$i.out" | sed -u 's/^/  /') &
  pids[$i]=$!
done
wait_until 8 "node 1 renews" grep -q 'running acme renewal' "$dir/mail1.out" || exit 1
sleep 2

say "crash: SIGKILL mail server 1, the acme.renew holder"
# Only what nodes 2 and 3 print from now on counts (alone at start-up,
# each of them held every role for a moment).
l2=$(wc -l <"$dir/mail2.out") l3=$(wc -l <"$dir/mail3.out")
after_crash() {   # after_crash PATTERN
  tail -n +$(( l2 + 1 )) "$dir/mail2.out" | grep -q "$1" ||
    tail -n +$(( l3 + 1 )) "$dir/mail3.out" | grep -q "$1"
}
crash "${pids[1]}"
t=$(now_ms)
took_over() { after_crash 'gained role acme.renew'; }
wait_until 15 "acme.renew failover" took_over || exit 1
say "acme.renew failed over ($(since "$t") after the crash)"
renewing() { after_crash 'running acme renewal'; }
wait_until 5 "renewal on the new holder" renewing || exit 1

say "stopping the mail servers (SIGTERM)"
stop TERM "${pids[2]}" "${pids[3]}"
sleep 0.3   # let the last lines through the pipes
say "demo done in $(( SECONDS - start )) s"
