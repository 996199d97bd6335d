#!/usr/bin/env bash
# The errno table of memalign, posix_memalign and aligned_alloc (memalign_errno.c) for every
# power-of-two alignment from 1 to 2^63 and impossible sizes: the program's output without the
# library (glibc's own table, on this machine) and with it must be the same, line for line.
source "$(dirname "$0")/common.sh"
env -u LD_PRELOAD "$AIXMALLOC_BUILD/tests/memalign_errno" > "$work/glibc"
preloaded "$AIXMALLOC_BUILD/tests/memalign_errno" > "$work/aixmalloc"
no_diagnostics
[ "$(wc -l < "$work/glibc")" -gt 1000 ] || fail "glibc's table is incomplete: $(wc -l < "$work/glibc") lines"
diff "$work/glibc" "$work/aixmalloc" > "$work/diff" || fail "differs from glibc (< glibc, > aixmalloc):
$(head -40 "$work/diff")"
echo "$(wc -l < "$work/glibc") calls, the same errno and return values as glibc"
