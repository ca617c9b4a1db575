#!/usr/bin/env python3
"""profile.py - names the addresses of a pc_profile.c report: where the guest's instructions went.

usage: profile.py KERNEL_ELF REPORT [--strace LOG] [--per N] [--top K]

Kernel addresses (the top 2 GiB) are named by the kernel ELF's symbols (nm -C). User addresses
are named by file when LOG, the output of `nimbus run --strace=openat,mmap ...`, shows the
mapping (the program and its interpreter are loaded by the kernel, not by mmap: they appear as
"other@" 2 MiB regions). --per N divides every count by N (e.g. the number of requests)."""
import argparse
import bisect
import collections
import re
import subprocess


def kernel_symbols(elf):
    out = subprocess.run(['nm', '-n', '-C', elf], capture_output=True, text=True, check=True).stdout
    symbols = []
    for line in out.splitlines():
        parts = line.split(' ', 2)
        if len(parts) == 3 and parts[1] in 'tTwW':
            symbols.append((int(parts[0], 16), parts[2]))
    return symbols


def file_mappings(log):
    fds, maps = {}, []
    for line in open(log, errors='replace'):
        line = line.strip()
        m = re.search(r'openat\(.*?"([^"]+)".*= (\d+)$', line)
        if m:
            fds[m.group(2)] = m.group(1)
            continue
        m = re.search(r'mmap\(\S+, (\d+), [^,]+, [^,]+, (\d+), \S+\) = (0x[0-9a-f]+)', line)
        if m and m.group(2) in fds:
            start = int(m.group(3), 16)
            maps.append((start, start + int(m.group(1)), fds[m.group(2)].rsplit('/', 1)[-1]))
    return maps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('kernel_elf')
    parser.add_argument('report')
    parser.add_argument('--strace')
    parser.add_argument('--per', type=float, default=1)
    parser.add_argument('--top', type=int, default=40)
    args = parser.parse_args()
    symbols = kernel_symbols(args.kernel_elf)
    starts = [a for a, _ in symbols]
    maps = file_mappings(args.strace) if args.strace else []

    def name(address):
        if address >= 0xffffffff80000000:
            i = bisect.bisect_right(starts, address) - 1
            return 'kernel ' + (symbols[i][1] if i >= 0 else '?')
        for begin, end, path in maps:
            if begin <= address < end:
                return 'user ' + path
        return 'user other@%x' % (address >> 21 << 21)

    totals = collections.Counter()
    for line in open(args.report):
        address, count = line.split()
        totals[name(int(address, 16))] += int(count)
    total = sum(totals.values())
    kernel = sum(c for n, c in totals.items() if n.startswith('kernel '))
    print('%.0f instructions (kernel %.0f, user %.0f)' % (total / args.per, kernel / args.per, (total - kernel) / args.per))
    for n, c in totals.most_common(args.top):
        print('%10.0f %5.1f%%  %s' % (c / args.per, 100 * c / max(total, 1), n[:110]))


if __name__ == '__main__':
    main()
