#!/usr/bin/env bash
# python3 with PYTHONMALLOC=malloc (every object a malloc block) under MALLOCDEBUG=catch_overflow:
# the same output as without aixmalloc. About 0.3 s under glibc, 15-20 s under catch_overflow on a
# two-core VM (the blocks held at once cost a page each).
source "$(dirname "$0")/common.sh"
source "$here/catch_overflow_common.sh"
catch_overflow_on
python=/usr/bin/python3
export PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
plain "$python" "$here/guarded_workload.py" > "$work/expected"
preloaded "$python" "$here/guarded_workload.py" > "$work/out"
no_diagnostics
[ -s "$work/expected" ] || fail "python3 without aixmalloc printed nothing"
diff -u "$work/expected" "$work/out" || fail "python3 output differs under catch_overflow"
echo "python3 (PYTHONMALLOC=malloc) under catch_overflow: identical output ($(elapsed))"
