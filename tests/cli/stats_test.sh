#!/usr/bin/env bash
# aixmalloc stats on the reports of a program with a known allocation profile (workload.c): the
# bucket statistics summary, the status report and the JSON document, each alone and together;
# the tables, the bar chart, --json, --svg; AIX's own layout; bad input.
source "$(dirname "$0")/common.sh"
: "${CLI_WORKLOAD:?set by ctest}"

# One run writes all three reports. Two heaps: the worker thread works in the second.
MALLOCOPTIONS=buckets,multiheap:2,bucket_statistics:"$work/buckets.txt" AIXMALLOC_STATS="$work/status.txt" \
  AIXMALLOC_STATS_JSON="$work/stats.json" LD_PRELOAD="$AIXMALLOC_LIB" "$CLI_WORKLOAD"

# 1. The bucket statistics summary: the table, the totals and the bar chart.
capture env COLUMNS=100 "$cli" stats "$work/buckets.txt"
expect_rc 0 "stats of the bucket summary"
cp "$work/out" "$work/buckets.out"
has "$work/out" "bucket statistics summary"
has "$work/out" "number_of_buckets 16, bucket_sizing_factor 64, blocks_per_bucket 1024"
# Rows: bucket, largest block size, requests, share.
row() { awk -v b="$1" '$1 == b && NF == 4 && $4 ~ /%$/ { print $2, $3; exit }' "$work/buckets.out"; }
[ "$(row 0)" = "64 300" ] || fail "bucket 0 row: '$(row 0)'"
[ "$(row 1)" = "128 200" ] || fail "bucket 1 row: '$(row 1)'"
[ "$(row 10)" = "704 50" ] || fail "bucket 10 row: '$(row 10)'"
read -r _ b3 <<< "$(row 3)"
[ "$b3" -ge 40 ] && [ "$b3" -le 41 ] || fail "bucket 3 served $b3 requests, expected 40 (41 with the TLS block)"
read -r inb def tot <<< "$(sed -n 's/^  Buckets allocator \([0-9]*\), default allocator \([0-9]*\), total for process \([0-9]*\).*/\1 \2 \3/p' "$work/out")"
[ "$tot" = $((inb + def)) ] || fail "totals: $inb + $def != $tot"
[ "$def" -ge 6 ] || fail "default allocator $def < 6"
# The chart: one line per bucket, bar lengths in the order of the counts, counts at the end.
chart=$(awk '/^Requests per bucket/ {on=1; next} on && /\|/ {print} on && !/\|/ && NF {exit}' "$work/out")
[ "$(wc -l <<< "$chart")" = 16 ] || fail "expected 16 chart lines:"$'\n'"$chart"
bar() { awk -v l="$1 B" '{ split($0, a, "|"); lab = a[1]; gsub(/^ +| +$/, "", lab); if (lab == l) { s = a[2]; print gsub(/#/, "#", s); exit } }' <<< "$chart"; }
[ "$(bar 64)" -gt "$(bar 128)" ] && [ "$(bar 128)" -gt "$(bar 704)" ] && [ "$(bar 704)" -gt "$(bar 256)" ] && [ "$(bar 256)" -gt 0 ] ||
  fail "bar lengths do not follow the counts:"$'\n'"$chart"
[ "$(bar 192)" = 0 ] || fail "an empty bucket has a bar"
grep -qE '^ +64 B \|#+ +300$' <<< "$chart" || fail "bucket 0's chart line:"$'\n'"$chart"
# The per-heap split: two rows whose counts add up to the totals.
heaps=$(awk '/^Heaps/ {on=1; next} on && NF == 3 && $1 ~ /^[0-9]+$/ {print}' "$work/out")
[ "$(wc -l <<< "$heaps")" = 2 ] || fail "expected two heap rows:"$'\n'"$(cat "$work/out")"
[ "$(awk '{b += $2; d += $3} END {print b, d}' <<< "$heaps")" = "$inb $def" ] || fail "heap rows do not add up: $heaps"

# 2. The status report: per-heap figures, large blocks, and a plain statement that it has no buckets.
capture "$cli" stats "$work/status.txt"
expect_rc 0 "stats of the status report"
has "$work/out" "status report"
has "$work/out" "Policy Yorktown; options on: multiheap:2, buckets, bucket_statistics"
has "$work/out" "No bucket statistics in this report"
has "$work/out" "Large blocks (own address range): 0 mapped now (0 bytes), most bytes at once"
grep -qE 'allocations 2$' "$work/out" || fail "the two 5 MiB blocks are not counted"
grep -qE '^ +Heap +Acquired +Free +Held' "$work/out" || fail "no heap table header"

# 3. --json of each format, and the three agree figure for figure where they overlap.
for f in buckets status stats; do
  ext=txt; [ $f = stats ] && ext=json
  capture "$cli" stats --json "$work/$f.$ext"
  expect_rc 0 "stats --json $f"
  cp "$work/out" "$work/$f.summary.json"
