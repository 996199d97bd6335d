#!/usr/bin/env bash
# fork() while other threads use every layer: the pool, the thread cache, every heap and the cache
# of large ranges (fork_layers.cpp), FORKS forks (default 300; tools/matrix runs 1000), each child
# allocating in every layer and freeing blocks the parent's threads held. Bounded by `timeout`: a hang is the failure.
# Under AIXMALLOC_STATS_SIGNAL the program also sends itself that signal every 16 forks.
source "$(dirname "$0")/common.sh"
forks=${FORKS:-300}
if [ -n "${AIXMALLOC_STATS_SIGNAL:-}" ]; then export STATS_SIGNAL=$(kill -l "${AIXMALLOC_STATS_SIGNAL#SIG}"); fi
rc=0
timeout -s KILL 800 env LD_PRELOAD="$AIXMALLOC_LIB" "$AIXMALLOC_BUILD/tests/fork_layers" "$forks" \
  > "$work/out" 2>> "$work/stderr" || rc=$?
[ $rc = 137 ] && fail "hung: $forks forks against threads in every layer (killed after 800 s)"
no_diagnostics
grep -qx "forks=$forks failures=0" "$work/out" || fail "exit status $rc: $(cat "$work/out")"
cat "$work/out"
