#!/usr/bin/env python3
"""Check that the C modules form layers: no cycle in their include graph.

A module is a .c file and its .h (src/http.c and src/http.h are "http";
oq_fdw.c and oq_fdw.h at the root are "oq_fdw").  Module A depends on
module B when a file of A includes a header of B with #include "b.h".
A module calls into another only through that one's header (this script
also refuses an "extern" declaration in a .c file, which would call past
the headers), so a graph without a cycle means every include and every
call points one way, down the layers doc/internals.md draws.

    test/unit/layers.py [ROOT]       prints "ok   layers (...)" or the cycle
    test/unit/layers.py --self-test  checks that a cycle and an extern are caught

Exits 1 on a cycle or an extern declaration in a .c file, 0 otherwise.
"""

import os
import re
import sys

# Headers private to a module of another name: part of that module
PRIVATE_HEADERS = {
    "modifystate": "modify",    # the state modify.c shares with updaterow.c, directmodify.c
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
EXTERN = re.compile(r'^\s*extern\b', re.M)


def modules(root):
    """{module: [file paths]} for oq_fdw.[ch] and src/*.[ch]"""
    mods = {}
    for d in (root, os.path.join(root, "src")):
        for name in sorted(os.listdir(d)):
            if not name.endswith((".c", ".h")):
                continue
            if d == root and not name.startswith("oq_fdw."):
                continue
            base = name[:-2]
            mods.setdefault(PRIVATE_HEADERS.get(base, base), []).append(os.path.join(d, name))
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
                target = PRIVATE_HEADERS.get(target, target)
                if target in headers and target != m:
                    edges[m].add(target)
    return edges


def externs_in_c(mods):
    """[(file, line number)] of extern declarations in .c files"""
    found = []
    for files in mods.values():
        for f in files:
            if not f.endswith(".c"):
                continue
            with open(f, encoding="utf-8") as fh:
                text = fh.read()
            for m in EXTERN.finditer(text):
                found.append((f, text.count("\n", 0, m.start()) + 1))
    return found


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


def self_test():
    """The checks catch what they are for: a made-up tree with a cycle, one with an extern"""
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.mkdir(os.path.join(root, "src"))

        def write(name, text):
            with open(os.path.join(root, "src", name), "w", encoding="utf-8") as f:
                f.write(text)
        write("low.h", "int low(void);\n")
        write("low.c", '#include "low.h"\n')
        write("high.h", '#include "low.h"\n')
        write("high.c", '#include "high.h"\n')
        ok = find_cycle(graph(modules(root))) is None
        write("low.c", '#include "low.h"\n#include "high.h"\n')
        cycle = find_cycle(graph(modules(root)))
        ok = ok and cycle is not None and set(cycle) == {"low", "high"}
        write("low.c", '#include "low.h"\nextern int high(void);\n')
        ok = ok and find_cycle(graph(modules(root))) is None and \
            externs_in_c(modules(root)) == [(os.path.join(root, "src", "low.c"), 2)]
    print("%s layers-self-test (a cycle and an extern are caught)" % ("ok  " if ok else "FAIL"))
    return 0 if ok else 1


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    mods = modules(root)
    externs = externs_in_c(mods)
    if externs:
        for f, line in externs:
            print("# %s:%d declares an extern: call through the other module's header" % (f, line))
        print("FAIL layers (%d extern declarations in .c files)" % len(externs))
        return 1
    edges = graph(mods)
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
