#!/usr/bin/env python3
"""Recorded traffic replayed at real gossip-node processes, as an attacker
on the path would (issue 11; python3 stdlib only, root for raw sockets).

Four nodes on 127.0.0.1 (one port each).  Every datagram between them is
recorded from the loopback interface (an AF_PACKET socket) for a few
seconds of normal traffic (joins, probes, gossip, a metadata change).
Then, each with a raw socket (IP_HDRINCL) that spoofs the original source
address and port:

  restarted   node 0 is restarted (same id, same port); node 1's recorded
              datagrams to its previous life are replayed to it
  cross       node 1's datagrams recorded on their way to node 0 are
              replayed to node 2
  reaped      node 3 is killed and reaped everywhere (reap-time 2 s); its
              recorded datagrams are replayed to nodes 0 and 1 from its
              address
  amplify     every recorded datagram is replayed to every node from a
              spoofed source where this test listens (a UDP socket): the
              bytes that come back are at most 3x the bytes sent

Asserted for the first three: no node prints any member or user event
during the replay and the second after it (a replay changes nothing), and
node 3 is never seen again.  Exit 0 = pass, 1 = fail, 77 = skipped (not
root, no raw sockets, or no binary).
"""
import base64
import os
import shutil
import socket
import struct
import sys
import tempfile
import time

import gossiptest

BIN = gossiptest.node_binary()
HEARTBEAT_MS = 200
N = 4
RECORD_S = 4.0
ETH_P_ALL = 0x0003


def checksum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def udp_packet(src_port, dst_port, payload):
    """IPv4 + UDP from 127.0.0.1:src_port to 127.0.0.1:dst_port."""
    src = dst = socket.inet_aton('127.0.0.1')
    ulen = 8 + len(payload)
    pseudo = src + dst + struct.pack('!BBH', 0, socket.IPPROTO_UDP, ulen)
    udp = struct.pack('!HHHH', src_port, dst_port, ulen, 0)
    csum = checksum(pseudo + udp + payload) or 0xffff
    udp = struct.pack('!HHHH', src_port, dst_port, ulen, csum)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0, 0, 64, socket.IPPROTO_UDP, 0, src, dst)
    ip = ip[:10] + struct.pack('!H', checksum(ip)) + ip[12:]
    return ip + udp + payload


