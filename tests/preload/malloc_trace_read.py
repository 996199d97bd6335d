#!/usr/bin/env python3
# Reads MALLOCDEBUG=trace records back (the format of aixmalloc(7), MALLOCDEBUG, trace) and replays
# them, for malloc_trace_test.sh:
#   replay FILE            every line is one whole record; numbers follow each other; in order, every
#                          free and realloc names a live block, and no allocation returns one.
#                          Prints "records N threads T live L" and each kind's count.
#   sequence FILE LEDGER   the records of the main thread between the program's markers are the
#                          ledger's lines, one for one.
import re
import sys

RECORD = re.compile(r"^trace (\d+) (\d+) (\d+) (malloc|calloc|realloc|free|memalign)\(([^)]*)\)(?: = (0x[0-9a-f]+))?$")


def read(path):
    records, bad = [], []
    for n, line in enumerate(open(path, encoding="ascii", errors="replace"), 1):
        line = line.rstrip("\n")
        m = RECORD.match(line)
        if not m or (m.group(4) == "free") != (m.group(6) is None):
            bad.append(f"{path}:{n}: not one whole record: {line!r}")
            continue
        pid, tid, seq, op, args, result = m.groups()
        args = [int(a, 0) for a in args.split(", ")]
        records.append({"pid": int(pid), "tid": int(tid), "seq": int(seq), "op": op, "args": args,
                        "result": int(result, 16) if result else None, "text": line.split(" ", 4)[4]})
    return records, bad


def replay(records):
    problems, live, counts = [], {}, {}
    seqs = sorted(r["seq"] for r in records)
    if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):  # a forked child goes on from its parent's
        problems.append("record numbers do not follow each other, each once")
    for r in sorted(records, key=lambda r: r["seq"]):
        op, a, q = r["op"], r["args"], r["result"]
        counts[op] = counts.get(op, 0) + 1
        where = f"record {r['seq']} ({r['text']})"
        if op in ("malloc", "calloc", "memalign"):
            size = a[0] if op == "malloc" else a[0] * a[1] if op == "calloc" else a[1]
            if q:
                if q in live:
                    problems.append(f"{where}: returns a block that is live")
                live[q] = size
        elif op == "free":
            if a[0]:
                if a[0] not in live:
                    problems.append(f"{where}: frees a pointer no record returned")
                live.pop(a[0], None)
        else:
            p, size = a
            if p and p not in live:
                problems.append(f"{where}: reallocates a pointer no record returned")
            if p and size == 0:
                live.pop(p, None)
                if q:
                    problems.append(f"{where}: realloc(p, 0) returned a block")
            elif q:
                live.pop(p, None)
                if q in live:
                    problems.append(f"{where}: returns a block that is live")
                live[q] = size
    return problems, live, counts


def main():
    mode, path = sys.argv[1], sys.argv[2]
    records, bad = read(path)
    if bad:
        print("\n".join(bad[:20]))
        return 1
    if mode == "replay":
        problems, live, counts = replay(records)
        if problems:
            print("\n".join(problems[:20]))
            return 1
        print(f"records {len(records)} threads {len({r['tid'] for r in records})} live {len(live)}")
        for op in sorted(counts):
            print(f"{op} {counts[op]}")
        return 0
    ledger = [l.rstrip("\n").replace("(nil)", "0x0") for l in open(sys.argv[3])]
    main_tid = records[0]["pid"]
    mine = [r for r in sorted(records, key=lambda r: r["seq"]) if r["tid"] == main_tid]
    start = next(i for i, r in enumerate(mine) if r["text"].startswith("malloc(777001) = "))
    end = next(i for i, r in enumerate(mine) if r["text"].startswith("malloc(777002) = "))
    between = [r["text"] for r in mine[start + 2:end]]  # after the first marker's malloc and free
    if between != ledger:
        print("records between the markers:", *between, "the program's calls:", *ledger, sep="\n  ")
        return 1
    print(f"sequence {len(ledger)} calls")
    return 0


sys.exit(main())
