#!/usr/bin/env python3
"""Key rotation on a live cluster of real gossip-node processes on 127.0.0.1
(python3 stdlib only).

Three nodes, each started with --config FILE holding key = ["k1"].  The
documented procedure, applied by rewriting every file and sending SIGHUP:
  key = ["k1", "k2"]   k2 installed everywhere (k1 still seals)
  key = ["k2", "k1"]   k2 seals everywhere
  key = ["k2"]         k1 removed everywhere
After each step every node must log the reload with the new key ids.

Checks, each with a bounded wait:
  key-ids      --check-config shows the ids of a key list in its order
  flags        --key given twice: the first one seals
  converge     every node reports "join" for the 2 others
  cheap-reload a SIGHUP with unchanged files derives no passphrase (the
               key cache): every node says "passphrases derived 0", and
               the reload takes milliseconds, not scrypt's ~0.4 s
  k1-k2-*      after each step every node logged the reload with the
               expected key ids (sealing key first)
  kdf-once     of the three steps, only the install derives (k2, once)
  no-failed    no "failed" event at any point, no key or auth drop logged
  alive        at the end every node's last event for each other is
               join/alive (nobody is suspect, failed or left)
  stale-join   a 4th node joins with k2
  k2-k3-*      the 3 rotate again to k3; the 4th node's file keeps k2
  stale        the 4th node logs that it cannot open k3's key id, it and
               the others see each other failed, the others log k2's id
  no-failed    still no failure among the 3 rotating nodes
  traffic      a SIGTERM'd node is reported "left" by the other two: the
               k3-only cluster still carries news

The binary is $GOSSIP_NODE, else examples/gossip-node of this repository.
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import gossiptest

BIN = gossiptest.node_binary()

N = 3
HEARTBEAT_MS = 300
JOIN_BOUND = 15.0      # s, for all joins
RELOAD_BOUND = 10.0    # s, for every node to log a reload
SETTLE = 3.0           # s of traffic between steps (10 heartbeats)
LEAVE_BOUND = 10.0     # s
FAIL_BOUND = 15.0      # s, for a cut-off member to be failed both ways
EXIT_BOUND = 5.0       # s

K1 = 'rotation-test-passphrase-one-0001'
K2 = 'rotation-test-passphrase-two-0002'
K3 = 'rotation-test-passphrase-three-003'

checks = gossiptest.Checks(14)
report = checks.report
failures = checks.failures


def key_ids(tmp, keys):
    """The key ids gossip-node shows for this key list (via --check-config)."""
    path = os.path.join(tmp, 'ids.conf')
    with open(path, 'w') as f:
        f.write('[cluster]\nnode-id = 99\nbind-addr = "127.0.0.1"\nkey = %s\n' % json.dumps(keys))
    out = subprocess.run([BIN, '--config', path, '--check-config'], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    m = re.search(r'^key-ids = \[(.*)\]$', out.stdout.decode(), re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError('--check-config failed: %s' % out.stderr.decode().strip())
    return ['%08x' % int(x.strip(), 16) for x in m.group(1).split(',')]


class Cluster(gossiptest.Nodes):
    """The processes, their config files and every event line they printed
    (JSON objects, tagged with '_node')."""

    def __init__(self, tmp, base):
        super().__init__(tmp)
        self.base = base

    def conf_path(self, i):
        return os.path.join(self.tmp, 'n%d.conf' % i)

    def write_conf(self, i, keys):
        seeds = ['127.0.0.1:%d' % (self.base + j) for j in range(N) if j != i]
        text = ('[cluster]\n'
                'node-id = %d\n'
                'bind-addr = "127.0.0.1"\n'
                'bind-port = %d\n'
                'heartbeat = %dms\n'
                'seed-nodes = %s\n'
                'key = %s\n') % (i, self.base + i, HEARTBEAT_MS, json.dumps(seeds), json.dumps(keys))
        tmp = self.conf_path(i) + '.new'
        with open(tmp, 'w') as f:
            f.write(text)
        os.replace(tmp, self.conf_path(i))  # a reload never sees half a file

    def start(self, i, keys):
        self.write_conf(i, keys)
        self.spawn(i, [BIN, '--config', self.conf_path(i)])

    def member_events(self, node, member, kinds=None):
        return [e for e in self.events
                if e['_node'] == node and e.get('member') == member
                and (kinds is None or e.get('event') in kinds)]

    def wait_stderr(self, nodes, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            pending = [i for i in nodes if not pred(self.stderr(i))]
            if not pending or time.monotonic() >= deadline:
                return pending
            time.sleep(0.1)


def count(text, needle):
    return text.count(needle)


RELOAD_RE = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z info node \d+: reloaded .*'
                       r'passphrases derived (\d+), from the cache (\d+)\)$', re.M)


def reloads(text):
    """(wall-clock s, derived, from the cache) of every reload line."""
    out = []
    for m in RELOAD_RE.finditer(text):
        t = calendar.timegm(time.strptime(m.group(1)[:19], '%Y-%m-%dT%H:%M:%S'))
        out.append((t + int(m.group(1)[20:]) / 1000.0, int(m.group(2)), int(m.group(3))))
    return out


def main():
    if not os.path.exists(BIN):
        print('skip: %s not built (run make)' % BIN)
        return 77
    tmp = tempfile.mkdtemp(prefix='gossip-keyrot-')
    cl = None
    try:
        ids1 = key_ids(tmp, [K1])
        ids12 = key_ids(tmp, [K1, K2])
        ids21 = key_ids(tmp, [K2, K1])
        id1, id2 = ids12
        report(ids21 == [id2, id1] and ids1 == [id1] and id1 != id2, 'key-ids',
               'k1 %s, k2 %s' % (id1, id2))

        # --key given several times: the first seals.
        out = subprocess.run([BIN, '--node-id', '1', '--bind', '127.0.0.1', '--key', K2,
                              '--key', K1, '--check-config'], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        m = re.search(r'^key-ids = \[(.*)\]$', out.stdout.decode(), re.M)
        got = ['%08x' % int(x.strip(), 16) for x in m.group(1).split(',')] if m else []
        report(out.returncode == 0 and got == [id2, id1], 'flags',
               '--key k2 --key k1 gives %s' % got)

        base = gossiptest.free_port_block(N + 1)
        cl = Cluster(tmp, base)
        for i in range(N):
            cl.start(i, [K1])
        ok = cl.wait_for(lambda: all(cl.member_events(i, j, ('join',))
                                     for i in range(N) for j in range(N) if i != j), JOIN_BOUND)
        if not report(ok, 'converge', '%d nodes joined with k1' % N):
            return 1

        # A reload with unchanged keys derives nothing: SIGHUP, same files.
        marks = [len(reloads(cl.stderr(i))) for i in range(N)]
        sent = time.time()
        for i in range(N):
            cl.procs[i].send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_BOUND
        while time.monotonic() < deadline:
            pending = [i for i in range(N) if len(reloads(cl.stderr(i))) <= marks[i]]
            if not pending:
                break
            time.sleep(0.05)
        got = [reloads(cl.stderr(i))[-1] for i in range(N) if i not in pending]
        took = [round((r[0] - sent) * 1000) for r in got]
        ok = not pending and all(r[1] == 0 and r[2] == 1 for r in got) and max(took) < 250
        report(ok, 'cheap-reload', 'SIGHUP to logged reload %s ms, derived %s, from the cache %s'
               % (took, [r[1] for r in got], [r[2] for r in got]) if not pending
               else 'no reload logged by %s' % pending)

        def healthy_failed():
            """"failed" events among the rotating nodes 0..N-1."""
            return [e for e in cl.events if e.get('event') == 'failed'
                    and e['_node'] < N and e.get('member', N) < N]

        def rotate(tag, old, new, ids_on, ids_on_new, ids_only, hup_also=()):
            """install, use, remove on nodes 0..N-1 (SIGHUP to hup_also too)."""
            steps = [('install', [old, new], ids_on),
                     ('use', [new, old], ids_on_new),
                     ('remove', [new], ids_only)]
            for name, keys, want in steps:
                marks = [count(cl.stderr(i), 'reloaded ') for i in range(N)]
                for i in range(N):
                    cl.write_conf(i, keys)
                for i in list(range(N)) + list(hup_also):
                    cl.procs[i].send_signal(signal.SIGHUP)
                line = 'key ids %s; the first seals' % ' '.join(want)
                pending = cl.wait_stderr(range(N), lambda t: line in t, RELOAD_BOUND)
                pending += [i for i in range(N) if count(cl.stderr(i), 'reloaded ') <= marks[i]]
                report(not pending, '%s-%s' % (tag, name), 'every node reloaded with key ids %s%s'
                       % (' '.join(want), ' (not: %s)' % sorted(set(pending)) if pending else ''))
                time.sleep(SETTLE)  # traffic under the new keyrings before the next step
                if healthy_failed():
                    return False
            return True

        marks = [len(reloads(cl.stderr(i))) for i in range(N)]
        ok = rotate('k1-k2', K1, K2, ids12, ids21, [id2])
        # install [k1, k2] derives k2; use [k2, k1] and remove [k2] find both cached
        steps = [[r[1:] for r in reloads(cl.stderr(i))[marks[i]:]] for i in range(N)]
        report(all(st == [(1, 1), (0, 2), (0, 1)] for st in steps), 'kdf-once',
               '(derived, from the cache) of install, use, remove: %s' % steps)
        time.sleep(SETTLE)
        failed = [e for e in cl.events if e.get('event') == 'failed']
        suspect = [e for e in cl.events if e.get('event') == 'suspect']
        drops = [i for i in range(N) if "not in this node's keyring" in cl.stderr(i)
                 or 'failed authentication' in cl.stderr(i)]
        report(ok and not failed and not drops, 'no-failed',
               '%d failed events %s, key/auth drops logged by %s (%d transient suspect)'
               % (len(failed), failed[:3], drops or 'nobody', len(suspect)))
        if failures:
            return 1

        with cl.cond:
            bad = []
            for i in range(N):
                for j in range(N):
                    if i == j:
                        continue
                    evs = cl.member_events(i, j)
                    last = evs[-1]['event'] if evs else None
                    if last not in ('join', 'alive', 'update'):
                        bad.append((i, j, last))
        report(not bad, 'alive', 'every node sees every other alive' if not bad
               else 'not alive (observer, member, last event): %s' % bad)

        # A member that misses the next rotation: node 3 joins with k2,
        # then its file is never updated (it gets the SIGHUPs all the same)
        # while the others rotate k2 -> k3.  It must log that it cannot open
        # k3's key id and see the others fail; they see it fail, and never
        # each other.
        stale = N
        cl.start(stale, [K2])  # seeds: the three others
        ok = cl.wait_for(lambda: all(cl.member_events(stale, j, ('join',)) for j in range(N))
                         and all(cl.member_events(i, stale, ('join',)) for i in range(N)),
                         JOIN_BOUND)
        report(ok, 'stale-join', 'node %d joined with k2' % stale)
        ids23 = key_ids(tmp, [K2, K3])
        id3 = ids23[1]
        ok = rotate('k2-k3', K2, K3, ids23, [id3, id2], [id3], hup_also=(stale,))
        needle = "sealed with key id %s, which is not in this node's keyring" % id3
        theirs = "sealed with key id %s, which is not in this node's keyring" % id2
        deadline = time.monotonic() + FAIL_BOUND
        while True:
            with cl.cond:
                cut = (all(cl.member_events(stale, j, ('failed',)) for j in range(N))
                       and all(cl.member_events(i, stale, ('failed',)) for i in range(N)))
            logged = needle in cl.stderr(stale)
            heard = [i for i in range(N) if theirs in cl.stderr(i)]
            if (cut and logged and heard == list(range(N))) or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        report(logged and cut and heard == list(range(N)), 'stale',
               'node %d logged "%s"; it and the others see each other failed; '
               'the others logged key id %s from it' % (stale, needle, id2)
               if logged and cut and heard == list(range(N))
               else 'logged %s, cut off both ways %s, others logging k2 id %s'
               % (logged, cut, heard))
        hf = healthy_failed()
        report(ok and not hf, 'no-failed', 'no failure among the rotating nodes while a stale '
               'member was cut off' if not hf else str(hf[:3]))
        cl.procs[stale].kill()
        cl.procs[stale].wait(timeout=5)

        # The k3-only cluster still carries news: node 2 leaves gracefully.
        cl.procs[2].send_signal(signal.SIGTERM)
        ok = cl.wait_for(lambda: all(cl.member_events(i, 2, ('left',)) for i in range(2)),
                         LEAVE_BOUND)
        try:
            rc = cl.procs[2].wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            rc = None
        report(ok and rc == 0, 'traffic', 'node 2 left (exit %s), reported "left" by both others'
               % rc if ok else 'node 2 "left" not reported by both (exit %s)' % rc)
        hf = healthy_failed()
        report(not hf, 'no-failed', 'none at the end' if not hf else str(hf[:3]))
    finally:
        if cl:
            cl.stop_all()
        if failures:
            for i in range(N + 1):
                p = os.path.join(tmp, 'n%d.stderr' % i)
                if os.path.exists(p):
                    print('--- n%d.stderr (tail)' % i)
                    with open(p, 'rb') as f:
                        print('\n'.join(f.read().decode('utf-8', 'replace').splitlines()[-15:]))
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print('FAILED: %s' % ', '.join(sorted(set(failures))))
        return 1
    print('all key rotation checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
