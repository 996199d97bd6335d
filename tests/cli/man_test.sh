#!/usr/bin/env bash
# The man pages against the code: aixmalloc(1) documents every subcommand and every flag the
# command accepts and no other; aixmalloc(3) declares every function and constant of aixmalloc.h;
# aixmalloc(7) lists every figure of the statistics table.
# (groff lint of every page is the man.lint tests of tests/CMakeLists.txt.)
source "$(dirname "$0")/common.sh"
man1="$AIXMALLOC_SOURCE/man/aixmalloc.1"
man3="$AIXMALLOC_SOURCE/man/aixmalloc.3"
for c in run check stats leaks compare help; do
  grep -qx "\.SS $c" "$man1" || fail "aixmalloc(1) has no section for $c"
done
# Flags: those the subcommands' help lists, against those aixmalloc(1) names.
for c in run check stats leaks compare; do "$cli" "$c" --help; done | grep -oE '^  --[a-z0-9-]+' | tr -d ' ' | sort -u > "$work/flags.help"
grep -oE '\\-\\-[a-z0-9][a-z0-9-]*' "$man1" | sed 's/\\-/-/g' | grep -vxE -- '--help|--version' | sort -u > "$work/flags.man"
diff "$work/flags.help" "$work/flags.man" > "$work/flags.diff" ||
  fail "flags in the help (<) and in aixmalloc(1) (>) differ:"$'\n'"$(cat "$work/flags.diff")"
# compare's default configurations, as the command has them and as aixmalloc(1) says.
defaults=$("$cli" compare --help | sed -n 's/^Default: //p')
documented=$(tr '\n' ' ' < "$man1" | sed -n 's/.*The default list is \\fB\([^\\]*\)\\fR.*/\1/p' | tr -s ' ')
[ -n "$defaults" ] && [ "$defaults" = "$documented" ] ||
  fail "compare's default configurations: '$defaults' in the command, '$documented' in aixmalloc(1)"
# aixmalloc(7)'s STATISTICS: every figure of the table under its section, with its label.
man7="$AIXMALLOC_SOURCE/man/aixmalloc.7"
"$cli" stats --keys > "$work/keys"
"$python" - "$work/keys" "$man7" <<'PY' || fail "aixmalloc(7)'s STATISTICS and the table of figures differ"
import re, sys
lines = open(sys.argv[2]).read().split("\n")
start, end = lines.index(".SH STATISTICS"), lines.index(".SH CHOICES WHERE AIX IS SILENT OR LINUX DIFFERS")
documented, section = {}, None
for i in range(start, end):
    if lines[i].startswith(".SS "):
        section = lines[i][4:]
    elif lines[i] == ".TP" and lines[i + 1].startswith(".B "):
        documented[(section, lines[i + 1][3:])] = lines[i + 2].replace("\\(aq", "'")
table = {}
for line in open(sys.argv[1]):
    path, key, label = line.rstrip("\n").split(" ", 2)
    table[(path, key)] = label
assert set(table) == set(documented), (set(table) ^ set(documented))
for k, label in table.items():
    assert f"\\(lq{label}\\(rq" in documented[k] or documented[k].startswith("the row"), (k, label, documented[k])
PY
# aixmalloc(3)'s SYNOPSIS: every function and macro of the public header.
synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$man3")
header="$AIXMALLOC_SOURCE/libmalloc/aixmalloc.h"
names=$(grep -oE '^[a-z].*\b[a-z_0-9]+\(' "$header" | grep -oE '[a-z_0-9]+\($' | tr -d '(')
names+=" $(grep -oE '^#define AIXMALLOC_M_[A-Z_]+' "$header" | awk '{print $2}') mallinfo_heap"
[ "$(wc -w <<< "$names")" -ge 8 ] || fail "could not read the header's names: $names"
for n in $names; do
  grep -q "$n" <<< "$synopsis" || fail "aixmalloc(3)'s SYNOPSIS lacks $n"
  grep -c "$n" "$man3" | grep -qv '^1$' || fail "aixmalloc(3) declares $n but never describes it"
done
echo "aixmalloc(1) matches the command's flags; aixmalloc(3) covers aixmalloc.h; aixmalloc(7) every figure"
