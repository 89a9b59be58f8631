#!/usr/bin/env python3
"""Hostile-datagram flood against a real gossip-node (python3 stdlib only).

Two gossip-node processes on 127.0.0.1 (node 1 seeded with node 0).  After
they have joined and warmed up, node 0's port is flooded for FLOOD_SECONDS
(default 20; `make flood` runs 600) with a mix of random bytes of random
lengths, truncated and bit-flipped envelope headers (version 1, random key
id), plausible headers carrying the cluster's key id with a random sender,
session and body, other format versions, and oversized datagrams.  The
sender is $FLOOD_SENDER (build/test/flood, one C process) when it exists,
else this script sends itself.

Checks:
  rss      node 0's RssAnon grew by less than 256 KiB over the flood
           (VmRSS and RssAnon from /proc/PID/status before and after)
  alive    node 0 still runs
  view     node 1 never printed "failed" for node 0 (and node 0 not for 1)

Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import base64
import hashlib
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import time

import gossiptest

BIN = gossiptest.node_binary()
SECONDS = float(os.environ.get('FLOOD_SECONDS', '20'))
SENDER = os.environ.get('FLOOD_SENDER') or os.path.join(gossiptest.ROOT, 'build', 'test', 'flood')
if not os.path.isabs(SENDER):
    SENDER = os.path.join(gossiptest.ROOT, SENDER)
HEARTBEAT_MS = 500
RSS_BOUND_KIB = 256
JOIN_BOUND = 15.0

checks = gossiptest.Checks(6)
report = checks.report


def status(pid):
    """VmRSS and RssAnon of a process, in KiB."""
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            if k in ('VmRSS', 'RssAnon', 'VmHWM'):
                out[k] = int(v.split()[0])
    return out


def socket_drops(port):
    """Datagrams the kernel dropped on the socket bound to 127.0.0.1:port
    (receive buffer full), from /proc/net/udp; None if not found."""
    try:
        with open('/proc/net/udp') as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[1] == '0100007F:%04X' % port:
                    return int(cols[-1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def python_flood(port, seconds, key_id):
    """The same mix as test/flood.c, from this process."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rnd = random.Random(1)
    pool = os.urandom(1 << 16)
    sent, i = 0, 0
    end = time.monotonic() + seconds
    t0 = time.monotonic()
    while True:
        if (i & 255) == 0 and time.monotonic() >= end:
            break
        cls = i % 5
        i += 1
        off = rnd.randrange(0, len(pool) - 4100)
        if cls == 0:
            d = pool[off:off + rnd.randrange(0, 1501)]
        elif cls == 1:
            n = rnd.randrange(46, 1233)
            d = bytearray(b'\x01\x00' + pool[off:off + n - 2])
            if rnd.random() < 0.5:
                d = d[:rnd.randrange(0, n)]
            else:
                d[rnd.randrange(0, n)] ^= 1 << rnd.randrange(8)
        elif cls == 2:
            n = rnd.randrange(46, 1233)
            d = b'\x01\x00' + struct.pack('>I', key_id) + pool[off:off + n - 6]
        elif cls == 3:
            d = bytes([rnd.randrange(2, 252)]) + pool[off:off + rnd.randrange(45, 245)]
        else:
            d = b'\x01\x00' + pool[off:off + rnd.randrange(2000, 4001)]
        try:
            s.sendto(d, ('127.0.0.1', port))
            sent += 1
        except OSError:
            pass
    took = time.monotonic() - t0
    s.close()
    return 'sent %d datagrams in %.1f s (%.0f/s) [python sender]' % (sent, took, sent / took)


class Pair(gossiptest.Nodes):
    def __init__(self, tmp, base, key):
        super().__init__(tmp)
        self.base, self.key = base, key

    def start(self, i, seeds=()):
        args = [BIN, '--node-id', str(i), '--bind', '127.0.0.1', '--port', str(self.base + i),
                '--key', self.key, '--heartbeat-ms', str(HEARTBEAT_MS)]
        for s in seeds:
            args += ['--seed', '127.0.0.1:%d' % (self.base + s)]
        self.spawn(i, args)

    def seen(self, observer, member, event):
        return any(e.get('_node') == observer and e.get('member') == member and e.get('event') == event
                   for e in self.events)


