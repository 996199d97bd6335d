#!/usr/bin/env bash
# sqlite3 building a 100,000-row table with an index, querying, deleting and updating it (sqlite.sql)
# under MALLOCDEBUG=catch_overflow: the same output as without aixmalloc, and the known output.
source "$(dirname "$0")/common.sh"
source "$here/catch_overflow_common.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (tools/setup installs it)"
catch_overflow_on
plain sqlite3 "$work/plain.sqlite" < "$here/sqlite.sql" > "$work/expected"
preloaded sqlite3 "$work/db.sqlite" < "$here/sqlite.sql" > "$work/out"
no_diagnostics
diff -u "$here/sqlite.expected" "$work/expected" || fail "sqlite3 without aixmalloc: not the known output"
diff -u "$work/expected" "$work/out" || fail "sqlite3 output differs under catch_overflow"
echo "sqlite3, 100,000 rows, under catch_overflow: identical output ($(elapsed))"
