#!/usr/bin/env bash
# The Malloc Log under stress (malloc_log_soak.c): allocating threads with dlopen/dlclose, fork and
# signals around them, SOAK_SECONDS long (10 here; set it higher by hand). It must end (the timeout
# below is its hang detector) and the log must count exactly the blocks the threads still hold.
source "$(dirname "$0")/common.sh"
seconds=${SOAK_SECONDS:-10}
status=0
SOAK_SECONDS=$seconds MALLOCDEBUG=log timeout --signal=KILL $((seconds + 90)) \
  env LD_PRELOAD="$AIXMALLOC_LIB" "$AIXMALLOC_BUILD/tests/malloc_log_soak" > "$work/out" 2>> "$work/stderr" || status=$?
cat "$work/out"
[ "$status" != 137 ] || fail "the soak hung (killed after $((seconds + 90)) s)"
[ "$status" = 0 ] || fail "the log's counts differ from the blocks held (status $status)"
no_diagnostics
echo "Malloc Log soak: $seconds s, counts exact"