class Recorder:
    """Datagrams between the nodes' ports, read from lo."""

    def __init__(self, ports):
        self.ports = set(ports)
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        self.s.bind(('lo', 0))
        self.s.settimeout(0.05)
        self.got = []  # (src_port, dst_port, payload)

    def run(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end and len(self.got) < 20000:
            try:
                frame, addr = self.s.recvfrom(70000)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # lo shows each frame twice
            ip = frame[14:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != socket.IPPROTO_UDP:
                continue
            ihl = (ip[0] & 15) * 4
            sp, dp, ulen = struct.unpack('!HHH', ip[ihl:ihl + 6])
            if sp in self.ports and dp in self.ports:
                self.got.append((sp, dp, bytes(ip[ihl + 8:ihl + ulen])))

    def close(self):
        self.s.close()


class Cluster(gossiptest.Nodes):
    def __init__(self, tmp, base, key, conf):
        super().__init__(tmp)
        self.base, self.key, self.conf = base, key, conf

    def start(self, i):
        args = [BIN, '--node-id', str(i), '--bind', '127.0.0.1', '--port', str(self.base + i),
                '--key', self.key, '--heartbeat-ms', str(HEARTBEAT_MS), '--config', self.conf]
        if i != 0:
            args += ['--seed', '127.0.0.1:%d' % self.base]
        self.spawn(i, args)

    def stop(self, i):
        p = self.procs.pop(i)
        p.kill()
        p.wait(timeout=5)

    def sees_alive(self, obs, subj):
        last = None
        for e in self.events:
            if e['_node'] == obs and e.get('member') == subj and e.get('event') in (
                    'join', 'alive', 'suspect', 'failed', 'left', 'removed'):
                last = e['event']
        return last in ('join', 'alive')

    def events_since(self, k):
        return [e for e in self.events[k:] if 'member' in e or e.get('event') == 'user']


def main():
    if not (os.path.isfile(BIN) and os.access(BIN, os.X_OK)):
        print('SKIP: no gossip-node binary at %s (run make)' % BIN)
        return 77
    try:
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        rec_probe = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        rec_probe.close()
    except (PermissionError, OSError) as e:
        print('SKIP: raw sockets need root (%s)' % e)
        return 77
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    tmp = tempfile.mkdtemp(prefix='gossip-replay-')
    conf = os.path.join(tmp, 'gossip.conf')
    with open(conf, 'w') as f:
        f.write('[cluster]\nreap-time = "2s"\n')
    key = base64.b64encode(os.urandom(32)).decode()
    base = gossiptest.free_port_block(N + 1)
    sink_port = base + N
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', sink_port))
    sink.settimeout(0.05)
    checks = gossiptest.Checks(14)
    c = Cluster(tmp, base, key, conf)
    ports = [base + i for i in range(N)]
    rec = Recorder(ports)

    def send(src_port, dst_port, payload):
        raw.sendto(udp_packet(src_port, dst_port, payload), ('127.0.0.1', 0))

    def all_alive(nodes):
        return all(c.sees_alive(o, s) for o in nodes for s in nodes if o != s)

    def quiet_after(k, seconds, name, detail):
        time.sleep(seconds)
        with c.cond:
            evs = c.events_since(k)
        return checks.report(not evs, name, detail + ('; events: %s' % evs[:5] if evs else '; no event'))

    try:
        for i in range(N):
            c.start(i)
            time.sleep(0.05)
        ok = c.wait_for(lambda: all_alive(range(N)), 15)
        if not checks.report(ok, 'converge', 'all %d see all alive' % N if ok else 'not converged in 15 s'):
            return 1
        rec.run(RECORD_S)
        rec.close()
        got = rec.got
        by = lambda s, d: [p for (sp, dp, p) in got if sp == base + s and dp == base + d]
        checks.report(len(by(1, 0)) >= 5 and len(by(3, 0)) >= 5, 'recorded',
                      '%d datagrams in %.0f s (1->0: %d, 3->0: %d)' % (len(got), RECORD_S, len(by(1, 0)),
                                                                     len(by(3, 0))))

        # restarted: node 0's next life gets node 1's traffic to the last one
        c.stop(0)
        c.start(0)
        ok = c.wait_for(lambda: all_alive(range(N)), 15)
        checks.report(ok, 'rejoin', 'node 0 restarted and seen by all' if ok else 'node 0 not seen again')
        time.sleep(1.0)
        with c.cond:
            k = len(c.events)
        for p in by(1, 0):
            send(base + 1, base + 0, p)
        quiet_after(k, 1.0, 'restarted', '%d datagrams of 1->0 replayed to node 0\'s new life' % len(by(1, 0)))
        # (and they arrived: node 0 says what it dropped)
        checks.report('sealed for another receiver' in c.stderr(0), 'restarted-seen',
                      'node 0 logged the drop of datagrams sealed for its previous life')

        # cross: recorded on the way to node 0, replayed to node 2
        with c.cond:
            k = len(c.events)
        for p in by(1, 0):
            send(base + 1, base + 2, p)
        quiet_after(k, 1.0, 'cross', '%d datagrams of 1->0 replayed to node 2' % len(by(1, 0)))
        checks.report('sealed for another receiver' in c.stderr(2), 'cross-seen',
                      'node 2 logged the drop of datagrams sealed for another node')

        # reaped: node 3 dies, is reaped, and its recording comes back
        c.stop(3)
        ok = c.wait_for(lambda: all(any(e['_node'] == o and e.get('member') == 3 and e.get('event') == 'removed'
                                        for e in c.events) for o in range(3)), 30)
        checks.report(ok, 'reap', 'node 3 failed and removed by all' if ok else 'node 3 not removed in 30 s')
        with c.cond:
            k = len(c.events)
        n3 = [p for (sp, dp, p) in got if sp == base + 3]
        for p in n3:
            send(base + 3, base + 0, p)
            send(base + 3, base + 1, p)
        quiet_after(k, 1.5, 'reaped', '%d datagrams of node 3 replayed to nodes 0 and 1' % len(n3))
        checks.report('does not know' in c.stderr(1) or 'replayed or stale' in c.stderr(1), 'reaped-seen',
                      'node 1 logged the drop of the reaped life\'s datagrams')

        # amplify: everything, to everyone, from a spoofed source we listen on
        sent = back = 0
        for (sp, dp, p) in got:
            for d in range(3):
                send(sink_port, base + d, p)
                sent += len(p)
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                data = sink.recv(70000)
                back += len(data)
            except socket.timeout:
                pass
        ratio = back / sent if sent else 0.0
        checks.report(sent > 0 and back <= 3 * sent, 'amplify',
                      '%d bytes replayed from a spoofed source, %d bytes sent back to it (x%.3f, bound x3)' %
                      (sent, back, ratio))
        ok = all_alive(range(3))
        checks.report(ok, 'alive', 'nodes 0-2 still see each other alive' if ok else 'a node lost another')
    finally:
        c.stop_all()
        sink.close()
        raw.close()
    if checks.failures:
        for i in range(N):
            print('--- node %d stderr (last lines) ---\n%s' % (i, c.stderr_tail(i)))
        print('replay: %d check(s) failed: %s (logs in %s)' % (len(checks.failures), ', '.join(checks.failures),
                                                             tmp))
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print('replay: all checks passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
