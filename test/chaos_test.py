#!/usr/bin/env python3
"""chaos_test.py - generated faults against real gossip-node processes.

The real-process counterpart of test/swarm.c (issue 15, point 5): N_HOSTS
(12) `examples/gossip-node` processes, one network namespace each on a
private bridge (the machinery of test/netns_test.py, imported), and
CHAOS_SECONDS (default 300) of faults drawn from one seed (CHAOS_SEED,
default from the clock; printed, and the whole schedule is printed before
it runs, so a run is repeatable as far as real processes are):

  SIGKILL and restart later, SIGSTOP/SIGCONT (a stalled process), a
  partition into two groups (hub-side veths moved to a second bridge),
  random loss on every host (nft numgen drop), one-way cuts (nft drop of one
  source address in one host), graceful leave (SIGTERM, exit 0) and return.

Faults come in windows, each followed by a quiet period (no fault, every
node running).  The invariants are checked from the nodes' JSON event
lines, with the bounds of test/swarm_sched.c's sw_bounds() for the tuning
gossip-node runs with (heartbeat HEARTBEAT_MS, every other setting at its
default, one seed), printed at start:

  convergence  at the end of every quiet period every node sees every
               other alive, within B_conv of the quiet start;
  false failure (invariant 2)  no `failed` event about a node that ran (the
               same process, not stalled) with every link to and from it
               healthy through the W before; and none by an observer that
               reached it both ways through that W (the hearsay case of
               issue 15: reported as such);
  left (invariant 3)  a node that left is never reported `failed` (until
               it starts again) by a node that was running and could hear
               it when it left;
  and every process exits 0 on SIGTERM, none dies on its own.

Exit status: 0 no violation of convergence, the left rule or process
health (false failures are printed, and counted against the run only with
CHAOS_STRICT=1 while issue 15 is open); 1 otherwise; 77 skipped (not root,
no namespaces).  Run by `make soak`, not by `make check`.

Environment: GOSSIP_NODE (default <repo>/examples/gossip-node),
CHAOS_SECONDS, CHAOS_SEED, CHAOS_STRICT, CHAOS_LOGDIR (default
<repo>/build/chaos-test), CHAOS_KEEP=1 keeps the logs of a passing run.
"""

import base64
import math
import os
import random
import re
import secrets
import shutil
import signal
import sys
import time
import atexit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netns_test as nt  # noqa: E402  (namespaces, bridge, nodes, JSON readers)

N_HOSTS = 12
HEARTBEAT_MS = int(os.environ.get('CHAOS_HEARTBEAT_MS', '500'))
CHAOS_SECONDS = float(os.environ.get('CHAOS_SECONDS', '300'))
SEED = int(os.environ.get('CHAOS_SEED') or (int(time.time()) % 1000000))
STRICT = os.environ.get('CHAOS_STRICT') == '1'

# Our own namespace prefix and subnet: a concurrent netns_test.py run must
# not take our namespaces for its leftovers, nor we its.
nt.N_HOSTS = N_HOSTS
nt.HEARTBEAT_MS = HEARTBEAT_MS
nt.PREFIX = 'lgc%d-' % os.getpid()
nt.HUB = nt.PREFIX + 'hub'
nt.SUBNET = '10.232'
LEFTOVER_RE = re.compile(r'^lgc(\d+)-(hub|h\d+)$')


# ---------------------------------------------------------------------------
# bounds: sw_bounds() of test/swarm_sched.c for gossip-node's defaults

def bounds():
    hb = HEARTBEAT_MS / 1000.0
    pt = max(0.010, hb / 5)
    it = 2 * pt
    aw = 8
    s = 1 + aw
    n = N_HOSTS
    gi = max(0.001, hb / 5)
    ri = 5 * hb
    n_seeds = 1
    d = 0.005                                   # one-way delay on the bridge
    probe = s * (hb + pt + 2 * it)
    smin = max(hb, 1.0 * math.log10(n + 1) * hb)
    susp = 4 * smin + 2 * s * pt
    L = math.ceil(4 * math.log10(max(n + 1, 10) + 1)) + 1
    spread = 2 * (L + 1) * gi + hb + 2 * d
    reconnect = (n_seeds + 1) * ri
    window = probe + susp + 2 * spread
    converge = reconnect + probe + susp + 2 * spread + 2 * hb
    return {'W': window, 'B_conv': converge, 'P': probe, 'S': susp, 'D': spread, 'R': reconnect}


B = bounds()
QUIET = B['B_conv'] + 3.0


# ---------------------------------------------------------------------------
# the schedule

