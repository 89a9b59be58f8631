#!/usr/bin/env python3
"""netns_test.py - libgossip end-to-end test on a real (virtual) network.

Six hosts, each in its own network namespace with a veth `eth0`
(10.231.0.<i+1>/16) whose other end sits on bridge br0 inside a private hub
namespace.  The root namespace gets no address or route in that range, so no
test traffic can leave the machine.  One gossip-node process per host
(contract version 1 of the bench: /work/shared/bench/README.md), started as

    ip netns exec NS BIN --node-id i --bind ADDR --port 1179 \
        --seed 10.231.0.1:1179 --key KEY --heartbeat-ms 1000 [GOSSIP_NODE_ARGS]

(host 0 gets no --seed).  Every node's stdout JSON lines are read by a thread
per node into a per-(observer, subject) state.  Scenarios, in this order, on
one cluster:

  a) converge: all 6 see all others alive within CONVERGE_BOUND
  b) split 3/3 (hub-side veths of hosts 3..5 moved to bridge br1) for
     SPLIT_HOLD: at the end each side sees its own half alive, the other
     half failed; no failed event about a same-side host during the cut
  c) heal (moved back): every host sees all alive within HEAL_BOUND,
     with no restart and no new seed
  d) host ISOLATED loses its link (hub-side veth down) for ISOLATE_HOLD:
     the others declare it failed, nobody else is declared failed, and the
     isolated host has noticed (at least one other host not alive in its
     view: local health stretches its own probe period, so declaring all 5
     failed takes it ~28 s, longer than the hold); after link up, all alive
     within HEAL_BOUND
  e) one-way cut: nft in host ONEWAY_TO's namespace drops everything coming
     from host ONEWAY_FROM's address, for ONEWAY_HOLD (see the assertion
     printed at run time); after removal all alive within HEAL_BOUND
  f) LOSS_PCT % random loss on every host's ingress (tc netem if the kernel
     has it, else nft `numgen random` drop on iifname eth0) for LOSS_HOLD:
     zero failed events; all alive within HEAL_BOUND after it is removed
  g) graceful leave: SIGTERM to host LEAVER -> exit code 0 within 5 s and
     every other host prints `left` for it within LEAVE_BOUND; finally
     SIGTERM to all -> all exit 0 within 5 s

If a scenario leaves the cluster not fully alive, the next scenario first
restarts every node (said in the output) so that it still tests something.

Environment:
  GOSSIP_NODE       program to run (default <repo>/examples/gossip-node);
                    /work/shared/bench/mock_gossip_node.py works for
                    developing the harness (no encryption, no partition heal)
  GOSSIP_NODE_ARGS  extra arguments appended to every node's command line
  NETNS_TEST_ONLY   e.g. "a,b,c" to run a subset (a always runs)
  NETNS_TEST_KEEP=1 keep the log folder even when everything passed
  NETNS_TEST_LOGDIR where the log folder goes (default <repo>/build/netns-test)

Exit status: 0 all passed, 1 a scenario failed, 77 skipped (not root,
no namespaces/veth/bridge support; the reason is the last output line).
Python 3 standard library only.  Bounded: a watchdog stops the whole run
after TOTAL_LIMIT seconds; processes and namespaces are removed on every
exit path (finally, atexit, SIGTERM/SIGINT/SIGHUP/SIGALRM), and namespaces
left by earlier killed runs (lgt<pid>-* whose pid is gone) are removed
first.
"""

import atexit
import base64
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import json

# ---------------------------------------------------------------------------
# constants (printed at start)

N_HOSTS = 6
PORT = 1179
HEARTBEAT_MS = 1000
SUBNET = '10.231'                 # 10.231.0.0/16; cluster_bench.py uses 10.213
CONVERGE_BOUND = 10.0             # a) from the last node start
SETTLE = 2.0                      # quiet time after convergence, before a scenario
SPLIT_HOLD = 20.0                 # b)
HEAL_BOUND = 15.0                 # c), and recovery in d) e) f)
ISOLATED = 5                      # d)
ISOLATE_HOLD = 20.0
ONEWAY_FROM, ONEWAY_TO = 1, 2     # e) packets from host 1 to host 2 are dropped
ONEWAY_HOLD = 20.0
LOSS_PCT = 10.0                   # f)
LOSS_HOLD = 30.0
LOSS_TAIL = 3.0                   # failed events this long after loss removal still count
LEAVER = 5                        # g)
LEAVE_BOUND = 5.0
STOP_BOUND = 5.0                  # contract: exit 0 within 5 s of SIGTERM
READY_WAIT = 5.0                  # wait for host 0's ready line
STAGGER = 0.05                    # between node starts
TOTAL_LIMIT = 300                 # watchdog for the whole run (s)
CMD_TIMEOUT = 15                  # any single ip/nft/tc command

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PREFIX = 'lgt%d-' % os.getpid()
HUB = PREFIX + 'hub'
NS_RE = re.compile(r'^lgt(\d+)-(hub|h\d+)$')
CUT_TABLE = 'lgt_cut'
LOSS_TABLE = 'lgt_loss'

