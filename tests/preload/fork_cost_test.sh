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
source "$(dirname "$0")/common.sh"
forks=${FORKS:-200}
check() {  # check MODE BOUND
  local plain ours p o
  plain=$("$AIXMALLOC_BUILD/tests/fork_cost" "$forks" "$1")
  ours=$(preloaded "$AIXMALLOC_BUILD/tests/fork_cost" "$forks" "$1")
  p=$(sed -n 's/^faults_per_fork=\([0-9.]*\)$/\1/p' <<< "$plain")
  o=$(sed -n 's/^faults_per_fork=\([0-9.]*\)$/\1/p' <<< "$ours")
  [ -n "$p" ] && [ -n "$o" ] || fail "$1: no figures: '$plain' '$ours'"
  echo "$1: page faults a fork: ${o} with the library, ${p} without it (at most $2 more allowed)"
  awk -v o="$o" -v p="$p" -v e="$2" 'BEGIN { exit !(o <= p + e) }' ||
    fail "$1: a fork costs ${o} page faults with the library, ${p} without it: more than $2 more"
}
check single "${EXTRA:-8}"
check threaded "${EXTRA_THREADED:-12}"
no_diagnostics
