#!/usr/bin/env bash
# The aixmalloc command: --version, run (sets the variables, preloads, passes the exit status and
# the signal through), the status report at exit, and check.
source "$(dirname "$0")/common.sh"
cli="$AIXMALLOC_BUILD/aixmalloc"
"$cli" --version | grep -Eq '^aixmalloc [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
out=$("$cli" run --type Yorktown -- /usr/bin/python3 -c 'import os; print(os.environ["MALLOCTYPE"], "libaixmalloc.so" in os.environ["LD_PRELOAD"])')
[ "$out" = "Yorktown True" ] || fail "run did not set the environment: $out"
set +e
"$cli" run -- /bin/sh -c 'exit 7'; rc=$?
"$cli" run -- /bin/sh -c 'kill -TERM $$'; sig=$?
"$cli" run -- /nonexistent/program 2>/dev/null; missing=$?
set -e
[ $rc = 7 ] || fail "exit status not passed through: $rc"
[ $sig = 143 ] || fail "signal not passed through: $sig"
[ $missing = 127 ] || fail "missing command: $missing"
# The status report, written at exit to a file (created with O_NOFOLLOW), with AIX's labels.
"$cli" run --stats "$work/report.txt" -- /usr/bin/python3 -c 'x = [str(i) for i in range(100000)]'
for label in "Default Allocator (Yorktown)" "Initial process brk value" "current process brk value" \
  "bytes acquired from sbrk()" "bytes in the freespace tree" "bytes held by the user" \
  "allocations since process start" "sbrk()s called by malloc"; do
  grep -qF "$label" "$work/report.txt" || fail "report lacks '$label'"
done
ln -s "$work/elsewhere" "$work/link.txt"
AIXMALLOC_STATS="$work/link.txt" LD_PRELOAD="$AIXMALLOC_LIB" /bin/true 2> "$work/err"
[ ! -e "$work/elsewhere" ] || fail "report followed a symbolic link"
refused="AIXMALLOC_STATS: cannot open $work/link.txt (it is a symbolic link, which is never\
 followed); writing to standard error instead"
grep -qF "$refused" "$work/err" || fail "no line for the refused path"
# check: the same parser as the runtime; non-zero exit with a diagnostic on bad input.
"$cli" check MALLOCTYPE=Yorktown > "$work/check" || fail "check of a good configuration"
set +e
"$cli" check MALLOCTYPE=nonsense MALLOCOPTIONS=multiheap:99 > "$work/check" 2> "$work/check.err"; rc=$?
set -e
[ $rc = 1 ] || fail "check exit status $rc"
grep -qx "aixmalloc: MALLOCTYPE: unknown policy 'nonsense'; using the default policy (Yorktown)" "$work/check.err" || fail "check diagnostics"
# A malformed variable under LD_PRELOAD: one line on stderr, and the program goes on.
out=$(MALLOCTYPE=nonsense LD_PRELOAD="$AIXMALLOC_LIB" /usr/bin/python3 -c 'print("ran")' 2> "$work/err")
[ "$out" = ran ] || fail "program did not run"
[ "$(grep -c '^aixmalloc:' "$work/err")" = 1 ] || fail "expected exactly one diagnostic: $(cat "$work/err")"
echo "aixmalloc CLI: version, run, stats report, check"
