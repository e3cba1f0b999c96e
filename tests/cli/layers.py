#!/usr/bin/env python3
"""The include graph of a C source directory, by module: X.c and X.h are module X, and
X -> Y when either file includes "Y.h" (a header of the same directory). Prints one line per
cycle (its modules, sorted, joined by ' ') and one line 'weak FILE:LINE' per weak symbol.
Usage: layers.py DIR. Computed from whatever files exist, so renames need no change here."""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)\.h"', re.M)
WEAK = re.compile(r'__attribute__\s*\(\(\s*weak|#\s*pragma\s+weak|__weak\b')


def graph(d):
    files = [f for f in os.listdir(d) if f.endswith(('.c', '.h'))]
    mods = {f[:-2] for f in files}
    edges = {m: set() for m in mods}
    weak = []
    for f in sorted(files):
        text = open(os.path.join(d, f), encoding='utf-8', errors='replace').read()
        for dep in INCLUDE.findall(text):
            if dep in mods and dep != f[:-2]:
                edges[f[:-2]].add(dep)
        for n, line in enumerate(text.splitlines(), 1):
            if WEAK.search(line):
                weak.append('weak %s:%d' % (f, n))
    return edges, weak


def cycles(edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(' '.join(sorted(comp)))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


if __name__ == '__main__':
    e, w = graph(sys.argv[1])
    for c in cycles(e):
        print(c)
    for x in w:
        print(x)
