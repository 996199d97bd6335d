#!/usr/bin/env bash
# aixmalloc leaks --pid on a running process (leaks_workload.c) under MALLOCDEBUG=log with
# AIXMALLOC_STATS_SIGNAL set: the answer names each leaking function with its exact blocks and
# bytes, counts what was leaked since the last answer, leaves out what was freed, leaves no file
# behind, and the process goes on and exits 0.
source "$(dirname "$0")/common.sh"
: "${CLI_LEAKS_WORKLOAD:?set by ctest}"
pid=
cleanup() {
  [ -z "$pid" ] || kill -KILL "$pid" 2> /dev/null || true
  [ -z "$pid" ] || rm -f "/dev/shm/aixmalloc-leaks.$pid.json" "/tmp/aixmalloc-leaks.$pid.json"
  rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/in"
exec {fd}<> "$work/in"
# Without the test's end of the FIFO: a workload holding it would never see the end of its input.
(
  exec {fd}>&-
  exec env MALLOCDEBUG=log AIXMALLOC_STATS_SIGNAL=USR2 LD_PRELOAD="$AIXMALLOC_LIB" "$CLI_LEAKS_WORKLOAD"
) < "$work/in" > "$work/workload.out" 2> "$work/workload.err" &
pid=$!
wait_ready() {
  for _ in $(seq 500); do
    grep -qx "ready $1" "$work/workload.out" 2> /dev/null && return 0
    sleep 0.01
  done
  fail "the workload did not say 'ready $1': $(cat "$work/workload.out" "$work/workload.err")"
}
# sites FILE FUNCTION BLOCKS BYTES...: the --json answer has exactly these sites of the workload's.
sites() {
  "$python" - "$@" <<'PY' || fail "the answer: $(head -c 1500 "$work/out")"
import json, sys
d = json.load(open(sys.argv[1]))
want = {sys.argv[i]: (int(sys.argv[i + 1]), int(sys.argv[i + 2])) for i in range(2, len(sys.argv), 3)}
assert d["format"] == "aixmalloc-leaks" and d["when"] == "request" and d["stack_depth"] == 4, d
got = {}
for s in d["sites"]:
    names = [f.get("function", "") for f in s["frames"]]
    mine = [n for n in ("leak_small", "leak_zeroed", "leak_more", "not_a_leak") if n in names[:1]]
    if mine:
        assert names[1] == "main", names  # the whole stack, the caller too
        assert mine[0] not in got, ("one site per function", d["sites"])
        got[mine[0]] = (s["count"], s["bytes"])
assert got == want, (got, want)
# Nothing the request itself did (no symbolizer is loaded in the signal handler) is a leak.
assert not any("dl_open" in f.get("function", "") for s in d["sites"] for f in s["frames"]), d["sites"]
assert d["total"]["count"] == sum(s["count"] for s in d["sites"])
PY
}
wait_ready 1

# 1. The table names the functions; --json has the exact blocks and bytes.
capture "$cli" leaks --pid "$pid"
expect_rc 0 "leaks --pid"
grep -qE "^Leaks of process $pid .*, on request: " "$work/out" || fail "the header: $(head -3 "$work/out")"
has "$work/out" "leak_zeroed"
has "$work/out" "leak_small"
capture "$cli" leaks --json --pid "$pid"
expect_rc 0 "leaks --json --pid"
sites "$work/out" leak_small 3 300 leak_zeroed 2 10000

# 2. More leaks since: the next answer is a new one and has them.
echo more >&"$fd"
wait_ready 2
capture "$cli" leaks --json --pid "$pid"
expect_rc 0 "leaks --json --pid, after more"
sites "$work/out" leak_small 3 300 leak_zeroed 2 10000 leak_more 4 160
[ ! -e "/dev/shm/aixmalloc-leaks.$pid.json" ] && [ ! -e "/tmp/aixmalloc-leaks.$pid.json" ] ||
  fail "the answer's file was left behind"

# 3. The process goes on and ends normally, with nothing on its standard error.
kill -0 "$pid" || fail "the workload is gone"
exec {fd}>&-
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "the workload exited with status $status: $(cat "$work/workload.err")"
[ ! -s "$work/workload.err" ] || fail "the workload's stderr: $(cat "$work/workload.err")"
echo "leaks --pid: exact sites from a running process, twice"
