#!/usr/bin/env python3
"""Real gossip-node processes on 127.0.0.1 (python3 stdlib only).

Checks, each with a bounded wait:
  converge     5 nodes: every node reports "join" for the 4 others
  crash        SIGKILL one node: every other reports "failed" for it
  leave        SIGTERM another: it exits 0, every remaining node reports
               "left" for it and never "failed"
  no-false     nobody ever reported "failed" for a node that was running
  term-all     the other nodes stop on SIGTERM with status 0
  contract     stdout is only JSON lines with the contract's fields
  check-config a good file exits 0 and prints the settings; a file
               without a key exits 1 with a clear message
  check-strict the mail server's example with its [cluste.roles.*]:
               --check-config FILE reads the roles as meant (exit 0),
               with --strict it is refused naming line and fix (exit 1)
  key-file     --key-file with 32 raw bytes gives a one-key keyring;
               a missing file exits 1 naming it

The binary is $GOSSIP_NODE, else examples/gossip-node of this repository.
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import base64
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

N = 5
HEARTBEAT_MS = 500
JOIN_BOUND = 15.0      # s, for all 20 joins
FAIL_BOUND = 15.0      # s, after SIGKILL
LEAVE_BOUND = 10.0     # s, after SIGTERM
EXIT_BOUND = 5.0       # s, the contract's limit for a graceful stop

checks = gossiptest.Checks(12)
report = checks.report
failures = checks.failures


class Cluster(gossiptest.Nodes):
    """The processes and every event line they printed."""

    def __init__(self, tmp, base, key):
        super().__init__(tmp)
        self.base, self.key = base, key
        self.bad_lines = []    # (node, line) that break the contract

    def start(self, i, seeds=()):
        args = [BIN, '--node-id', str(i), '--bind', '127.0.0.1',
                '--port', str(self.base + i), '--key', self.key,
                '--heartbeat-ms', str(HEARTBEAT_MS)]
        for s in seeds:
            args += ['--seed', '127.0.0.1:%d' % (self.base + s)]
        self.spawn(i, args)

    def on_line(self, i, line, ev):
        ok = (isinstance(ev, dict) and ev.get('node') == i
              and isinstance(ev.get('ts_ms'), int) and isinstance(ev.get('event'), str)
              and (ev['event'] in ('ready', 'role', 'user')
                   or isinstance(ev.get('member'), int)))
        if ok:
            ev['_t'] = time.monotonic()
            self.events.append(ev)
        else:
            self.bad_lines.append((i, line))

    def seen(self, observer, member, event):
        return any(e.get('node') == observer and e.get('member') == member
                   and e['event'] == event for e in self.events)

    def missing(self, observers, member, event):
        return [o for o in observers if not self.seen(o, member, event)]


def check_cluster(c):
    t0 = time.monotonic()
    c.start(0)
    if not report(c.wait_for(lambda: any(e['event'] == 'ready' and e['node'] == 0
                                         for e in c.events), 5.0),
                  'ready', 'node 0 printed "ready"'):
        return
    for i in range(1, N):
        c.start(i, seeds=[0])

    def converged():
        return all(not c.missing([o], m, 'join') for o in range(N) for m in range(N) if m != o)
    ok = c.wait_for(converged, JOIN_BOUND)
    with c.cond:
        missing = ['%d->%d' % (o, m) for o in range(N) for m in range(N)
                   if m != o and not c.seen(o, m, 'join')]
    if not report(ok, 'converge', '%d nodes joined each other in %.1f s'
                  % (N, time.monotonic() - t0) if ok else 'missing joins: %s' % missing):
        return
    time.sleep(2 * HEARTBEAT_MS / 1000)   # a few quiet rounds before the crash

    victim, t0 = N - 1, time.monotonic()
    c.procs[victim].send_signal(signal.SIGKILL)
    others = [i for i in range(N) if i != victim]
    ok = c.wait_for(lambda: not c.missing(others, victim, 'failed'), FAIL_BOUND)
    with c.cond:
        late = c.missing(others, victim, 'failed')
    report(ok, 'crash', 'all %d others reported node %d failed in %.1f s'
           % (len(others), victim, time.monotonic() - t0) if ok
           else 'no "failed" for node %d from %s within %.0f s' % (victim, late, FAIL_BOUND))

    leaver, t0 = N - 2, time.monotonic()
    c.procs[leaver].send_signal(signal.SIGTERM)
    try:
        rc = c.procs[leaver].wait(timeout=EXIT_BOUND)
        report(rc == 0, 'term-exit', 'node %d exited %d in %.1f s after SIGTERM'
               % (leaver, rc, time.monotonic() - t0))
    except subprocess.TimeoutExpired:
        report(False, 'term-exit', 'node %d still running %.0f s after SIGTERM'
               % (leaver, EXIT_BOUND))
    rest = [i for i in range(N) if i not in (victim, leaver)]
    ok = c.wait_for(lambda: not c.missing(rest, leaver, 'left'), LEAVE_BOUND)
    with c.cond:
        late = c.missing(rest, leaver, 'left')
    report(ok, 'leave', 'all %d remaining reported node %d left in %.1f s'
           % (len(rest), leaver, time.monotonic() - t0) if ok
           else 'no "left" for node %d from %s within %.0f s' % (leaver, late, LEAVE_BOUND))

    time.sleep(3 * HEARTBEAT_MS / 1000)   # would a late "failed" show up?
    with c.cond:
        wrong = ['%d:%s' % (e['node'], e['event']) for e in c.events
                 if e.get('member') == leaver and e['event'] == 'failed']
        false = ['%d->%d' % (e['node'], e['member']) for e in c.events
                 if e['event'] == 'failed' and e.get('member') not in (victim, leaver)]
        bad = list(c.bad_lines)
    report(not wrong, 'left-only', 'nobody reported the leaver failed' if not wrong
           else 'leaver reported failed by %s' % wrong)
    report(not false, 'no-false', 'no false failure' if not false
           else 'false failures: %s' % false)
    report(not bad, 'contract', 'every stdout line is a contract JSON object' if not bad
           else 'bad stdout lines: %s' % bad[:5])

    # The survivors stop gracefully too: exit 0 (a sanitizer report would not).
    for i in rest:
        c.procs[i].send_signal(signal.SIGTERM)
    codes = {}
    for i in rest:
        try:
            codes[i] = c.procs[i].wait(timeout=EXIT_BOUND)
        except subprocess.TimeoutExpired:
            codes[i] = 'still running'
    report(all(v == 0 for v in codes.values()), 'term-all',
           'exit status after SIGTERM: %s' % codes)


GOOD_CONF = """\
[cluster]
node-id = 7
bind-addr = "127.0.0.1"
key = "this is a long enough passphrase"
heartbeat = "1s"

