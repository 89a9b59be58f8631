#!/usr/bin/env python3
"""Role analysis and the README table for bench/rolling.sh.

  rolling_report.py roles RESULT.json [--bench-dir DIR] [--rundir DIR] [--out FILE]
      Per restart step and per role of a kept libgossip `rolling` run: how
      the holder set changed.  RESULT.json is cluster_bench.py's file (its
      runs[0].rundir, relative to the bench folder, holds the node logs;
      the run must have been made with --keep-logs).
  rolling_report.py table BASE...
      The Markdown table of the README from BASE.json (cluster_bench.py),
      BASE.roles.json (above, libgossip only) and BASE.meta.json (load and
      commit, written by rolling.sh).

Holding follows cluster_bench.py's rule: node X holds role R at time t when
a process of X is running at t and its last `role` line for R (since that
process started) says held.  Process start and exit times are the driver's
(runs[0].restarts[]); line times are the node's ts_ms (same clock).

A step is one restart: from the node's drain signal to the next node's
drain signal (the last one to the end of the run).  For a role whose holder
set H0 at the start of step i contains i, the goal is exactly two moves:
  away - during the drain (drain signal .. SIGTERM), to H0 - {i} plus one
         other node j (for a role every node holds: to H0 - {i});
  back - after the new process started, to H0 again;
with no other holder set in between (no third node, nothing moves while
the node still drains or is down).  A role that i does not hold must not
move at all in step i.  Transient sets between two moves (both holders at
once, or none) are not moves; their durations are reported as overlap
and unheld time (overlap is a miss for a QUORUM role: never two holders).
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

INF = float('inf')


def load_json(path):
    with open(path) as f:
        return json.load(f)


def libgossip_result(doc):
    for r in doc.get('results', []):
        if r.get('impl') == 'libgossip' and r.get('scenario') == 'rolling' and r.get('runs'):
            return r
    return None


def role_flags(res):
    """Role -> {'quorum': bool, 'nodes': [...]}, from the --config file named
    in the extra arguments (if it is still there)."""
    out = {}
    args = ' '.join(res.get('settings', {}).get('extra_args', [])).split()
    cfg = None
    for k, a in enumerate(args):
        if a == '--config' and k + 1 < len(args):
            cfg = args[k + 1]
        elif a == '--role' and k + 1 < len(args):
            name, _, ids = args[k + 1].partition('=')
            out[name] = {'quorum': False, 'nodes': [int(x) for x in ids.split(',') if x]}
    if cfg and os.path.exists(cfg):
        sect = None
        for line in open(cfg):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            m = re.match(r'^\[(.*)\]$', line)
            if m:
                sect = m.group(1).strip()
                continue
            k, _, v = line.partition('=')
            k, v = k.strip(), v.strip()
            if sect == 'cluster.roles':
                if k.endswith('.quorum'):
                    out.setdefault(k[:-7], {'quorum': False, 'nodes': []})['quorum'] = v == 'true'
                elif not k.endswith('.failover'):
                    ids = [int(x) for x in re.findall(r'\d+', v)]
                    out.setdefault(k, {'quorum': False, 'nodes': []})['nodes'] = ids
    return out


def read_role_lines(rundir):
    """node -> [(ts, role, held)] in file order."""
    lines = {}
    for path in glob.glob(os.path.join(rundir, 'libgossip-n*.log')):
        node = int(re.search(r'-n(\d+)\.log$', path).group(1))
        out = lines.setdefault(node, [])
        with open(path, errors='replace') as f:
            for raw in f:
                js = raw.split(' ', 1)[-1] if raw[:1].isdigit() else raw
                try:
                    o = json.loads(js)
                except ValueError:
                    continue
                if isinstance(o, dict) and o.get('event') == 'role':
                    out.append((int(o['ts_ms']), str(o['role']), o.get('held') is True))
    return lines


def timelines(run, lines, n):
    """role -> [(ts, frozenset holders)]: the holder set from -inf on, one
    entry per change.  Lines are applied one at a time in each node's file
    order, so a set that lasted less than a millisecond (a node that said
    held and not held in the same ms) is kept, with zero duration."""
    exits, starts = {}, {}
    for r in run['restarts']:
        exits[r['node']] = r['t_exit_ms']
        starts[r['node']] = r['t_start_ms']
    pts = []          # (ts, kind, node, index in the file, role or None, held)
    roles = set()
    for node, ls in lines.items():
        for k, (ts, role, held) in enumerate(ls):
            roles.add(role)
            pts.append((ts, 1, node, k, role, held))
        if node in exits:
            pts.append((exits[node], 0, node, -1, None, False))
            pts.append((starts[node], 0, node, -1, None, False))
    pts.sort(key=lambda p: p[:4])
    out = {}
    for role in sorted(roles):
        held, tl = set(), [(-INF, frozenset())]
        for ts, kind, node, _, rl, h in pts:
            if rl not in (None, role):
                continue
            (held.add if kind == 1 and h else held.discard)(node)
            if frozenset(held) != tl[-1][1]:
                tl.append((ts, frozenset(held)))
        out[role] = tl
    return out


def at(tl, t):
    cur = tl[0][1]
    for ts, s in tl:
        if ts > t:
            break
        cur = s
    return cur


def moves_of(seq, want, everyone):
    """The holder sets of [(ts, set)] that count as moves: for a role every
    node holds, each change; otherwise only sets of the normal size (one
    holder): both holders at once, or none, are transient."""
    out = []
    for k, (ts, st) in enumerate(seq):
        if k and not everyone and len(st) != want:
            continue
        if not out or out[-1][1] != st:
            out.append((ts, st))
    return out


def fmt_set(s):
    return '+'.join(str(x) for x in sorted(s)) if s else '-'


def analyse_step(tl, r, t_end_step, quorum, everyone):
    i = r['node']
    t0 = r['t_signal_ms']
    h0 = at(tl, t0 - 0.5)              # just before the drain signal
    if not h0:
        # in a flap (see cmd_roles) at that moment: the holder before it
        h0 = next((st for ts, st in reversed(tl) if ts < t0 and st), h0)
    seq = [(t0, at(tl, t0 - 0.5))]     # the changes inside the step
    for ts, s in tl:
        if t0 <= ts < t_end_step and s != seq[-1][1]:
            seq.append((ts, s))
    # time spent with several holders / none, in the step
    overlap = unheld = overlap_n = 0
    want = len(h0) if everyone else (len(h0) or 1)
    for k, (ts, s) in enumerate(seq):
        te = seq[k + 1][0] if k + 1 < len(seq) else t_end_step
        if not s:
            unheld += te - ts
        elif len(s) > want:
            overlap += te - ts
            overlap_n += 1
    moves = moves_of([(t0, h0)] + seq[1:], want, everyone)
    d = {'node': i, 'role_holders_before': sorted(h0), 'changes': len(seq) - 1,
         'moves': len(moves) - 1, 'sequence': ' > '.join(fmt_set(s) for _, s in seq),
         'sequence_ms': [[ts - t0, sorted(s)] for ts, s in seq],
         'overlap_ms': overlap, 'overlaps': overlap_n, 'unheld_ms': unheld}
    problems = []
    if i not in h0:
        d['held_by_restarted'] = False
        if len(moves) > 1:
            problems.append('moved although n%d did not hold it' % i)
        if overlap_n:
            problems.append('two holders %d time(s), %d ms in all' % (overlap_n, overlap))
        d['problems'] = problems
        d['ok'] = not problems
        return d
    d['held_by_restarted'] = True
    expect_away = h0 - {i}
    if len(moves) >= 2:
        ta, sa = moves[1]
        third = sorted(sa - h0)
        d['away_to'] = sorted(sa)
        d['away_ms'] = ta - t0            # from the drain signal
        if everyone:
            if sa != expect_away:
                problems.append('away to %s, not %s' % (fmt_set(sa), fmt_set(expect_away)))
        elif i in sa or len(sa) != len(h0) or len(third) != 1:
            problems.append('away to %s' % fmt_set(sa))
        if not r['t_signal_ms'] <= ta <= r['t_stop_ms']:
            problems.append('moved away %d ms after the drain signal, not during the drain '
                            '(SIGTERM at +%d ms)' % (ta - t0, r['t_stop_ms'] - t0))
        if len(moves) >= 3:
            tb, sb = moves[2]
            d['back_ms'] = tb - r['t_start_ms']     # from the new process's start
            if sb != h0:
                problems.append('second move to %s (a third holder), not back to %s'
                                % (fmt_set(sb), fmt_set(h0)))
            if tb < r['t_start_ms']:
                problems.append('moved while n%d was still draining or down (%d ms before its '
                                'restart)' % (i, r['t_start_ms'] - tb))
        elif not seq[-1][1]:
            later = [(ts, x) for ts, x in tl if ts >= t_end_step and x]
            tg = max(ts for ts, x in seq if not x)
            problems.append('given up at +%d ms (%d ms after the restart) with no new holder; '
                            'back to %s only at %s' % (
                                tg - t0, tg - r['t_start_ms'], fmt_set(h0),
                                '+%d ms (%d ms after the restart, after this step)' % (
                                    later[0][0] - t0, later[0][0] - r['t_start_ms'])
                                if later else 'never'))
            if later and later[0][1] == h0:
                d['back_ms'] = later[0][0] - r['t_start_ms']
        else:
            problems.append('never came back in the step')
        if len(moves) > 3:
            problems.append('%d moves, not 2: %s' % (len(moves) - 1,
                                                    ' > '.join(fmt_set(s) for _, s in moves)))
    else:
        problems.append('did not move away at the drain')
    if quorum and overlap_n:
        problems.append('QUORUM role with two holders %d time(s), %d ms in all'
                        % (overlap_n, overlap))
    d['problems'] = problems
    d['ok'] = not problems
    return d


def cmd_roles(a):
    doc = load_json(a.result)
    res = libgossip_result(doc)
    if res is None:
        sys.exit('rolling_report.py: no libgossip rolling run in %s' % a.result)
    run = res['runs'][0]
    rundir = a.rundir or os.path.join(a.bench_dir or '.', run['rundir'])
    if not os.path.isdir(rundir):
        sys.exit('rolling_report.py: %s: no such folder (run with --keep-logs)' % rundir)
    n = res['n']
    lines = read_role_lines(rundir)
    tls = timelines(run, lines, n)
    flags = role_flags(res)
    restarts = run['restarts']
    t_end = run['t_end_ms']
    out = {'result': os.path.basename(a.result), 'rundir': rundir, 'n': n,
           'roles': {}, 'steps': []}
    for role, tl in tls.items():
        f = flags.get(role, {'quorum': False, 'nodes': []})
        everyone = not f['nodes']
        steps = []
        for k, r in enumerate(restarts):
            te = restarts[k + 1]['t_signal_ms'] if k + 1 < len(restarts) else t_end
            steps.append(analyse_step(tl, r, te, f['quorum'], everyone))
        held = [s for s in steps if s['held_by_restarted']]
        # whole roll: longest unheld, most holders
        t0 = run['t_roll_ms']
        seg = [(t0, at(tl, t0 - 0.5))] + [(ts, s) for ts, s in tl if t0 <= ts < t_end]
        longest, most = 0, 0
        for k, (ts, s) in enumerate(seg):
            te = seg[k + 1][0] if k + 1 < len(seg) else t_end
            most = max(most, len(s))
            if not s:
                longest = max(longest, te - ts)
        # a holder that lets go although it is not draining or stopping, and
        # takes the role back with nobody holding it in between: a flap
        busy = {r['node']: (r['t_signal_ms'], r['t_exit_ms']) for r in restarts}
        flaps = []
        for k in range(1, len(seg) - 1):
            (ta, a_), (tb, b_), (tc, c_) = seg[k - 1], seg[k], seg[k + 1]
            for x in a_ - b_:
                w = busy.get(x, (INF, -INF))
                if w[0] <= tb <= w[1] or x in b_:
                    continue
                # back to the same holder, nobody else in between
                j, alone = k, True
                while j < len(seg) and x not in seg[j][1]:
                    alone = alone and not (seg[j][1] - a_)
                    j += 1
                if j < len(seg) and alone:
                    flaps.append({'node': x, 'dropped_ms': tb - t0, 'back_ms': seg[j][0] - t0,
                                  'ms': seg[j][0] - tb,
                                  'unheld': not any(seg[q][1] for q in range(k, j))})
        out['roles'][role] = {
            'flaps': len(flaps), 'flap_longest_ms': max((f['ms'] for f in flaps), default=0),
            'flap_unheld_ms_total': sum(f['ms'] for f in flaps if f['unheld']),
            'flap_list': flaps,
            'quorum': f['quorum'], 'nodes': f['nodes'], 'everyone': everyone,
            'restarted_holders': len(held),
            'goal_met': sum(1 for s in held if s['ok']),
            'moves_per_restarted_holder': sorted({s['moves'] for s in held}),
            'steps_moved_without_holder': sum(1 for s in steps
                                              if not s['held_by_restarted'] and s['moves']),
            'away_ms': [s.get('away_ms') for s in held],
            'back_ms': [s.get('back_ms') for s in held],
            'longest_unheld_ms': longest, 'max_holders': most,
            'overlap_ms_total': sum(s['overlap_ms'] for s in steps),
            'overlaps': sum(s['overlaps'] for s in steps),
            'problems': ['n%d: %s' % (s['node'], p) for s in steps for p in s['problems']],
            'steps': [s for s in steps if s['held_by_restarted'] or not s['ok']]}
        # the raw role lines of the steps with a problem, as evidence
        for s in out['roles'][role]['steps']:
            if s['ok']:
                continue
            r = next(x for x in restarts if x['node'] == s['node'])
            k = restarts.index(r)
            te = restarts[k + 1]['t_signal_ms'] if k + 1 < len(restarts) else t_end
            s['lines'] = sorted([ts - r['t_signal_ms'], node, held]
                                for node, ls in lines.items() for ts, rl, held in ls
                                if rl == role and r['t_signal_ms'] - 2000 <= ts < te)
    for r in restarts:
        out['steps'].append({k: r[k] for k in ('node', 't_signal_ms', 't_stop_ms', 't_exit_ms',
                                                't_start_ms', 't_seen_ms', 'exit_rc')})
    if a.out:
        with open(a.out, 'w') as f:
            json.dump(out, f, separators=(',', ':'))
    print_roles(out)
    return 0


def print_roles(out):
    print('roles of libgossip, N=%d (per restarted holder: moves away+back, goal 2; '
          'away = drain signal -> new holder, back = restart -> holder again)' % out['n'])
    hdr = ['role', 'rule', 'restarted holders', 'goal met', 'moves', 'away ms (median/max)',
           'back ms (median/max)', 'longest unheld', 'max holders', 'overlaps (ms)', 'moved without holder', 'flaps (longest)']
    rows = []
    for name, x in out['roles'].items():
        rule = 'every node' if x['everyone'] else 'listed %s' % x['nodes']
        if x['quorum']:
            rule += ', QUORUM'

        def mm(v):
            v = [y for y in v if y is not None]
            return '%d/%d' % (statistics.median(v), max(v)) if v else '-'
        rows.append([name, rule, x['restarted_holders'], '%d/%d' % (x['goal_met'], x['restarted_holders']),
                     ','.join(map(str, x['moves_per_restarted_holder'])) or '-',
                     mm(x['away_ms']), mm(x['back_ms']), '%d ms' % x['longest_unheld_ms'],
                     x['max_holders'], '%d (%d)' % (x['overlaps'], x['overlap_ms_total']),
                     x['steps_moved_without_holder'], '%d (%d ms)' % (x['flaps'], x['flap_longest_ms'])])
    w = [max(len(str(r[k])) for r in rows + [hdr]) for k in range(len(hdr))]
    for r in [hdr, ['-' * k for k in w]] + rows:
        print('  '.join(str(c).ljust(w[k]) for k, c in enumerate(r)))
    for name, x in out['roles'].items():
        for p in x['problems']:
            print('  %s: %s' % (name, p))
        for s in x['steps']:
            if not s['ok']:
                print('    %s n%d: %s' % (name, s['node'], s['sequence']))


def fmt_ms(v):
    if v is None:
        return '-'
    return '%d ms' % v if v < 1000 else '%.2f s' % (v / 1000.0)


def cmd_table(a):
    rows, role_rows = [], []
    for base in a.bases:
        base = re.sub(r'\.json$', '', base)
        doc = load_json(base + '.json')
        meta = load_json(base + '.meta.json') if os.path.exists(base + '.meta.json') else {}
        roles = load_json(base + '.roles.json') if os.path.exists(base + '.roles.json') else None
        if roles:
            for name, x in roles['roles'].items():
                rule = 'every node' if x['everyone'] else 'listed %s' % x['nodes']
                if x['quorum']:
                    rule += ', QUORUM'
                if x['nodes'] == [99]:
                    rule = 'floating (rendezvous)' + (', QUORUM' if x['quorum'] else '')

                def mm(v):
                    v = [y for y in v if y is not None]
                    return '%s / %s' % (fmt_ms(statistics.median(v)), fmt_ms(max(v))) if v else '-'
                role_rows.append([roles['n'], name, rule, x['restarted_holders'],
                                  '%d/%d' % (x['goal_met'], x['restarted_holders']),
                                  ','.join(map(str, x['moves_per_restarted_holder'])) or '-',
                                  mm(x['away_ms']), mm(x['back_ms']), fmt_ms(x['longest_unheld_ms']),
                                  x['max_holders'] if not x['everyone'] else '%d (all)' % x['max_holders'],
                                  x.get('overlaps', 0) if not x['everyone'] else '-',
                                  '%d, %s, %s' % (x['flaps'], fmt_ms(x['flap_longest_ms']),
                                                  fmt_ms(x['flap_unheld_ms_total']))
                                  if x['flaps'] else '0'])
        for res in doc.get('results', []):
            if res.get('scenario') != 'rolling' or 'summary' not in res:
                continue
            for src in res['sources']:
                s = res['summary'][src]
                rj = s.get('rejoin_ms') or {}
                cell_roles = cell_unheld = cell_q = '- (no roles)'
                if roles:
                    rs = roles['roles']
                    moving = {k: v for k, v in rs.items() if not v['everyone']}
                    held = sum(v['restarted_holders'] for v in rs.values())
                    met = sum(v['goal_met'] for v in rs.values())
                    mh = sum(v['restarted_holders'] for v in moving.values())
                    mm = sum(v['goal_met'] for v in moving.values())
                    cell_roles = '%d/%d (moving roles %d/%d)' % (met, held, mm, mh)
                    name, worst = max(rs.items(), key=lambda kv: kv[1]['longest_unheld_ms'])
                    cell_unheld = '%s (%s)' % (fmt_ms(worst['longest_unheld_ms']), name)
                    cell_q = ', '.join('%s %d' % (k, v['max_holders']) for k, v in rs.items() if v['quorum'])
                    fl = sum(v['flaps'] for v in rs.values())
                    cell_q += '; flaps: %s' % (', '.join('%s %d' % (k, v['flaps']) for k, v in rs.items()
                                                        if v['flaps']) if fl else '0')
                elif res['impl'] == 'libgossip':
                    cell_roles = cell_unheld = cell_q = '?'
                load = meta.get('load_before', '?')
                rows.append(['%s[%s]' % (res['impl'], src), str(res['n']),
                             '%d/%d%s' % (s['rejoined'], s['restarts'], ' ABORTED' if s['aborted'] else ''),
                             str(s['false_failures']), str(s['restarting_reported_failed']),
                             '%d / %d' % (s['suspect_episodes'], s['suspect_episodes_others']),
                             fmt_ms(rj.get('median')), fmt_ms(rj.get('max')), fmt_ms(s['roll_ms']),
                             cell_roles, cell_unheld, cell_q, load])
    hdr = ['impl[source]', 'N', 'back/restarts', 'false failures', 'restarting node failed',
           'suspicion episodes (all / about others)', 'rejoin median', 'rejoin max', 'roll',
           'duties moved once away at the drain and once back', 'longest unheld role',
           'max QUORUM holders; roles dropped and retaken by a healthy holder', 'load (1/5/15 min) before']
    print('| ' + ' | '.join(hdr) + ' |')
    print('|' + '|'.join(' --- ' for _ in hdr) + '|')
    for r in rows:
        print('| ' + ' | '.join(r) + ' |')
    if role_rows:
        print()
        hdr = ['N', 'role', 'rule', 'held by a restarted node', 'moved once away at the drain and once back',
               'moves per restarted holder', 'away: drain -> new holder (median / max)',
               'back: restart -> holder again (median / max)', 'longest unheld', 'max holders',
               'two holders at once (times)', 'dropped and retaken by a healthy holder (times, longest, unheld in all)']
        print('| ' + ' | '.join(hdr) + ' |')
        print('|' + '|'.join(' --- ' for _ in hdr) + '|')
        for r in role_rows:
            print('| ' + ' | '.join(map(str, r)) + ' |')
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('roles')
    p.add_argument('result')
    p.add_argument('--bench-dir', default=None, help='the folder of cluster_bench.py')
    p.add_argument('--rundir', default=None)
    p.add_argument('--out', default=None)
    p = sub.add_parser('table')
    p.add_argument('bases', nargs='+', help='result file names without .json')
    a = ap.parse_args()
    return cmd_roles(a) if a.cmd == 'roles' else cmd_table(a)


if __name__ == '__main__':
    sys.exit(main())
