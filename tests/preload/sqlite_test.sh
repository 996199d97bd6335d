#!/usr/bin/env bash
# sqlite3 building a 100,000-row table with an index, then querying, deleting and updating it.
source "$(dirname "$0")/common.sh"
command -v sqlite3 >/dev/null || fail "sqlite3 is not installed (tools/setup installs it)"
preloaded sqlite3 "$work/db.sqlite" < "$here/sqlite.sql" > "$work/out"
no_diagnostics
diff -u "$here/sqlite.expected" "$work/out" || fail "sqlite3 output differs under aixmalloc"
echo "sqlite3: identical output"
