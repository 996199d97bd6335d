#!/usr/bin/env bash
# What a fork costs (aixmalloc(7), "Fork"): the page faults of a fork whose child allocates, frees
# and exits, with the library against the same program without it.
#  - A process that never had a second thread: at most EXTRA (8) more a fork. No allocator lock
#    is taken there; taking them cost a copy-on-write fault in the parent and one in the child for
#    each page that holds one (48 more a fork, when Malloc Detect's sixteen stripes were locked
#    while the layer was off).
#  - A process that had one: the locks are taken, at most EXTRA_THREADED (12) more a fork (6-9).
#    The locks lie side by side on two pages (the layers' on one, AIXMALLOC_FORK_LOCK; the heaps'
#    of multiheap on another) and the handlers' code with what every process runs: scattered,
#    they cost 79 more under MALLOCOPTIONS=pool,multiheap and 15 under the default configuration.
# And what a process pays to start: the page faults of a program that execs, makes one malloc and
# exits, with the library at most START_EXTRA more than without it: 28 under a policy alone (20-25
# now, 26-27 when the library's large zero-initialised tables lay between the small variables that
# start-up writes, libmalloc/base/platform.h; the program alone varies by 2), 34 with
# MALLOCOPTIONS (25-29 now), 64 under MALLOCOPTIONS=multiheap, whose 32 heaps are all built at
# start-up, 145 KiB written (56-60).
source "$(dirname "$0")/common.sh"
forks=${FORKS:-200}
check() {  # check MODE COUNT WHAT BOUND: fork_cost COUNT MODE prints faults_per_WHAT=F
  local plain ours p o
  plain=$("$AIXMALLOC_BUILD/tests/fork_cost" "$2" "$1")
  ours=$(preloaded "$AIXMALLOC_BUILD/tests/fork_cost" "$2" "$1")
  p=$(sed -n "s/^faults_per_$3=\([0-9.]*\)\$/\1/p" <<< "$plain")
  o=$(sed -n "s/^faults_per_$3=\([0-9.]*\)\$/\1/p" <<< "$ours")
  [ -n "$p" ] && [ -n "$o" ] || fail "$1: no figures: '$plain' '$ours'"
  echo "$1: page faults a $3: ${o} with the library, ${p} without it (at most $4 more allowed)"
  awk -v o="$o" -v p="$p" -v e="$4" 'BEGIN { exit !(o <= p + e) }' ||
    fail "$1: a $3 costs ${o} page faults with the library, ${p} without it: more than $4 more"
}
check single "$forks" fork "${EXTRA:-8}"
check threaded "$forks" fork "${EXTRA_THREADED:-12}"
start_bound=${START_EXTRA:-28}
[ -n "${MALLOCOPTIONS:-}" ] && start_bound=${START_EXTRA:-34}
[[ ",${MALLOCOPTIONS:-}," == *",multiheap,"* ]] && start_bound=${START_EXTRA:-64}
check start 50 start "$start_bound"
no_diagnostics
