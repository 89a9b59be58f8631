#!/usr/bin/env python3
"""layers.py - the file graph of lib/ runs one way.

Every module (a lib/X.c with its lib/X.h) has a place in one order, in
four named layers.  A module may include the header of, and call, only
modules placed before it, so the graph has no cycle and no call climbs
back up a floor.  Checked on what the code really does: the quoted
#includes of every lib/*.c and lib/*.h, and the undefined symbols of every
object (nm), matched to the object that defines them.  Also: protocol-core
modules call no crypto_*/env_* and no udp_* (the outbox is their only way
out); lib/ never includes internal.h (the tests' umbrella header); every
lib/*.c is placed.

  test/layers.py            compiles lib/*.c into a temporary folder (CC, default cc)
Exit 0 when clean, 1 with every violation listed.
"""
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

LAYERS = [
    ('values', ['names', 'rng', 'wire', 'addr', 'window', 'crypto', 'members', 'lives', 'inbound', 'dissem',
                'outbox', 'roles', 'config', 'config_ini']),
    ('core', ['core', 'log', 'message', 'deliver', 'query', 'probe', 'merge', 'dispatch', 'maintain']),
    ('shell', ['udp', 'handshake', 'open', 'send', 'resolve']),
    ('api', ['keyring', 'gossip']),
]
# Headers that are not a module of their own: the public API and its
# released layouts (everyone), the configuration internals (config.c's),
# the tests' umbrella (nobody).
HEADER_OWNER = {'gossip.h': None, 'abi.h': None, 'config_int.h': 'config', 'roles.h': 'roles'}
NO_CRYPTO_OR_SOCKET = {m for _, mods in LAYERS if _ == 'core' for m in mods}
FORBIDDEN_CALLS = re.compile(r'^(crypto_|env_|udp_)')

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
LIB = os.path.join(ROOT, 'lib')

rank, layer_of = {}, {}
for name, mods in LAYERS:
    for m in mods:
        rank[m] = len(rank)
        layer_of[m] = name


def module_of_header(h):
    if h in HEADER_OWNER:
        return HEADER_OWNER[h]
    return h[:-2] if h.endswith('.h') else None


def main():
    errors = []
    sources = sorted(f for f in os.listdir(LIB) if f.endswith('.c'))
    headers = sorted(f for f in os.listdir(LIB) if f.endswith('.h'))
    for f in sources:
        if f[:-2] not in rank:
            errors.append('lib/%s: not placed in a layer (add it to test/layers.py)' % f)
    for f in headers:
        if f != 'internal.h' and module_of_header(f) not in rank and f not in HEADER_OWNER:
            errors.append('lib/%s: header of no placed module' % f)

    # includes
    inc_re = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
    for f in sources + headers:
        if f == 'internal.h':
            continue
        me = f[:-2] if f.endswith('.c') else module_of_header(f)
        if me is None:
            continue
        with open(os.path.join(LIB, f)) as fh:
            for n, line in enumerate(fh, 1):
                m = inc_re.match(line)
                if not m:
                    continue
                h = m.group(1)
                if h == 'internal.h':
                    errors.append('lib/%s:%d: includes internal.h (for tests only)' % (f, n))
                    continue
                dep = module_of_header(h)
                if dep is None or dep == me:
                    continue
                if dep not in rank:
                    errors.append('lib/%s:%d: includes %s, which belongs to no module' % (f, n, h))
                elif rank[dep] > rank[me]:
                    errors.append('lib/%s:%d: includes %s: %s (%s) may not depend on %s (%s), placed after it'
                                  % (f, n, h, me, layer_of[me], dep, layer_of[dep]))

    # calls
    cc = os.environ.get('CC', 'cc')
    with tempfile.TemporaryDirectory() as tmp:
        def build(f):
            o = os.path.join(tmp, f[:-2] + '.o')
            p = subprocess.run([cc, '-std=c11', '-D_GNU_SOURCE', '-I' + os.path.join(ROOT, 'include'),
                                '-I' + LIB, '-O0', '-c', '-o', o, os.path.join(LIB, f)],
                               capture_output=True, text=True)
            return f, p.returncode, p.stderr
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
            for f, rc, err in ex.map(build, sources):
                if rc != 0:
                    errors.append('lib/%s: does not compile:\n%s' % (f, err))
        if any('does not compile' in e for e in errors):
            report(errors)
        defined, undefined = {}, {}
        for f in sources:
            me = f[:-2]
            out = subprocess.run(['nm', os.path.join(tmp, me + '.o')], capture_output=True,
                                 text=True, check=True).stdout
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[1] in 'TDBR':
                    defined[parts[2]] = me
                elif len(parts) == 2 and parts[0] == 'U':
                    undefined.setdefault(me, set()).add(parts[1])
        edges = 0
        for me, syms in sorted(undefined.items()):
            for s in sorted(syms):
                dep = defined.get(s)
                if dep is None or dep == me:
                    continue
                edges += 1
                if me in rank and dep in rank and rank[dep] > rank[me]:
                    errors.append('lib/%s.c calls %s() of lib/%s.c: %s (%s) may not call %s (%s), placed after it'
                                  % (me, s, dep, me, layer_of[me], dep, layer_of[dep]))
                if me in NO_CRYPTO_OR_SOCKET and FORBIDDEN_CALLS.match(s):
                    errors.append('lib/%s.c calls %s(): the protocol core seals, opens and sends only '
                                  'through the outbox' % (me, s))
    if errors:
        report(errors)
    print('layers: %d modules in %s; %d calls across files, all downward; includes likewise'
          % (len(rank), ' < '.join(n for n, _ in LAYERS), edges))


def report(errors):
    for e in errors:
        print(e)
    print('layers: %d violation(s)' % len(errors))
    sys.exit(1)


if __name__ == '__main__':
    main()
