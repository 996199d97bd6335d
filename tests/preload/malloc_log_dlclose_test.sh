#!/usr/bin/env bash
# The Malloc Log's unwind rules do not outlive dlclose (malloc_log_dlclose.c): a library whose
# allocations were logged is closed and another, with other frames at the same offsets, is opened
# where it was; the report must give the second library's allocations their whole stack
# (module_alloc, call_module, main), which a rule kept from the first would end after one frame.
# The statistics count the invalidation whether or not the kernel reused the address.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/malloc_log_dlclose"
mods="$AIXMALLOC_BUILD/tests"
MALLOCDEBUG=report_allocations,output:$work/report AIXMALLOC_LEAKS_JSON=$work/leaks.json \
  AIXMALLOC_STATS_JSON=$work/stats.json \
  preloaded "$prog" "$mods/libmalloc_log_module_a.so" "$mods/libmalloc_log_module_b.so" > "$work/out"
grep -q '^same address: ' "$work/out" || fail "the program did not finish: $(cat "$work/out")"
python3 - "$work/leaks.json" "$work/stats.json" <<'PY' || fail "after dlclose: $(cat "$work/report")"
import json, sys
d = json.load(open(sys.argv[1]))
mods = {m["id"]: m for m in d["modules"]}
sites = [s for s in d["sites"] if s["bytes"] == 3 * 2222]
assert len(sites) == 1 and sites[0]["count"] == 3, d["sites"]
frames = sites[0]["frames"]
names = [f.get("function") for f in frames]
assert names[:3] == ["module_alloc", "call_module", "main"], names
assert mods[frames[0]["module"]]["path"].endswith("libmalloc_log_module_b.so"), mods[frames[0]["module"]]
log = json.load(open(sys.argv[2]))["malloc_log"]
assert log["unwind_cache_invalidations"] >= 1 and log["stacks_truncated"] == 0, log
PY
no_diagnostics
echo "Malloc Log across dlclose: $(cat "$work/out"); stacks whole"
