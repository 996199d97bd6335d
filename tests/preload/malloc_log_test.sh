#!/usr/bin/env bash
# The Malloc Log in real programs (malloc_log.c, malloc_log_new.cpp), under the configuration of the
# ctest entry: report_allocations names each leaking function with its exact count and bytes, in C
# and through C++ new; the JSON document parses and agrees; the API (malloc_log.c api); `extended`
# (thread ids of two threads, increasing sequence numbers); fork and a chain of fork+exec each leave
# a report of their own.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/malloc_log"
# MALLOCDEBUG_EXTRA (ctest): more MALLOCDEBUG options under every run, e.g. catch_overflow.
extra=${MALLOCDEBUG_EXTRA:+,$MALLOCDEBUG_EXTRA}
cxx="$AIXMALLOC_BUILD/tests/malloc_log_new"

expect_site() {  # report function count bytes
  local line
  line=$(grep -A2 -E "^Site " "$1" | grep -B2 -E "^        0x[0-9a-f]+  $2\+" | grep -E '^Site ' || true)
  [ -n "$line" ] || fail "no site for $2 in: $(cat "$1")"
  local want="$3 allocation"
  echo "$line" | grep -q ": $want" || fail "$2: expected $3 allocations: $line"
  echo "$line" | grep -q ", $4 bytes" || fail "$2: expected $4 bytes: $line"
}

# --- C leaks, text report to a file and the JSON document -------------------------------------------
MALLOCDEBUG=report_allocations$extra,output:$work/report.%p AIXMALLOC_LEAKS_JSON=$work/leaks.%p.json \
  AIXMALLOC_STATS_JSON=$work/stats.json preloaded "$prog" leaks > "$work/out"
[ "$(cat "$work/out")" = done ] || fail "the program's output changed: $(cat "$work/out")"
report=$(ls "$work"/report.*)
expect_site "$report" leak_small 5 120
expect_site "$report" leak_medium 3 3000
expect_site "$report" leak_large 1 5242880
expect_site "$report" leak_realloc 2 6000
expect_site "$report" leak_framed 2 80
expect_site "$report" leak_framed_calloc 1 56
if grep -q not_a_leak "$report"; then fail "a freed block is reported: $(cat "$report")"; fi
grep -Eq '^Total: [0-9]+ allocations, [0-9]+ bytes, [0-9]+ sites$' "$report" || fail "no total line: $(cat "$report")"
# Largest first.
first=$(grep -m1 -A2 '^Site 1:' "$report" | tail -1)
echo "$first" | grep -q leak_large || fail "the largest site is not first: $(cat "$report")"
python3 - "$work"/leaks.*.json <<'PY' || fail "the JSON document does not agree with the report"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "aixmalloc-leaks" and d["version"] == 1 and d["when"] == "exit", d
sites = {s["frames"][0].get("function"): s for s in d["sites"]}
for f, n, b in [("leak_small", 5, 120), ("leak_medium", 3, 3000), ("leak_large", 1, 5242880),
                ("leak_realloc", 2, 6000), ("leak_framed", 2, 80), ("leak_framed_calloc", 1, 56)]:
    assert sites[f]["count"] == n and sites[f]["bytes"] == b, (f, sites[f])
# The whole stack (depth 4), from the program's frame up: the callers are exact too, with and
# without a frame pointer.
for f, callers in [("leak_small", ["leaks", "main"]), ("leak_medium", ["leaks", "main"]),
                   ("leak_large", ["leaks", "main"]), ("leak_realloc", ["leaks", "main"]),
                   ("leak_framed", ["framed_caller", "leaks", "main"]),
                   ("leak_framed_calloc", ["framed_caller", "leaks", "main"])]:
    names = [fr.get("function") for fr in sites[f]["frames"]]
    assert len(names) == 4 and names[1:1 + len(callers)] == callers, (f, names)
# One site through two callers: two stacks.
shared = {s["frames"][1].get("function"): (s["count"], s["bytes"]) for s in d["sites"]
          if s["frames"][0].get("function") == "leak_shared"}
assert shared == {"via_one": (3, 144), "via_two": (2, 96)}, shared
bytes_ = [s["bytes"] for s in d["sites"]]
assert bytes_ == sorted(bytes_, reverse=True)
assert d["total"]["sites"] == len(d["sites"]) and d["total"]["count"] == sum(s["count"] for s in d["sites"])
mods = {m["id"]: m for m in d["modules"]}
for s in d["sites"]:
    for fr in s["frames"]:
        if "module" in fr:
            assert int(fr["pc"], 16) - int(mods[fr["module"]]["base"], 16) == int(fr["offset"], 16)
