"""A DNS server for the tests, on 127.0.0.1 (python3 stdlib only).

FakeDns(records) answers UDP queries on a free port of 127.0.0.1 from a
thread.  records maps a name to a Record: its IPv4 addresses (A records)
and its mode, which the test may change while the server runs:
  'answer'  the A records at once (an AAAA query: no records, NOERROR)
  'late'    the same after `delay` seconds
  'never'   no answer at all
A name is also matched with a suffix appended (what a resolver's search
list makes of it); any other name is NXDOMAIN.  Every query is kept in
`queries` as (name, qtype).  stop() ends the thread and closes the socket.

    dns = FakeDns({'seeds.test': Record(['127.0.0.1'], mode='never')})
    ... GOSSIP_DNS_SERVERS=127.0.0.1:<dns.port> ...
    dns.records['seeds.test'].mode = 'answer'
"""
import socket
import struct
import threading

TYPE_A, TYPE_AAAA = 1, 28


class Record:
    def __init__(self, addrs, mode='answer', delay=0.0, ttl=5):
        self.addrs, self.mode, self.delay, self.ttl = list(addrs), mode, delay, ttl


def parse_question(msg):
    """(id, flags, name, qtype, end of the question) of a query, or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack('!HHH', msg[:6])
    if qd != 1 or flags & 0x8000:
        return None
    labels, i = [], 12
    for _ in range(128):                      # bounded: at most 127 labels
        if i >= len(msg):
            return None
        n = msg[i]
        i += 1
        if n == 0:
            break
        if n & 0xc0 or i + n > len(msg):
            return None                       # no compression in a question
        labels.append(msg[i:i + n].decode('ascii', 'replace').lower())
        i += n
    else:
        return None
    if i + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack('!HH', msg[i:i + 4])
    return qid, flags, '.'.join(labels), qtype, i + 4


def build_answer(msg, qid, flags, qend, rcode, addrs, ttl):
    head = struct.pack('!HHHHHH', qid, 0x8000 | (flags & 0x0100) | 0x0080 | rcode, 1, len(addrs), 0, 0)
    out = head + msg[12:qend]
    for a in addrs:
        out += struct.pack('!HHHIH', 0xc00c, TYPE_A, 1, ttl, 4) + socket.inet_aton(a)
    return out


class FakeDns:
    def __init__(self, records):
        self.records = records
        self.queries = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.timers = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def lookup(self, name):
        for key, rec in self.records.items():
            if name == key or name.startswith(key + '.'):
                return rec
        return None

    def _send(self, data, peer):
        try:
            self.sock.sendto(data, peer)
        except OSError:
            pass

    def _serve(self):
        while self.running:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            q = parse_question(msg)
            if not q:
                continue
            qid, flags, name, qtype, qend = q
            with self.lock:
                self.queries.append((name, qtype))
                rec = self.lookup(name)
                mode = rec.mode if rec else 'nx'
            if mode == 'never':
                continue
            if mode == 'nx':
                self._send(build_answer(msg, qid, flags, qend, 3, [], 0), peer)
                continue
            addrs = rec.addrs if qtype == TYPE_A else []
            reply = build_answer(msg, qid, flags, qend, 0, addrs, rec.ttl)
            if mode == 'late':
                t = threading.Timer(rec.delay, self._send, args=(reply, peer))
                t.daemon = True
                with self.lock:
                    self.timers.append(t)
                t.start()
            else:
                self._send(reply, peer)

    def asked(self, name):
        """How many queries for `name` (or its search-list forms) came."""
        with self.lock:
            return sum(1 for n, _ in self.queries if n == name or n.startswith(name + '.'))

    def stop(self):
        self.running = False
        with self.lock:
            for t in self.timers:
                t.cancel()
        self.thread.join(timeout=2)
        self.sock.close()