def draw_schedule(rng):
    """[(t, kind, args)] relative to the start of the fault phase, and the
    quiet periods [(start, end)]."""
    acts, quiets = [], []
    t = 0.0
    up = [True] * N_HOSTS            # as the schedule goes
    while t + 5 + QUIET <= CHAOS_SECONDS:
        F = rng.uniform(5, 20)
        end = t + F
        busy = {}
        nfaults = rng.randint(1, 3)
        starts = sorted(t + rng.uniform(0, F - 1) for _ in range(nfaults))
        have_part = have_loss = False
        for ts in starts:
            dur_max = end - ts
            k = rng.random()
            free = [i for i in range(N_HOSTS) if busy.get(i, 0) <= ts and up[i]]
            if k < 0.2 and free:                                  # crash, back later
                i = rng.choice(free)
                back = rng.uniform(ts + 0.5, end) if (i == 0 or rng.random() < 0.7) else None
                acts.append((ts, 'kill', i))
                up[i] = False
                if back is not None:
                    acts.append((back, 'start', i))
                    up[i] = True
                busy[i] = end
            elif k < 0.4 and free:                                # stall
                i = rng.choice(free)
                d = rng.uniform(0.3, min(6.0, dur_max))
                acts.append((ts, 'stop', i))
                acts.append((ts + d, 'cont', i))
                busy[i] = ts + d + 0.1
            elif k < 0.55 and not have_part:                      # partition in two
                side = rng.sample(range(N_HOSTS), rng.randint(1, N_HOSTS // 2))
                d = rng.uniform(2, dur_max) if dur_max > 2 else dur_max
                acts.append((ts, 'split', tuple(sorted(side))))
                acts.append((ts + d, 'unsplit', None))
                have_part = True
            elif k < 0.7 and not have_loss:                       # loss everywhere
                pct = rng.choice([2, 5, 10, 20])
                d = rng.uniform(1, dur_max) if dur_max > 1 else dur_max
                acts.append((ts, 'loss', pct))
                acts.append((ts + d, 'noloss', None))
                have_loss = True
            elif k < 0.85:                                        # one-way cut a -> b
                a, b = rng.sample(range(N_HOSTS), 2)
                d = rng.uniform(1, dur_max) if dur_max > 1 else dur_max
                acts.append((ts, 'cut', (a, b)))
                acts.append((ts + d, 'uncut', (a, b)))
            elif free:                                            # graceful leave
                i = rng.choice([x for x in free if x != 0] or free)
                acts.append((ts, 'leave', i))
                up[i] = False
                if rng.random() < 0.6 and end - ts > 2:
                    acts.append((rng.uniform(ts + 1.5, end), 'start', i))
                    up[i] = True
                busy[i] = end
        # every node runs before the quiet period
        for i in range(N_HOSTS):
            if not up[i]:
                acts.append((end + 0.01, 'start', i))
                up[i] = True
        quiets.append((end + 0.5, end + 0.5 + QUIET))
        t = end + 0.5 + QUIET
    acts.sort(key=lambda a: a[0])
    return acts, quiets


# ---------------------------------------------------------------------------
# the run

class Cluster(nt.Cluster):
    """netns_test's Cluster, with the node registered before its reader
    thread starts: netns_test.Cluster.start_node() sets nodes[i] after the
    thread is running, and the reader drops lines of a node that is not
    registered yet (a first `join` printed at once was lost)."""

    def start_node(self, i):
        nd = nt.Node(i, self.gen)
        err = open(os.path.join(self.logdir, 'node%d.stderr' % i), 'ab')
        err.write(b'--- start generation %d\n' % self.gen)
        err.flush()
        nd.proc = nt.subprocess.Popen(self.argv(i), stdin=nt.subprocess.DEVNULL,
                                      stdout=nt.subprocess.PIPE, stderr=err,
                                      start_new_session=True)
        err.close()
        nt.PROCS.append(nd.proc)
        with self.lock:
            self.nodes[i] = nd
        nd.thread = nt.threading.Thread(target=self._reader, args=(nd,), daemon=True)
        nd.thread.start()
        return nd


class Chaos:
    def __init__(self, cl, net):
        self.cl = cl
        self.net = net
        self.t0 = None
        # health history: intervals (start, end) in absolute time
        self.proc_bad = {i: [] for i in range(N_HOSTS)}     # killed, stopped, leaving/left
        self.life_start = {i: 0.0 for i in range(N_HOSTS)}
        self.open_bad = {}                                  # i -> start of an open bad interval
        self.net_faults = []                                # (start, end, kind, data)
        self.open_net = {}
        self.leaves = []                                    # (i, t, informed set, back time)
        self.stopped = set()
        self.tables = {}                                    # fault key -> (host, table)
        self.violations = []
        self.known = []
        self.conv_times = []
        self.last_action = 0.0

    # -- bookkeeping --------------------------------------------------------
    def bad_begin(self, i, t):
        if i not in self.open_bad:
            self.open_bad[i] = t

    def bad_end(self, i, t):
        s = self.open_bad.pop(i, None)
        if s is not None:
            self.proc_bad[i].append((s, t))

    def net_begin(self, key, kind, data, t):
        self.open_net[key] = (t, kind, data)

    def net_end(self, key, t):
        v = self.open_net.pop(key, None)
        if v:
            self.net_faults.append((v[0], t, v[1], v[2]))

    def link_bad(self, a, b, t0, t1):
        """Was the directed link a -> b faulty at any time in [t0, t1]?"""
        faults = self.net_faults + [(s, float('inf'), k, d) for s, k, d in self.open_net.values()]
        for s, e, kind, data in faults:
            if e < t0 or s > t1:
                continue
            if kind == 'loss':
                return True
            if kind == 'split' and ((a in data) != (b in data)):
                return True
            if kind == 'cut' and data == (a, b):
                return True
        return False

    def proc_was_bad(self, i, t0, t1):
        if self.life_start[i] > t0:
            return True
        ivs = self.proc_bad[i] + ([(self.open_bad[i], float('inf'))] if i in self.open_bad else [])
        return any(not (e < t0 or s > t1) for s, e in ivs)

    # -- actions ------------------------------------------------------------
    def do(self, kind, arg):
        t = nt.now()
        self.last_action = t
        cl, net = self.cl, self.net
        if kind == 'kill':
            nd = cl.nodes[arg]
            nt.say('SIGKILL node %d' % arg)
            if nd and nd.proc.poll() is None:
                nd.expected_exit = True
                os.kill(nd.proc.pid, signal.SIGKILL)
                nd.proc.wait(5)
            self.stopped.discard(arg)
            self.bad_begin(arg, t)
        elif kind == 'start':
            nd = cl.nodes[arg]
            if nd and nd.proc.poll() is None:
                return
            nt.say('start node %d' % arg)
            with cl.lock:
                cl.state[arg] = {}
            cl.start_node(arg)
            self.bad_end(arg, t)
            self.life_start[arg] = t
            for lv in self.leaves:
                if lv[0] == arg and lv[3] is None:
                    lv[3] = t
        elif kind == 'stop':
            nd = cl.nodes[arg]
            if nd and nd.proc.poll() is None:
                nt.say('SIGSTOP node %d' % arg)
                os.kill(nd.proc.pid, signal.SIGSTOP)
                self.stopped.add(arg)
                self.bad_begin(arg, t)
        elif kind == 'cont':
            nd = cl.nodes[arg]
            if arg in self.stopped and nd and nd.proc.poll() is None:
                nt.say('SIGCONT node %d' % arg)
                os.kill(nd.proc.pid, signal.SIGCONT)
                self.stopped.discard(arg)
                self.bad_end(arg, t)
        elif kind == 'split':
            nt.say('partition: %s | the rest' % (list(arg),))
            net.split(list(arg))
            self.net_begin('split', 'split', set(arg), t)
        elif kind == 'unsplit':
            nt.say('heal')
            net.unsplit()
            self.net_end('split', t)
        elif kind == 'loss':
            nt.say('loss %d%% on every host' % arg)
            thr = int(arg * 100)
            for i in range(N_HOSTS):
                net.nft_add(i, 'lgc_loss', '  iifname "eth0" meta nfproto ipv4 numgen random mod 10000 < %d drop\n'
                            % thr)
            self.net_begin('loss', 'loss', arg, t)
        elif kind == 'noloss':
            nt.say('loss off')
            for i in range(N_HOSTS):
                nt.run(['ip', 'netns', 'exec', nt.ns(i), 'nft', 'delete', 'table', 'inet', 'lgc_loss'], check=False)
            net.nft = [x for x in net.nft if x[1] != 'lgc_loss']
            self.net_end('loss', t)
        elif kind == 'cut':
            a, b = arg
            table = 'lgc_cut_%d' % a
            if ('cut', arg) in self.open_net:
                return
            nt.say('one-way cut %d -> %d' % (a, b))
            net.nft_add(b, table, '  ip saddr %s drop\n' % nt.addr(a))
            self.net_begin(('cut', arg), 'cut', arg, t)
        elif kind == 'uncut':
            a, b = arg
            if ('cut', arg) not in self.open_net:
                return
            nt.say('cut %d -> %d removed' % (a, b))
            table = 'lgc_cut_%d' % a
            nt.run(['ip', 'netns', 'exec', nt.ns(b), 'nft', 'delete', 'table', 'inet', table], check=False)
            net.nft = [x for x in net.nft if x != (b, table)]
            self.net_end(('cut', arg), t)
        elif kind == 'leave':
            nd = cl.nodes[arg]
            if not nd or nd.proc.poll() is not None or arg in self.stopped:
                return
            # who can hear it now: running, not stalled, links from it healthy
            informed = set(k for k in range(N_HOSTS) if k != arg and cl.nodes[k] and
                           cl.nodes[k].proc.poll() is None and k not in self.stopped and
                           not self.link_bad(arg, k, t, t) and cl.view(k, arg)[0] == nt.ALIVE)
            nt.say('SIGTERM node %d (leave)' % arg)
            nd.expected_exit = True
            os.kill(nd.proc.pid, signal.SIGTERM)
            try:
                rc = nd.proc.wait(nt.STOP_BOUND)
            except Exception:
                rc = None
            if rc != 0:
                self.violations.append('node %d did not exit 0 within %.0f s of SIGTERM (rc %s)' %
                                       (arg, nt.STOP_BOUND, rc))
                try:
                    os.killpg(nd.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.bad_begin(arg, t)
            self.leaves.append([arg, t, informed, None])

    # -- checks ---------------------------------------------------------------
    def check_failed_events(self, t_end):
        W = B['W']
        for (t, o, s, ev, raw) in self.cl.events_in(self.t0, t_end, (nt.FAILED,)):
            # a node that left, reported failed by one that could hear it
            for (i, tl, informed, back) in self.leaves:
                if i == s and tl <= t and (back is None or t < back) and o in informed \
                        and not self.proc_was_bad(o, tl, t):
                    self.violations.append('left-reported-failed: node %d reports node %d failed at +%.1f s; it left '
                                           'at +%.1f s while node %d could hear it' %
                                           (o, s, t - self.t0, tl - self.t0, o))
            if t - W < self.t0:
                continue
            ws = t - W
            if self.proc_was_bad(s, ws, t):
                continue
            links = any(self.link_bad(s, k, ws, t) or self.link_bad(k, s, ws, t)
                        for k in range(N_HOSTS) if k != s)
            if not links:
                self.known.append('false-failure: node %d declares node %d failed at +%.1f s; node %d and all its '
                                  'links were healthy through the %.1f s before' % (o, s, t - self.t0, s, W))
            elif not self.proc_was_bad(o, ws, t) and not self.link_bad(o, s, ws, t) and \
                    not self.link_bad(s, o, ws, t):
                self.known.append('false-failure-by-peer: node %d declares node %d failed at +%.1f s although it '
                                  'reached it both ways through the %.1f s before (hearsay: issue 15)' %
                                  (o, s, t - self.t0, W))

    def quiet(self, q0, q1):
        """Every node sees every other alive by q0 + B_conv, and at q1."""
        cl = self.cl
        hosts = range(N_HOSTS)
        deadline = q0 + B['B_conv']
        ok = cl.wait(lambda: not cl.not_alive_pairs(hosts, hosts), max(0.0, deadline - nt.now()))
        if not ok:
            bad = cl.not_alive_pairs(hosts, hosts)
            self.violations.append('convergence: %d pair(s) not alive %.1f s after the quiet start at +%.1f s: %s' %
                                   (len(bad), B['B_conv'], q0 - self.t0, nt.fmt_pairs(bad)))
        else:
            took = max(0.0, cl.last_change(cl.all_pairs()) - self.last_action)
            self.conv_times.append(took)
            nt.say('quiet period: converged %.2f s after the last action (bound %.1f s from the quiet start)' %
                   (took, B['B_conv']))
        cl.hold(max(0.0, q1 - nt.now()))
        bad = cl.not_alive_pairs(hosts, hosts)
        if ok and bad:
            self.violations.append('convergence: %d pair(s) not alive at the end of the quiet period at +%.1f s: %s' %
                                   (len(bad), q1 - self.t0, nt.fmt_pairs(bad)))


def main():
    binary = os.environ.get('GOSSIP_NODE') or os.path.join(nt.REPO, 'examples', 'gossip-node')
    if not os.path.exists(binary):
        print('chaos_test: %s not built (make)' % binary)
        return 77
    logdir = os.environ.get('CHAOS_LOGDIR') or os.path.join(nt.REPO, 'build', 'chaos-test')
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir, exist_ok=True)
    rng = random.Random(SEED)
    acts, quiets = draw_schedule(rng)
    nt.say('chaos: %d nodes, heartbeat %d ms, %.0f s of faults, seed %d (CHAOS_SEED=%d repeats the schedule)' %
           (N_HOSTS, HEARTBEAT_MS, CHAOS_SECONDS, SEED, SEED))
    nt.say('bounds: W %.1f s, convergence %.1f s (P %.1f, S %.1f, D %.1f, R %.1f)' %
           (B['W'], B['B_conv'], B['P'], B['S'], B['D'], B['R']))
    for (t, kind, arg) in acts:
        nt.say('  plan +%6.1f s %s %s' % (t, kind, '' if arg is None else arg))
    signal.signal(signal.SIGTERM, nt._on_signal)
    signal.signal(signal.SIGINT, nt._on_signal)
    signal.signal(signal.SIGHUP, nt._on_signal)
    signal.signal(signal.SIGALRM, nt._on_signal)
    signal.alarm(int(CHAOS_SECONDS + 300))
    atexit.register(nt.cleanup)
    try:
        # our leftovers only
        for name in nt.ns_list():
            m = LEFTOVER_RE.match(name)
            if m and not os.path.exists('/proc/%s' % m.group(1)):
                nt.del_ns(name)
        try:
            nt.setup_network()
        except nt.Skip as e:
            print('chaos_test: skipped: %s' % e)
            return 77
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        cl = Cluster(binary, [], key, logdir)
        net = nt.Net()
        cl.start_all()
        t_conv = cl.wait_all_alive(nt.CONVERGE_BOUND + 10, cl.last_start)
        if t_conv is None:
            bad = cl.not_alive_pairs(range(N_HOSTS), range(N_HOSTS))
            nt.say('FAIL: the cluster did not form: %s' % nt.fmt_pairs(bad))
            return 1
        nt.say('formed in %.2f s' % t_conv)
        ch = Chaos(cl, net)
        ch.t0 = nt.now()
        for i in range(N_HOSTS):
            ch.life_start[i] = ch.t0 - 1000
        qi = 0
        for (t, kind, arg) in acts:
            while qi < len(quiets) and quiets[qi][0] <= t:
                q0, q1 = quiets[qi]
                cl.hold(max(0.0, ch.t0 + q0 - nt.now()))
                ch.quiet(ch.t0 + q0, ch.t0 + q1)
                qi += 1
            wait = ch.t0 + t - nt.now()
            if wait > 0:
                time.sleep(wait)
            crashed = [c for c in cl.crashed()]
            if crashed:
                ch.violations.append('process died on its own: %s' % crashed)
                break
            ch.do(kind, arg)
        while qi < len(quiets):
            q0, q1 = quiets[qi]
            cl.hold(max(0.0, ch.t0 + q0 - nt.now()))
            ch.quiet(ch.t0 + q0, ch.t0 + q1)
            qi += 1
        ch.check_failed_events(nt.now())
        rcs = cl.stop_all(graceful=True)
        bad_rc = {i: rc for i, rc in rcs.items() if rc != 0}
        if bad_rc:
            ch.violations.append('exit status on SIGTERM at the end: %s' % bad_rc)
        n_fail = len(cl.events_in(ch.t0, nt.now(), (nt.FAILED,)))
        nt.say('result: seed %d, %d actions, %d quiet periods (slowest convergence %.2f s of %.1f s), %d failed '
               'events, %d violation(s), %d false failure(s)' %
               (SEED, len(acts), len(ch.conv_times), max(ch.conv_times or [0]), B['B_conv'], n_fail,
                len(ch.violations), len(ch.known)))
        for v in ch.violations:
            nt.say('VIOLATION %s' % v)
        for v in ch.known[:40]:
            nt.say('%s %s' % ('VIOLATION' if STRICT else 'known (issue 15)', v))
        failed = bool(ch.violations) or (STRICT and bool(ch.known))
        if failed or os.environ.get('CHAOS_KEEP') == '1':
            nt.say('logs kept in %s' % logdir)
        else:
            shutil.rmtree(logdir, ignore_errors=True)
        return 1 if failed else 0
    except nt.NodeCrash as e:
        nt.say('FAIL: a node died: %s' % (e,))
        return 1
    except nt.Abort as e:
        nt.say('FAIL: aborted: %s' % e)
        return 1
    finally:
        signal.alarm(0)
        nt.cleanup()


if __name__ == '__main__':
    sys.exit(main())
