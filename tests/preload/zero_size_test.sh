#!/usr/bin/env bash
# AIXMALLOC_ZERO_SIZE: with null, malloc(0), calloc(0, n), calloc(n, 0), realloc(NULL, 0), valloc(0)
# and vec_malloc(0) return NULL as on AIX; without it (or with pointer) a pointer, as glibc's; the
# __linux_ forms always return a pointer; a bad value is named in one line. Then real programs: jq
# reads NULL from malloc(0) as running out of memory, as it does on AIX, and python3, which never
# asks for zero bytes, runs unchanged.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/zero_size"
all_null="malloc=null calloc0n=null callocn0=null realloc=null valloc=null vec_malloc=null vec_calloc=null"
all_ptr="malloc=ptr calloc0n=ptr callocn0=ptr realloc=ptr valloc=ptr vec_malloc=ptr vec_calloc=ptr"

out=$(AIXMALLOC_ZERO_SIZE=null preloaded "$prog") || fail "with null: the program failed: $out"
[ "$out" = "$all_null" ] || fail "with AIXMALLOC_ZERO_SIZE=null: $out"
out=$(preloaded "$prog") || fail "by default: the program failed: $out"
[ "$out" = "$all_ptr" ] || fail "by default: $out"
out=$(AIXMALLOC_ZERO_SIZE=pointer preloaded "$prog") || fail "with pointer: the program failed: $out"
[ "$out" = "$all_ptr" ] || fail "with AIXMALLOC_ZERO_SIZE=pointer: $out"
no_diagnostics

out=$(AIXMALLOC_ZERO_SIZE=nul LD_PRELOAD="$AIXMALLOC_LIB" "$prog" 2> "$work/bad")
[ "$out" = "$all_ptr" ] || fail "with a bad value: $out"
[ "$(cat "$work/bad")" = "aixmalloc: AIXMALLOC_ZERO_SIZE: 'nul' is not 'null' or 'pointer'; malloc(0) returns a pointer" ] ||
  fail "the bad value's line: $(cat "$work/bad")"

# jq asks for 0 bytes for an empty array and takes NULL for out of memory.
echo '[]' > "$work/empty.json"
jq -c . "$work/empty.json" > "$work/jq.glibc" 2>&1 || fail "jq without the library: $(cat "$work/jq.glibc")"
LD_PRELOAD="$AIXMALLOC_LIB" jq -c . "$work/empty.json" > "$work/jq.pointer" 2>&1 ||
  fail "jq under aixmalloc's default: $(cat "$work/jq.pointer")"
cmp -s "$work/jq.glibc" "$work/jq.pointer" || fail "jq's output differs under aixmalloc's default"
if AIXMALLOC_ZERO_SIZE=null LD_PRELOAD="$AIXMALLOC_LIB" jq -c . "$work/empty.json" > "$work/jq.null" 2>&1; then
  fail "jq ran to the end with AIXMALLOC_ZERO_SIZE=null: $(cat "$work/jq.null")"
fi
grep -qi "memory" "$work/jq.null" || fail "jq did not fail for want of memory: $(cat "$work/jq.null")"

out=$(AIXMALLOC_ZERO_SIZE=null preloaded python3 "$here/workload.py")
[ "$out" = "$(cat "$here/workload.expected")" ] || fail "python3 under AIXMALLOC_ZERO_SIZE=null: $out"
no_diagnostics
echo "zero sizes: NULL with null, a pointer otherwise and from the __linux_ forms; jq breaks as on AIX, python3 runs"
