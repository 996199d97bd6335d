#!/usr/bin/env bash
# aixmalloc compare on a small C job (200,000 requests of 64 bytes) and on Python: the table
# (every default configuration, the ratio to the baseline with its interval, figures from the
# JSON documents), a verdict that never recommends a configuration whose interval includes 1, two
# spellings of one configuration found not to differ, MALLOCTYPE values as `check` accepts them,
# --by rss, the progress line on a terminal only, documents of several processes summed, failures
# and bad arguments.
source "$(dirname "$0")/common.sh"
: "${CLI_ADVICE_WORKLOAD:?set by ctest}"
job=("$CLI_ADVICE_WORKLOAD" small64)
pyjob=("$python" -c 'd = {str(i): [i] * (i % 5) for i in range(5000)}')
num='[0-9]+\.[0-9]+'

# 1. The default configurations, five runs each: intervals exist at 99.17% each.
capture "$cli" compare --runs 5 -- "${job[@]}"
expect_rc 0 "compare with the default configurations"
has_line "$work/out" "5 runs of each configuration, each round in a new random order."
has "$work/out" "with its 99.17% interval in brackets (95% for the 6 comparisons together)"
grep -qE '^Configuration +Wall \(median\) +vs Yorktown +vs glibc +Peak RSS +Heap allocs +Lock-free allocs +Acquired$' "$work/out" ||
  fail "table header:"$'\n'"$(cat "$work/out")"
rows=$(awk '/^Configuration/ {on=1; next} on && NF == 0 {exit} on' "$work/out")
names=$(awk '{print $1}' <<< "$rows" | tr '\n' ' ')
[ "$names" = "Yorktown watson 3.1_64BIT watson+pool,multiheap watson2 default+buckets default+multiheap+disclaim glibc " ] ||
  fail "configurations: $names"
while read -r row; do
  case ${row%% *} in
    glibc) re="^glibc \(reference\) +$num s +${num}x \[$num, $num\] +1\.00x +$num [KM]iB +- +- +-$" ;;
    Yorktown) re="^Yorktown +$num s +baseline +${num}x +$num [KM]iB +[0-9,]+ +0 +$num [KMG]?i?B$" ;;
    *) re="^[^ ]+ +$num s +${num}x \[$num, $num\] +${num}x +$num [KM]iB +[0-9,]+ +[0-9,]+ +[0-9.]+ [KMG]?i?B( +recommended)?$" ;;
  esac
  grep -qE "$re" <<< "$row" || fail "row: $row"
done <<< "$rows"
# The pool serves small requests without a lock.
lockfree() { awk -v n="$1" '$1 == n {for (i = 1; i <= NF; i++) if ($i == "MiB" || $i == "KiB") {print $(i + 2); exit}}' <<< "$rows"; }
[ "$(lockfree watson+pool,multiheap | tr -d ,)" -gt 0 ] || fail "the pool served nothing"
# The verdict follows the intervals: a recommended row's interval lies below 1; without one, no
# row but glibc's does.
below_one() { awk -v n="$1" '$1 == n {for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+\]$/) {v = $i; sub(/\]/, "", v); print (v + 0 < 1) ? "yes" : "no"}}' <<< "$rows"; }
recommended=$(awk '$NF == "recommended" {print $1}' <<< "$rows")
if [ -n "$recommended" ]; then
  [ "$(below_one "$recommended")" = yes ] || fail "recommended with an interval that reaches 1: $rows"
  grep -qE "^Recommended: $(sed 's/[.+]/\\&/g' <<< "$recommended") \(.*\): [0-9.]+% faster than Yorktown \([0-9.]+% to [0-9.]+% at 99\.17%\), $num s median\.$" "$work/out" ||
    fail "recommendation:"$'\n'"$(cat "$work/out")"
  grep -qE "^  aixmalloc run .*-- CMD$" "$work/out" || fail "no command line in the recommendation"
