#!/usr/bin/env bash
# AIX's bucket statistics report: a program with a known allocation profile, every label
# and every count checked, per bucket and per heap; written to stdout, stderr and a file (created
# 0666 less the umask, never through a symbolic link).
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/bucket_program"
# Counts the runtime adds itself: pthread_create allocates a thread's TLS block (one request of a
# size that depends on the libc), in each of two threads.
run() { MALLOCOPTIONS="$1" LD_PRELOAD="$AIXMALLOC_LIB" "$prog" "${@:2}"; }

# 1. One heap, report on stdout.
run buckets,bucket_statistics:stdout > "$work/one"
expect() { grep -qxF -- "$2" "$work/$1" || fail "report $1 lacks line: '$2'"$'\n'"$(cat "$work/$1")"; }
for line in "==================================" "Malloc buckets statistical summary" \
  "Configuration values:" "  Number of buckets:        16" "  Bucket sizing factor:     64" \
  "  Blocks per bucket:        1024" "Allocation request totals:" "Allocation requests by bucket" \
  "Bucket  Maximum     Number of" "Number  Block Size  Allocations" "-----   ----------  -----------" \
  "Allocation requests by heap" "Heap    Buckets      Default" "Number  Allocator    Allocator" \
  "-----   -----------  -----------"; do expect one "$line"; done
# Buckets: 10 B -> 0, 100 B -> 1, 200 B -> 3 (2 x 40), 1024 B -> 15. Default: 3 x 5000 + 2 x 2 x 3000,
# plus what pthread_create asked for itself (counted from the per-heap line below).
expect one "    0           64         1000"
expect one "    1          128          500"
expect one "    3          256           80"
expect one "   15         1024            7"
buckets=$(awk '/  Buckets allocator:/ {print $NF}' "$work/one")
default=$(awk '/  Default allocator:/ {print $NF}' "$work/one")
total=$(awk '/  Total for process:/ {print $NF}' "$work/one")
[ "$buckets" -ge 1587 ] || fail "buckets allocator $buckets < 1587"
[ "$default" -ge 7 ] || fail "default allocator $default < 7"
[ "$total" = $((buckets + default)) ] || fail "total $total != $buckets + $default"
grep -qE "^    0 +$buckets +$default\$" "$work/one" || fail "heap 0 row does not carry the totals"
sum=$(awk '$0 == "-----   ----------  -----------" {on=1; next} /^Allocation requests by heap/ {on=0} on {s += $3} END {print s}' "$work/one")
[ "$sum" = "$buckets" ] || fail "buckets rows add up to $sum, not $buckets"

# 2. Two heaps: one row each, adding up to the same totals as with one heap (the same program made
# the same requests); the worker threads, alive at once, work in different heaps (a new thread
# starts from the heap the fewest live threads use), so both heaps served bucket requests.
run buckets,multiheap:2,bucket_statistics:stderr 2> "$work/two" > /dev/null
rows=$(awk '$0 == "-----   -----------  -----------" {on=1; next} on' "$work/two")
[ "$(wc -l <<< "$rows")" = 2 ] || fail "expected two heap rows: $rows"
read -r b2 d2 <<< "$(awk '{b += $2; d += $3} END {print b, d}' <<< "$rows")"
[ "$b2" = "$buckets" ] && [ "$d2" = "$default" ] || fail "heap rows add up to $b2/$d2, one heap had $buckets/$default"
awk '$2 < 40 {exit 1}' <<< "$rows" || fail "a heap served fewer bucket requests than one worker made: $rows"

# 3. A file: created with 0666 less the umask, no symbolic link followed.
(umask 022 && run buckets,bucket_statistics:"$work/stats.txt")
[ "$(stat -c %a "$work/stats.txt")" = 644 ] || fail "mode $(stat -c %a "$work/stats.txt")"
expect stats.txt "    0           64         1000"
ln -s "$work/target" "$work/link.txt"
run buckets,bucket_statistics:"$work/link.txt" 2> "$work/err" > /dev/null
[ ! -e "$work/target" ] || fail "the report followed a symbolic link"
refused="MALLOCOPTIONS: bucket_statistics: cannot open $work/link.txt (it is a symbolic link,\
 which is never followed); writing to standard error instead"
grep -qF "$refused" "$work/err" || fail "no line about the refused file"
# MALLOCBUCKETS carries the same sub-options; MALLOCOPTIONS wins a conflict.
MALLOCBUCKETS=number_of_buckets:8,bucket_sizing_factor:32 run buckets,number_of_buckets:4,bucket_statistics:stdout > "$work/legacy"
expect legacy "  Number of buckets:        4"
expect legacy "  Bucket sizing factor:     32"
expect legacy "    3          128          500"
# 4. JSON (AIXMALLOC_STATS_JSON) and the text report agree on every figure of the same run.
AIXMALLOC_STATS_JSON="$work/stats.json" run buckets,multiheap:2,bucket_statistics:"$work/text.txt"
/usr/bin/python3 - "$work/stats.json" "$work/text.txt" <<'PY' || fail "JSON and text reports differ"
import json, re, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read().splitlines()
assert doc["schema"] == "aixmalloc-stats" and doc["schema_version"] == 1, doc.get("schema")
b = doc["buckets"]
def value(label):
    return int(next(l for l in text if l.startswith("  " + label + ":")).split()[-1])
assert b["number_of_buckets"] == value("Number of buckets")
assert b["bucket_sizing_factor"] == value("Bucket sizing factor")
assert b["blocks_per_bucket"] == value("Blocks per bucket")
assert b["buckets_allocator"] == value("Buckets allocator")
assert b["default_allocator"] == value("Default allocator")
assert b["total_for_process"] == value("Total for process")
start = text.index("-----   ----------  -----------") + 1
rows = [list(map(int, l.split())) for l in text[start:start + b["number_of_buckets"]]]
assert rows == [[r["bucket"], r["maximum_block_size"], r["allocations"]] for r in b["by_bucket"]], rows
start = text.index("-----   -----------  -----------") + 1
rows = [list(map(int, l.split())) for l in text[start:] if l.strip()]
assert rows == [[r["heap"], r["buckets_allocator"], r["default_allocator"]] for r in b["by_heap"]], rows
assert len(doc["heaps"]) == 2 and doc["options"]["multiheap"] == 2
PY
echo "bucket statistics: labels, counts per bucket and per heap, destinations, JSON agrees"
