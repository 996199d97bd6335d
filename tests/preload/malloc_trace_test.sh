#!/usr/bin/env bash
# MALLOCDEBUG=trace under the configuration of the ctest entry: a program's known sequence of
# malloc-family calls (malloc_trace.c) comes back from the records one for one, arguments and
# results; the whole trace replays (every free names a block a record returned); threads' records
# stay whole lines, numbered once each; trace goes to output:PATH with %p; python3 runs under it.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/malloc_trace"
reader="$here/malloc_trace_read.py"

# 1. The sequence, on standard error (the default output stream).
MALLOCDEBUG=trace LD_PRELOAD="$AIXMALLOC_LIB" "$prog" sequence > "$work/ledger" 2> "$work/trace"
[ "$(wc -l < "$work/ledger")" = 32 ] || fail "the program's ledger: $(cat "$work/ledger")"
python3 "$reader" sequence "$work/trace" "$work/ledger" > "$work/out" || fail "sequence: $(cat "$work/out")"
python3 "$reader" replay "$work/trace" > "$work/replay" || fail "replay: $(cat "$work/replay")"
# Counts and sizes as the program made them (and nothing of the markers' blocks left live).
grep -qx 'calloc 1' "$work/replay" || fail "calloc count: $(cat "$work/replay")"
grep -qx 'memalign 3' "$work/replay" || fail "memalign count: $(cat "$work/replay")"
grep -qx 'realloc 4' "$work/replay" || fail "realloc count: $(cat "$work/replay")"
for size in 1 41 81 121 161 201 241 281 5242880; do
  grep -q " malloc($size) = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$" "$work/trace" || fail "no malloc($size) record"
done
grep -q ' malloc(9223372036854775807) = 0x0$' "$work/trace" || fail "the refused malloc is not recorded as failed"
grep -q ' free(0x0)$' "$work/trace" || fail "free(NULL) is not recorded"
[ "$(grep -c ' realloc(' "$work/trace")" = 4 ] || fail "a realloc gave more or fewer than one record each"

# 2. Threads: every record whole, every thread's records there, the replay consistent.
MALLOCDEBUG=trace,output:"$work/threads.%p" LD_PRELOAD="$AIXMALLOC_LIB" "$prog" threads 8 2> "$work/stderr"
[ ! -s "$work/stderr" ] || fail "output:PATH, yet records on stderr: $(head -3 "$work/stderr")"
files=("$work"/threads.*)
[ "${#files[@]}" = 1 ] || fail "expected one trace file: ${files[*]}"
python3 "$reader" replay "${files[0]}" > "$work/replay" || fail "threads: $(cat "$work/replay")"
read -r _ records _ threads _ live <<< "$(head -1 "$work/replay")"
[ "$threads" -ge 9 ] || fail "records of $threads threads, expected the main one and 8 workers"
[ "$records" -ge 40000 ] || fail "$records records for 8 x 5000 calls and their frees"
# Each worker frees what it holds at the end: what stays live is the process's own (libc, pthread).
[ "$live" -lt 40 ] || fail "$live blocks live after the threads freed theirs"
grep -q "^trace ${files[0]##*.} " "${files[0]}" || fail "%p is not the process id in ${files[0]}"

# 3. A real program runs under trace, and its trace replays.
MALLOCDEBUG=trace,output:"$work/python.trace" LD_PRELOAD="$AIXMALLOC_LIB" PYTHONMALLOC=malloc \
  python3 -c 'import json; print(len(json.dumps({str(i): list(range(i)) for i in range(60)})))' > "$work/py.out"
[ "$(cat "$work/py.out")" = 7007 ] || fail "python3 under trace printed $(cat "$work/py.out")"
python3 "$reader" replay "$work/python.trace" > "$work/replay" || fail "python3's trace: $(cat "$work/replay")"
echo "malloc_trace: ok ($(head -1 "$work/replay"))"
