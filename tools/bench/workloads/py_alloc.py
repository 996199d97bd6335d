#!/usr/bin/env python3
"""Allocation-heavy Python workload for the aixmalloc benchmark suite.

Pattern modelled: an ordinary interpreted program (data munging, a small
in-memory "ORM", text processing). It creates and drops many objects of
many sizes: class instances with attribute dicts, dicts and lists that grow,
strings built by formatting / joining / splitting, JSON round trips, sorting
and a tree structure that is built and torn down.

run sets PYTHONMALLOC=malloc so that every object goes through malloc (with
Python's own small-object allocator most of the traffic would never reach
the allocator under test) and PYTHONHASHSEED=0. The output is deterministic
(no set iteration, no id()/hash of str): one line "result: python ..." with a
CRC32 of everything computed, plus the scale.

Usage: py_alloc.py [SCALE]   (default 1.0; run --quick uses 0.1)
"""
import json
import sys
import zlib


class Record:
    def __init__(self, rid, name, tags, score):
        self.rid = rid
        self.name = name
        self.tags = tags
        self.score = score
        self.links = []

    def describe(self):
        return "%d:%s:%s:%.3f" % (self.rid, self.name, ",".join(self.tags), self.score)


class Node:
    __slots__ = ("key", "left", "right", "payload")

    def __init__(self, key, payload):
        self.key = key
        self.left = None
        self.right = None
        self.payload = payload


def lcg(seed):
    x = seed & 0xFFFFFFFF
    while True:
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        yield x


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]


def phase_records(n, rnd, crc):
    db = {}
    for i in range(n):
        r = next(rnd)
        name = "%s-%s-%d" % (WORDS[r % 16], WORDS[(r >> 4) % 16], r % 1000)
        tags = [WORDS[(r >> k) % 16] for k in range(0, (r % 6) * 3, 3)]
        db[i] = Record(i, name, tags, (r % 10007) / 7.0)
    for i in range(n):
        r = next(rnd)
        rec = db[i]
        rec.links = [db[(r + k * 7919) % n] for k in range(r % 5)]
    by_name = {}
    for rec in db.values():
        by_name.setdefault(rec.name.split("-")[0], []).append(rec)
    for key in sorted(by_name):
        group = by_name[key]
        group.sort(key=lambda x: (-x.score, x.rid))
        text = "|".join(x.describe() for x in group[:50])
        crc = zlib.crc32(text.encode(), crc)
        crc = zlib.crc32(str(sum(len(x.links) for x in group)).encode(), crc)
    # drop every other record (and the references to it)
    for i in range(0, n, 2):
        del db[i]
    for rec in db.values():
        rec.links = [x for x in rec.links if x.rid % 2]
    crc = zlib.crc32(str(sum(len(r.links) for r in db.values())).encode(), crc)
    return crc


def phase_text(n, rnd, crc):
    lines = []
    for i in range(n):
        r = next(rnd)
        words = [WORDS[(r >> k) % 16] for k in range(0, 2 + r % 20)]
        lines.append(" ".join(words) + " %d" % i)
    blob = "\n".join(lines)
    counts = {}
    for line in blob.split("\n"):
        for w in line.split():
            counts[w] = counts.get(w, 0) + 1
    crc = zlib.crc32(repr(sorted(counts.items())).encode(), crc)
    pieces = []
    for line in lines:
        pieces.append(line.upper().replace("A", "aa")[::-1])
        if len(pieces) >= 1000:
            crc = zlib.crc32("".join(pieces).encode(), crc)
            pieces = []
    crc = zlib.crc32("".join(pieces).encode(), crc)
    acc = ""
    for i in range(min(n, 20000)):
        acc += lines[i][:8]
        if len(acc) > 4096:
            crc = zlib.crc32(acc.encode(), crc)
            acc = ""
    return crc


def phase_json(n, rnd, crc):
    docs = []
    for i in range(n):
        r = next(rnd)
        docs.append({
            "id": i,
            "name": WORDS[r % 16] * (1 + r % 4),
            "values": list(range(r % 40)),
            "nested": {"a": [r % 7, r % 11, {"b": WORDS[r % 13]}], "c": "x" * (r % 300)},
        })
    text = json.dumps(docs, sort_keys=True)
    back = json.loads(text)
    total = 0
    for d in back:
        total += len(d["values"]) + len(d["nested"]["c"]) + d["nested"]["a"][1]
    crc = zlib.crc32(str(total).encode(), crc)
    crc = zlib.crc32(text[: 1 << 16].encode(), crc)
    return crc


def insert(root, node):
    if root is None:
        return node
    cur = root
    while True:
        if node.key < cur.key:
            if cur.left is None:
                cur.left = node
                return root
            cur = cur.left
        else:
            if cur.right is None:
                cur.right = node
                return root
            cur = cur.right


def phase_tree(n, rnd, crc):
    root = None
    for i in range(n):
        r = next(rnd)
        root = insert(root, Node(r, [i] * (r % 8)))
    # in-order walk without recursion
    stack, cur, out, count = [], root, [], 0
    while stack or cur is not None:
        while cur is not None:
            stack.append(cur)
            cur = cur.left
        cur = stack.pop()
        out.append(cur.key ^ len(cur.payload))
        count += 1
        if len(out) >= 4096:
            crc = zlib.crc32(repr(out).encode(), crc)
            out = []
        cur = cur.right
    crc = zlib.crc32(repr(out).encode(), crc)
    crc = zlib.crc32(str(count).encode(), crc)
    return crc


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rnd = lcg(12345)
    crc = 0
    crc = phase_records(int(60000 * scale), rnd, crc)
    crc = phase_text(int(60000 * scale), rnd, crc)
    crc = phase_json(int(20000 * scale), rnd, crc)
    crc = phase_tree(int(60000 * scale), rnd, crc)
    print("result: python scale=%s crc32=%08x" % (scale, crc))


if __name__ == "__main__":
    main()