done
"$python" - "$work" <<'PY' || fail "the formats disagree"
import json, sys
w = sys.argv[1]
b, s, j = (json.load(open(f"{w}/{n}.summary.json")) for n in ("buckets", "status", "stats"))
for d in (b, s, j):
    assert d["schema"] == "aixmalloc-stats-summary" and d["schema_version"] == 1, d
assert b["formats"] == ["bucket statistics summary"] and s["formats"] == ["status report"] and j["formats"] == ["JSON"]
# The buckets: the summary and the JSON document hold the same section.
assert b["buckets"] == j["buckets"], (b["buckets"], j["buckets"])
rows = {r["bucket"]: r["allocations"] for r in j["buckets"]["by_bucket"]}
assert rows[0] == 300 and rows[1] == 200 and rows[10] == 50 and rows[3] in (40, 41), rows
assert sum(rows.values()) == j["buckets"]["buckets_allocator"]
assert len(j["buckets"]["by_heap"]) == 2
# The heaps: every figure the status report has is the JSON document's.
assert len(s["heaps"]) == len(j["heaps"]) == 2
for hs, hj in zip(s["heaps"], j["heaps"]):
    for k, v in hs.items():
        assert hj[k] == v, (k, hs, hj)
# The JSON document may carry more keys than the status report (a later version adds some).
for k, v in s["large_blocks"].items():
    assert j["large_blocks"][k] == v, (k, s["large_blocks"], j["large_blocks"])
assert j["large_blocks"]["allocations_since_start"] == 2 and j["large_blocks"]["most_bytes"] >= 10 << 20
assert s["process"]["grow_calls"] == sum(h["grow_calls"] for h in j["heaps"])
assert s["policy"] == j["policy"] == "Yorktown"
assert s["options"] == {"multiheap": 2, "buckets": True, "bucket_statistics": True} and not s["options_complete"]
assert j["options_complete"] and j["options"]["multiheap"] == 2 and j["options"]["pool"] is False
PY

# 4. One file with all three reports (in any order), and one read from standard input.
cat "$work/status.txt" "$work/stats.json" "$work/buckets.txt" > "$work/all.txt"
capture "$cli" stats --json "$work/all.txt"
expect_rc 0 "stats of a file with every format"
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["formats"] == ["JSON", "status report", "bucket statistics summary"], d["formats"]; assert d["buckets"]["by_bucket"][0]["allocations"] == 300' "$work/out" ||
  fail "a file with every format: $(head -c 400 "$work/out")"
capture "$cli" stats - < "$work/buckets.txt"
expect_rc 0 "stats of standard input"
has "$work/out" "standard input: bucket statistics summary"
# Two summaries in one file (a process and its child): the last is read, and stderr says so.
sed 's/^    0           64          300$/    0           64          999/' "$work/buckets.txt" > "$work/second.txt"
cat "$work/buckets.txt" "$work/second.txt" > "$work/two.txt"
capture "$cli" stats --json "$work/two.txt"
expect_rc 0 "two summaries"
has "$work/err" "the file holds 2 reports of one kind (bucket statistics summary)"
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["buckets"]["by_bucket"][0]["allocations"] == 999' "$work/out" || fail "not the last summary"

# 5. --svg: a standalone SVG document, one bar per bucket with its count in the tooltip.
capture "$cli" stats --svg "$work/chart.svg" --log "$work/stats.json"
expect_rc 0 "stats --svg"
"$python" - "$work/chart.svg" <<'PY' || fail "the SVG is not what a browser needs"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert root.tag == ns + "svg" and root.get("viewBox"), root.tag
bars = [r for r in root.iter(ns + "rect") if r.get("class") == "bar"]
assert len(bars) == 16, len(bars)
tips = [b.find(ns + "title").text for b in bars]
assert tips[0] == "bucket 0: blocks of up to 64 bytes, 300 requests", tips[0]
heights = [float(b.get("height")) for b in bars]
assert heights[0] > heights[1] > heights[10] > heights[3] > 0 and heights[2] == 0, heights
assert "log scale" in ET.tostring(root, encoding="unicode")
PY
capture "$cli" stats --svg "$work/none.svg" "$work/status.txt"
expect_rc 1 "stats --svg without bucket figures"
has "$work/err" "no bucket statistics to plot"

# 6. AIX's own layout (IBM's samples of the bucket summary and of dbx's report: tabs, other widths).
printf '%s\n' "==================================" "Malloc buckets statistical summary" \
  "==================================" "Configuration values:" "  Number of buckets:  16" \
  "  Bucket sizing factor:  32" "  Blocks per bucket:  1024" "Allocation request totals:" \
  "  Buckets allocator:  118870654" "  Default allocator:  343383" "  Total for process:  119214037" \
  "Allocation requests by bucket" "Bucket  Maximum  Number of" "Number  Block Size  Allocations" \
  "-----  ----------  -----------" "  0  32  104906782" "  1  64  9658271" "  15  512  4305601" \
  "Allocation requests by heap" "Heap  Buckets  Default" "Number  Allocator  Allocator" \
  "-----  -----------  -----------" "  0  118870654  343383" > "$work/aix-buckets.txt"
