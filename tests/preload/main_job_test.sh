#!/usr/bin/env bash
# tools/main-job (README command 1) in its reduced mode: it runs git's multi-threaded delta search
# and the Python job under aixmalloc and glibc, and prints for each the ratios to glibc and the
# summary of the statistics: several heaps used by git's threads, one by single-threaded Python.
source "$(dirname "$0")/common.sh"
top=$(cd "$here/../.." && pwd)
AIXMALLOC_BUILD_DIR=$AIXMALLOC_BUILD MAIN_JOB_REPORTS=$work "$top/tools/main-job" --quick --no-build > "$work/out" ||
  fail "main-job failed: $(cat "$work/out")"
section() { awk -v n="$1" '$0 ~ "^" n "\\. " {on = 1; next} on && NF == 0 {exit} on' "$work/out"; }
section 1 > "$work/git"
section 2 > "$work/python"
for s in git python; do
  for re in '^  aixmalloc +[0-9.]+ s, peak RSS [0-9.]+ MiB$' '^  glibc +[0-9.]+ s, peak RSS [0-9.]+ MiB$' \
    '^  aixmalloc / glibc: time [0-9.]+x, peak RSS [0-9.]+x \(median of 1 run each\)$' \
    '^  pool +[0-9,]+ requests of 512 bytes or less without a lock, [0-9]+ thread pools?$' \
    '^             busiest size classes: [0-9]+ B [0-9.]+%, ' '^  at exit +[0-9.]+ MiB acquired from the system'; do
    grep -qE "$re" "$work/$s" || fail "$s: no line /$re/:"$'\n'"$(cat "$work/out")"
  done
  [ -s "$work/$s.json" ] || fail "no statistics document $s.json"
done
# git's four threads allocate at once: they start from different heaps; Python has one thread.
grep -qE '^  heaps +[2-5] of 32 used \(' "$work/git" || fail "git's heaps:"$'\n'"$(cat "$work/git")"
grep -qE '^  heaps +1 of 32 used \(' "$work/python" || fail "python's heaps:"$'\n'"$(cat "$work/python")"
grep -qE '^  pool .* 1 thread pool$' "$work/python" || fail "python's pools:"$'\n'"$(cat "$work/python")"
echo "tools/main-job --quick: both programs measured against glibc, with their statistics"
