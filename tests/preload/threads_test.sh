#!/usr/bin/env bash
# 64 threads churning for a bounded time (THREADS_SECONDS, default 3), every block's pattern
# checked, most blocks freed by another thread than the one that allocated them.
source "$(dirname "$0")/common.sh"
preloaded "$AIXMALLOC_BUILD/tests/threads64" 64 "${THREADS_SECONDS:-3}" > "$work/out"
no_diagnostics
grep -qE "^threads=64 ops=[1-9][0-9]* corrupt=0$" "$work/out" || fail "$(cat "$work/out")"
cat "$work/out"
