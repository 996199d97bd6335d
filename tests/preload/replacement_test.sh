#!/usr/bin/env bash
# MALLOCTYPE=user: with the example replacement (examples/replacement/simple_malloc.c): every entry
# point reaches it, fork from a threaded process included; aligned requests without its optional
# __posix_memalign__ go to the default policy and back; the program's _malloc_user_defined_name,
# a bare name and AIX's archive(member) spelling; options refused one line each; each way of failing gives its one line and the
# default policy; python3 runs unchanged under the replacement.
source "$(dirname "$0")/common.sh"
lib="$AIXMALLOC_BUILD/tests"
prog="$lib/replacement_program"
unset MALLOCTYPE MALLOCOPTIONS MALLOCDEBUG

all_ok() {  # all_ok WHAT OUTPUT: every line of the program's is name=ok
  grep -q '=ok$' <<< "$2" || fail "$1: no checks ran: $2"
  if grep -v '=ok$' <<< "$2" | grep -q .; then fail "$1: $2"; fi
}

out=$(MALLOCTYPE="user:$lib/simple_malloc.so" preloaded "$prog" "$lib/simple_malloc.so") || fail "with __posix_memalign__: $out"
all_ok "with __posix_memalign__" "$out"
grep -q '^fork_child=ok$' <<< "$out" || fail "no fork check: $out"
out=$(AIXMALLOC_ZERO_SIZE=null MALLOCTYPE="user:$lib/simple_malloc.so" preloaded "$prog" "$lib/simple_malloc.so") ||
  fail "with AIXMALLOC_ZERO_SIZE=null: $out"
all_ok "with AIXMALLOC_ZERO_SIZE=null" "$out"
out=$(MALLOCTYPE="user:$lib/simple_malloc_no_memalign.so" preloaded "$prog" "$lib/simple_malloc_no_memalign.so") ||
  fail "without __posix_memalign__: $out"
all_ok "without __posix_memalign__" "$out"
# A bare name is NAME.so, found as the loader finds libraries; the program's own name for it
# (replacement_program defines _malloc_user_defined_name = "simple_malloc") when MALLOCTYPE is unset.
out=$(LD_LIBRARY_PATH="$lib" MALLOCTYPE=user:simple_malloc preloaded "$prog" simple_malloc.so) || fail "a bare name: $out"
all_ok "a bare name" "$out"
out=$(LD_LIBRARY_PATH="$lib" preloaded "$prog" simple_malloc.so) || fail "_malloc_user_defined_name: $out"
all_ok "_malloc_user_defined_name" "$out"
# AIX's archive spellings name the shared object of the same stem: NAME.a(member) and NAME.a.
out=$(MALLOCTYPE="user:$lib/simple_malloc.a(mem64.o)" preloaded "$prog" "$lib/simple_malloc.so") ||
  fail "an archive(member) name: $out"
all_ok "an archive(member) name" "$out"
out=$(LD_LIBRARY_PATH="$lib" MALLOCTYPE=user:simple_malloc.a preloaded "$prog" simple_malloc.so) ||
  fail "a bare archive name: $out"
all_ok "a bare archive name" "$out"
no_diagnostics

# Every MALLOCOPTIONS and MALLOCDEBUG option is refused with one line; the replacement still serves.
out=$(MALLOCTYPE="user:$lib/simple_malloc.so" MALLOCOPTIONS=pool,multiheap MALLOCDEBUG=fill \
  LD_PRELOAD="$AIXMALLOC_LIB" "$prog" "$lib/simple_malloc.so" 2> "$work/options") || fail "with options: $out"
all_ok "with options" "$out"
expected="aixmalloc: MALLOCOPTIONS: 'pool' does not apply to MALLOCTYPE=user; ignored
aixmalloc: MALLOCOPTIONS: 'multiheap' does not apply to MALLOCTYPE=user; ignored
aixmalloc: MALLOCDEBUG: 'fill' does not apply to MALLOCTYPE=user; ignored"
[ "$(cat "$work/options")" = "$expected" ] || fail "the options' lines: $(cat "$work/options")"

# Each way of failing: its one line, then the default policy serves the program.
refused() {  # refused LIBRARY LINE
  local err="$work/refused.$RANDOM"
  out=$(MALLOCTYPE="user:$1" LD_PRELOAD="$AIXMALLOC_LIB" "$prog" - 2> "$err") || fail "$1: $out $(cat "$err")"
  [ "$out" = "default=ok" ] || fail "$1: not the default policy: $out"
  [ "$(wc -l < "$err")" = 1 ] || fail "$1: not one line: $(cat "$err")"
  grep -qF -- "$2" "$err" || fail "$1: expected '$2', got: $(cat "$err")"
}
tail="; using the default policy (Yorktown)"
refused "$lib/replacement_missing.so" \
  "aixmalloc: MALLOCTYPE: replacement '$lib/replacement_missing.so': lacks the required symbol __mallinfo__$tail"
refused "$work/none.so" "aixmalloc: MALLOCTYPE: replacement '$work/none.so': cannot be loaded: $work/none.so: "
refused "$work/none.a(mem64.o)" "aixmalloc: MALLOCTYPE: replacement '$work/none.a(mem64.o)': cannot be loaded: $work/none.so: "
refused "$lib/replacement_constructor.so" \
  "aixmalloc: MALLOCTYPE: replacement '$lib/replacement_constructor.so': calls malloc while it is loaded (from a constructor)$tail"
refused "$lib/replacement_init.so" \
  "aixmalloc: MALLOCTYPE: replacement '$lib/replacement_init.so': calls malloc while it is loaded (from __malloc_start__ or __malloc_init__)$tail"
refused "" "aixmalloc: MALLOCTYPE: 'user:' names no library$tail"

# A replacement that calls malloc from its own __malloc__: one line, and the default policy serves
# those calls; python3 runs to the same output.
MALLOCTYPE="user:$lib/replacement_forward.so" LD_PRELOAD="$AIXMALLOC_LIB" /usr/bin/python3 "$here/workload.py" \
  > "$work/forward" 2> "$work/forward.err" || fail "python3 over a forwarding replacement: $(cat "$work/forward.err")"
diff -u "$here/workload.expected" "$work/forward" || fail "python3's output differs over a forwarding replacement"
[ "$(cat "$work/forward.err")" = "aixmalloc: MALLOCTYPE: replacement '$lib/replacement_forward.so': its __malloc__ called the malloc family; the default policy serves such calls" ] ||
  fail "the forwarding replacement's line: $(cat "$work/forward.err")"

# python3 under the example replacement: unchanged output, no line.
MALLOCTYPE="user:$lib/simple_malloc.so" preloaded /usr/bin/python3 "$here/workload.py" > "$work/python"
diff -u "$here/workload.expected" "$work/python" || fail "python3's output differs under the replacement"
no_diagnostics
echo "MALLOCTYPE=user:: every entry point and fork reach the replacement, failures fall back with one line, python3 runs"
