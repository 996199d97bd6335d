#!/usr/bin/env bash
# The advice of aixmalloc compare comes from the runs' statistics, each line with its figure: a
# single-threaded job of 64-byte requests gets the pool and neither the advice for threads nor the
# buckets; four threads that meet on the heap lock get multiheap; a job of 700-byte requests gets
# the buckets (advice_workload.c). One run of each default configuration is enough: the figures
# are counts, not times.
source "$(dirname "$0")/common.sh"
: "${CLI_ADVICE_WORKLOAD:?set by ctest}"

# The output with each wrapped line joined to the one it continues.
joined() { awk '/^    / && NR > 1 {sub(/^ +/, ""); line = line " " $0; next} NR > 1 {print line} {line = $0} END {print line}' "$work/out"; }
advice() { joined | sed -n "/^IBM's AIX tuning advice that these figures call for:/,\$p"; }
figure() { joined | grep -qE "$1" || fail "no line /$1/:"$'\n'"$(cat "$work/out")"; }
no_advice() { advice | grep -qE "^  $1" && fail "advice '$1' given:"$'\n'"$(cat "$work/out")"; true; }
has_advice() { advice | grep -qE "^  $1" || fail "no advice /$1/:"$'\n'"$(cat "$work/out")"; }

# Single-threaded, 200,000 requests of 64 bytes.
capture "$cli" compare --runs 1 -- "$CLI_ADVICE_WORKLOAD" small64
expect_rc 0 "compare small64"
figure '^  threads: +1 thread allocated at the same time \((pool\.thread_pools|threadcache\.caches) under [^ ]+\)$'
figure '^  lock contention: +0 of [0-9,]+ heap requests \(0%\) found the heap locked by another thread \(heaps\.lock_contended under Yorktown, '
figure '^  request sizes: +100% of 200,[0-9]{3} requests were of 512 bytes or less, 100% in the 64-byte class \(pool\.by_class under watson\+pool,multiheap\)$'
figure '^  above 512 bytes: +0% of the requests were between 513 and 1024 bytes; 0% were larger \(buckets\.by_bucket under default\+buckets\)$'
has_advice 'Many allocations and frees of blocks smaller than 513 bytes: pool\. Measured: 100% of 200,[0-9]{3} requests were of 512 bytes or less, 100% in the 64-byte class \(pool\.by_class under watson\+pool,multiheap\)\.$'
no_advice "Multi-threaded"
no_advice "Most multi-threaded programs"
no_advice "Many allocations of a few fixed sizes above 512 bytes"

# Four threads at once, 16 to 2,000 bytes: they meet on the one heap's lock.
capture "$cli" compare --runs 2 -- "$CLI_ADVICE_WORKLOAD" threads
expect_rc 0 "compare threads"
figure '^  threads: +[5-9] threads allocated at the same time \('
figure '^  lock contention: +[1-9][0-9,]* of [0-9,]+ heap requests \([0-9.]+%\) found the heap locked'
has_advice 'Multi-threaded: multiheap, with about as many heaps as threads that allocate at once \(here MALLOCOPTIONS=multiheap:[5-9]\)\. Measured: [5-9] threads allocated at the same time \([^)]*\); [1-9][0-9,]* of [0-9,]+ heap requests \([0-9.]+%\) found the heap locked by another thread \(heaps\.lock_contended under Yorktown, [^)]*\)\.$'
no_advice "Many allocations of a few fixed sizes above 512 bytes"

# One thread, mostly 700 bytes.
capture "$cli" compare --runs 1 -- "$CLI_ADVICE_WORKLOAD" fixed700
expect_rc 0 "compare fixed700"
has_advice 'Many allocations of a few fixed sizes above 512 bytes: buckets, with the bucket options sized to those requests\. Measured: 83% of the requests were between 513 and 1024 bytes, 83% of 641 to 704 bytes; 0% were larger \(buckets\.by_bucket under default\+buckets\)\.$'
no_advice "Multi-threaded"
no_advice "Most multi-threaded programs"
no_advice "Many allocations and frees of blocks smaller than 513 bytes"
echo "aixmalloc compare: advice from threads, contention and sizes, each with its figure"
