#!/usr/bin/env python3
"""A short Python job for the debug-tools benchmark (tools/bench/debug_tools).

Pattern modelled: a small script (a report, a config converter) that builds a few thousand
objects, formats and parses strings and sorts. With PYTHONMALLOC=malloc every object goes through
malloc, so under a debug allocator that gives every block a page (catch_overflow, Electric Fence,
DUMA) the interpreter's start-up and this job hold some 10,000-40,000 live blocks: large enough to
show each tool's cost per live block, small enough to finish under all of them. It imports only
zlib (no json, no site-packages: run it with -S), because every imported module adds thousands of
live blocks.

Output: one line "result: py_short n=N crc32=...", identical under every allocator.

Usage: py_short.py [N]   (records; default 2000)
"""
import sys
import zlib


class Item:
    __slots__ = ("key", "name", "parts", "weight")

    def __init__(self, key, name, parts, weight):
        self.key = key
        self.name = name
        self.parts = parts
        self.weight = weight


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    crc = 0
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
    items = []
    for i in range(n):
        name = "%s-%d-%s" % (words[i % 8], i * 7919 % 10007, words[(i * 3) % 8])
        items.append(Item(i, name, name.split("-"), (i * 37) % 101))
    index = {}
    for it in items:
        index.setdefault(it.parts[0], []).append(it.key)
    for k in sorted(index):
        crc = zlib.crc32(("%s:%d:%d" % (k, len(index[k]), sum(index[k]))).encode(), crc)
    ranked = sorted(items, key=lambda it: (it.weight, it.name))
    text = "\n".join("%5d %-24s %3d" % (it.key, it.name, it.weight) for it in ranked)
    crc = zlib.crc32(text.encode(), crc)
    # Strings that grow and are cut again, lists of tuples, a dict rebuilt in rounds.
    acc = []
    for r in range(4):
        table = {it.name + str(r): (it.key, it.weight * r) for it in items[r::4]}
        acc.append(sum(v[1] for v in table.values()))
        s = ""
        for it in items[: n // 8]:
            s += it.parts[1]
            if len(s) > 200:
                crc = zlib.crc32(s.encode(), crc)
                s = s[100:]
    crc = zlib.crc32(repr(acc).encode(), crc)
    del items, ranked, index
    print("result: py_short n=%d crc32=%08x" % (n, crc))


main()