else
  has_line "$work/out" "No configuration is measurably faster than Yorktown on this job (no interval lies wholly below 1.00x)."
  for n in watson 3.1_64BIT watson+pool,multiheap watson2 default+buckets default+multiheap+disclaim; do
    [ "$(below_one "$n")" = no ] || fail "$n is measurably faster but not recommended: $rows"
  done
  # Then watson2 is named as the one to start from, unless it was found slower.
  above_one() { awk -v n="$1" '$1 == n {for (i = 1; i <= NF; i++) if ($i ~ /^\[[0-9.]+,$/) {v = substr($i, 2); print (v + 0 > 1) ? "yes" : "no"}}' <<< "$rows"; }
  if [ "$(above_one watson2)" = no ]; then
    has_line "$work/out" "Without a measured difference, start from watson2 (MALLOCTYPE=watson2), which tunes itself as the"
  else
    grep -q "start from watson2" "$work/out" && fail "watson2 named although measurably slower: $rows"
  fi
fi
# The job is one thread: its figures say so and no advice for threads follows.
has "$work/out" "What the runs' statistics show about the job:"
grep -qE '^  threads: +1 thread allocated at the same time \(' "$work/out" || fail "threads:"$'\n'"$(cat "$work/out")"
grep -qE '^  (Multi-threaded|Most multi-threaded programs):' "$work/out" && fail "advice for threads:"$'\n'"$(cat "$work/out")"

# 2. One configuration under two names (MALLOCTYPE unset and MALLOCTYPE=Yorktown): compare says
# that neither is measurably faster. At 99.9% a true "no difference" is called a difference once
# in 2,000 runs of this test.
capture "$cli" compare --runs 8 --confidence 99.9 --configs 'default Yorktown' -- "${job[@]}"
expect_rc 0 "compare default Yorktown"
grep -qE "^Yorktown +$num s +${num}x \[$num, $num\] +$num [KM]iB" "$work/out" || fail "row:"$'\n'"$(cat "$work/out")"
awk '$1 == "Yorktown" {low = $5; high = $6; gsub(/[][,]/, "", low); gsub(/[][,]/, "", high); exit !(low + 0 <= 1 && high + 0 >= 1)}' "$work/out" ||
  fail "the interval of one configuration against itself excludes 1:"$'\n'"$(cat "$work/out")"
has_line "$work/out" "No configuration is measurably faster than default on this job (no interval lies wholly below 1.00x)."
grep -q 'recommended\|^Recommended' "$work/out" && fail "a recommendation:"$'\n'"$(cat "$work/out")"
# Too few runs for an interval: said, and nothing recommended.
capture "$cli" compare --runs 2 --configs 'watson Yorktown' -- "${job[@]}"
expect_rc 0 "compare --runs 2"
has_line "$work/out" "No configuration is measurably faster than Yorktown on this job: 2 runs of each cannot separate two configurations at 95%; it takes 4."

# 3. MALLOCTYPE values as `check` accepts them: buckets (AIX 5.1's; first in the list, since an
# item that names an option continues the configuration before it), debug (catch_overflow).
capture "$cli" check MALLOCTYPE=debug
expect_rc 0 "check MALLOCTYPE=debug"
capture "$cli" compare --runs 1 --configs 'buckets debug glibc' -- "${pyjob[@]}"
expect_rc 0 "compare --configs debug"
grep -qE "^buckets +$num s +baseline" "$work/out" || fail "buckets:"$'\n'"$(cat "$work/out")"
grep -qE "^debug +$num s +${num}x +${num}x" "$work/out" || fail "debug:"$'\n'"$(cat "$work/out")"

# 4. --by rss; standard input from a file; a list joined with commas and semicolons.
printf 'create table t(a, b);\ninsert into t values (1, 2);\nselect * from t;\n' > "$work/job.sql"
capture "$cli" compare --runs 4 --by rss --configs 'Yorktown;watson+pool,multiheap:4' --stdin "$work/job.sql" -- sqlite3
expect_rc 0 "compare --by rss --stdin"
has "$work/out" "Command: sqlite3 < $work/job.sql"
grep -qE '^Configuration +Wall \(median\) +RSS vs Yorktown +Peak RSS' "$work/out" || fail "--by rss:"$'\n'"$(cat "$work/out")"
grep -qE '^(Recommended: watson\+pool,multiheap:4 \(MALLOCTYPE=watson MALLOCOPTIONS=pool,multiheap:4\): [0-9.]+% leaner than Yorktown|No configuration is measurably leaner than Yorktown on this job)' "$work/out" ||
  fail "--by rss verdict:"$'\n'"$(cat "$work/out")"

