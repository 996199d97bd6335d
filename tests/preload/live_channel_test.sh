#!/usr/bin/env bash
# aixmalloc stats --pid and leaks --pid on programs started with no variable at all
# (live_channel.c): the signal aixmalloc picks and its advert; what the program sees and does with
# that signal (its own handler, set with sigaction, signal or sigset; SIG_DFL; a stray kill) goes
# as without aixmalloc; a program that blocks it everywhere, a forked child, an exec into a
# program that is not on aixmalloc, AIXMALLOC_STATS_SIGNAL=off. Every refusal leaves the program
# undisturbed.
source "$(dirname "$0")/common.sh"
unset AIXMALLOC_STATS_SIGNAL MALLOCDEBUG
cli="$AIXMALLOC_BUILD/aixmalloc"
prog="$AIXMALLOC_BUILD/tests/live_channel"
python=/usr/bin/python3
rtmax=$(kill -l RTMAX)
claimed=$((rtmax - 1))  # the first signal aixmalloc tries

declare -A fd_of
started=()
cleanup() {
  for p in "${started[@]}"; do kill -KILL "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME MODE SIG [VAR=VALUE...]: the program preloaded in the background, its commands
# through NAME.fifo, its output in NAME.out. Sets pid.
start() {
  local name=$1 mode=$2 sig=$3 fd
  shift 3
  mkfifo "$work/$name.fifo"
  exec {fd}<> "$work/$name.fifo"
  fd_of[$name]=$fd
  (
    for f in "${fd_of[@]}"; do exec {f}>&-; done
    exec env LD_PRELOAD="$AIXMALLOC_LIB" "$@" "$prog" "$mode" "$work/$name.fifo" "$sig"
  ) > "$work/$name.out" 2> "$work/$name.err" &
  pid=$!
  started+=("$pid")
  wait_for "$name" "ready 1"
}
wait_for() {
  for _ in $(seq 500); do
    grep -qx "$2" "$work/$1.out" 2> /dev/null && return 0
    sleep 0.01
  done
  fail "$1 did not say '$2': $(cat "$work/$1.out" "$work/$1.err")"
}
tell() { echo "$2" >&"${fd_of[$1]}"; }
# finish NAME PID [STATUS]: end of its commands; it must exit with STATUS (0).
finish() {
  local fd=${fd_of[$1]} status=0
  exec {fd}>&-
  wait "$2" || status=$?
  [ "$status" = "${3:-0}" ] ||
    fail "$1 exited with status $status, not ${3:-0}: $(cat "$work/$1.err")"
}
capture() {
  set +e
  "$@" > "$work/out" 2> "$work/err"
  rc=$?
  set -e
}
expect_rc() { [ "$rc" = "$1" ] || fail "$2: exit status $rc, expected $1; stdout: $(head -c 400 "$work/out"); stderr: $(cat "$work/err")"; }
has_line() { grep -qxF -- "$2" "$1" || fail "$(basename "$1") lacks the line '$2':"$'\n'"$(cat "$1")"; }
# The advert among the descriptors of process $1 ("" when none).
advert_of() {
  local f l
  for f in /proc/"$1"/fd/*; do
    l=$(readlink "$f" 2> /dev/null) || continue
    case $l in *aixmalloc-live*) echo "$l" ;; esac
  done
}
expect_advert() {
  local a
  a=$(advert_of "$1")
  [[ $a == "/memfd:aixmalloc-live $2"* ]] || fail "process $1's advert is '$a', not 'aixmalloc-live $2...'"
}
# stats --json --pid $1: the document of process $1, with at least $2 allocations.
expect_stats() {
  capture "$cli" stats --json --pid "$1"
  expect_rc 0 "stats --pid $1 ($3)"
  "$python" - "$work/out" "$1" "$2" <<'PY' || fail "stats --pid $1 ($3): $(head -c 600 "$work/out")"
import json, sys
d = json.load(open(sys.argv[1]))
pid, least = int(sys.argv[2]), int(sys.argv[3])
allocations = sum(h["allocations_since_start"] for h in d["heaps"])
assert d["pid"] == pid and allocations >= least and d["totals"]["bytes_in_use"] >= 48000, (d["pid"], allocations)
print(allocations)
PY
}

# 1. No variable: aixmalloc picked SIGRTMAX-1, which the program still sees as SIG_DFL (exit 10
# otherwise); the answer is the program's. SIG_DFL set by the program keeps the channel; a kill
# that is no request takes the default action, as without aixmalloc: the process ends.
start plain plain 0
p=$pid
expect_advert "$p" "sig=$claimed cookie=0x"
expect_stats "$p" 1000 "no variable" > /dev/null
tell plain "dfl $claimed"
wait_for plain "ready 2"
expect_stats "$p" 1000 "after signal(SIG_DFL)" > /dev/null
expect_advert "$p" "sig=$claimed cookie=0x"
kill -s "$claimed" "$p"
finish plain "$p" $((128 + claimed))

# 2. The program takes that very signal (sigaction, then signal()): its handler runs for its own
# raise() and for a kill, as it set it; the channel moved to the next signal, and answers there;
# the program's handler never sees a request.
for how in sigaction signal; do
  start "$how" "$how" "$claimed"
  p=$pid
  expect_advert "$p" "sig=$((claimed - 1)) cookie=0x"
  kill -s "$claimed" "$p"
  expect_stats "$p" 1000 "after the program took $claimed with $how" > /dev/null
  tell "$how" count
  wait_for "$how" "ready 2"
  has_line "$work/$how.out" "count 2"
  finish "$how" "$p"
done

# 3. It takes every signal aixmalloc may pick (sigset): no channel; the CLI says why and sends
# nothing (exit 14 if one of its handlers ran).
start all all 0
p=$pid
expect_advert "$p" "sig=0 taken=$claimed"
capture "$cli" stats --pid "$p"
expect_rc 1 "every candidate taken"
has_line "$work/err" "aixmalloc stats: process $p has no statistics channel now: its program set SIGRTMAX-1 to its own handler, the signal aixmalloc had picked, and no other of SIGRTMAX-1 to SIGRTMAX-8 was free; not sent"
finish all "$p"

# 4. Every thread blocks the signal (a program that takes its signals with sigwait or signalfd):
# refused, nothing sent (exit 12 if a signal is pending).
start block block 0
p=$pid
capture "$cli" stats --pid "$p"
expect_rc 1 "every thread blocks"
has_line "$work/err" "aixmalloc stats: every thread of process $p blocks SIGRTMAX-1 (its program takes that signal with sigwait or signalfd, or holds it), so it cannot answer; not sent"
finish block "$p"

# 5. A forked child answers under its own ID, with its own figures.
start fork fork 0
p=$pid
wait_for fork "ready 1"
for _ in $(seq 500); do grep -q '^child ' "$work/fork.out" && break; sleep 0.01; done
child=$(sed -n 's/^child //p' "$work/fork.out")
[ -n "$child" ] || fail "no child: $(cat "$work/fork.out")"
parent_count=$(expect_stats "$p" 1000 "the parent")
expect_stats "$child" $((parent_count + 500)) "the forked child" > /dev/null
finish fork "$p"

# 6. leaks --pid under MALLOCDEBUG=log, with no other variable: the 1000 blocks of hold_blocks.
start logged plain 0 MALLOCDEBUG=log
p=$pid
capture "$cli" leaks --json --pid "$p"
expect_rc 0 "leaks --pid"
"$python" - "$work/out" "$p" <<'PY' || fail "leaks --pid: $(head -c 800 "$work/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pid"] == int(sys.argv[2]) and d["when"] == "request", d
site = [s for s in d["sites"] if s["count"] == 1000 and s["bytes"] == 48000]
assert site and any(f.get("function") == "hold_blocks" for f in site[0]["frames"]), d["sites"][:3]
PY
finish logged "$p"

# 7. The advert never outlives its program: after an exec into a program that is not on aixmalloc
# (and handles that same signal itself) there is none, and nothing is sent.
cat > "$work/exec.py" << 'EOF'
import os, signal, sys, time
count = 0
def mine(sig, frame):
    global count
    count += 1
signal.signal(int(sys.argv[1]), mine)
print("ready 1", flush=True)
while not os.path.exists(sys.argv[2]): time.sleep(0.02)
print("handled", count, flush=True)
EOF
env LD_PRELOAD="$AIXMALLOC_LIB" "$python" -c 'import os, sys
env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
os.execve(sys.executable, [sys.executable] + sys.argv[1:], env)' "$work/exec.py" "$claimed" "$work/stop" > "$work/exec.out" 2>&1 &
p=$!
started+=("$p")
wait_for exec "ready 1"
[ -z "$(advert_of "$p")" ] || fail "an advert after exec: $(advert_of "$p")"
capture "$cli" stats --pid "$p"
expect_rc 2 "a program that exec'd another"
has_line "$work/err" "aixmalloc stats: process $p does not run on aixmalloc (no libaixmalloc in /proc/$p/maps): start it with LD_PRELOAD=libaixmalloc.so, or with 'aixmalloc run -- CMD'"
touch "$work/stop"
wait "$p" || fail "the exec'd program: $(cat "$work/exec.out")"
has_line "$work/exec.out" "handled 0"

# 8. AIXMALLOC_STATS_SIGNAL=off: no channel, no handler; a process that ended: none to ask.
start off plain 0 AIXMALLOC_STATS_SIGNAL=off
p=$pid
[ -z "$(advert_of "$p")" ] || fail "an advert under AIXMALLOC_STATS_SIGNAL=off"
caught=$(sed -n 's/^SigCgt:\t//p' "/proc/$p/status")
(( (0x$caught >> (claimed - 1)) & 1 )) && fail "SIGRTMAX-1 caught under AIXMALLOC_STATS_SIGNAL=off"
capture "$cli" stats --pid "$p"
expect_rc 2 "AIXMALLOC_STATS_SIGNAL=off"
has_line "$work/err" "aixmalloc stats: process $p was started with AIXMALLOC_STATS_SIGNAL=off, so it has no statistics channel"
finish off "$p"
capture "$cli" stats --pid "$p"
expect_rc 2 "a process that ended"
has_line "$work/err" "aixmalloc stats: there is no process $p"
no_diagnostics
echo "live channel without a variable: answers, moves, refusals, fork, exec, off"
