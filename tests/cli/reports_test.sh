#!/usr/bin/env bash
# The reports of a whole process tree, and what `aixmalloc stats` makes of them: one report per
# process (%p, and a plain path's PATH.PID for every process but its holder), `stats --sum` adding
# them up figure for figure; the status report of a single-threaded program under multiheap:32
# with one line for the heaps it never used (read back as rows of zeros); `stats --svg -` writing
# the SVG alone, and a bucket summary's chart naming its configuration.
source "$(dirname "$0")/common.sh"
: "${CLI_WORKLOAD:?set by ctest}"
printf 'pear\napple\n' > "$work/f"

# 1. A fork-and-exec tree: bash runs ls and cat (then a builtin, so it exits itself, normally).
# Every process writes its JSON document (%p) and its status report (a plain path: bash, the
# holder, writes it; the others write PATH.PID).
AIXMALLOC_STATS_JSON="$work/r.%p.json" AIXMALLOC_STATS="$work/s.txt" LD_PRELOAD="$AIXMALLOC_LIB" \
  bash -c 'ls "$1" > /dev/null; cat "$1/f" > /dev/null; true' tree "$work" &
root=$!
wait $root || fail "the tree exited with $?"
ls "$work"/r.*.json > "$work/documents"
[ "$(wc -l < "$work/documents")" = 3 ] || fail "expected 3 JSON documents: $(cat "$work/documents")"
[ -s "$work/r.$root.json" ] || fail "no document of the root process $root: $(ls "$work")"
[ -s "$work/s.txt" ] || fail "the root did not write the plain path: $(ls "$work")"
[ "$(ls "$work"/s.txt.* | wc -l)" = 2 ] || fail "expected two s.txt.PID: $(ls "$work")"
for s in "$work"/s.txt.*; do
  [ -s "$work/r.${s##*.}.json" ] || fail "$s is not named after a process of the tree"
done

capture "$cli" stats --sum --json "$work/r.%p.json"
expect_rc 0 "stats --sum of the JSON documents"
cp "$work/out" "$work/sum.json"
capture "$cli" stats --sum --json "$work/s.txt" "$work/s.txt.*"
expect_rc 0 "stats --sum of the status reports"
cp "$work/out" "$work/sum_status.json"
"$python" - "$work" "$root" <<'PY' || fail "the sum is not the figures added up"
import glob, json, sys
w, root = sys.argv[1], int(sys.argv[2])
docs = [json.load(open(f)) for f in sorted(glob.glob(w + "/r.*.json"))]
total = json.load(open(w + "/sum.json"))
assert total["reports"] == 3, total["reports"]
assert sorted(total["pids"]) == sorted(d["pid"] for d in docs) and root in total["pids"]
def heap_sum(d, key):
    return sum(h[key] for h in d["heaps"])
for key in ("allocations_since_start", "frees_since_start", "bytes_acquired", "allocations_active"):
    assert heap_sum(total, key) == sum(heap_sum(d, key) for d in docs), key
for key in ("bytes_acquired", "bytes_in_use", "grow_calls"):
    assert total["totals"][key] == sum(d["totals"][key] for d in docs), key
assert total["large_blocks"]["allocations_since_start"] == sum(
    d["large_blocks"]["allocations_since_start"] for d in docs)
# The status reports of the same processes add up to the same figures.
status = json.load(open(w + "/sum_status.json"))
assert status["reports"] == 3 and status["formats"] == ["status report"], status["formats"]
assert status["heaps"] == total["heaps"], (status["heaps"], total["heaps"])
assert status["large_blocks"] == total["large_blocks"]
PY
capture "$cli" stats --sum "$work/r.%p.json"
expect_rc 0 "stats --sum as text"
has "$work/out" "sum of 3 reports"
has "$work/out" "Figures of 3 processes added up; process IDs"
# Without --sum, each report in turn (a JSON array); --svg needs one report.
capture "$cli" stats --json "$work/r.%p.json"
expect_rc 0 "stats of several files"
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d) == 3, len(d)' \
  "$work/out" || fail "not an array of three documents: $(head -c 300 "$work/out")"
capture "$cli" stats --svg "$work/x.svg" "$work/r.%p.json"
expect_rc 2 "--svg of several reports"
capture "$cli" stats "$work/nothing.%p.json"
expect_rc 1 "a pattern that matches nothing"
has "$work/err" "no file matches $work/nothing.%p.json"

# A child forked without exec writes PATH.PID beside its parent's PATH.
AIXMALLOC_STATS="$work/fork.txt" LD_PRELOAD="$AIXMALLOC_LIB" "$python" -c '
import os, sys
pid = os.fork()
if pid == 0:
    sys.exit(0)
os.waitpid(pid, 0)
print(pid)' > "$work/child"
child=$(cat "$work/child")
grep -q "^Statistical Report" "$work/fork.txt" || fail "the parent's report is not in fork.txt"
grep -q "^Statistical Report" "$work/fork.txt.$child" || fail "no fork.txt.$child: $(ls "$work")"

# 2. A single-threaded program under multiheap:32: heap 0, then one line for the 31 others; read
# back, they are rows of zeros, as in the JSON document of the same run.
MALLOCOPTIONS=multiheap:32 AIXMALLOC_STATS="$work/mh.txt" AIXMALLOC_STATS_JSON="$work/mh.json" \
  LD_PRELOAD="$AIXMALLOC_LIB" /bin/true
[ "$(grep -c '^        Heap [0-9]' "$work/mh.txt")" = 1 ] ||
  fail "more than heap 0 shown: $(cat "$work/mh.txt")"
[ "$(grep -c 'never used' "$work/mh.txt")" = 1 ] || fail "not one line for the unused heaps"
has_line "$work/mh.txt" "        Heaps never used (every figure 0): 1-31"
[ "$(wc -l < "$work/mh.txt")" -lt 60 ] || fail "the report has $(wc -l < "$work/mh.txt") lines"
capture "$cli" stats --json "$work/mh.txt"
cp "$work/out" "$work/mh_status.json"
capture "$cli" stats --json "$work/mh.json"
"$python" - "$work/mh_status.json" "$work/out" <<'PY' || fail "the unused heaps read back differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert len(a["heaps"]) == 32 and a["heaps"] == b["heaps"], (len(a["heaps"]), len(b["heaps"]))
PY

# 3. --svg -: the SVG alone on standard output; a bucket summary's chart names its configuration.
MALLOCOPTIONS=buckets,multiheap:2,bucket_statistics:"$work/buckets.txt" \
  LD_PRELOAD="$AIXMALLOC_LIB" "$CLI_WORKLOAD"
capture "$cli" stats --svg - "$work/buckets.txt"
expect_rc 0 "stats --svg -"
"$python" - "$work/out" <<'PY' || fail "stdout is not one SVG document: $(head -c 300 "$work/out")"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
text = ET.tostring(root, encoding="unicode")
assert "policy Yorktown, options buckets, multiheap:2" in text, text[:600]
assert "policy ?" not in text and "options none" not in text
PY
echo "process trees: one report each, summed; unused heaps in one line; --svg - alone"