ALIVE, SUSPECT, FAILED, LEFT, REMOVED = 'alive', 'suspect', 'failed', 'left', 'removed'
GONE = (FAILED, REMOVED)
NORM = {'join': ALIVE, 'alive': ALIVE, 'suspect': SUSPECT, 'suspected': SUSPECT,
        'failed': FAILED, 'dead': FAILED, 'left': LEFT, 'leave': LEFT,
        'removed': REMOVED}

T0 = time.time()


def now():
    return time.time()


def say(msg):
    try:
        sys.stdout.write('[%6.1fs] %s\n' % (now() - T0, msg))
        sys.stdout.flush()
    except OSError:         # closed pipe: keep going, cleanup matters more
        pass


class Skip(Exception):
    pass


class Abort(Exception):
    """The run cannot go on (watchdog, signal, broken setup)."""


def run(argv, check=True, input_text=None):
    try:
        p = subprocess.run(argv, input=input_text, capture_output=True, text=True,
                           timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Abort('command timed out: %s' % ' '.join(argv))
    if check and p.returncode != 0:
        raise Abort('command failed (%d): %s: %s' % (
            p.returncode, ' '.join(argv), (p.stderr or p.stdout).strip()))
    return p


def ns(i):
    return '%sh%d' % (PREFIX, i)


def addr(i):
    return '%s.0.%d' % (SUBNET, i + 1)


# ---------------------------------------------------------------------------
# cleanup

PROCS = []            # Popen objects still to be reaped
CREATED_NS = []       # namespaces made by this run
_cleaned = {'done': False}


def ns_list():
    p = run(['ip', 'netns', 'list'], check=False)
    return [l.split()[0] for l in p.stdout.splitlines() if l.strip()]


def kill_ns_pids(name):
    p = run(['ip', 'netns', 'pids', name], check=False)
    for tok in p.stdout.split():
        try:
            os.kill(int(tok), signal.SIGKILL)
        except (ValueError, OSError):
            pass


def del_ns(name):
    kill_ns_pids(name)
    run(['ip', 'netns', 'del', name], check=False)


def cleanup():
    if _cleaned['done']:
        return
    _cleaned['done'] = True
    for p in list(PROCS):
        try:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    for p in list(PROCS):
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    PROCS.clear()
    names = set(CREATED_NS)
    try:
        names.update(x for x in ns_list() if x.startswith(PREFIX))
    except Exception:
        pass
    for name in sorted(names, key=lambda x: x.endswith('hub')):   # hub last
        try:
            del_ns(name)
        except Exception:
            pass
    CREATED_NS.clear()


def remove_leftovers():
    """Namespaces of earlier runs of this test whose process is gone."""
    for name in ns_list():
        m = NS_RE.match(name)
        if not m:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and os.path.exists('/proc/%d' % pid):
            try:
                with open('/proc/%d/cmdline' % pid, 'rb') as f:
                    if b'netns_test' in f.read():
                        continue            # a concurrent run: leave it alone
            except OSError:
                pass
        say('removing leftover namespace %s' % name)
        del_ns(name)


def _on_signal(signum, frame):
    raise Abort('signal %d (watchdog or interrupt)' % signum)


# ---------------------------------------------------------------------------
# network

def setup_network():
    if os.geteuid() != 0:
        raise Skip('netns_test needs root (network namespaces)')
    if not shutil.which('ip'):
        raise Skip('netns_test needs iproute2 (ip)')
    remove_leftovers()

    def try_(argv, what):
        p = run(argv, check=False)
        if p.returncode != 0:
            msg = (p.stderr or p.stdout).strip().splitlines()
            raise Skip('%s failed: %s' % (what, msg[-1] if msg else 'rc=%d' % p.returncode))

    def add_ns(name):
        try_(['ip', 'netns', 'add', name], 'ip netns add')
        CREATED_NS.append(name)
        run(['ip', 'netns', 'exec', name, 'sysctl', '-q', '-w',
             'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'],
            check=False)
        run(['ip', '-n', name, 'link', 'set', 'lo', 'up'])

    add_ns(HUB)
    for br in ('br0', 'br1'):
        try_(['ip', '-n', HUB, 'link', 'add', br, 'type', 'bridge'], 'bridge creation')
        run(['ip', '-n', HUB, 'link', 'set', br, 'up'])
    for i in range(N_HOSTS):
        add_ns(ns(i))
        try_(['ip', 'link', 'add', 'eth0', 'netns', ns(i), 'type', 'veth',
              'peer', 'name', 'v%d' % i, 'netns', HUB], 'veth creation')
        run(['ip', '-n', HUB, 'link', 'set', 'v%d' % i, 'master', 'br0', 'up'])
        run(['ip', '-n', ns(i), 'addr', 'add', addr(i) + '/16', 'dev', 'eth0'])
        run(['ip', '-n', ns(i), 'link', 'set', 'eth0', 'up'])
    # reachability check through the bridge (ping is optional on minimal hosts)
    if shutil.which('ping'):
        for i in range(1, N_HOSTS):
            p = run(['ip', 'netns', 'exec', ns(i), 'ping', '-c', '1', '-W', '2', addr(0)],
                    check=False)
            if p.returncode != 0:
                say('note: ping %s -> %s failed' % (ns(i), addr(0)))


class Net:
    """Faults and their undo; reset() puts everything back."""

    def __init__(self):
        self.moved = []
        self.down = []
        self.nft = []         # (host, table)
        self.netem = []

    def split(self, side_b):
        for i in side_b:
            run(['ip', '-n', HUB, 'link', 'set', 'v%d' % i, 'master', 'br1'])
            self.moved.append(i)

    def unsplit(self):
        for i in self.moved:
            run(['ip', '-n', HUB, 'link', 'set', 'v%d' % i, 'master', 'br0'], check=False)
        self.moved = []

    def link_down(self, i):
        run(['ip', '-n', HUB, 'link', 'set', 'v%d' % i, 'down'])
        self.down.append(i)

    def links_up(self):
        for i in self.down:
            run(['ip', '-n', HUB, 'link', 'set', 'v%d' % i, 'up'], check=False)
        self.down = []

    def nft_add(self, i, table, rules):
        run(['ip', 'netns', 'exec', ns(i), 'nft', '-f', '-'], input_text=(
            'table inet %s {\n chain pre { type filter hook prerouting priority -300; '
            'policy accept;\n%s }\n}\n' % (table, rules)))
        self.nft.append((i, table))

    def nft_counters(self, i, table):
        p = run(['ip', 'netns', 'exec', ns(i), 'nft', '-j', 'list', 'table', 'inet', table],
                check=False)
        out = []
        try:
            for item in json.loads(p.stdout).get('nftables', []):
                for ex in (item.get('rule') or {}).get('expr', []):
                    if isinstance(ex, dict) and 'counter' in ex:
                        out.append(ex['counter'].get('packets', 0))
        except ValueError:
            pass
        return out

    def nft_clear(self):
        for i, table in self.nft:
            run(['ip', 'netns', 'exec', ns(i), 'nft', 'delete', 'table', 'inet', table],
                check=False)
        self.nft = []

    def loss_on(self, pct):
        """netem loss on every host's eth0 egress if the kernel has it, else
        an nft random drop on every host's eth0 ingress.  Returns a label."""
        p = run(['ip', 'netns', 'exec', ns(0), 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root',
                 'netem', 'loss', '%g%%' % pct], check=False) if shutil.which('tc') else None
        if p is not None and p.returncode == 0:
            self.netem.append(0)
            for i in range(1, N_HOSTS):
                run(['ip', 'netns', 'exec', ns(i), 'tc', 'qdisc', 'add', 'dev', 'eth0',
                     'root', 'netem', 'loss', '%g%%' % pct])
                self.netem.append(i)
            return 'tc netem loss %g%% on every eth0 egress' % pct
        thr = int(round(pct * 100))
        for i in range(N_HOSTS):
            self.nft_add(i, LOSS_TABLE,
                         '  iifname "eth0" meta nfproto ipv4 counter\n'
                         '  iifname "eth0" meta nfproto ipv4 numgen random mod 10000 < %d '
                         'counter drop\n' % thr)
        return 'nft numgen random drop %g%% on every eth0 ingress (no netem)' % pct

    def loss_measured(self):
        seen = dropped = 0
        for i, table in self.nft:
            if table == LOSS_TABLE:
                c = self.nft_counters(i, table)
                if len(c) >= 2:
                    seen += c[0]
                    dropped += c[1]
        return (dropped, seen)

    def reset(self):
        self.unsplit()
        self.links_up()
        self.nft_clear()
        for i in self.netem:
            run(['ip', 'netns', 'exec', ns(i), 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root'],
                check=False)
        self.netem = []


# ---------------------------------------------------------------------------
# nodes and their views

class Node:
    def __init__(self, i, gen):
        self.i = i
        self.gen = gen
        self.proc = None
        self.ready = threading.Event()
        self.thread = None
        self.expected_exit = False


class Cluster:
    def __init__(self, binary, extra, key, logdir):
        self.binary = binary
        self.extra = extra
        self.key = key
        self.logdir = logdir
        self.lock = threading.Lock()
        self.nodes = [None] * N_HOSTS
        self.state = {}        # obs -> subj -> (ev, t)
        self.events = []       # (t, obs, subj, ev, raw)
        self.gen = 0
        self.last_start = None

    def argv(self, i):
        a = [self.binary, '--node-id', str(i), '--bind', addr(i), '--port', str(PORT)]
        if i != 0:
            a += ['--seed', '%s:%d' % (addr(0), PORT)]
        a += ['--key', self.key, '--heartbeat-ms', str(HEARTBEAT_MS)] + self.extra
        return ['ip', 'netns', 'exec', ns(i)] + a

    def start_node(self, i):
        nd = Node(i, self.gen)
        err = open(os.path.join(self.logdir, 'node%d.stderr' % i), 'ab')
        err.write(b'--- start generation %d\n' % self.gen)
        err.flush()
        nd.proc = subprocess.Popen(self.argv(i), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=err,
                                   start_new_session=True)
        err.close()
        PROCS.append(nd.proc)
        # the node is registered before its reader runs: the reader drops the
        # lines of a node that is not (or no longer) the registered one, and
        # a fast node prints its first joins within milliseconds of starting
        with self.lock:
            self.nodes[i] = nd
        nd.thread = threading.Thread(target=self._reader, args=(nd,), daemon=True)
        nd.thread.start()
        return nd

    def _reader(self, nd):
        path = os.path.join(self.logdir, 'node%d.stdout' % nd.i)
        with open(path, 'a', buffering=1) as f:
            f.write('--- start generation %d\n' % nd.gen)
            for raw in nd.proc.stdout:
                t = now()
                line = raw.decode('utf-8', 'replace').rstrip('\n')
                f.write('%.3f %s\n' % (t, line))
                try:
                    o = json.loads(line)
                except ValueError:
                    f.write('%.3f [test] not JSON\n' % t)
                    continue
                if not isinstance(o, dict):
                    continue
                raw_ev = str(o.get('event', '')).lower()
                if raw_ev == 'ready':
                    nd.ready.set()
                    continue
                ev = NORM.get(raw_ev)
                if ev is None:
                    continue
                m = o.get('member')
                try:
                    subj = int(m)
                except (TypeError, ValueError):
                    mm = re.search(r'(\d+)$', str(m))
                    if not mm:
                        continue
                    subj = int(mm.group(1))
                if subj == nd.i:
                    continue
                with self.lock:
                    if self.nodes[nd.i] is not nd:
                        continue        # a stopped generation still draining
                    self.events.append((t, nd.i, subj, ev, raw_ev))
                    self.state.setdefault(nd.i, {})[subj] = (ev, t)

    def start_all(self):
        self.gen += 1
        with self.lock:
            self.state = {}
        self.start_node(0)
        if not self.nodes[0].ready.wait(READY_WAIT):
            say('note: host 0 printed no ready line within %.0f s' % READY_WAIT)
        for i in range(1, N_HOSTS):
            time.sleep(STAGGER)
            self.start_node(i)
        self.last_start = now()

    def stop_all(self, graceful=True):
        """Returns {host: returncode or None (had to be killed)}."""
        live = [nd for nd in self.nodes if nd and nd.proc.poll() is None]
        for nd in live:
            nd.expected_exit = True
            try:
                os.kill(nd.proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)
            except OSError:
                pass
        deadline = now() + STOP_BOUND
        rcs = {}
        for nd in live:
            try:
                rcs[nd.i] = nd.proc.wait(max(0.05, deadline - now()))
            except subprocess.TimeoutExpired:
                rcs[nd.i] = None
        for nd in self.nodes:
            if nd is None:
                continue
            if nd.proc.poll() is None:
                try:
                    os.killpg(nd.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                nd.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            nd.thread.join(2)
            if nd.proc in PROCS:
                PROCS.remove(nd.proc)
        return rcs

    def restart(self, why):
        say('restarting all nodes (%s)' % why)
        self.stop_all(graceful=False)
        self.nodes = [None] * N_HOSTS
        self.start_all()

    # -- queries ----------------------------------------------------------
    def crashed(self):
        return [(nd.i, nd.proc.returncode) for nd in self.nodes
                if nd and not nd.expected_exit and nd.proc.poll() is not None]

    def view(self, o, s):
        with self.lock:
            return self.state.get(o, {}).get(s, (None, None))

    def not_alive_pairs(self, observers, subjects):
        out = []
        with self.lock:
            for o in observers:
                for s in subjects:
                    if s != o and self.state.get(o, {}).get(s, (None,))[0] != ALIVE:
                        out.append((o, s, self.state.get(o, {}).get(s, (None,))[0]))
        return out

    def last_change(self, pairs):
        with self.lock:
            ts = [self.state.get(o, {}).get(s, (None, 0))[1] or 0 for o, s in pairs]
        return max(ts) if ts else 0

    def events_in(self, t0, t1, evs=None):
        with self.lock:
            return [e for e in self.events if t0 <= e[0] <= t1 and (evs is None or e[3] in evs)]

    def wait(self, pred, timeout):
        """Poll pred() until true; returns True/False.  Raises on a crash."""
        deadline = now() + timeout
        while True:
            if pred():
                return True
            cr = self.crashed()
            if cr:
                raise NodeCrash(cr)
            if now() >= deadline:
                return False
            time.sleep(0.05)

    def hold(self, seconds):
        deadline = now() + seconds
        while now() < deadline:
            cr = self.crashed()
            if cr:
                raise NodeCrash(cr)
            time.sleep(0.1)

    def all_pairs(self):
        return [(o, s) for o in range(N_HOSTS) for s in range(N_HOSTS) if o != s]

    def wait_all_alive(self, timeout, t_ref):
        """Seconds from t_ref until the last pair turned alive, or None."""
        hosts = range(N_HOSTS)
        if self.wait(lambda: not self.not_alive_pairs(hosts, hosts), timeout):
            return max(0.0, self.last_change(self.all_pairs()) - t_ref)
        return None


class NodeCrash(Exception):
    pass


def fmt_pairs(pairs, limit=12):
    s = ', '.join('%d->%d:%s' % p for p in pairs[:limit])
    return s + (' ...(+%d)' % (len(pairs) - limit) if len(pairs) > limit else '')


def fmt_events(evs, limit=12):
    s = ', '.join('%d->%d %s@%.1fs' % (o, sj, raw, t - T0) for (t, o, sj, ev, raw) in evs[:limit])
    return s + (' ...(+%d)' % (len(evs) - limit) if len(evs) > limit else '')


# ---------------------------------------------------------------------------
# scenarios: each returns (ok, detail) ; raise NodeCrash on a crashed node

def scen_a(cl, net):
    t_first = now()
    cl.start_all()
    t = cl.wait_all_alive(CONVERGE_BOUND + (cl.last_start - t_first), cl.last_start)
    hosts = range(N_HOSTS)
    if t is None or t > CONVERGE_BOUND:
        return False, 'not converged within %.0f s of the last start; missing: %s' % (
            CONVERGE_BOUND, fmt_pairs(cl.not_alive_pairs(hosts, hosts)))
    return True, 'all %d see all alive %.2f s after the last start (%.2f s after the first; ' \
                 'bound %.0f s)' % (N_HOSTS, t, t + cl.last_start - t_first, CONVERGE_BOUND)


def scen_bc(cl, net, results):
    side_a = list(range(N_HOSTS // 2))
    side_b = list(range(N_HOSTS // 2, N_HOSTS))
    side = {h: (0 if h in side_a else 1) for h in range(N_HOSTS)}
    t_cut = now()
    net.split(side_b)
    say('b) cut %s | %s for %.0f s' % (side_a, side_b, SPLIT_HOLD))
    cl.hold(SPLIT_HOLD)
    t_end = now()
    problems = []
    det = []
    for o in range(N_HOSTS):
        for s in range(N_HOSTS):
            if s == o:
                continue
            ev, t = cl.view(o, s)
            if side[o] == side[s] and ev != ALIVE:
                problems.append('%d sees same-side %d as %s' % (o, s, ev))
            if side[o] != side[s]:
                if ev not in GONE:
                    problems.append('%d sees other-side %d as %s' % (o, s, ev))
                else:
                    det.append(t - t_cut)
    same_false = [e for e in cl.events_in(t_cut, t_end, GONE) if side[e[1]] == side[e[2]]]
    same_susp = [e for e in cl.events_in(t_cut, t_end, (SUSPECT,)) if side[e[1]] == side[e[2]]]
    if same_false:
        problems.append('same-side failed events: ' + fmt_events(same_false))
    info = 'other side declared failed by every observer after %s (first pair %s); ' \
           'same-side suspects %d' % (
               ('%.1f s' % max(det)) if len(det) == 2 * len(side_a) * len(side_b) else 'n/a',
               ('%.1f s' % min(det)) if det else 'n/a', len(same_susp))
    if problems:
        results.append(('b', 'split 3/3', False, info + '; ' + '; '.join(problems[:10])))
    else:
        results.append(('b', 'split 3/3', True, info))
    report(*results[-1])
    # c) heal
    t_heal = now()
    net.unsplit()
    say('c) healed; waiting up to %.0f s for all alive (no restarts, no new seeds)' % HEAL_BOUND)
    t = cl.wait_all_alive(HEAL_BOUND, t_heal)
    hosts = range(N_HOSTS)
    if t is None:
        results.append(('c', 'heal', False, 'not all alive %.0f s after heal; missing: %s' % (
            HEAL_BOUND, fmt_pairs(cl.not_alive_pairs(hosts, hosts)))))
    else:
        results.append(('c', 'heal', True, 'all see all alive %.2f s after heal (bound %.0f s)'
                        % (t, HEAL_BOUND)))
    report(*results[-1])


def scen_d(cl, net):
    v = ISOLATED
    others = [h for h in range(N_HOSTS) if h != v]
    t_cut = now()
    net.link_down(v)
    say('d) host %d link down for %.0f s' % (v, ISOLATE_HOLD))
    cl.hold(ISOLATE_HOLD)
    t_end = now()
    problems = []
    not_gone = [(o, v, cl.view(o, v)[0]) for o in others if cl.view(o, v)[0] not in GONE]
    if not_gone:
        problems.append('others not seeing %d failed: %s' % (v, fmt_pairs(not_gone)))
    # Lifeguard's local health stretches the isolated host's own probe
    # period (it misses every ack), so it accuses slowly by design: within
    # the hold it must have noticed, not yet declared everyone failed.
    v_noticed = [s for s in others if cl.view(v, s)[0] != 'alive']
    if not v_noticed:
        problems.append('isolated host still sees every other host alive')
    false = [e for e in cl.events_in(t_cut, t_end, GONE) if e[1] != v and e[2] != v]
    if false:
        problems.append('false failures among the connected hosts: ' + fmt_events(false))
    det = [cl.view(o, v)[1] - t_cut for o in others if cl.view(o, v)[0] in GONE]
    iso_view = ', '.join('%d:%s@%.1fs' % (s, cl.view(v, s)[0], (cl.view(v, s)[1] or t_cut) - t_cut)
                         for s in others)
    t_up = now()
    net.links_up()
    t = cl.wait_all_alive(HEAL_BOUND, t_up)
    hosts = range(N_HOSTS)
    if t is None:
        problems.append('not all alive %.0f s after link up; missing: %s' % (
            HEAL_BOUND, fmt_pairs(cl.not_alive_pairs(hosts, hosts))))
    info = ('host %d declared failed by all others after %s; its own view at the end of the '
            'cut (time since cut): %s; all alive %s after link up') % (
        v, ('%.1f s' % max(det)) if len(det) == len(others) else 'n/a', iso_view,
        'never' if t is None else '%.2f s' % t)
    return (not problems), info + ('; ' + '; '.join(problems) if problems else '')


ONEWAY_ASSERT = ('asserted: during the cut (+%.0f s) no host other than %d reports %d failed, '
                 'no host other than %d reports %d failed, nobody reports any other host '
                 'failed; %d->%d and %d->%d failures are tolerated (WARN); all alive within '
                 '%.0f s after the rule is removed' % (
                     LOSS_TAIL, ONEWAY_TO, ONEWAY_FROM, ONEWAY_FROM, ONEWAY_TO,
                     ONEWAY_TO, ONEWAY_FROM, ONEWAY_FROM, ONEWAY_TO, HEAL_BOUND))


def scen_e(cl, net):
    a, b = ONEWAY_FROM, ONEWAY_TO
    t_cut = now()
    net.nft_add(b, CUT_TABLE, '  iifname "eth0" ip saddr %s counter drop\n' % addr(a))
    say('e) dropping host %d (%s) -> host %d (%s), nft in host %d, for %.0f s'
        % (a, addr(a), b, addr(b), b, ONEWAY_HOLD))
    cl.hold(ONEWAY_HOLD)
    dropped = net.nft_counters(b, CUT_TABLE)
    t_off = now()
    net.nft_clear()
    t = cl.wait_all_alive(HEAL_BOUND, t_off)
    tail_end = max(now(), t_off + LOSS_TAIL)
    if now() < tail_end:
        cl.hold(tail_end - now())
    fails = cl.events_in(t_cut, t_off + LOSS_TAIL, GONE)
    tolerated = [e for e in fails if (e[1], e[2]) in ((a, b), (b, a))]
    bad = [e for e in fails if e not in tolerated]
    susp = cl.events_in(t_cut, t_off, (SUSPECT,))
    problems = []
    if bad:
        problems.append('failed events: ' + fmt_events(bad))
    hosts = range(N_HOSTS)
    if t is None:
        problems.append('not all alive %.0f s after removing the rule; missing: %s' % (
            HEAL_BOUND, fmt_pairs(cl.not_alive_pairs(hosts, hosts))))
    info = '%s packets dropped; suspects %d (%s); all alive %s after removal' % (
        dropped[0] if dropped else '?', len(susp), fmt_events(susp, 6) or '-',
        'never' if t is None else '%.2f s' % t)
    if tolerated:
        info += '; WARN tolerated failures: ' + fmt_events(tolerated)
    return (not problems), info + ('; ' + '; '.join(problems) if problems else '')


def scen_f(cl, net):
    t_on = now()
    method = net.loss_on(LOSS_PCT)
    say('f) %s for %.0f s' % (method, LOSS_HOLD))
    cl.hold(LOSS_HOLD)
    dropped, seen = net.loss_measured()
    t_off = now()
    net.reset()
    t = cl.wait_all_alive(HEAL_BOUND, t_off)
    if now() < t_off + LOSS_TAIL:
        cl.hold(t_off + LOSS_TAIL - now())
    fails = cl.events_in(t_on, t_off + LOSS_TAIL, GONE)
    susp = cl.events_in(t_on, t_off, (SUSPECT,))
    problems = []
    if fails:
        problems.append('%d failed events: %s' % (len(fails), fmt_events(fails)))
    hosts = range(N_HOSTS)
    if t is None:
        problems.append('not all alive %.0f s after loss removal; missing: %s' % (
            HEAL_BOUND, fmt_pairs(cl.not_alive_pairs(hosts, hosts))))
    meas = ('measured %.1f%% of %d packets' % (100.0 * dropped / seen, seen)) if seen else \
        'netem (no counters)'
    info = '%s; failed events %d, suspects %d; all alive %s after removal' % (
        meas, len(fails), len(susp), 'never' if t is None else '%.2f s' % t)
    return (not problems), info + ('; ' + '; '.join(problems) if problems else '')


def scen_g(cl, net):
    v = LEAVER
    others = [h for h in range(N_HOSTS) if h != v]
    nd = cl.nodes[v]
    nd.expected_exit = True
    t0 = now()
    os.kill(nd.proc.pid, signal.SIGTERM)
    problems = []
    try:
        rc = nd.proc.wait(STOP_BOUND)
        t_exit = now() - t0
    except subprocess.TimeoutExpired:
        rc, t_exit = None, None
        problems.append('host %d still running %.0f s after SIGTERM' % (v, STOP_BOUND))
    if rc not in (0, None):
        problems.append('host %d exit code %s after SIGTERM' % (v, rc))
    ok = cl.wait(lambda: all(cl.view(o, v)[0] == LEFT for o in others),
                 max(0.1, t0 + LEAVE_BOUND - now()))
    if not ok:
        problems.append('not seen as left: %s' % fmt_pairs(
            [(o, v, cl.view(o, v)[0]) for o in others if cl.view(o, v)[0] != LEFT]))
    t_left = max((cl.view(o, v)[1] or t0) for o in others) - t0
    false = [e for e in cl.events_in(t0, now(), GONE)]
    if false:
        problems.append('failed events: ' + fmt_events(false))
    rcs = cl.stop_all(graceful=True)
    bad = {h: r for h, r in rcs.items() if r != 0}
    if bad:
        problems.append('after SIGTERM to all: exit codes %s (None = still running after %.0f s)'
                        % (bad, STOP_BOUND))
    info = 'host %d exited %s in %s; all others saw left %s; %d others stopped with code 0' % (
        v, rc, '-' if t_exit is None else '%d ms' % (t_exit * 1000),
        'after %d ms' % (t_left * 1000) if ok else 'NOT all',
        sum(1 for r in rcs.values() if r == 0))
    return (not problems), info + ('; ' + '; '.join(problems) if problems else '')


def report(key, name, ok, detail, secs=None):
    say('%s %s) %s: %s%s' % ('PASS' if ok else 'FAIL', key, name, detail,
                             '' if secs is None else ' [%.1f s]' % secs))


# ---------------------------------------------------------------------------

def main():
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    atexit.register(cleanup)
    signal.alarm(TOTAL_LIMIT)

    binary = os.environ.get('GOSSIP_NODE') or os.path.join(REPO, 'examples', 'gossip-node')
    binary = os.path.abspath(binary)
    extra = shlex.split(os.environ.get('GOSSIP_NODE_ARGS', ''))
    only = set(x.strip() for x in os.environ.get('NETNS_TEST_ONLY', '').split(',') if x.strip())
    key = base64.b64encode(secrets.token_bytes(32)).decode()

    print('netns_test: %d hosts in namespaces %s*, %s.0.1-%d/16, port %d, heartbeat %d ms'
          % (N_HOSTS, PREFIX, SUBNET, N_HOSTS, PORT, HEARTBEAT_MS))
    print('  node: %s %s' % (binary, ' '.join(extra)))
    print('  bounds: converge %.0f s, split hold %.0f s, heal %.0f s, isolate host %d for %.0f s, '
          'one-way %d->%d for %.0f s, loss %g%% for %.0f s (tail %.0f s), leave %.0f s, '
          'stop %.0f s, watchdog %d s' % (
              CONVERGE_BOUND, SPLIT_HOLD, HEAL_BOUND, ISOLATED, ISOLATE_HOLD, ONEWAY_FROM,
              ONEWAY_TO, ONEWAY_HOLD, LOSS_PCT, LOSS_HOLD, LOSS_TAIL, LEAVE_BOUND, STOP_BOUND,
              TOTAL_LIMIT))
    print('  e) ' + ONEWAY_ASSERT)
    sys.stdout.flush()

    try:
        setup_network()
    except Skip as e:
        cleanup()
        print('SKIP: %s' % e)
        return 77
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        cleanup()
        print('FAIL: gossip-node program %s is missing or not executable (run make, or set '
              'GOSSIP_NODE)' % binary)
        return 1
    say('network up: hub %s, bridges br0/br1, hosts %s..%s' % (HUB, ns(0), ns(N_HOSTS - 1)))

    base = os.environ.get('NETNS_TEST_LOGDIR') or os.path.join(REPO, 'build', 'netns-test')
    logdir = os.path.join(base, '%s-%d' % (time.strftime('%Y%m%d-%H%M%S'), os.getpid()))
    os.makedirs(logdir, exist_ok=True)
    have_nft = bool(shutil.which('nft'))

    cl = Cluster(binary, extra, key, logdir)
    net = Net()
    results = []       # (key, name, ok, detail)
    timings = {}
    aborted = None

    def wanted(k):
        return not only or k in only or k == 'a'

    def prepare(k):
        """Make sure the cluster is whole before scenario k."""
        hosts = range(N_HOSTS)
        if cl.crashed() or cl.wait_all_alive(5.0, now()) is None:
            cl.restart('cluster not whole before %s): %s' % (
                k, cl.crashed() or fmt_pairs(cl.not_alive_pairs(hosts, hosts))))
            if cl.wait_all_alive(CONVERGE_BOUND * 2, cl.last_start) is None:
                raise Abort('cluster did not converge again after a restart')
        time.sleep(SETTLE)

    def run_scen(k, name, fn, *a):
        t0 = now()
        try:
            prepare(k)
            ok, detail = fn(cl, net, *a)
        except NodeCrash as e:
            ok, detail = False, 'node(s) exited unexpectedly (host, code): %s' % e
        finally:
            net.reset()
        timings[k] = now() - t0
        results.append((k, name, ok, detail))
        report(k, name, ok, detail, timings[k])

    try:
        t0 = now()
        try:
            ok, detail = scen_a(cl, net)
        except NodeCrash as e:
            ok, detail = False, 'node(s) exited unexpectedly (host, code): %s' % e
        timings['a'] = now() - t0
        results.append(('a', 'converge', ok, detail))
        report('a', 'converge', ok, detail, timings['a'])

        if wanted('b') or wanted('c'):
            t0 = now()
            try:
                prepare('b')
                scen_bc(cl, net, results)
            except NodeCrash as e:
                results.append(('b/c', 'split/heal', False,
                                'node(s) exited unexpectedly (host, code): %s' % e))
                report(*results[-1])
            finally:
                net.reset()
            timings['b+c'] = now() - t0
        if wanted('d'):
            run_scen('d', 'isolate one host', scen_d)
        if have_nft:
            if wanted('e'):
                run_scen('e', 'one-way cut %d->%d' % (ONEWAY_FROM, ONEWAY_TO), scen_e)
            if wanted('f'):
                run_scen('f', '%g%% loss' % LOSS_PCT, scen_f)
        else:
            say('SKIP e) and f): nft not installed (apt-get install nftables)')
        if wanted('g'):
            run_scen('g', 'graceful leave', scen_g)
    except Abort as e:
        aborted = str(e)
        say('ABORT: %s' % aborted)
    finally:
        signal.alarm(0)
        try:
            cl.stop_all(graceful=False)
        except Exception:
            pass
        cleanup()

    failed = [r for r in results if not r[2]] or ([('abort', aborted, False, '')] if aborted else [])
    print()
    print('netns_test summary (%.0f s total):' % (now() - T0))
    for k, name, ok, detail in results:
        print('  %s %s) %s' % ('PASS' if ok else 'FAIL', k, name))
    if aborted:
        print('  ABORTED: %s' % aborted)
    if failed or aborted:
        print('node logs kept in %s' % logdir)
        for i in range(N_HOSTS):
            p = os.path.join(logdir, 'node%d.stderr' % i)
            try:
                with open(p, 'rb') as f:
                    tail = f.read()[-600:].decode('utf-8', 'replace').strip()
                if [l for l in tail.splitlines() if not l.startswith('--- start generation')]:
                    print('--- node%d.stderr (tail)\n%s' % (i, tail))
            except OSError:
                pass
        print('netns_test: FAIL (%d of %d scenario checks failed%s)' % (
            len([r for r in results if not r[2]]), len(results),
            ', aborted' if aborted else ''))
        return 1
    if os.environ.get('NETNS_TEST_KEEP') == '1':
        print('node logs kept in %s' % logdir)
    else:
        shutil.rmtree(logdir, ignore_errors=True)
        try:
            os.rmdir(base)
        except OSError:
            pass
    print('netns_test: PASS (%d scenario checks)' % len(results))
    return 0


if __name__ == '__main__':
    try:
        rc = main()
    except Abort as e:
        cleanup()
        print('netns_test: FAIL (aborted: %s)' % e)
        rc = 1
    sys.exit(rc)
