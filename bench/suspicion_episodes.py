#!/usr/bin/env python3
"""Count distinct suspicion episodes in a kept libgossip bench run.

cluster_bench.py counts every "suspect" line of every observer.  Serf logs
only the suspicions an observer raises from its own probes, while
gossip-node prints one line at every observer a suspicion reaches (about
N-1 lines for one suspicion), so the raw counts are not comparable.  An
episode here is a run of suspect lines about one subject with gaps of less
than GAP_MS between them.

  bench/suspicion_episodes.py build/bench-runs/<run dir> [GAP_MS]
"""
import glob
import json
import os
import sys

def main():
    run = sys.argv[1]
    gap = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    times = {}
    lines = 0
    for path in glob.glob(os.path.join(run, 'libgossip-n*.log')):
        with open(path, errors='replace') as f:
            for line in f:
                # the bench prefixes each stdout line with its arrival time
                line = line.split(' ', 1)[-1] if line[:1].isdigit() else line
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if e.get('event') == 'suspect' and 'member' in e:
                    times.setdefault(e['member'], []).append(e['ts_ms'])
                    lines += 1
    episodes = 0
    for t in times.values():
        t.sort()
        episodes += 1 + sum(1 for a, b in zip(t, t[1:]) if b - a >= gap)
    print('suspect lines %d, subjects %d, episodes %d (gap %d ms)' % (lines, len(times), episodes, gap))

if __name__ == '__main__':
    main()
