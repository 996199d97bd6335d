#!/usr/bin/env bash
# AIXMALLOC_STATS_SIGNAL: the live statistics document, idle and under load (see live_stats.cpp),
# with a classic signal and a real-time one.
source "$(dirname "$0")/common.sh"
requests=${LIVE_REQUESTS:-200}
AIXMALLOC_STATS_SIGNAL=USR2 preloaded "$AIXMALLOC_BUILD/tests/live_stats" "$(kill -l USR2)" "$requests" > "$work/out"
rtmin2=$(( $(kill -l RTMIN) + 2 ))
AIXMALLOC_STATS_SIGNAL=SIGRTMIN+2 preloaded "$AIXMALLOC_BUILD/tests/live_stats" "$rtmin2" 20 >> "$work/out"
no_diagnostics
[ "$(grep -c "^live requests=\([0-9]*\) answered=\1 corrupt=0$" "$work/out")" = 2 ] || fail "$(cat "$work/out")"
cat "$work/out"
