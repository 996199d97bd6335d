#!/usr/bin/env bash
# fork() from a signal handler that interrupted malloc, realloc or free (fork_signal.c): REPS runs
# (default 2) of FORKS forks (default 100, which catch the allocator inside a lock about 85 times;
# tools/matrix runs 1000) in a single-threaded program, then one run with two threads allocating
# beside it. A hang is the failure: each run is bounded by `timeout`. The signal
# must have caught the allocator holding a lock in some of the forks of every run, and the main
# thread inside its own fork() in some of the single-threaded runs' forks, or the test proved
# nothing.
# Under AIXMALLOC_STATS_SIGNAL the handler also raises that signal every 7th time.
source "$(dirname "$0")/common.sh"
forks=${FORKS:-100}
if [ -n "${AIXMALLOC_STATS_SIGNAL:-}" ]; then
  export STATS_SIGNAL=$(kill -l "${AIXMALLOC_STATS_SIGNAL#SIG}") STATS_EVERY=7
fi
run() {  # threads
  local rc=0
  timeout -s KILL 240 env LD_PRELOAD="$AIXMALLOC_LIB" "$AIXMALLOC_BUILD/tests/fork_signal" "$forks" "$1" \
    >> "$work/out" 2>> "$work/stderr" || rc=$?
  [ $rc = 137 ] && fail "hung: $forks forks from a signal handler, $1 other threads (killed after 240 s)"
  [ $rc = 0 ] || fail "exit status $rc: $(tail -1 "$work/out")"
}
inside_fork() { awk -F'inside_fork=' 'NF > 1 { split($2, n, " "); s += n[1] } END { print s + 0 }' "$work/out"; }
# A signal lands inside fork() itself a few times in a hundred forks; a single-threaded run goes on
# forking past FORKS until one has (fork_signal.c), and on a loaded machine more runs follow (up to
# 8) if none had.
runs=0
while [ $runs -lt "${REPS:-2}" ] || { [ "$(inside_fork)" = 0 ] && [ $runs -lt 8 ]; }; do
  run 0
  runs=$((runs + 1))
done
run 2
no_diagnostics
cat "$work/out"
[ "$(awk -v want="$forks" '/^forks=/ { split($1, f, "="); if (f[2] >= want) print }' "$work/out" |
     grep -c " failures=0 inside_locks=[1-9][0-9]* ")" = $((runs + 1)) ] ||
  fail "some run never interrupted the allocator inside a lock, or lost a child"
[ "$(inside_fork)" -gt 0 ] || fail "no signal landed inside the main thread's own fork() in $runs runs"
if [ -n "${AIXMALLOC_STATS_SIGNAL:-}" ]; then
  [ "$(grep -c " stats_document=yes$" "$work/out")" = $((runs + 1)) ] || fail "no live statistics document"
fi