PY

# Every stack started at the program's frame, as the entry point noted it: none was found by
# walking up the allocator's own frames.
python3 - "$work/stats.json" <<'PY' || fail "statistics: $(cat "$work/stats.json")"
import json, sys
log = json.load(open(sys.argv[1]))["malloc_log"]
assert log["stacks_walked_from_allocator"] == 0 and log["stacks_truncated"] == 0, log
PY

# --- C++ new --------------------------------------------------------------------------------------------
MALLOCDEBUG=report_allocations$extra,output:$work/cxx.%p AIXMALLOC_LEAKS_JSON=$work/cxx.json \
  AIXMALLOC_STATS_JSON=$work/cxx-stats.json preloaded "$cxx" > /dev/null
# dladdr gives the mangled name; a demangling symbolizer the plain one.
expect_site "$(ls "$work"/cxx.*[0-9])" "(_Z9make_nodev|make_node\(\))" 4 192
expect_site "$(ls "$work"/cxx.*[0-9])" "(_Z10make_arrayv|make_array\(\))" 1 400
python3 - "$work/cxx.json" "$work/cxx-stats.json" <<'PY' || fail "C++ stacks: $(cat "$work/cxx.json")"
import json, sys
d = json.load(open(sys.argv[1]))
for s in d["sites"]:
    names = [fr.get("function", "") for fr in s["frames"]]
    if "make_node" in names[0] or "make_array" in names[0]:
        assert names[1] in ("main", "main()"), names
assert json.load(open(sys.argv[2]))["malloc_log"]["stacks_walked_from_allocator"] == 0
PY

# --- the API ------------------------------------------------------------------------------------------
MALLOCDEBUG=log$extra preloaded "$prog" api > "$work/api" || fail "API checks: $(cat "$work/api" "$work/stderr")"
grep -q 'api ok' "$work/api" || fail "API checks did not finish"
# Off: get_malloc_log copies nothing.
no_diagnostics

# --- extended -----------------------------------------------------------------------------------------
MALLOCDEBUG=log:extended$extra,report_allocations,output:$work/ext.%p preloaded "$prog" threads > /dev/null
ext=$(ls "$work"/ext.*)
python3 - "$ext" <<'PY' || fail "extended fields: $(cat "$ext")"
import re, sys
text = open(sys.argv[1]).read()
rows = [tuple(int(x) for x in m) for m in re.findall(r"allocation 0x[0-9a-f]+ size (\d+) pid (\d+) thread (\d+) seq (\d+)", text)]
by_size = {}
for size, pid, tid, seq in rows:
    by_size.setdefault(size, []).append((tid, seq))
a, b = by_size[111], by_size[222]
assert len(a) == 3 and len(b) == 3, by_size
assert len({t for t, _ in a}) == 1 and len({t for t, _ in b}) == 1 and a[0][0] != b[0][0], "thread ids"
sa, sb = [s for _, s in a], [s for _, s in b]
assert sa == sorted(sa) and sb == sorted(sb) and max(sa) < min(sb), "sequence numbers"
PY

# --- fork and a chain of fork+exec: one report per process --------------------------------------------
MALLOCDEBUG=report_allocations$extra,output:$work/fork.%p preloaded "$prog" fork > /dev/null
[ "$(ls "$work"/fork.* | wc -l)" = 2 ] || fail "fork: expected two reports: $(ls "$work")"
parent=$(grep -l leak_large "$work"/fork.*)
child=$(grep -L leak_large "$work"/fork.*)
expect_site "$child" leak_medium 1 1000
expect_site "$child" leak_small 1 24  # the parent's block, in the child's memory too
if grep -q leak_medium "$parent"; then fail "the child's leak is in the parent's report"; fi
MALLOCDEBUG=report_allocations$extra,output:$work/exec.%p AIXMALLOC_LEAKS_JSON=$work/exec.json \
  preloaded "$prog" exec 3 > /dev/null
[ "$(ls "$work"/exec.[0-9]* | wc -l)" = 4 ] || fail "exec chain: expected four reports: $(ls "$work")"
for r in "$work"/exec.[0-9]*; do expect_site "$r" leak_small 1 24; done
# A plain path: the first process writes it, the others PATH.PID.
[ -f "$work/exec.json" ] && [ "$(ls "$work"/exec.json.* | wc -l)" = 3 ] || fail "plain path: $(ls "$work")"
for j in "$work"/exec.json*; do python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$j" || fail "$j"; done
no_diagnostics
echo "Malloc Log: sites, counts and bytes exact; API; extended; fork and exec reports"
