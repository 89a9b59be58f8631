"""Shared plumbing of the tests that run real gossip-node processes on
127.0.0.1 (loopback_test.py, keyrotation_test.py); python3 stdlib only.

ROOT and node_binary() find the repository and the program under test,
free_port_block() finds UDP ports, Checks prints PASS/FAIL lines and keeps
the failures, and Nodes starts the processes, reads their stdout JSON lines
on a thread each, waits on what they printed and stops them.
"""
import json
import os
import random
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def node_binary():
    """$GOSSIP_NODE (relative to the repository unless absolute), else
    examples/gossip-node of this repository."""
    path = os.environ.get('GOSSIP_NODE') or os.path.join(ROOT, 'examples', 'gossip-node')
    if not os.path.isabs(path):
        path = os.path.join(ROOT, path)
    return path


def free_port_block(n):
    """A base port such that base..base+n-1 are free for UDP on 127.0.0.1."""
    for _ in range(200):
        base = random.randrange(20000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(('127.0.0.1', p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError('no free block of %d UDP ports' % n)


class Checks:
    """report() prints one PASS/FAIL line a check (the name padded to
    `width`); the names of the failed ones are in `failures`."""

    def __init__(self, width):
        self.width = width
        self.failures = []

    def report(self, ok, name, detail):
        print('%s %-*s %s' % ('PASS' if ok else 'FAIL', self.width, name, detail), flush=True)
        if not ok:
            self.failures.append(name)
        return ok


class Nodes:
    """gossip-node processes by index, each with its stderr in
    tmp/n<i>.stderr and its stdout read line by line on a thread.

    Every line goes to on_line(i, line, ev) with the lock self.cond held
    (ev is the line parsed as JSON, None if it is not JSON); the waiters
    are woken after each line.  The default keeps JSON objects, tagged
    with '_node': i, in self.events."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = {}
        self.events = []       # dicts, in arrival order
        self.cond = threading.Condition()

    def err_path(self, i):
        return os.path.join(self.tmp, 'n%d.stderr' % i)

    def spawn(self, i, argv, env=None):
        err = open(self.err_path(i), 'wb')
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env)
        err.close()
        self.procs[i] = p
        threading.Thread(target=self._reader, args=(i, p), daemon=True).start()
        return p

    def _reader(self, i, p):
        for raw in p.stdout:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            try:
                ev = json.loads(line)
            except ValueError:
                ev = None
            with self.cond:
                self.on_line(i, line, ev)
                self.cond.notify_all()

    def on_line(self, i, line, ev):
        if isinstance(ev, dict):
            ev['_node'] = i
            self.events.append(ev)

    def wait_for(self, pred, timeout):
        """Wait until pred() is true (checked under the lock); bounded."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.2))
            return True

    def stderr(self, i):
        """All node i wrote to stderr so far ('' if nothing)."""
        try:
            with open(self.err_path(i), 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def stderr_tail(self, i, n=15):
        return ''.join(self.stderr(i).splitlines(keepends=True)[-n:])

    def stop_all(self):
        """SIGKILL what still runs and reap everything (bounded)."""
        for p in self.procs.values():
            if p.poll() is None:
                try:
                    p.kill()
                except OSError:
                    pass
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
