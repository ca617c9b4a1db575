#!/usr/bin/env python3
# For each test: cases passing on host and not passing in Nimbus, with the first failure text.
import sys, os, re
src = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results.py')).read()
ns = {}
exec(compile(src.rsplit("if __name__", 1)[0], 'r', 'exec'), ns)
out = sys.argv[1]
for t in sys.argv[2:]:
    h = ns['combine'](ns['logs_of'](os.path.join(out, 'host'), t))
    n = ns['combine'](ns['logs_of'](os.path.join(out, 'nimbus'), t))
    if not h or not n: continue
    texts = [r['text'] for r in n['runs']]
    for c in sorted(h['passed'] - n['passed']):
        how = 'lost' if c in n['lost'] else ('skip' if c in n['skipped'] else ('fail' if c in n['failed'] else 'notrun'))
        blk = ''
        for tx in texts:
            b = ns['case_block'](tx, c)
            if b: blk = b
        m = re.search(r'^(\S+?:\d+): Failure\n(.*?)(?=\n\S+:\d+: Failure|\n\[  FAILED|\Z)', blk, re.M | re.S)
        body = m.group(1) + ' | ' + ' / '.join(l.strip() for l in m.group(2).splitlines()[:6]) if m else blk[-300:].replace('\n', ' / ')
        print('%s\t%s\t%s\t%s' % (t, c, how, body))
