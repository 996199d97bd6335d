#!/usr/bin/env bash
# Every figure of the table (libmalloc/base/statistics.def), key by key, in the three places a
# program's statistics can be read from: the status report at exit (AIXMALLOC_STATS), the JSON
# document at exit (AIXMALLOC_STATS_JSON), and the live answer (stats --pid), each read back by
# `aixmalloc stats --json`. The keys come from `aixmalloc stats --keys`, which prints the table,
# so this test cannot drift from it.
#
# What is compared: the workload (live_workload.c, mode "every") touches every section, then
# stops allocating and waits; it is asked twice while it waits, then told to end, and exits
# without freeing anything (MALLOCDEBUG turns on every layer that has a section: catch_overflow
# sampled, Malloc Detect, the Malloc Log). So the live answers and the reports at exit describe
# the same state, and every figure must be equal in all four, not merely close.
source "$(dirname "$0")/common.sh"
: "${CLI_LIVE_WORKLOAD:?set by ctest}"

# Run 1: the default policy with every front end and debug layer that has figures; run 2:
# MALLOCTYPE=watson2 (which takes none of the front ends), for its own section.
run_workload() {
  local type=$1 options=$2 debug=$3
  rm -f "$work/fifo" "$work/status.txt" "$work/document.json"
  mkfifo "$work/fifo"
  exec {fd}<> "$work/fifo"
  (
    exec {fd}>&-
    exec env LD_PRELOAD="$AIXMALLOC_LIB" MALLOCTYPE="$type" MALLOCOPTIONS="$options" MALLOCDEBUG="$debug" \
      AIXMALLOC_STATS="$work/status.txt" \
      AIXMALLOC_STATS_JSON="$work/document.json" AIXMALLOC_STATS_SIGNAL=USR2 \
      "$CLI_LIVE_WORKLOAD" every "$work/fifo"
  ) > "$work/workload.out" 2> "$work/workload.err" &
  pid=$!
  trap 'kill -KILL $pid 2> /dev/null || true; rm -f /dev/shm/aixmalloc-stats.$pid.json /tmp/aixmalloc-stats.$pid.json; rm -rf "$work"' EXIT
  for _ in $(seq 1000); do
    grep -qx "ready 1" "$work/workload.out" 2> /dev/null && break
    kill -0 "$pid" 2> /dev/null || fail "the workload ended: $(cat "$work/workload.err")"
    sleep 0.01
  done
  grep -qx "ready 1" "$work/workload.out" || fail "the workload did not get ready"

  for i in 1 2; do
    capture "$cli" stats --json --pid "$pid"
    expect_rc 0 "stats --json --pid, answer $i"
    cp "$work/out" "$work/live$i.json"
  done
  exec {fd}>&-
  status=0
  wait "$pid" || status=$?
  [ "$status" = 0 ] || fail "the workload exited with status $status: $(cat "$work/workload.err")"

  capture "$cli" stats --json "$work/status.txt"
  expect_rc 0 "stats --json of the status report"
  cp "$work/out" "$work/status.json"
  capture "$cli" stats --json "$work/document.json"
  expect_rc 0 "stats --json of the JSON document"
  cp "$work/out" "$work/doc.json"
  capture "$cli" stats --keys
  expect_rc 0 "stats --keys"
  cp "$work/out" "$work/keys"
}

compare_sources() {  # $1: "front ends" or "watson2"
"$python" - "$work" "$1" <<'PY' || fail "the three sources disagree ($1)"
import json, sys
w, run = sys.argv[1], sys.argv[2]
keys = [line.split()[:2] for line in open(f"{w}/keys")]
# watson2's section in its own run, with the sections every configuration has.
keys = [k for k in keys if (k[0] == "watson2") == (run == "watson2") or
        (run == "watson2" and k[0] in ("heaps", "totals", "large_blocks"))]
assert len(keys) > 10 and all(len(k) == 2 for k in keys), keys
sources = {n: json.load(open(f"{w}/{f}")) for n, f in
           (("status report", "status.json"), ("JSON document", "doc.json"),
            ("live answer 1", "live1.json"), ("live answer 2", "live2.json"))}
assert [d["formats"] for d in sources.values()] == [["status report"]] + [["JSON"]] * 3

def rows(doc, path):
    node = doc
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, list) else [node]

# Every key of the table, in every row of its section, the same in all four; nothing else.
compared = 0
for path, key in keys:
    values = {}
    for name, doc in sources.items():
        r = rows(doc, path)
        assert r, f"{name} has no section {path}"
        assert all(key in row for row in r), f"{name}: {path} lacks {key}: {r}"
        values[name] = [row[key] for row in r]
    first = values["JSON document"]
    for name, v in values.items():
        assert v == first, f"{path} {key}: {name} {v} != JSON document {first}"
    compared += len(first)
table = {(p, k) for p, k in keys}
for name, doc in sources.items():
    for path in {p for p, _ in keys}:
        for row in rows(doc, path):
            extra = {k for k, v in row.items() if not isinstance(v, (dict, list))} - {k for p, k in table if p == path}
            assert not extra, f"{name}: {path} has keys the table lacks: {extra}"

# The workload touched every section, so the figures compared are not all zeros.
d = sources["JSON document"]
if run == "watson2":
    w2 = d["watson2"]
    assert w2["thread_heaps"] >= 4 and w2["remote_frees"] > 0 and w2["bytes_in_use"] > 0, w2
    print(f"watson2: {len(keys)} keys, {compared} figures equal in the four sources")
    sys.exit(0)
heaps = d["heaps"]
assert len(heaps) == 4 and sum(h["allocations_since_start"] > 0 for h in heaps) >= 2, heaps
assert sum(h["failed_requests"] for h in heaps) > 0 and sum(h["frees_since_start"] for h in heaps) > 0, heaps
assert d["totals"]["grow_calls"] > 0 and d["totals"]["bytes_in_use"] > 0, d["totals"]
large = d["large_blocks"]
assert large["blocks"] == 1 and large["cache_hits"] >= 1 and large["allocations_since_start"] == 2, large
pool = d["pool"]
assert pool["thread_pools"] >= 4 and pool["orphaned_pools"] >= 3, pool
assert sum(c["remote_frees"] for c in pool["by_class"]) > 0, pool["by_class"]
cache = d["threadcache"]
assert cache["requests_served"] > 0 and cache["bytes_in_depots"] > 0 and cache["batches_given_back"] > 0, cache
b = d["buckets"]
assert b["buckets_allocator"] > 0 and sum(r["allocations"] for r in b["by_bucket"]) == b["buckets_allocator"], b
assert sum(r["buckets_allocator"] > 0 for r in b["by_heap"]) >= 2, b["by_heap"]
print(f"{len(keys)} keys, {compared} figures, equal in the status report, the JSON document and two live answers")
PY
}

run_workload "" pool,threadcache,buckets,number_of_buckets:4,bucket_sizing_factor:4096,blocks_per_bucket:16,multiheap:4 \
  catch_overflow,sample:64,validate_ptrs,log
compare_sources "front ends"
run_workload watson2 "" ""
compare_sources watson2
echo "aixmalloc stats: every figure of the table is the same in the status report, the JSON document and the live answer"
