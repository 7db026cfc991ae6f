#!/usr/bin/env python3
"""Check that the C modules form layers: no cycle in their include graph.

A module is a .c file and its .h (src/http.c and src/http.h are "http";
oq_fdw.c and oq_fdw.h at the root are "oq_fdw").  Module A depends on
module B when a file of A includes a header of B with #include "b.h".
A module calls into another only through that one's header, so a graph
without a cycle means every include and every call points one way, down
the layers doc/internals.md draws.

    test/unit/layers.py [ROOT]       prints "ok   layers (...)" or the cycle

Exits 1 on a cycle (or a header that no longer exists), 0 otherwise.
"""

import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(root):
    """{module: [file paths]} for oq_fdw.[ch] and src/*.[ch]"""
    mods = {}
    for d in (root, os.path.join(root, "src")):
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            if d == root and not name.startswith("oq_fdw."):
                continue
            mods.setdefault(name[:-2], []).append(os.path.join(d, name))
    return mods


def graph(mods):
    """{module: {module it includes}}, leaving out includes of itself"""
    headers = {m for m, files in mods.items() if any(f.endswith(".h") for f in files)}
    edges = {m: set() for m in mods}
    for m, files in mods.items():
        for f in files:
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
            for inc in INCLUDE.findall(text):
                target = os.path.basename(inc)[:-2] if inc.endswith(".h") else None
                if target in headers and target != m:
                    edges[m].add(target)
    return edges


def find_cycle(edges):
    """A list of modules that closes a cycle, or None"""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in edges}
    stack = []

    def visit(m):
        colour[m] = GREY
        stack.append(m)
        for n in sorted(edges[m]):
            if colour[n] == GREY:
                return stack[stack.index(n):] + [n]
            if colour[n] == WHITE:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        colour[m] = BLACK
        return None

    for m in sorted(edges):
        if colour[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return None


def layers(edges):
    """Each module's layer: 0 for one that includes none, else 1 + the highest below"""
    level = {}

    def depth(m):
        if m not in level:
            level[m] = 1 + max((depth(n) for n in edges[m]), default=-1)
        return level[m]

    for m in edges:
        depth(m)
    return level


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    edges = graph(modules(root))
    cycle = find_cycle(edges)
    if cycle:
        print("# the modules include each other in a cycle: " + " -> ".join(cycle))
        print("FAIL layers (a cycle of %d modules)" % (len(cycle) - 1))
        return 1
    if "-v" in os.environ.get("OQ_LAYERS", ""):
        level = layers(edges)
        for lv in range(max(level.values()) + 1):
            print("%2d  %s" % (lv, " ".join(sorted(m for m in level if level[m] == lv))))
    print("ok   layers (%d modules, %d edges, no cycle)" % (len(edges), sum(len(e) for e in edges.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
