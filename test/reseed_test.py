#!/usr/bin/env python3
"""Healing without help, through the seeds (python3 stdlib only).

A node X whose every peer dies and comes back as a new process, two of
them on new ports, with only the seed's address unchanged, must find the
new cluster by itself: X re-probes failed members and knocks on seeds that
are no live member's address, so it learns the new lives and the new
addresses, and the new cluster learns X.

  converge   X (node 3) and nodes 0..2 see each other (node 0 is the seed)
  failed     nodes 0..2 are SIGKILLed: X reports each of them failed
  back       node 0 restarts on the seed address, nodes 1 and 2 on new
             ports: X reports all three alive again, and all three
             report X, with nobody's help (no restart of X, no new seeds)

And restarting from a saved view (--view-file, gossip_member_restore()):
  view-saved three nodes (10 is the seed) keep their views in files
  view-back  all three stop; 11 and 12 restart without any seed and with
             the seed still down: from their saved views they find each
             other again, and report the seed failed

The binary is $GOSSIP_NODE, else examples/gossip-node of this repository.
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import base64
import os
import shutil
import sys
import tempfile
import time

import gossiptest

BIN = gossiptest.node_binary()
HEARTBEAT_MS = 300
JOIN_BOUND = 10.0   # s
FAIL_BOUND = 15.0   # s: suspicion of a silent member at this heartbeat, with margin
BACK_BOUND = 15.0   # s: a few reconnect intervals (5 heartbeats each)
VIEW_BOUND = 10.0   # s: the view files are written within a heartbeat of a change
X = 3

checks = gossiptest.Checks(10)
report = checks.report


def last_event(nodes, observer, member, first=0):
    """The last event `observer` printed about `member`, among the events
    from index `first` on (None if none)."""
    ev = [e for e in nodes.events[first:]
          if e.get('_node') == observer and e.get('member') == member and 'event' in e]
    return ev[-1]['event'] if ev else None


def view_lines(path):
    try:
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    except OSError:
        return []


def restart_from_view(key):
    tmp = tempfile.mkdtemp(prefix='gossip-view-')
    nodes = gossiptest.Nodes(tmp)
    base = gossiptest.free_port_block(3)
    ids = (10, 11, 12)
    view = {i: os.path.join(tmp, 'view-%d' % i) for i in ids}

    def start(i, seeded):
        argv = [BIN, '--node-id', str(i), '--bind', '127.0.0.1', '--port', str(base + i - 10),
                '--key', key, '--heartbeat-ms', str(HEARTBEAT_MS), '--view-file', view[i]]
        if seeded and i != 10:
            argv += ['--seed', '127.0.0.1:%d' % base]
        nodes.spawn(i, argv)

    def last_since(first, observer, member):
        return last_event(nodes, observer, member, first)

    try:
        for i in ids:
            start(i, True)
        saved = lambda: all(sorted(int(f[0]) for f in view_lines(view[i])) == [j for j in ids if j != i]
                            for i in ids)
        ok = nodes.wait_for(saved, JOIN_BOUND + VIEW_BOUND)
        if not report(ok, 'view-saved', 'each file lists the two others: %s'
                      % {i: [f[0] for f in view_lines(view[i])] for i in ids}):
            return
        for i in ids:
            nodes.procs[i].terminate()
        for i in ids:
            nodes.procs[i].wait(timeout=5)
        first = len(nodes.events)
        start(11, False)
        start(12, False)
        t0 = time.monotonic()
        found = lambda: (last_since(first, 11, 12) in ('join', 'alive') and
                         last_since(first, 12, 11) in ('join', 'alive') and
                         last_since(first, 11, 10) == 'failed' and last_since(first, 12, 10) == 'failed')
        ok = nodes.wait_for(found, FAIL_BOUND)
        report(ok, 'view-back', '11->12:%s 12->11:%s 11->10:%s 12->10:%s after %.1f s (bound %.0f s)'
               % (last_since(first, 11, 12), last_since(first, 12, 11), last_since(first, 11, 10),
                  last_since(first, 12, 10), time.monotonic() - t0, FAIL_BOUND))
    finally:
        nodes.stop_all()
        if checks.failures:
            print(nodes.stderr_tail(11))
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.access(BIN, os.X_OK):
        print('reseed: %s is not built (run make)' % BIN)
        return 77
    tmp = tempfile.mkdtemp(prefix='gossip-reseed-')
    nodes = gossiptest.Nodes(tmp)
    key = base64.b64encode(os.urandom(32)).decode()
    base = gossiptest.free_port_block(6)
    ports = list(range(base, base + 6))
    seed = '127.0.0.1:%d' % ports[0]

    def start(i, port):
        argv = [BIN, '--node-id', str(i), '--bind', '127.0.0.1', '--port', str(port),
                '--key', key, '--heartbeat-ms', str(HEARTBEAT_MS)]
        if port != ports[0]:
            argv += ['--seed', seed]
        nodes.spawn(i, argv)

    try:
        for i in range(4):
            start(i, ports[i])
        everyone = lambda: all(last_event(nodes, o, m) in ('join', 'alive')
                               for o in range(4) for m in range(4) if o != m)
        if not report(nodes.wait_for(everyone, JOIN_BOUND), 'converge', 'bound %.0f s' % JOIN_BOUND):
            return 1

        for i in range(3):
            nodes.procs[i].kill()
            nodes.procs[i].wait(timeout=5)
        t0 = time.monotonic()
        x_sees_failed = lambda: all(last_event(nodes, X, m) == 'failed' for m in range(3))
        ok = nodes.wait_for(x_sees_failed, FAIL_BOUND)
        if not report(ok, 'failed', 'X reports nodes 0..2 failed after %.1f s (bound %.0f s)'
                      % (time.monotonic() - t0, FAIL_BOUND)):
            return 1

        # new processes: the seed on its old address, the others on new ports
        start(0, ports[0])
        start(1, ports[4])
        start(2, ports[5])
        t0 = time.monotonic()
        healed = lambda: (all(last_event(nodes, X, m) in ('join', 'alive') for m in range(3)) and
                          all(last_event(nodes, o, X) in ('join', 'alive') for o in range(3)))
        ok = nodes.wait_for(healed, BACK_BOUND)
        views = ', '.join('X->%d:%s %d->X:%s' % (m, last_event(nodes, X, m), m, last_event(nodes, m, X))
                          for m in range(3))
        report(ok, 'back', '%s after %.1f s (bound %.0f s)' % (views, time.monotonic() - t0, BACK_BOUND))
        nodes.stop_all()
        restart_from_view(key)
        return 0 if not checks.failures else 1
    finally:
        nodes.stop_all()
        if checks.failures:
            print(nodes.stderr_tail(X))
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