# 5. The progress line: on a terminal, the run, the configuration and the time left; nothing
# when standard error is not a terminal (section 1 wrote nothing there).
[ -s "$work/err" ] && fail "stderr without a terminal: $(cat "$work/err")"
capture "$cli" compare --runs 1 --configs watson,glibc -- true
[ -s "$work/err" ] && fail "stderr without a terminal: $(cat "$work/err")"
printf -v line '%q ' "$cli" compare --runs 2 --configs 'watson glibc' -- "${pyjob[@]}"
script -qec "$line 2>&1 >/dev/null" /dev/null > "$work/tty" || fail "compare under a terminal failed"
grep -qE 'compare: run 1 of 2, (watson|glibc) \(1 of 2\): estimating the time left' "$work/tty" ||
  fail "no progress on a terminal: $(cat -v "$work/tty")"
grep -qE 'compare: run 2 of 2, (watson|glibc) \([12] of 2\): about [0-9]+ s left' "$work/tty" ||
  fail "no time left on a terminal: $(cat -v "$work/tty")"

# 6. A run's processes each leave a document in the run's directory, and compare sums them: a job
# that puts a second process's document there (a copy of one run of the same program) shows
# twice the requests of the program alone.
MALLOCOPTIONS=pool LD_PRELOAD="$AIXMALLOC_LIB" AIXMALLOC_STATS_JSON="$work/child.json" "$CLI_ADVICE_WORKLOAD" small64
# (cp runs without the library: its own document would add its few requests to the sum.)
tree_job=(sh -c 'env -u LD_PRELOAD cp "$0" "${AIXMALLOC_STATS_JSON%/*}/child.json" && exec "$1" small64' "$work/child.json" "$CLI_ADVICE_WORKLOAD")
lockfree_of() { awk '$1 == "default+pool" {for (i = 1; i <= NF; i++) if ($i == "MiB" || $i == "KiB") {print $(i + 2); exit}}' "$work/out" | tr -d ,; }
capture "$cli" compare --runs 1 --configs default+pool -- "$CLI_ADVICE_WORKLOAD" small64
expect_rc 0 "compare one process"
alone=$(lockfree_of)
capture "$cli" compare --runs 1 --configs default+pool -- "${tree_job[@]}"
expect_rc 0 "compare two documents"
[ "$alone" -ge 200000 ] && [ "$(lockfree_of)" = $((2 * alone)) ] ||
  fail "two documents: $(lockfree_of) lock-free requests, one: $alone"$'\n'"$(cat "$work/out")"

# 7. A command that fails: reported with its stderr, exit status 1; one that cannot start: 127.
capture "$cli" compare --runs 1 --configs watson,glibc -- "$python" -c 'import sys; print("broken", file=sys.stderr); sys.exit(3)'
expect_rc 1 "a failing command"
has "$work/err" "aixmalloc compare: under watson the command exited with status 3; its standard error:"
has_line "$work/err" "broken"
has "$work/out" "watson failed, so nothing is compared with it; nothing to recommend."
capture "$cli" compare --runs 1 --configs watson -- "$work/no-such-program"
expect_rc 127 "a missing command"

# 8. Bad arguments, and configurations the runtime's parser would correct: exit 2, nothing run.
for args in "--runs 0 -- true" "--runs 1.5 -- true" "--max-runs 1 -- true" "--budget 0 -- true" \
  "--confidence 100 -- true" "--by speed -- true" "--configs pool -- true" "--configs glibc+pool -- true" \
  "--configs watson+bogus -- true" "--stdin $work/missing -- true" "--bogus -- true" "--runs 1"; do
  # shellcheck disable=SC2086
  capture "$cli" compare $args
  expect_rc 2 "compare $args"
  grep -q '^aixmalloc compare: ' "$work/err" || fail "compare $args: no message: $(cat "$work/err")"
done
capture "$cli" compare --configs watson+bogus -- true
has "$work/err" "aixmalloc compare: 'watson+bogus': MALLOCOPTIONS: unknown option 'bogus'; ignored"
echo "aixmalloc compare: table and intervals, verdict, one configuration under two names, debug, --by rss, progress, documents summed, failures"
