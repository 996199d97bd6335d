#!/usr/bin/env bash
# Threads created and destroyed in phases, their blocks freed by later threads: the peak RSS stays
# within 4 times the most bytes ever live plus 8 MiB (handing each new thread a fresh heap made every
# one of multiheap's 32 heaps grow: 33 times the live bytes).
source "$(dirname "$0")/common.sh"
out=$(preloaded "$AIXMALLOC_BUILD/tests/thread_phases" 40 20000)
no_diagnostics
echo "$out"
live=$(sed -n 's/.*max_live_kib=\([0-9]*\).*/\1/p' <<< "$out")
peak=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<< "$out")
[ -n "$live" ] && [ -n "$peak" ] || fail "no figures: $out"
[ "$live" -gt 4096 ] || fail "too few bytes live to judge: $out"
limit=$((4 * live + 8192))
[ "$peak" -le "$limit" ] || fail "peak RSS ${peak} KiB is over 4 x ${live} KiB live + 8 MiB = ${limit} KiB"
