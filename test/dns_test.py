#!/usr/bin/env python3
"""Seed names through a real DNS server: gossip-node processes on loopback
and test/fakedns.py on 127.0.0.1, which the nodes use instead of
/etc/resolv.conf (GOSSIP_DNS_SERVERS).  python3 stdlib only.

Node 1 runs alone on 127.0.0.1:P.  Checks, each with a bounded wait:
  never-start  node 2, --seed slow.test:P while the server never answers
               for slow.test, starts all the same (ready, running)
  never-warn   it warns with the resolver's reason (a timeout) and keeps
               retrying; it has not joined
  never-join   the server starts answering (127.0.0.1): node 2 resolves the
               name ("resolved after"), joins, and node 1 sees it
  late         node 3, --seed late.test:P, answered 1.5 s late (after the
               resolver's first retransmission): resolves without a
               warning and joins
  two-a        pair.test has two A records, 127.0.0.1 and 127.0.0.2: node 5
               takes both as seeds and joins through both, so node 4, alone
               on 127.0.0.2:P where only that second address leads, merges
               with node 1's cluster
  a-only       nodes on IPv4 sockets asked for A records only
  exit         every node leaves on SIGTERM and exits 0

The binary is $GOSSIP_NODE, else examples/gossip-node of this repository.
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import fakedns
import gossiptest

BIN = gossiptest.node_binary()
HEARTBEAT_MS = 300
LATE_S = 1.5

checks = gossiptest.Checks(11)
report = checks.report


class Cluster(gossiptest.Nodes):
    def __init__(self, tmp, port, key, dns_port):
        super().__init__(tmp)
        self.port, self.key = port, key
        self.env = dict(os.environ, GOSSIP_DNS_SERVERS='127.0.0.1:%d' % dns_port)

    def start(self, i, bind='127.0.0.1', port=None, seeds=()):
        args = [BIN, '--node-id', str(i), '--bind', bind, '--port', str(port or self.port + i),
                '--key', self.key, '--heartbeat-ms', str(HEARTBEAT_MS)]
        for s in seeds:
            args += ['--seed', s]
        return self.spawn(i, args, env=self.env)

    def seen(self, observer, member, event='join'):
        return any(e['_node'] == observer and e.get('member') == member and e.get('event') == event
                   for e in self.events)

    def ready(self, i):
        return any(e['_node'] == i and e.get('event') == 'ready' for e in self.events)

    def wait_stderr(self, i, pattern, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.stderr(i))
            if m:
                return m
            time.sleep(0.1)
        return None


def loopback2_usable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(('127.0.0.2', port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def main():
    if not os.access(BIN, os.X_OK):
        print('gossip-node not built (%s)' % BIN)
        return 77
    base = gossiptest.free_port_block(6)
    p1 = base + 1
    key = base64.b64encode(os.urandom(32)).decode()
    records = {
        'slow.test': fakedns.Record(['127.0.0.1'], mode='never'),
        'late.test': fakedns.Record(['127.0.0.1'], mode='late', delay=LATE_S),
        'pair.test': fakedns.Record(['127.0.0.1', '127.0.0.2']),
    }
    dns = fakedns.FakeDns(records)
    with tempfile.TemporaryDirectory() as tmp:
        c = Cluster(tmp, base, key, dns.port)
        try:
            c.start(1)
            t0 = time.monotonic()
            c.start(2, seeds=['slow.test:%d' % p1])
            ok = c.wait_for(lambda: c.ready(2), 3) and c.procs[2].poll() is None
            report(ok, 'never-start', 'node 2 started with an unresolvable seed name' if ok
                   else c.stderr_tail(2))

            m = c.wait_stderr(2, r'warn node 2: seed "slow\.test:%d": cannot resolve slow\.test: ([^;]*);'
                              % p1, 8)
            ok = bool(m) and 'imeout' in m.group(1) and not c.seen(2, 1) and c.procs[2].poll() is None
            report(ok, 'never-warn', ('warned after %.1f s: "%s"; not joined; still running'
                                      % (time.monotonic() - t0, m.group(1))) if m else c.stderr_tail(2))

            records['slow.test'].mode = 'answer'
            t1 = time.monotonic()
            ok = c.wait_for(lambda: c.seen(2, 1) and c.seen(1, 2), 10)
            resolved = re.search(r'seed "slow\.test:%d": resolved after \d+ failure' % p1, c.stderr(2))
            report(ok and bool(resolved), 'never-join',
                   'joined %.1f s after the server began to answer' % (time.monotonic() - t1)
                   if ok and resolved else c.stderr_tail(2))

            t2 = time.monotonic()
            c.start(3, seeds=['late.test:%d' % p1])
            ok = c.wait_for(lambda: c.seen(3, 1) and c.seen(1, 3), 8)
            quiet = 'cannot resolve' not in c.stderr(3)
            report(ok and quiet and dns.asked('late.test') >= 1, 'late',
                   'answered %.1f s late: joined after %.1f s, no warning' % (LATE_S, time.monotonic() - t2)
                   if ok and quiet else c.stderr_tail(3))

            if not loopback2_usable(p1):
                report(False, 'two-a', '127.0.0.2:%d cannot be bound' % p1)
            else:
                c.start(4, bind='127.0.0.2', port=p1)  # alone: no seeds, nobody knows it
                c.wait_for(lambda: c.ready(4), 3)
                c.start(5, seeds=['pair.test:%d' % p1])
                ok = c.wait_for(lambda: c.seen(5, 1) and c.seen(5, 4) and c.seen(4, 1) and c.seen(1, 4), 10)
                both = re.search(r'seed "pair\.test:%d": 2 address\(es\): 127\.0\.0\.1:%d, 127\.0\.0\.2:%d'
                                 % (p1, p1, p1), c.stderr(5))
                report(ok and bool(both), 'two-a',
                       'both A records were seeds: node 4 (127.0.0.2) merged with node 1 through node 5'
                       if ok and both else c.stderr_tail(5) + c.stderr_tail(4))

            with dns.lock:
                types = sorted(set(t for _, t in dns.queries))
            report(types == [fakedns.TYPE_A], 'a-only', 'query types %s' % types)

            codes = []
            for i in sorted(c.procs):
                c.procs[i].send_signal(signal.SIGTERM)
            for i in sorted(c.procs):
                try:
                    codes.append(c.procs[i].wait(timeout=5))
                except subprocess.TimeoutExpired:
                    codes.append(None)
            report(all(x == 0 for x in codes), 'exit', 'exit codes %s' % codes)
        finally:
            c.stop_all()
            dns.stop()
    n = 7
    print('%d passed, %d failed' % (n - len(checks.failures), len(checks.failures)))
    return 1 if checks.failures else 0


if __name__ == '__main__':
    sys.exit(main())
