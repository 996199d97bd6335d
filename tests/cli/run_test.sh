#!/usr/bin/env bash
# aixmalloc run: every flag sets its variable (--debug sets MALLOCDEBUG), the library goes first in
# LD_PRELOAD, the command's exit status and the signal that ended it pass through, and the reports
# it asks for are written.
source "$(dirname "$0")/common.sh"

# 1. Each flag sets its variable; an earlier preload stays, after the library.
show='import os
for v in ["MALLOCTYPE", "MALLOCOPTIONS", "MALLOCBUCKETS", "MALLOCMULTIHEAP", "MALLOCDISCLAIM", "MALLOCDEBUG", "AIXMALLOC_STATS", "AIXMALLOC_STATS_JSON", "AIXMALLOC_STATS_SIGNAL", "LD_PRELOAD"]:
    print(v + "=" + os.environ.get(v, "<unset>"))'
capture env LD_PRELOAD=/nonexistent/earlier.so "$cli" run --type watson --options pool,multiheap:4 \
  --buckets number_of_buckets:8 --multiheap heaps:2 --disclaim --debug fill:0x5a,continue --stats "$work/s.txt" \
  --json="$work/j.json" \
  --stats-signal RTMIN+1 -- "$python" -c "$show"
expect_rc 0 "run with every flag"
for line in MALLOCTYPE=watson MALLOCOPTIONS=pool,multiheap:4 MALLOCBUCKETS=number_of_buckets:8 \
  MALLOCMULTIHEAP=heaps:2 MALLOCDISCLAIM=true MALLOCDEBUG=fill:0x5a,continue "AIXMALLOC_STATS=$work/s.txt" "AIXMALLOC_STATS_JSON=$work/j.json" \
  AIXMALLOC_STATS_SIGNAL=RTMIN+1; do
  has_line "$work/out" "$line"
done
preload=$(sed -n 's/^LD_PRELOAD=//p' "$work/out")
[[ "$preload" == */libaixmalloc.so*:/nonexistent/earlier.so ]] || fail "LD_PRELOAD is '$preload'"
[ -s "$work/s.txt" ] && [ -s "$work/j.json" ] || fail "the reports were not written"
grep -qE "Implementation Algorithm\.+ Watson Allocator" "$work/s.txt" || fail "the report does not name Watson"
"$python" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["schema"] == "aixmalloc-stats" and d["policy"] == "watson" and d["options"]["multiheap"] == 4, d' "$work/j.json" \
  || fail "the JSON document does not show the configuration"

grep -q MALLOCDEBUG "$work/err" && fail "run --debug: a good MALLOCDEBUG was refused: $(cat "$work/err")"
# --debug=VALUE too, and a value the parser refuses reaches the program, which names it.
capture "$cli" run --debug='[validate_ptrs, fill:zz]' -- "$python" -c "$show"
expect_rc 0 "run --debug=VALUE"
has_line "$work/out" "MALLOCDEBUG=[validate_ptrs, fill:zz]"
has_line "$work/err" "aixmalloc: MALLOCDEBUG: fill: 'zz' is not a byte (0xNN, 0-255 or one character); using 0xa5"

# 2. Without flags, the variables already set pass through untouched.
capture env MALLOCOPTIONS=disclaim "$cli" run "$python" -c "$show"
expect_rc 0 "run without flags"
has_line "$work/out" MALLOCOPTIONS=disclaim
has_line "$work/out" MALLOCTYPE='<unset>'

# 3. Exit status and signals pass through (aixmalloc replaces itself with the command).
capture "$cli" run -- "$python" -c 'import sys; sys.exit(7)'
expect_rc 7 "exit status"
capture "$cli" run -- "$python" -c 'import os, signal; os.kill(os.getpid(), signal.SIGTERM)'
expect_rc 143 "SIGTERM"
capture "$cli" run -- /bin/sh -c 'kill -SEGV $$'
expect_rc 139 "SIGSEGV"
capture "$cli" run -- /nonexistent/program
expect_rc 127 "a missing command"
has "$work/err" "aixmalloc run: cannot run '/nonexistent/program'"
# A library that is not there: 127 and its name, not a run without it (the loader would only warn).
capture env AIXMALLOC_LIBRARY=/nonexistent.so "$cli" run -- true
expect_rc 127 "AIXMALLOC_LIBRARY naming no file"
has_line "$work/err" "aixmalloc run: AIXMALLOC_LIBRARY=/nonexistent.so: No such file or directory"
capture env AIXMALLOC_LIBRARY=/tmp "$cli" run -- true
expect_rc 127 "AIXMALLOC_LIBRARY naming a directory"
has_line "$work/err" "aixmalloc run: AIXMALLOC_LIBRARY=/tmp: not a regular file"
printf 'not a program\n' > "$work/plain" && chmod -x "$work/plain"
capture "$cli" run -- "$work/plain"
expect_rc 126 "a command that cannot be run"

# 4. The program really runs on aixmalloc: its status report at exit, with AIX's labels.
capture "$cli" run --stats stdout -- "$python" -c 'x = [str(i) for i in range(10000)]'
expect_rc 0 "the status report"
has "$work/out" "Statistical Report on the Malloc Subsystem:"
has "$work/out" "Default Allocator (Yorktown)"

# 5. AIXMALLOC_LIBRARY names the library to preload.
capture env AIXMALLOC_LIBRARY="$AIXMALLOC_LIB" "$cli" run -- "$python" -c 'import os; print(os.environ["LD_PRELOAD"])'
expect_rc 0 "AIXMALLOC_LIBRARY"
has_line "$work/out" "$AIXMALLOC_LIB"

# 6. Bad arguments: one line naming the problem, exit status 2, the command not run.
for args in "--bogus -- true" "--type" "" "--json" "--stats-signal" "--debug"; do
  # shellcheck disable=SC2086
  capture "$cli" run $args
  expect_rc 2 "run $args"
  grep -q '^aixmalloc run: ' "$work/err" || fail "run $args: no message"
done
capture "$cli" run --help
expect_rc 0 "run --help"
has "$work/out" "usage: aixmalloc run"
echo "aixmalloc run: flags, LD_PRELOAD, exit status and signals, reports, bad arguments"
