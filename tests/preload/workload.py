# A dict/list/str-heavy Python workload with a deterministic output, run under LD_PRELOAD.
import collections
import hashlib
import json
import random

random.seed(12345)
table = {}
for i in range(200000):
    table["k%d" % i] = [i, str(i) * 3, (i, i * 2)]
for i in range(0, 200000, 3):
    del table["k%d" % i]

words = collections.Counter()
names = ["alpha", "beta", "gamma", "delta", "epsilon"]
text = " ".join(random.choice(names) + str(random.randint(0, 99)) for _ in range(300000))
for w in text.split():
    words[w] += 1

rows = []
for i in range(50000):
    rows.append({"id": i, "name": names[i % 5] * (1 + i % 7), "tags": list(range(i % 13))})
blob = json.dumps(rows)
back = json.loads(blob)

strings = []
for i in range(100000):
    s = "x" * (i % 300)
    strings.append(s + str(i))
joined = "".join(strings)

digest = hashlib.sha256()
digest.update(json.dumps(sorted(words.items())).encode())
digest.update(blob.encode())
digest.update(joined.encode())
print(len(table), sum(v[0] for v in table.values()))
print(len(words), words.most_common(1)[0][1])
print(len(back), sum(len(r["tags"]) for r in back))
print(len(joined))
print(digest.hexdigest())
