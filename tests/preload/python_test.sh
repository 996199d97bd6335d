#!/usr/bin/env bash
# python3 running a dict/list/str-heavy script under LD_PRELOAD: same output as without it, and the
# known output.
source "$(dirname "$0")/common.sh"
python=/usr/bin/python3
preloaded "$python" "$here/workload.py" > "$work/out"
no_diagnostics
diff -u "$here/workload.expected" "$work/out" || fail "python3 output differs under aixmalloc"
echo "python3 workload: identical output"
