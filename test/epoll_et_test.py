#!/usr/bin/env python3
"""examples/epoll-et on 127.0.0.1: libgossip in an edge-triggered epoll loop.

Two epoll-et processes; while they run, node 1's port is flooded with a
burst of 600 short datagrams at once (what an edge-triggered registration
is woken for once).  Checks, each bounded:
  join     both report "join" for the other
  burst    after the burst a third node still joins through node 1 (a loop
           that read only the first batch of the burst and waited for a
           wakeup would still answer, but late; here it must drain)
  exit     all three leave and exit 0 after their run time

The binary is $EPOLL_ET, else build/examples/epoll-et.
Exit 0 = pass, 1 = fail, 77 = skipped.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

import gossiptest

BIN = os.environ.get('EPOLL_ET') or os.path.join(gossiptest.ROOT, 'build', 'examples', 'epoll-et')
RUN_S = 12
checks = gossiptest.Checks(6)


class Et(gossiptest.Nodes):
    def __init__(self, tmp):
        super().__init__(tmp)
        self.lines = []

    def on_line(self, i, line, ev):
        self.lines.append((i, line))

    def joined(self, i, j):
        return (i, 'member %d: join' % j) in self.lines


def main():
    if not os.access(BIN, os.X_OK):
        print('epoll-et not built (%s)' % BIN)
        return 77
    base = gossiptest.free_port_block(3)
    with tempfile.TemporaryDirectory() as tmp:
        nodes = Et(tmp)
        try:
            nodes.spawn(1, [BIN, '1', str(base), '', str(RUN_S)])
            nodes.spawn(2, [BIN, '2', str(base + 1), '127.0.0.1:%d' % base, str(RUN_S)])
            ok = nodes.wait_for(lambda: nodes.joined(1, 2) and nodes.joined(2, 1), 8)
            checks.report(ok, 'join', 'nodes 1 and 2 see each other' if ok else nodes.stderr_tail(1))
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(600):
                tx.sendto(b'\x02' + b'\x00' * 7, ('127.0.0.1', base))
            tx.close()
            nodes.spawn(3, [BIN, '3', str(base + 2), '127.0.0.1:%d' % base, str(RUN_S - 4)])
            ok = nodes.wait_for(lambda: nodes.joined(1, 3) and nodes.joined(3, 1), 6)
            checks.report(ok, 'burst', 'node 3 joined through node 1 after a 600-datagram burst'
                          if ok else nodes.stderr_tail(1))
            codes = []
            for i in (1, 2, 3):
                try:
                    codes.append(nodes.procs[i].wait(timeout=RUN_S + 5))
                except subprocess.TimeoutExpired:
                    codes.append(None)
            checks.report(codes == [0, 0, 0], 'exit', 'exit codes %s' % codes)
        finally:
            nodes.stop_all()
    print('%d passed, %d failed' % (3 - len(checks.failures), len(checks.failures)))
    return 1 if checks.failures else 0


if __name__ == '__main__':
    sys.exit(main())
