#!/usr/bin/env bash
# Reports to stdout and stderr are never lost and never land in a program's file: coreutils close
# their standard streams at exit (close_stdout) before the exit reports are written, yet sort, ls,
# cat and echo show the status report and the bucket summary; a program that closes descriptor 1
# or 2 and opens a file on the freed number keeps its file clean while the report reaches the
# stream the program started with. A file that cannot be opened is named with the reason.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/report_streams"
printf 'pear\napple\n' > "$work/input"
count() { grep -c "$1" "$2" || true; }

programs=("sort $work/input" "ls $work" "cat $work/input" "/bin/echo hello")
for p in "${programs[@]}"; do
  read -ra cmd <<< "$p"
  # shellcheck disable=SC2086
  AIXMALLOC_STATS=stderr LD_PRELOAD="$AIXMALLOC_LIB" "${cmd[@]}" > "$work/out" 2> "$work/err" ||
    fail "$p exited with $?"
  [ "$(count "^Statistical Report on the Malloc Subsystem:" "$work/err")" = 1 ] ||
    fail "AIXMALLOC_STATS=stderr: $p wrote no report on stderr: $(head -c 300 "$work/err")"
  AIXMALLOC_STATS=stdout LD_PRELOAD="$AIXMALLOC_LIB" "${cmd[@]}" > "$work/out" 2> "$work/err"
  [ "$(count "^Statistical Report on the Malloc Subsystem:" "$work/out")" = 1 ] ||
    fail "AIXMALLOC_STATS=stdout: $p wrote no report on stdout: $(head -c 300 "$work/out")"
  MALLOCOPTIONS=buckets,bucket_statistics:stderr LD_PRELOAD="$AIXMALLOC_LIB" "${cmd[@]}" \
    > "$work/out" 2> "$work/err"
  [ "$(count "^Malloc buckets statistical summary" "$work/err")" = 1 ] ||
    fail "bucket_statistics:stderr: $p wrote no summary: $(head -c 300 "$work/err")"
done
# The program's output itself is intact beside the report.
AIXMALLOC_STATS=stdout LD_PRELOAD="$AIXMALLOC_LIB" sort "$work/input" > "$work/out"
[ "$(head -2 "$work/out")" = $'apple\npear' ] || fail "sort's own output: $(head -3 "$work/out")"

# A program closes descriptor 1 (then 2) and opens a file, which gets that number: the file holds
# only what the program wrote; the report is on the stream the program started with.
for fd in 1 2; do
  stream=$([ $fd = 1 ] && echo stdout || echo stderr)
  rm -f "$work/own"
  AIXMALLOC_STATS=$stream MALLOCOPTIONS=buckets,bucket_statistics:$stream \
    LD_PRELOAD="$AIXMALLOC_LIB" "$prog" $fd "$work/own" > "$work/out" 2> "$work/err" ||
    fail "report_streams $fd exited with $?"
  [ "$(cat "$work/own")" = "program data" ] ||
    fail "fd $fd: the program's own file holds more than its data: $(head -c 300 "$work/own")"
  report=$([ $fd = 1 ] && echo "$work/out" || echo "$work/err")
  [ "$(count "^Statistical Report on the Malloc Subsystem:" "$report")" = 1 ] ||
    fail "fd $fd: the status report is not on $stream: $(head -c 300 "$report")"
  [ "$(count "^Malloc buckets statistical summary" "$report")" = 1 ] ||
    fail "fd $fd: the bucket summary is not on $stream"
done
# A file that cannot be opened: one line with the reason, and the report on standard error.
AIXMALLOC_STATS="$work/missing/r.txt" LD_PRELOAD="$AIXMALLOC_LIB" /bin/echo hi > "$work/out" \
  2> "$work/err"
refused="aixmalloc: AIXMALLOC_STATS: cannot open $work/missing/r.txt (no such file or directory);\
 writing to standard error instead"
grep -qxF "$refused" "$work/err" || fail "no line with the reason: $(head -3 "$work/err")"
[ "$(count "^Statistical Report on the Malloc Subsystem:" "$work/err")" = 1 ] ||
  fail "the report of a file that cannot be opened is not on stderr"
no_diagnostics
echo "reports on stdout and stderr: sort, ls, cat, echo; a file on the freed number stays clean"
