#!/usr/bin/env bash
# fork while three threads allocate; every child allocates and exits (half exec /bin/true).
source "$(dirname "$0")/common.sh"
preloaded "$AIXMALLOC_BUILD/tests/fork_threads" "${FORKS:-150}" > "$work/out"
no_diagnostics
grep -qx "forks=${FORKS:-150} failures=0" "$work/out" || fail "$(cat "$work/out")"
cat "$work/out"
