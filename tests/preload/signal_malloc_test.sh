#!/usr/bin/env bash
# A signal handler that allocates while its (only) thread is inside the allocator holding a lock
# (signal_malloc.c): the program must end with the allocator's report and abort, not hang (each run
# is bounded by `timeout`) and not go on. Under the policies whose heaps take a lock on every call.
source "$(dirname "$0")/common.sh"
rc=0
timeout -s KILL 120 env LD_PRELOAD="$AIXMALLOC_LIB" "$AIXMALLOC_BUILD/tests/signal_malloc" 30 \
  > "$work/out" 2> "$work/stderr" || rc=$?
[ $rc = 137 ] && fail "hung: the handler waited for the lock its own thread held (killed after 120 s)"
[ $rc = 3 ] && fail "no signal landed inside one of the allocator's locks in 30 s: the test proved nothing"
[ $rc = 134 ] || fail "exit status $rc, not abort's 134: $(cat "$work/out")"
grep -Eq '^aixmalloc: the allocator was entered again by a thread already inside it \(a signal handler that calls malloc or free\?\): lock 0x[0-9a-f]+ held by this thread$' "$work/stderr" ||
  fail "no report of the allocator entered again"
[ "$(grep -c '^aixmalloc:' "$work/stderr")" = 1 ] || fail "more than the one report"
echo "aborted with the report: $(grep '^aixmalloc:' "$work/stderr")"
