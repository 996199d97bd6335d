#!/usr/bin/env bash
# The Malloc Log's counts of small blocks (malloc_log_side.c) under the configuration of the ctest
# entry, with and without `extended` (whose blocks the address table keeps under every policy):
# the API's counts through frees from another thread, realloc and reset_malloc_log; then the
# statistics at exit, with 200,000 blocks live: every one counted, every malloc counted as logged,
# and the metadata within 32 bytes a live block (and not below the 4 bytes each needs anywhere);
# `extended` keeps 24 bytes more a block (aixmalloc(7)).
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/malloc_log_side"

for word in log log:extended; do
  rm -f "$work/stats.json"
  MALLOCDEBUG=$word AIXMALLOC_STATS_JSON=$work/stats.json preloaded "$prog" > "$work/out" ||
    fail "$word: the program failed: $(cat "$work/out")"
  [ "$(cat "$work/out")" = done ] || fail "$word: the program's output: $(cat "$work/out")"
  no_diagnostics
  python3 - "$work/stats.json" "$word" <<'PY' || fail "$word: statistics: $(cat "$work/stats.json")"
import json, sys
log = json.load(open(sys.argv[1]))["malloc_log"]
kept, mallocs = 200000, 100000 + 1 + 1000 + 1 + 200000
live, meta = log["live_allocations"], log["metadata_bytes"]
assert kept <= live < kept + 100, (sys.argv[2], log)
assert log["allocations_logged"] >= mallocs, (sys.argv[2], log)
most = 32 + (24 if sys.argv[2].endswith("extended") else 0)
assert 4 * live <= meta <= most * live, (sys.argv[2], "metadata per live block", meta / live, log)
PY
done
