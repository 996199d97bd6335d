#!/usr/bin/env bash
# aixmalloc compare on a small Python job, one run per configuration: the table (every default
# configuration, figures from the JSON documents, the fastest and the leanest marked once), the
# recommendation with its line of AIX tuning advice, --by, failures and bad arguments.
source "$(dirname "$0")/common.sh"
job=("$python" -c 'd = {str(i): [i] * (i % 5) for i in range(30000)}')

# The line of IBM's tuning advice that explains each default configuration.
declare -A advice=(
  [Yorktown]="32-bit, single-threaded): keep the default allocator."
  [watson]="64-bit): Watson."
  [3.1_64BIT]="old, performance-critical program with no fragmentation problem): 3.1."
  [watson+pool,multiheap]="most multi-threaded programs): Watson with multiheap and pool: the pool front end handles the many small requests quickly, multiheap scales the larger ones."
  [default+buckets]="many allocations of a few fixed sizes above 512 bytes): buckets, with the bucket options sized to those requests."
  [default+multiheap+disclaim]="multi-threaded): multiheap, with about as many heaps as threads that allocate at once."
)

# 1. The default configurations.
capture "$cli" compare --runs 1 -- "${job[@]}"
expect_rc 0 "compare with the default configurations"
cp "$work/out" "$work/default.out"
grep -qE '^Configuration +Wall \(median\) +vs glibc +Peak RSS +Heap allocs +Lock-free allocs +Acquired$' "$work/out" ||
  fail "table header:"$'\n'"$(cat "$work/out")"
rows=$(awk '/^Configuration/ {on=1; next} on && NF == 0 {exit} on' "$work/out")
names=$(awk '{print $1}' <<< "$rows" | tr '\n' ' ')
[ "$names" = "Yorktown watson 3.1_64BIT watson+pool,multiheap default+buckets default+multiheap+disclaim glibc " ] ||
  fail "configurations: $names"
# aixmalloc rows: time, RSS and the three allocator figures; glibc: the reference, without figures.
while read -r row; do
  name=${row%% *}
  if [ "$name" = glibc ]; then
    grep -qE '^glibc \(reference\) +[0-9.]+ s +1\.00x +[0-9.]+ [KM]iB +- +- +-$' <<< "$row" || fail "glibc row: $row"
  else
    grep -qE "^[^ ]+ +[0-9.]+ s +[0-9.]+x +[0-9.]+ [KM]iB +[0-9,]+ +[0-9,]+ +[0-9.]+ [KMG]?i?B( +(fastest|leanest|fastest, leanest))?$" <<< "$row" ||
      fail "row of $name: $row"
  fi
done <<< "$rows"
[ "$(grep -c 'fastest' <<< "$rows")" = 1 ] || fail "not one fastest mark:"$'\n'"$rows"
[ "$(grep -c 'leanest' <<< "$rows")" = 1 ] || fail "not one leanest mark:"$'\n'"$rows"
grep -q '^glibc.*\(fastest\|leanest\)' <<< "$rows" && fail "glibc is marked"
# The pool serves small requests without a lock: its row has lock-free allocations, Yorktown's none.
lockfree() { awk -v n="$1" '$1 == n {for (i = 1; i <= NF; i++) if ($i == "MiB" || $i == "KiB") {print $(i + 2); exit}}' <<< "$rows"; }
[ "$(lockfree Yorktown)" = 0 ] || fail "Yorktown has lock-free allocations: $(lockfree Yorktown)"
[ "$(lockfree watson+pool,multiheap | tr -d ,)" -gt 0 ] || fail "the pool served nothing"
# The recommendation: the fastest row, with its line of advice.
fastest=$(awk '/fastest/ {print $1}' <<< "$rows")
grep -qE "^Recommended: $(sed 's/[.+]/\\&/g' <<< "$fastest") \(.*\), the fastest, [0-9.]+ s median" "$work/out" ||
  fail "the recommendation is not the fastest ($fastest):"$'\n'"$(cat "$work/out")"
has_line "$work/out" "AIX tuning advice (${advice[$fastest]}"
grep -qE "^  aixmalloc run .*-- CMD$" "$work/out" || fail "no command line in the recommendation"

# 2. Each default configuration's line of advice, when it is the only one measured (deterministic).
for name in "${!advice[@]}"; do
  capture "$cli" compare --runs 1 --configs "$name" -- "${job[@]}"
  expect_rc 0 "compare --configs $name"
  has_line "$work/out" "AIX tuning advice (${advice[$name]}"
done
# --by rss: the leanest; the same configuration is explained by disclaim then.
capture "$cli" compare --runs 1 --by rss --configs default+multiheap+disclaim -- "${job[@]}"
expect_rc 0 "compare --by rss"
grep -q '^Recommended: default+multiheap+disclaim (MALLOCOPTIONS=multiheap,disclaim), the leanest, ' "$work/out" ||
  fail "--by rss: $(cat "$work/out")"
has_line "$work/out" "AIX tuning advice (the process stays large after it frees memory): disclaim."

# 3. Two runs, a list joined with commas and semicolons, standard input from a file.
printf 'create table t(a, b);\ninsert into t values (1, 2);\nselect * from t;\n' > "$work/job.sql"
if command -v sqlite3 > /dev/null; then
  capture "$cli" compare --runs 2 --configs 'watson+pool,multiheap:4;glibc' --stdin "$work/job.sql" -- sqlite3
  expect_rc 0 "compare with --stdin"
  grep -qE '^Configuration +Wall \(median\) +Spread +vs glibc' "$work/out" || fail "no Spread column with two runs"
  grep -qE '^watson\+pool,multiheap:4 +[0-9.]+ s +±[0-9]+%' "$work/out" || fail "row: $(cat "$work/out")"
  has "$work/out" "Command: sqlite3 < $work/job.sql"
fi

# 4. A command that fails: reported with its stderr, exit status 1; one that cannot start: 127.
capture "$cli" compare --runs 1 --configs watson,glibc -- "$python" -c 'import sys; print("broken", file=sys.stderr); sys.exit(3)'
expect_rc 1 "a failing command"
has "$work/err" "aixmalloc compare: under watson the command exited with status 3; its standard error:"
has_line "$work/err" "broken"
has "$work/out" "No aixmalloc configuration ran successfully"
capture "$cli" compare --runs 1 --configs watson -- "$work/no-such-program"
expect_rc 127 "a missing command"

# 5. Bad arguments, and configurations the runtime's parser would correct: exit 2, nothing run.
for args in "--runs 0 -- true" "--by speed -- true" "--configs pool -- true" "--configs glibc+pool -- true" \
  "--configs watson+bogus -- true" "--stdin $work/missing -- true" "--bogus -- true" "--runs 1"; do
  # shellcheck disable=SC2086
  capture "$cli" compare $args
  expect_rc 2 "compare $args"
  grep -q '^aixmalloc compare: ' "$work/err" || fail "compare $args: no message: $(cat "$work/err")"
done
capture "$cli" compare --configs watson+bogus -- true
has "$work/err" "aixmalloc compare: 'watson+bogus': MALLOCOPTIONS: unknown option 'bogus'; ignored"
echo "aixmalloc compare: table, marks, figures, recommendation and advice, --by, --stdin, failures"
