#!/usr/bin/env bash
# python3 (PYTHONMALLOC=malloc), sqlite3 and git under MALLOCDEBUG=report_allocations: the same
# output as without aixmalloc, a text report with its total line, and a JSON document that parses.
source "$(dirname "$0")/common.sh"
plain() { env -u MALLOCDEBUG -u MALLOCTYPE -u MALLOCOPTIONS -u LD_PRELOAD "$@"; }
check_reports() {  # name
  local r j
  r=$(ls "$work/$1".report.* 2>/dev/null | head -1)
  [ -n "$r" ] || fail "$1: no report"
  grep -Eq '^Total: [0-9]+ allocations?, [0-9]+ bytes, [0-9]+ sites?$' "$r" || fail "$1: no total line in $r"
  for j in "$work/$1".*.json; do
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["format"]=="aixmalloc-leaks"' "$j" ||
      fail "$1: $j does not parse"
  done
}
run_logged() {  # name command...
  local name=$1
  shift
  MALLOCDEBUG=report_allocations,output:$work/$name.report.%p AIXMALLOC_LEAKS_JSON=$work/$name.%p.json \
    preloaded "$@"
}

export PYTHONMALLOC=malloc PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1
plain python3 "$here/workload.py" > "$work/py.expected"
run_logged py python3 "$here/workload.py" > "$work/py.out"
diff -u "$work/py.expected" "$work/py.out" || fail "python3 output differs"
check_reports py

if command -v sqlite3 > /dev/null; then
  plain sqlite3 < "$here/sqlite.sql" > "$work/sq.expected"
  run_logged sq sqlite3 < "$here/sqlite.sql" > "$work/sq.out"
  diff -u "$work/sq.expected" "$work/sq.out" || fail "sqlite3 output differs"
  check_reports sq
fi

if command -v git > /dev/null; then
  repo="$work/repo"
  git init -q "$repo"
  for i in 1 2 3; do echo "line $i" > "$repo/f$i"; done
  git -C "$repo" add . && git -C "$repo" -c user.name=t -c user.email=t@t commit -qm one
  plain git -C "$repo" log --stat --format=%s > "$work/git.expected"
  run_logged git git -C "$repo" log --stat --format=%s > "$work/git.out"
  diff -u "$work/git.expected" "$work/git.out" || fail "git output differs"
  check_reports git
fi
no_diagnostics
echo "python3, sqlite3, git under report_allocations: identical output, reports parse"