printf '%b\n' "The following options are enabled:" "\tImplementation Algorithm........ Default Allocator (Yorktown)" \
  "\tMalloc Log" "\t\tStack Depth............. 4" "Statistical Report on the Malloc Subsystem:" "\tHeap 0" \
  "\t\theap lock held by................ pthread ID 0x20023358" "\t\tbytes acquired from sbrk()....... 5309664" \
  "\t\tbytes in the freespace tree...... 334032" "\t\tbytes held by the user........... 4975632" \
  "\t\tallocations currently active..... 76102" "\t\tallocations since process start.. 20999785" \
  "\tThe Process Heap" "\t\tInitial process brk value........ 0x20013850" \
  "\t\tcurrent process brk value........ 0x214924c0" "\t\tsbrk()s called by malloc......... 78" > "$work/aix-status.txt"
cat "$work/aix-buckets.txt" "$work/aix-status.txt" > "$work/aix.txt"
capture "$cli" stats --json "$work/aix.txt"
expect_rc 0 "AIX's layout"
"$python" - "$work/out" <<'PY' || fail "AIX's layout is not read: $(cat "$work/out")"
import json, sys
d = json.load(open(sys.argv[1]))
b = d["buckets"]
assert b["bucket_sizing_factor"] == 32 and b["total_for_process"] == 119214037, b
assert [r["allocations"] for r in b["by_bucket"]] == [104906782, 9658271, 4305601], b["by_bucket"]
assert b["by_heap"] == [{"heap": 0, "buckets_allocator": 118870654, "default_allocator": 343383}]
h = d["heaps"][0]
assert h["bytes_acquired"] == 5309664 and h["bytes_free"] == 334032 and h["allocations_since_start"] == 20999785, h
assert d["process"]["grow_calls"] == 78 and d["policy"] == "Yorktown" and d["options"] == {}, d
PY
capture "$cli" stats "$work/aix.txt"
expect_rc 0 "AIX's layout as tables"
has "$work/out" "Buckets allocator 118870654, default allocator 343383, total for process 119214037 (99.7% served by buckets)"

# 7. Bad input.
printf 'hello\n' > "$work/junk"
capture "$cli" stats "$work/junk"
expect_rc 1 "a file without statistics"
has "$work/err" "no statistics found"
printf '{"schema": "other"}\n' > "$work/other.json"
capture "$cli" stats "$work/other.json"
expect_rc 1 "another JSON document"
printf '{"schema": "aixmalloc-stats", "heaps": [' > "$work/cut.json"
capture "$cli" stats "$work/cut.json"
expect_rc 1 "a cut JSON document"
has "$work/err" "not valid JSON"
"$python" -c 'print("{\"a\":" * 100000)' > "$work/deep.json"
capture "$cli" stats "$work/deep.json"
expect_rc 1 "JSON nested too deep"
capture "$cli" stats "$work/missing.txt"
expect_rc 1 "a missing file"
capture "$cli" stats
expect_rc 2 "no file"
capture "$cli" stats --svg
expect_rc 2 "--svg without a name"
# 8. Damaged reports (seeded mutations of the three formats in one file): never a crash, and
# whatever is printed with --json or --svg stays valid JSON and XML.
"$python" - "$cli" "$work/all.txt" "$work" <<'PY' || fail "damaged reports"
import json, random, subprocess, sys, xml.etree.ElementTree as ET
cli, seed, work = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
random.seed(20261123)
for i in range(150):
    b = bytearray(seed)
    for _ in range(random.randint(1, 30)):
        pos = random.randrange(len(b))
        r = random.random()
        if r < 0.4: b[pos] = random.randrange(256)
        elif r < 0.7: del b[pos:pos + random.randint(1, 50)]
        else: b[pos:pos] = random.choice([b"..", b"{", b"[", b'"', b"\n", b"99999999999999999999999", b"\t\t", b"Heap 99999\n", b"\xff"])
    open(f"{work}/damaged", "wb").write(b)
    j = subprocess.run([cli, "stats", "--json", f"{work}/damaged"], capture_output=True)
    s = subprocess.run([cli, "stats", "--svg", f"{work}/damaged.svg", f"{work}/damaged"], capture_output=True)
    assert j.returncode in (0, 1) and s.returncode in (0, 1), (i, j.returncode, s.returncode, j.stderr)
    if j.returncode == 0: json.loads(j.stdout)
    if s.returncode == 0: ET.parse(f"{work}/damaged.svg")
PY
echo "aixmalloc stats: three formats agree, tables, chart, --json, --svg, AIX's layout, bad input"
