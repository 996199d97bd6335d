# A Python workload for the catch_overflow tests (catch_overflow_python_test.sh): run with
# PYTHONMALLOC=malloc, so that every object is a malloc block and, under catch_overflow, a block
# that ends at a guard page. Dicts and lists that grow (realloc moves a guarded block every time),
# strings built and cut, JSON and regular expressions, a class with a __dict__, bytes, sorting and
# deletion. A quarter of a second under glibc; it holds some 50,000 blocks at once at most.
# The output is deterministic: the same lines under every allocator.
import hashlib
import json
import random
import re

random.seed(4242)
digest = hashlib.sha256()


def out(*values):
    line = " ".join(str(v) for v in values)
    digest.update(line.encode())
    print(line)


# A table that grows and shrinks.
table = {}
for i in range(8000):
    table["k%05d" % i] = [i, str(i) * 2, (i, -i)]
for i in range(0, 8000, 4):
    del table["k%05d" % i]
out("table", len(table), sum(v[0] for v in table.values()))

# Words counted, texts joined and split.
names = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
text = " ".join(random.choice(names) + str(random.randint(0, 49)) for _ in range(20000))
counts = {}
for w in text.split():
    counts[w] = counts.get(w, 0) + 1
top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
out("words", len(counts), top)

# JSON round trip of nested records.
rows = [{"id": i, "name": names[i % 8] * (1 + i % 5), "tags": list(range(i % 11)), "score": i * 0.25}
        for i in range(2000)]
blob = json.dumps(rows, sort_keys=True)
back = json.loads(blob)
out("json", len(blob), len(back), sum(len(r["tags"]) for r in back), back[1777]["name"])


# Objects with attribute dicts, linked and sorted.
class Node:
    def __init__(self, key):
        self.key = key
        self.children = []
        self.label = "node-%d" % key


nodes = [Node(i * 7919 % 3001) for i in range(3000)]
for i, n in enumerate(nodes[1:], 1):
    nodes[(i - 1) // 3].children.append(n)
depth = {}
stack = [(nodes[0], 0)]
while stack:
    n, d = stack.pop()
    depth[d] = depth.get(d, 0) + 1
    stack.extend((c, d + 1) for c in n.children)
nodes.sort(key=lambda n: n.label)
out("tree", sorted(depth.items()), nodes[0].label, nodes[-1].label)

# Strings that grow one piece at a time, bytes, regular expressions.
s = ""
for i in range(20000):
    s += names[i % 8][: 1 + i % 5]
    if len(s) > 5000:
        s = s[2500:]
b = bytearray()
for i in range(20000):
    b.extend(bytes([i % 251]) * (i % 7))
found = re.findall(r"(alpha|theta)(\d+)", text)
out("strings", len(s), s[:20], len(b), hashlib.md5(b).hexdigest(), len(found), found[:3])

del table, rows, back, nodes
out("sha256", digest.hexdigest())
