#!/usr/bin/env bash
# Out of memory under LD_PRELOAD: oom_program (argument 1, not linked with aixmalloc) with
# `ulimit -v` (AIXMALLOC_OOM_LIMIT_KB, default 512 MiB) and the configuration CTest sets, in the
# given number of threads (argument 2). See oom.cpp for what it checks. The only stderr allowed is
# the program's own report; a crash, an abort or an allocator diagnostic fails the test.
set -euo pipefail
: "${AIXMALLOC_LIB:?set by ctest}"
program=${1:?usage: oom_test.sh OOM_PROGRAM [THREADS]}
threads=${2:-1}
limit_kb=${AIXMALLOC_OOM_LIMIT_KB:-524288}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "oom: MALLOCTYPE=${MALLOCTYPE-} MALLOCOPTIONS=${MALLOCOPTIONS-} threads=$threads ulimit -v $limit_kb"
rc=0
( ulimit -v "$limit_kb" && LD_PRELOAD="$AIXMALLOC_LIB" exec "$program" "$threads" ) > "$work/out" 2> "$work/err" || rc=$?
cat "$work/out"
if [ -s "$work/err" ]; then
  echo "--- stderr:"
  cat "$work/err"
fi
if [ "$rc" != 0 ]; then
  echo "FAIL: oom_program exited with status $rc" >&2
  exit 1
fi
if grep -q '^aixmalloc:' "$work/err"; then
  echo "FAIL: allocator diagnostics" >&2
  exit 1
fi
grep -q '^oom: all checks passed' "$work/out" || { echo "FAIL: no verdict from oom_program" >&2; exit 1; }