[cluster.roles.acme]
renew = [7]
"""

BAD_CONF = """\
[cluster]
node-id = 7
bind-addr = "127.0.0.1"
"""


def check_config(tmp):
    def run(text, name):
        path = os.path.join(tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return subprocess.run([BIN, '--config', path, '--check-config'], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=20)
    r = run(GOOD_CONF, 'good.conf')
    ok = r.returncode == 0 and re.search(r'^\s*bind-port\s*=\s*1179\s*$', r.stdout, re.M)
    report(bool(ok), 'check-good', 'exit 0, prints "bind-port = 1179"' if ok
           else 'exit %d, stdout %r, stderr %r' % (r.returncode, r.stdout[:300], r.stderr[-300:]))
    r = run(BAD_CONF, 'bad.conf')
    ok = r.returncode == 1 and re.search(r'key', r.stderr, re.I)
    report(bool(ok), 'check-bad', 'exit 1: %s' % r.stderr.strip().splitlines()[-1] if ok
           else 'exit %d, stderr %r' % (r.returncode, r.stderr[-300:]))

    # the mail server's documented example as printed
    seed = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'seed-example.conf')
    lenient = subprocess.run([BIN, '--check-config', seed], stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=20)
    strict = subprocess.run([BIN, '--check-config', seed, '--strict'], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=20)
    ok = (lenient.returncode == 0 and 'roles.acme.renew = [5]' in lenient.stdout
          and 'is read as [cluster.roles.acme]' in lenient.stderr and strict.returncode == 1
          and 'seed-example.conf:10: section [cluste.roles.purge] is misspelt; did you mean '
              '[cluster.roles.purge]?' in strict.stderr)
    report(ok, 'check-strict', 'lenient reads the roles, --strict refuses line 10' if ok
           else 'lenient exit %d %r, strict exit %d %r' % (lenient.returncode, lenient.stderr[-300:],
                                                          strict.returncode, strict.stderr[-300:]))

    keyfile = os.path.join(tmp, 'cluster.key')
    with open(keyfile, 'wb') as f:
        f.write(os.urandom(32))
    os.chmod(keyfile, 0o600)
    args = [BIN, '--check-config', '--bind', '127.0.0.1', '--node-id', '9']
    good = subprocess.run(args + ['--key-file', keyfile], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=20)
    bad = subprocess.run(args + ['--key-file', keyfile + '.missing'], stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=20)
    ok = (good.returncode == 0 and re.search(r'^key-ids = \[0x[0-9a-f]{8}\]$', good.stdout, re.M)
          and bad.returncode == 1 and 'cluster.key.missing' in bad.stderr)
    report(bool(ok), 'key-file', 'one key from the file; a missing file exits 1' if ok
           else 'exit %d %r / exit %d %r' % (good.returncode, good.stderr[-300:],
                                             bad.returncode, bad.stderr[-300:]))


def main():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        print('SKIP: no gossip-node binary at %s (run make)' % BIN)
        return 77
    tmp = tempfile.mkdtemp(prefix='gossip-loopback-')
    key = base64.b64encode(os.urandom(32)).decode()
    c = Cluster(tmp, gossiptest.free_port_block(N), key)
    try:
        check_cluster(c)
    finally:
        c.stop_all()
    check_config(tmp)
    if failures:
        for i in range(N):
            print('--- node %d stderr (last lines) ---\n%s' % (i, c.stderr_tail(i)))
        print('loopback: %d check(s) failed: %s (logs in %s)' % (len(failures), ', '.join(failures), tmp))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print('loopback: all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