def run(tmp):
    raw = os.urandom(32)
    key = base64.b64encode(raw).decode()
    key_id = struct.unpack('>I', hashlib.sha256(b'libgossip key id v1' + raw).digest()[:4])[0]
    base = gossiptest.free_port_block(2)
    c = Pair(tmp, base, key)
    try:
        c.start(0)
        if not report(c.wait_for(lambda: any(e.get('event') == 'ready' for e in c.events), 5.0),
                      'ready', 'node 0 is up'):
            return
        c.start(1, seeds=[0])
        ok = c.wait_for(lambda: c.seen(1, 0, 'join') and c.seen(0, 1, 'join'), JOIN_BOUND)
        if not report(ok, 'join', 'nodes 0 and 1 joined each other' if ok else 'no join within %.0f s' % JOIN_BOUND):
            return
        pid = c.procs[0].pid
        time.sleep(3)
        idle = status(pid)
        use_c = os.access(SENDER, os.X_OK)

        def flood(seconds):
            if use_c:
                out = subprocess.run([SENDER, '127.0.0.1', str(base), '%g' % seconds, '%08x' % key_id],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 30)
                return out.stdout.decode().strip()
            return python_flood(base, seconds, key_id)

        # warm-up: the first flood seconds settle the allocator's arenas
        flood(2.0)
        time.sleep(1)
        before = status(pid)
        drops0 = socket_drops(base)
        print('flooding 127.0.0.1:%d for %g s (key id %08x)' % (base, SECONDS, key_id), flush=True)
        line = flood(SECONDS)
        print(line, flush=True)
        drops1 = socket_drops(base)
        if drops0 is not None and drops1 is not None:
            print('kernel dropped %d of them at node 0\'s full receive buffer; node 0 processed the rest'
                  % (drops1 - drops0), flush=True)
        time.sleep(2)
        alive = c.procs[0].poll() is None
        after = status(pid) if alive else {}
        print('node 0 RSS KiB: idle VmRSS %d RssAnon %d; before flood VmRSS %d RssAnon %d; '
              'after VmRSS %s RssAnon %s (VmHWM %s)'
              % (idle['VmRSS'], idle['RssAnon'], before['VmRSS'], before['RssAnon'],
                 after.get('VmRSS', '-'), after.get('RssAnon', '-'), after.get('VmHWM', '-')), flush=True)
        report(alive, 'alive', 'node 0 still runs' if alive else 'node 0 exited with %s' % c.procs[0].returncode)
        if alive:
            grow = after['RssAnon'] - before['RssAnon']
            report(grow < RSS_BOUND_KIB, 'rss', 'RssAnon grew %+d KiB over the flood (bound %d KiB; %+d KiB since idle)'
                   % (grow, RSS_BOUND_KIB, after['RssAnon'] - idle['RssAnon']))
        time.sleep(2 * HEARTBEAT_MS / 1000)
        with c.cond:
            bad1 = c.seen(1, 0, 'failed') or c.seen(1, 0, 'suspect')
            bad0 = c.seen(0, 1, 'failed')
            susp = sum(1 for e in c.events if e.get('event') == 'suspect')
        report(not c.seen(1, 0, 'failed') and not bad0, 'view',
               'node 1 never reported node 0 failed, nor node 0 node 1 (%d suspect events%s)'
               % (susp, ', node 1 suspected node 0' if bad1 else ''))
        err = c.stderr(0)
        drops = [l for l in err.splitlines() if 'dropped' in l or 'key id' in l]
        print('node 0 logged %d drop warnings (rate-limited), last: %s'
              % (len(drops), drops[-1][:160] if drops else '-'), flush=True)
    finally:
        c.stop_all()


def main():
    if not os.access(BIN, os.X_OK):
        print('skipped: %s is not built (make all)' % BIN)
        return 77
    if not os.path.exists('/proc/self/status'):
        print('skipped: no /proc')
        return 77
    with tempfile.TemporaryDirectory(prefix='gossip-flood-') as tmp:
        run(tmp)
    if checks.failures:
        print('FAILED: %s' % ', '.join(checks.failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
