#!/usr/bin/env bash
# aixmalloc stats --pid on running processes (live_workload.c): the answer's figures are what the
# process did so far, every answer is new and its file removed, the process goes on and exits 0;
# a busy multi-threaded process answers, and so does one started without AIXMALLOC_STATS_SIGNAL;
# every refusal (no process, not on aixmalloc, the signal ignored, not caught or taken by the
# program, a planted answer) has its exit status and its one line, and leaves the process running.
source "$(dirname "$0")/common.sh"
: "${CLI_LIVE_WORKLOAD:?set by ctest}"

declare -A fd_of
started=()
cleanup() {
  for p in "${started[@]}"; do
    kill -KILL "$p" 2> /dev/null || true
    rm -f "/dev/shm/aixmalloc-stats.$p.json" "/tmp/aixmalloc-stats.$p.json"
  done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME MODE [VAR=VALUE...]: the workload in the background, its commands through NAME.fifo
# (opened read-write here, so neither side waits for the other), its output in NAME.out. Sets pid.
start() {
  local name=$1 mode=$2 fd
  shift 2
  mkfifo "$work/$name.fifo"
  exec {fd}<> "$work/$name.fifo"
  fd_of[$name]=$fd
  # Without the test's ends of the FIFOs: a workload holding one would never see end of file.
  (
    for f in "${fd_of[@]}"; do exec {f}>&-; done
    exec env "$@" "$CLI_LIVE_WORKLOAD" "$mode" "$work/$name.fifo"
  ) > "$work/$name.out" 2> "$work/$name.err" &
  pid=$!
  started+=("$pid")
  wait_ready "$name" 1
}
wait_ready() {
  for _ in $(seq 500); do
    grep -qx "ready $2" "$work/$1.out" 2> /dev/null && return 0
    sleep 0.01
  done
  fail "$1 did not say 'ready $2': $(cat "$work/$1.out" "$work/$1.err")"
}
tell() { echo "$2" >&"${fd_of[$1]}"; }
# finish NAME PID: end of its commands; it must exit 0.
finish() {
  local fd=${fd_of[$1]} status=0
  exec {fd}>&-
  wait "$2" || status=$?
  [ "$status" = 0 ] || fail "$1 exited with status $status: $(cat "$work/$1.err")"
}
alive() { kill -0 "$1" 2> /dev/null || fail "process $1 ($2) is gone"; }
no_answer_left() {
  [ ! -e "/dev/shm/aixmalloc-stats.$1.json" ] && [ ! -e "/tmp/aixmalloc-stats.$1.json" ] ||
    fail "the answer of process $1 was left behind: $(ls -l /dev/shm /tmp | grep aixmalloc-stats)"
}
one_line() { [ "$(wc -l < "$work/err")" = 1 ] || fail "$1: expected one line on stderr: $(cat "$work/err")"; }
elapsed() { "$python" -c 'import time; print(time.monotonic())'; }

# 1. An idle process under buckets: the tables, then --json with the figures of what it holds.
start hold hold LD_PRELOAD="$AIXMALLOC_LIB" MALLOCOPTIONS=buckets AIXMALLOC_STATS_SIGNAL=USR2
hold=$pid
capture env COLUMNS=100 "$cli" stats --pid "$hold" --ascii
expect_rc 0 "stats --pid of an idle process"
has_line "$work/out" "process $hold: JSON"
has "$work/out" "Allocation requests by bucket"
row() { awk -v b="$1" '$1 == b && NF == 4 && $4 ~ /%$/ { print $2, $3; exit }' "$work/out"; }
[ "$(row 0)" = "64 300" ] && [ "$(row 1)" = "128 200" ] && [ "$(row 10)" = "704 50" ] ||
  fail "bucket rows: '$(row 0)' '$(row 1)' '$(row 10)':"$'\n'"$(cat "$work/out")"
grep -qE '^ +64 B \|#+ +300$' "$work/out" || fail "no bar for bucket 0:"$'\n'"$(cat "$work/out")"
grep -qE '^ +Heap +Acquired +Free +Held' "$work/out" || fail "no heap table:"$'\n'"$(cat "$work/out")"
no_answer_left "$hold"
# The JSON: the buckets count exactly the requests the program made, the heap holds its blocks.
check_json() {
  "$python" - "$work/out" "$1" "$2" <<'PY' || fail "stats --json --pid: $(head -c 800 "$work/out")"
import json, sys
d = json.load(open(sys.argv[1]))
pid, small = int(sys.argv[2]), int(sys.argv[3])
assert d["schema"] == "aixmalloc-stats-summary" and d["formats"] == ["JSON"], d
assert d["pid"] == pid and d["file"] in (f"{dir}/aixmalloc-stats.{pid}.json" for dir in ("/dev/shm", "/tmp")), d
b = d["buckets"]
rows = {r["bucket"]: r["allocations"] for r in b["by_bucket"]}
assert rows[0] == small and rows[1] == 200 and rows[10] == 50, rows
assert sum(rows.values()) == b["buckets_allocator"], b
assert b["total_for_process"] == b["buckets_allocator"] + b["default_allocator"], b
assert b["default_allocator"] >= 4, b  # the 2000-byte blocks
held = small * 24 + 200 * 100 + 50 * 700 + 4 * 2000
assert d["heaps"][0]["bytes_held"] >= held, (d["heaps"][0], held)
assert d["totals"]["bytes_in_use"] >= held, d["totals"]
PY
}
capture "$cli" stats --json --pid="$hold"
expect_rc 0 "stats --json --pid"
check_json "$hold" 300
no_answer_left "$hold"
# Two answers in a row, after the program made 100 more requests: both new, both with them.
tell hold more
wait_ready hold 2
for i in 1 2; do
  capture "$cli" stats --json --pid "$hold"
  expect_rc 0 "stats --json --pid, answer $i after 'more'"
  check_json "$hold" 400
  no_answer_left "$hold"
done
# --svg and --log work on the live document as on a file.
capture "$cli" stats --pid "$hold" --svg "$work/live.svg" --log --timeout 2.5
expect_rc 0 "stats --pid --svg"
"$python" - "$work/live.svg" <<'PY' || fail "the SVG of a live answer"
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
bars = [r for r in ET.parse(sys.argv[1]).getroot().iter(ns + "rect") if r.get("class") == "bar"]
assert len(bars) == 16 and bars[0].find(ns + "title").text == "bucket 0: blocks of up to 64 bytes, 400 requests", bars[0].find(ns + "title").text
PY
has "$work/out" "Requests per bucket (log scale)"
alive "$hold" "after five answers"
finish hold "$hold"

# 2. A busy process (4 threads allocating and freeing without pause) under watson+pool,multiheap,
# started by `aixmalloc run --stats-signal`: five answers, each a whole document, counts growing.
start busy busy AIXMALLOC_LIBRARY="$AIXMALLOC_LIB" "$cli" run --stats-signal usr2 --type watson \
  --options pool,multiheap --
busy=$pid
has_line <(tr '\0' '\n' < "/proc/$busy/environ") AIXMALLOC_STATS_SIGNAL=usr2
for i in 1 2 3 4 5; do
  capture "$cli" stats --json --pid "$busy"
  expect_rc 0 "stats --pid of a busy process, answer $i"
  cp "$work/out" "$work/busy$i.json"
done
no_answer_left "$busy"
"$python" - "$work" <<'PY' || fail "the busy process's answers"
import json, sys
counts = []
for i in range(1, 6):
    d = json.load(open(f"{sys.argv[1]}/busy{i}.json"))
    assert d["policy"] == "watson" and d["options"]["pool"] is not False and d["options"]["multiheap"] is not False, d["options"]
    counts.append(sum(h.get("allocations_since_start", 0) for h in d["heaps"]) +
                  sum(r["allocations"] for r in d["pool"]["by_class"]) +
                  d.get("threadcache", {}).get("requests_served", 0))
assert all(a < b for a, b in zip(counts, counts[1:])), counts
PY
capture "$cli" stats --pid "$busy"
expect_rc 0 "stats --pid of a busy process, as tables"
grep -qE '^Policy watson; options on: multiheap(:[0-9]+)?, pool' "$work/out" || fail "busy, as tables: $(head -3 "$work/out")"
has_line "$work/out" "Thread cache (MALLOCOPTIONS=threadcache)"
grep -qE '^  bytes in the heaps. depots +[0-9]+$' "$work/out" || fail "busy, no depot line:"$'\n'"$(cat "$work/out")"
has_line "$work/out" "Pool (MALLOCOPTIONS=pool)"
grep -qE '^  empty pages kept for any class +[0-9]+$' "$work/out" && grep -qE '^  pages reused \(any class\) +[0-9]+$' "$work/out" ||
  fail "busy, pool lines:"$'\n'"$(cat "$work/out")"
# 32 heaps, a handful of threads: the heaps never used are counted in one line, not listed.
shown=$(awk '/^Heaps/ {on=1; next} on && $1 ~ /^[0-9]+$/ {n++} on && /^$/ {exit} END {print n+0}' "$work/out")
hidden=$(sed -n 's/^(\([0-9]*\) more heaps never used, not shown)$/\1/p' "$work/out")
[ -n "$hidden" ] && [ "$shown" -ge 1 ] && [ $((shown + hidden)) = 32 ] ||
  fail "busy, heap rows: $shown shown, '$hidden' hidden: $(sed -n '/^Heaps/,/^$/p' "$work/out")"
alive "$busy" "after six answers"
finish busy "$busy"

# 3. A process started without AIXMALLOC_STATS_SIGNAL answers on the signal aixmalloc picked, and
# so does one whose value the parser refuses (after one line naming it). Processes that cannot be
# asked: exit 2, one line, the process untouched.
plain_answers() {
  capture "$cli" stats --json --pid "$1"
  expect_rc 0 "$2"
  "$python" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["pid"] == int(sys.argv[2]) and d["totals"]["bytes_in_use"] > 300 * 24, d["totals"]' "$work/out" "$1" ||
    fail "$2: $(head -c 600 "$work/out")"
}
start plain hold LD_PRELOAD="$AIXMALLOC_LIB"
plain=$pid
plain_answers "$plain" "a process without AIXMALLOC_STATS_SIGNAL"
no_answer_left "$plain"
alive "$plain" "no variable"
finish plain "$plain"
start glibc hold AIXMALLOC_STATS_SIGNAL=USR2
glibc=$pid
capture "$cli" stats --pid "$glibc"
expect_rc 2 "a process that does not run on aixmalloc"
one_line "not on aixmalloc"
has "$work/err" "process $glibc does not run on aixmalloc (no libaixmalloc in /proc/$glibc/maps)"
alive "$glibc" "not on aixmalloc"
finish glibc "$glibc"
start badsig hold LD_PRELOAD="$AIXMALLOC_LIB" AIXMALLOC_STATS_SIGNAL=SEGV
badsig=$pid
plain_answers "$badsig" "a process whose AIXMALLOC_STATS_SIGNAL the parser refuses"
has_line "$work/badsig.err" "aixmalloc: AIXMALLOC_STATS_SIGNAL: 'SEGV' is not USR1, USR2, RTMIN+n, RTMAX-n or off (n 0-$(($(kill -l RTMAX) - $(kill -l RTMIN)))); aixmalloc picks a free real-time signal"
finish badsig "$badsig"
gone=$(( $(cat /proc/sys/kernel/pid_max) + 1 ))
true & ended=$!
wait "$ended"
for p in "$gone" "$ended"; do
  capture "$cli" stats --pid "$p"
  expect_rc 2 "stats --pid of a process that does not exist ($p)"
  has_line "$work/err" "aixmalloc stats: there is no process $p"
done
for p in 0 -3 abc 12x ""; do
  capture "$cli" stats --pid "$p"
  expect_rc 2 "stats --pid '$p'"
  grep -q '^aixmalloc stats: --pid needs' "$work/err" || fail "stats --pid '$p': $(cat "$work/err")"
done

# 4. Processes that cannot answer: exit 1. One set the signal to SIG_IGN, one installed a handler
# of its own with sigaction(): aixmalloc gave the signal up, so the CLI says so at once and sends
# nothing (its handler runs once, for its own raise()). One replaced aixmalloc's handler with the
# system call itself, which aixmalloc cannot see: the signal is sent, nothing comes within --timeout.
for mode in ignore own; do
  start "$mode" "$mode" LD_PRELOAD="$AIXMALLOC_LIB" AIXMALLOC_STATS_SIGNAL=USR2
  t0=$(elapsed)
  capture "$cli" stats --pid "$pid" --timeout 1
  expect_rc 1 "a process that set SIGUSR2 itself ($mode)"
  one_line "$mode"
  action=$([ "$mode" = ignore ] && echo SIG_IGN || echo "its own handler")
  has_line "$work/err" "aixmalloc stats: process $pid has no statistics channel now: its program set SIGUSR2 to $action, the signal its AIXMALLOC_STATS_SIGNAL names; not sent"
  "$python" -c "import sys, time; sys.exit(time.monotonic() - $t0 > 1.5)" || fail "$mode: the refusal took over 1.5 s"
  alive "$pid" "$mode"
  finish "$mode" "$pid"  # own: exits 3 unless its handler ran exactly once
done
start handler handler LD_PRELOAD="$AIXMALLOC_LIB" AIXMALLOC_STATS_SIGNAL=USR2
t0=$(elapsed)
capture "$cli" stats --pid "$pid" --timeout 1
expect_rc 1 "a process with its own handler"
one_line "own handler"
has_line "$work/err" "aixmalloc stats: process $pid did not answer SIGUSR2 within 1 s: its program replaced aixmalloc's handler without sigaction() (with the system call itself), or blocked the signal in the thread it reached, or is not preloaded with libaixmalloc.so"
"$python" -c "import sys, time; d = time.monotonic() - $t0; sys.exit(not 0.9 < d < 2.5)" ||
  fail "the timeout of 1 s took $("$python" -c "import time; print(time.monotonic() - $t0)") s"
alive "$pid" "own handler"
finish handler "$pid"  # exits 3 unless its handler ran: the signal was sent

# 5. A process whose environment block no longer shows the variable answers on its advert, and
# with --signal naming that signal; a signal the process does not catch is not sent (it would end
# it).
start scrub scrub LD_PRELOAD="$AIXMALLOC_LIB" MALLOCOPTIONS=buckets AIXMALLOC_STATS_SIGNAL=RTMIN+2
scrub=$pid
capture "$cli" stats --json --pid "$scrub"
expect_rc 0 "a process that rewrote its environment"
check_json "$scrub" 300
capture "$cli" stats --json --pid "$scrub" --signal sigrtmin+2
expect_rc 0 "stats --pid --signal"
check_json "$scrub" 300
capture "$cli" stats --pid "$scrub" --signal=USR1
expect_rc 1 "--signal naming a signal the process does not catch"
has_line "$work/err" "aixmalloc stats: process $scrub does not catch SIGUSR1, which would end it; not sent (aixmalloc installs its handler as it starts: the process is still starting, or the program reset the signal)"
alive "$scrub" "--signal USR1"
finish scrub "$scrub"

# 6. Answers that are not the runtime's are refused unread (exit 1), whatever name they sit under:
# a program whose own handler plants them (in /tmp, the runtime's second directory). Its handler
# took the signal from aixmalloc, so only --signal sends it.
printf '%s\n' 'import os, signal, sys, time' \
  'work, pid = sys.argv[1], os.getpid()' \
  'def plant(sig, frame):' \
  '    mode = open(f"{work}/plant").read().strip()' \
  '    path = f"/tmp/aixmalloc-stats.{pid}.json"' \
  '    if os.path.lexists(path): os.unlink(path)' \
  '    if mode == "symlink": os.symlink(f"{work}/doc.json", path)' \
  '    elif mode == "fifo": os.mkfifo(path, 0o600)' \
  '    elif mode == "link": os.link(f"{work}/doc.json", path)' \
  '    else:' \
  '        open(path + ".tmp", "w").write(open(f"{work}/doc.json").read().replace("\"pid\": 0", "\"pid\": " + (str(pid + 1) if mode == "otherpid" else str(pid))))' \
  '        if mode == "owner": os.chown(path + ".tmp", 65534, 65534)' \
  '        os.rename(path + ".tmp", path)' \
  'signal.signal(signal.SIGUSR2, plant)' \
  'print("ready 1", flush=True)' \
  'while not os.path.exists(f"{work}/stop"): time.sleep(0.05)' > "$work/plant.py"
"$python" -c 'import json; print(json.dumps({"schema": "aixmalloc-stats", "schema_version": 1, "pid": 0, "policy": "watson", "heaps": [{"heap": 0, "bytes_held": 4242}]}))' > "$work/doc.json"
env LD_PRELOAD="$AIXMALLOC_LIB" AIXMALLOC_STATS_SIGNAL=USR2 "$python" "$work/plant.py" "$work" > "$work/planter.out" 2>&1 &
planter=$!
started+=("$planter")
wait_ready planter 1
plant() {
  echo "$1" > "$work/plant"
  capture "$cli" stats --json --pid "$planter" --signal USR2 --timeout 3
}
plant good
expect_rc 0 "a well-formed answer in /tmp"
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["heaps"][0]["bytes_held"] == 4242 and d["file"].startswith("/tmp/"), d' "$work/out" ||
  fail "the answer in /tmp: $(cat "$work/out")"
no_answer_left "$planter"
plant otherpid
expect_rc 1 "an answer of another process"
has_line "$work/err" "aixmalloc stats: /tmp/aixmalloc-stats.$planter.json holds the statistics of process $((planter + 1)), not $planter; not shown"
plant symlink
expect_rc 1 "an answer through a symbolic link"
has_line "$work/err" "aixmalloc stats: /tmp/aixmalloc-stats.$planter.json is a symbolic link; not read"
plant fifo
expect_rc 1 "an answer that is a FIFO"
has_line "$work/err" "aixmalloc stats: /tmp/aixmalloc-stats.$planter.json is not a regular file; not read"
plant link
expect_rc 1 "an answer with two names"
has_line "$work/err" "aixmalloc stats: /tmp/aixmalloc-stats.$planter.json has 2 names; not read"
if [ "$(id -u)" = 0 ]; then
  plant owner
  expect_rc 1 "an answer owned by another user"
  has_line "$work/err" "aixmalloc stats: /tmp/aixmalloc-stats.$planter.json belongs to uid 65534, not to the process's user (uid 0); not read"
fi
[ -s "$work/doc.json" ] && grep -q 4242 "$work/doc.json" || fail "a refused answer's target was changed"
alive "$planter" "planted answers"
touch "$work/stop"
wait "$planter" || fail "the planter: $(cat "$work/planter.out")"

# 7. Bad arguments: exit 2.
for args in "--pid" "--pid 1 --signal" "--pid 1 --signal HUP" "--pid 1 --timeout 0" \
  "--pid 1 --timeout -1" "--pid 1 --timeout soon" "--pid 1 --timeout nan" "--signal USR1 x.json" \
  "--timeout 3 x.json" "--pid 1 x.json"; do
  # shellcheck disable=SC2086
  capture "$cli" stats $args
  expect_rc 2 "stats $args"
  grep -q '^aixmalloc stats: ' "$work/err" || fail "stats $args: no message: $(cat "$work/err")"
done
capture "$cli" stats --pid 1 --signal HUP
has_line "$work/err" "aixmalloc stats: --signal: 'HUP' is not USR1, USR2, RTMIN+n or RTMAX-n (n 0-$(($(kill -l RTMAX) - $(kill -l RTMIN))))"
capture "$cli" stats --pid 1 --signal off
expect_rc 2 "stats --signal off"
has_line "$work/err" "aixmalloc stats: --signal: 'off' is not USR1, USR2, RTMIN+n or RTMAX-n (n 0-$(($(kill -l RTMAX) - $(kill -l RTMIN))))"
echo "aixmalloc stats --pid: live answers idle and busy, refusals with their exit status, planted files"
