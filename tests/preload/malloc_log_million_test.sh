#!/usr/bin/env bash
# The Malloc Log's reports of 1,000,000 live allocations from 1024 stacks in 8 sizes each
# (tools/bench/src/leak_report.c, in its --check mode): the document of a live request (as
# `aixmalloc leaks --pid` asks for it) and the text report at exit each count every allocation,
# none lost to a full buffer or table. The time they take is the benchmark's to measure
# (tools/bench/RESULTS.md), not this test's.
source "$(dirname "$0")/common.sh"
MALLOCDEBUG=log AIXMALLOC_STATS_SIGNAL=USR2 \
  preloaded "$AIXMALLOC_BUILD/tests/leak_report" --check --only request,text > "$work/out" ||
  fail "incomplete: $(cat "$work/out")"
grep -q '^info: complete=yes ' "$work/out" || fail "$(cat "$work/out")"
no_diagnostics
cat "$work/out"
