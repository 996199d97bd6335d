#!/usr/bin/env bash
# fork() while other threads are inside stdio (fork_stdio.cpp): REPS runs (default 2) of FORKS forks
# (default 150; tools/matrix runs 1000) while threads call fflush(NULL), getline() and
# fopen()/fclose(). The three-way cycle with libc's list of streams, if it forms, is a hang: each
# run is bounded by `timeout`.
source "$(dirname "$0")/common.sh"
forks=${FORKS:-150}
for rep in $(seq "${REPS:-2}"); do
  rc=0
  timeout -s KILL 400 env LD_PRELOAD="$AIXMALLOC_LIB" "$AIXMALLOC_BUILD/tests/fork_stdio" "$forks" "$work" \
    >> "$work/out" 2>> "$work/stderr" || rc=$?
  [ $rc = 137 ] && fail "hung: fork against threads inside stdio (killed after 400 s, run $rep)"
  [ $rc = 0 ] || fail "exit status $rc: $(tail -1 "$work/out")"
done
no_diagnostics
[ "$(grep -c "^forks=$forks failures=0$" "$work/out")" = "${REPS:-2}" ] || fail "$(cat "$work/out")"
cat "$work/out"
grep '^info:' "$work/stderr" || true
