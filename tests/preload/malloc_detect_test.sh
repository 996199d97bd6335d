#!/usr/bin/env bash
# MALLOCDEBUG's Malloc Detect and fill in a real program (malloc_detect.c), under the configuration
# of the ctest entry: a double, interior or foreign free is reported with its address and thread and
# the program aborts, or goes on with `continue`; fill's pattern and calloc's zeros; checkarena stops
# a program that damaged a free block; fork and threads under validate_ptrs and fill.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/malloc_detect"

# Runs the program with MALLOCDEBUG=$1 and the rest as its arguments; its exit status in $status,
# its output in $work/out and its stderr (only) in $work/err.
run() {
  local debug=$1
  shift
  status=0
  # The group's stderr keeps the shell's own "Aborted" line out of the test's output.
  { MALLOCDEBUG="$debug" LD_PRELOAD="$AIXMALLOC_LIB" "$prog" "$@" > "$work/out" 2> "$work/err"; } 2> /dev/null ||
    status=$?
}
aborted() {  # SIGABRT: 128 + 6
  [ "$status" = 134 ] || fail "$1: exit status $status, expected an abort: $(cat "$work/out" "$work/err")"
  if grep -q survived "$work/out"; then fail "$1: went on after the report"; fi
}
reported() {
  grep -Eq "$2" "$work/err" || fail "$1: no report matching '$2' in: $(cat "$work/err")"
}

address='0x[0-9a-f]+'
thread='\(thread [0-9]+\)'
for size in 24 1000 20000 5242880; do
  run validate_ptrs double "$size"
  aborted "double free of $size bytes"
  reported "double free of $size bytes" "^aixmalloc: free\(\): double free of $address $thread$"
  run validate_ptrs interior "$size"
  aborted "interior free of $size bytes"
  reported "interior free of $size bytes" \
    "^aixmalloc: free\(\): invalid pointer $address: interior pointer of block $address at offset \+16 $thread$"
done
run validate_ptrs foreign
aborted "foreign free"
reported "foreign free" "^aixmalloc: free\(\): invalid pointer $address: not a block from malloc $thread$"

run validate_ptrs,continue continue
[ "$status" = 0 ] && grep -qx survived "$work/out" || fail "continue: status $status: $(cat "$work/out" "$work/err")"
reported "continue" "^aixmalloc: MALLOCDEBUG=continue: this free\(\) does nothing$"
reported "continue" "^aixmalloc: MALLOCDEBUG=continue: this realloc\(\) returns NULL with errno EINVAL$"
[ "$(grep -c 'double free of' "$work/err")" = 4 ] || fail "continue: $(cat "$work/err")"

run validate_ptrs,verbose,continue double 1000
reported "verbose" "^  block:    $address, 1000 bytes requested, in heap [0-9]+$"
reported "verbose" "^  look for: a second free\(\) of a pointer already freed"

for fill in fill fill:0x3c "fill:Z"; do
  byte=0xa5
  [ "$fill" = fill:0x3c ] && byte=0x3c
  [ "$fill" = fill:Z ] && byte=90
  run "$fill,validate_ptrs" fill "$byte"
  [ "$status" = 0 ] && grep -qx ok "$work/out" || fail "$fill: status $status: $(cat "$work/out" "$work/err")"
  [ ! -s "$work/err" ] || fail "$fill: $(cat "$work/err")"
done

for debug in checkarena checkarena,continue checkarena,verbose; do
  run "$debug" damage
  aborted "$debug on a damaged free block"
  reported "$debug" \
    "^aixmalloc: malloc\(\): heap corruption found by checkarena: heap [0-9]+: free block with flags set at $address $thread$"
done
reported "checkarena,verbose" "^  look for: a write past the end of the block just below"

# checkarena walks every heap at each call: fewer rounds with it.
for args in "validate_ptrs,fill,checkarena fork" "validate_ptrs,fill threads 20000" \
    "validate_ptrs,fill,checkarena threads 1000"; do
  run $args
  [ "$status" = 0 ] && grep -qx ok "$work/out" || fail "$args: status $status: $(cat "$work/out" "$work/err")"
  [ ! -s "$work/err" ] || fail "$args: $(cat "$work/err")"
done
echo "Malloc Detect: bad pointers reported (and survived with continue), fill, checkarena, fork, threads"
