#!/usr/bin/env bash
# mallopt(M_MXFAST) before the first allocation selects the 3.1 or the default policy.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/mallopt_mxfast"
out=$(preloaded "$prog" 1)
[ "$out" = "first=0 usable=240 late=1" ] || fail "M_MXFAST 1: $out"
out=$(preloaded "$prog" 0)
[ "$out" = "first=0 usable=208 late=1" ] || fail "M_MXFAST 0: $out"
no_diagnostics
echo "mallopt(M_MXFAST): 3.1 and default selected before the first allocation"
