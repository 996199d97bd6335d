#!/usr/bin/env bash
# MALLOCDEBUG=catch_overflow under the configuration CTest sets (MALLOCTYPE, MALLOCOPTIONS): each
# case of catch_overflow.c runs in its own process; a detected fault must end the process with
# SIGSEGV after the report naming the kind, the fault address, the block and its size; a misuse
# must be reported, and under `continue` the program goes on.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/catch_overflow"

# run DEBUG CASE ARGS...: the exit status in $status, stdout in $work/out, stderr in $work/err.
run() {
  local debug=$1
  shift
  set +e
  MALLOCDEBUG=$debug LD_PRELOAD="$AIXMALLOC_LIB" "$prog" "$@" > "$work/out" 2> "$work/err"
  status=$?
  set -e
}
expect_fault() {  # what: the report's kind; then the lines the report must hold
  local what=$1
  shift
  [ "$status" = 139 ] || fail "$what: exit status $status, not SIGSEGV (139); stderr: $(cat "$work/err")"
  grep -q "catch_overflow: $what" "$work/err" || fail "$what: no such report: $(cat "$work/err")"
  for line in "$@"; do
    grep -qF -- "$line" "$work/err" || fail "$what: the report lacks '$line': $(cat "$work/err")"
  done
  if grep -q '^survived' "$work/out"; then fail "$what: the program went on after the fault"; fi
}
expect_survival() {
  local what=$1
  [ "$status" = 0 ] || fail "$what: exit status $status; stderr: $(cat "$work/err")"
  grep -q "^survived: $what" "$work/out" || fail "$what: the program did not finish: $(cat "$work/out")"
}

# One byte past the end, byte-exact (align:1), and 16 bytes past at the default alignment 16.
run catch_overflow,align:1 write 13 0
expect_fault "write past the end of a block" "1 byte past the end" "13 bytes"
run catch_overflow write 13 0
expect_survival write  # inside the alignment's slack: 13 is rounded up to 16
run catch_overflow write 13 3
expect_fault "write past the end of a block" "4 bytes past the end" "13 bytes"
run catch_overflow write 16 15
expect_fault "write past the end of a block" "16 bytes past the end"
run catch_overflow write 4000 0
expect_fault "write past the end of a block" "4000 bytes"
run catch_overflow write 100000 0
expect_fault "write past the end of a block" "100000 bytes"

# Reads past the end fault, unless allow_overreading, where writes still do.
run catch_overflow,align:1 read 13 0
expect_fault "read past the end of a block" "1 byte past the end"
run catch_overflow,align:1,allow_overreading read 13 0
expect_survival read
run catch_overflow,align:1,allow_overreading write 13 0
expect_fault "write past the end of a block"

# A use after free faults under postfree_checking.
run catch_overflow,postfree_checking use_after_free 64 8
expect_fault "write to a freed block (use after free)" "at offset 8 of the block" "64 bytes, freed by thread"

# A double free and an interior free are reported; the program aborts, or goes on under continue.
run catch_overflow double_free 32
[ "$status" = 134 ] || fail "double free: exit status $status, not SIGABRT (134)"
grep -q "free(): double free of 0x" "$work/err" || fail "double free not reported: $(cat "$work/err")"
run catch_overflow,continue double_free 32
expect_survival double_free
grep -q "free(): double free of 0x" "$work/err" || fail "double free not reported under continue"
run catch_overflow,continue interior_free 32 8
expect_survival interior_free
grep -q "8 bytes into the block 0x.* of 32 bytes" "$work/err" || fail "interior free not reported: $(cat "$work/err")"

# debug_range guards only sizes in range.
run catch_overflow,align:1,debug_range:100:200 range 150 13
expect_fault "write past the end of a block" "150 bytes"
grep -q "size 13 not guarded" "$work/out" || fail "debug_range: a size out of range was guarded"

# functionset guards only requests made from the named functions.
run catch_overflow,align:1,functionset:guarded_site functionset 40
expect_fault "write past the end of a block" "40 bytes"
grep -q "unguarded_site not guarded" "$work/out" || fail "functionset: unguarded_site's block was guarded"

# The program's own SIGSEGV handler sees the fault after the report, unless override_signal_handling.
run catch_overflow,align:1 own_handler 24
expect_survival "own_handler: the program's handler ran"
grep -q "write past the end of a block" "$work/err" || fail "own_handler: no report before the program's handler"
run catch_overflow,align:1,override_signal_handling own_handler 24
expect_fault "write past the end of a block" "24 bytes"

# output: a file per process (%p), never through a symbolic link.
run "catch_overflow,align:1,output:$work/report.%p" write 13 0
[ "$status" = 139 ] || fail "output: exit status $status"
reports=("$work"/report.*)
[ -f "${reports[0]}" ] || fail "output: no report file in $work"
grep -q "write past the end of a block" "${reports[0]}" || fail "output: the report is not in the file: $(cat "${reports[0]}")"
if grep -q "write past the end" "$work/err"; then fail "output: the report went to stderr as well"; fi
echo "precious" > "$work/target"
ln -s "$work/target" "$work/link"
run "catch_overflow,align:1,output:$work/link" write 13 0
[ "$status" = 139 ] || fail "output to a symlink: exit status $status"
refused="MALLOCDEBUG: output: cannot open $work/link (it is a symbolic link, which is never\
 followed); writing to standard error instead"
grep -qF "$refused" "$work/err" ||
  fail "output to a symlink: not refused: $(cat "$work/err")"
grep -q "write past the end of a block" "$work/err" || fail "output to a symlink: the report is lost"
[ "$(cat "$work/target")" = precious ] || fail "output: the symlink's target was written"

# sample:n guards about one block in n.
rm -f "$work/stats.json"
MALLOCDEBUG=catch_overflow,sample:100 AIXMALLOC_STATS_JSON="$work/stats.json" LD_PRELOAD="$AIXMALLOC_LIB" \
  "$prog" many 100000 > "$work/out" 2> "$work/err" || fail "sample: $(cat "$work/err")"
guarded=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["catch_overflow"]["guarded_since_start"])' "$work/stats.json")
[ "$guarded" -ge 500 ] && [ "$guarded" -le 2000 ] || fail "sample:100 guarded $guarded of 100000 blocks"

echo "catch_overflow: every case caught under ${MALLOCTYPE:-default}/${MALLOCOPTIONS:-none}"
