#!/usr/bin/env bash
# The one option table against what users read: every variable, policy and option of the table
# appears in `aixmalloc help` and nothing else does (the MALLOCDEBUG options under a heading of
# their own); every option appears in aixmalloc(7)'s MALLOCOPTIONS or MALLOCDEBUG section, as its
# variable says, and nothing else does; every variable of aixmalloc(7) is in the table.
# Also: every subcommand answers --help, and `help COMMAND` is the same text.
source "$(dirname "$0")/common.sh"
: "${CLI_TABLE_NAMES:?set by ctest}"
"$CLI_TABLE_NAMES" > "$work/table"
capture "$cli" help
expect_rc 0 "aixmalloc help"
cp "$work/out" "$work/help"
capture "$cli" --help
expect_rc 0 "aixmalloc --help"
cmp -s "$work/out" "$work/help" || fail "--help and help differ"
capture "$cli" run --help
cp "$work/out" "$work/run-help"

"$python" - "$work/table" "$work/help" "$work/run-help" "$AIXMALLOC_SOURCE/man/aixmalloc.7" <<'PY'
import re, sys

table = {"variable": [], "policy": [], "option": [], "debug": []}
built = {}
for line in open(sys.argv[1]):
    kind, name, *rest = line.split()
    if kind == "option" and rest[0] == "debug":
        kind = "debug"
    table[kind].append(name)
    if kind == "policy":
        built[name] = rest[0] == "built"
problems = []

def check(what, found, expected):
    found, expected = list(found), list(expected)
    missing = [n for n in expected if n not in found]
    extra = [n for n in found if n not in expected]
    dupes = sorted({n for n in found if found.count(n) > 1})
    if missing: problems.append(f"{what}: missing {missing}")
    if extra: problems.append(f"{what}: not in the table {extra}")
    if dupes: problems.append(f"{what}: listed twice {dupes}")

# `aixmalloc help`: sections headed "Title:", entries indented by exactly two spaces.
def sections(path):
    out, current = {}, None
    for line in open(path):
        line = line.rstrip("\n")
        if line and not line[0].isspace() and line.endswith(":"):
            current = out.setdefault(line[:-1], [])
        elif current is not None and re.match(r"  \S", line):
            current.append(re.split(r"[\s\[:{]", line[2:], maxsplit=1)[0])
        elif not line:
            current = None
    return out

help_ = sections(sys.argv[2])
check("help, Variables", help_.get("Variables", []), table["variable"])
check("help, MALLOCTYPE values", help_.get("MALLOCTYPE values", []), table["policy"])
check("help, Options", help_.get("Options", []), table["option"])
check("help, MALLOCDEBUG options", help_.get("MALLOCDEBUG options", []), table["debug"])
run = sections(sys.argv[3])
check("run --help, MALLOCTYPE values", run.get("MALLOCTYPE values", []), table["policy"])
check("run --help, Options", run.get("Options", []), table["option"])
check("run --help, MALLOCDEBUG options", run.get("MALLOCDEBUG options", []), table["debug"])

# aixmalloc(7): the tags of the .TP entries of each section.
man = open(sys.argv[4]).read().splitlines()
# A tag names one option ("multiheap [:\fIn\fR]") or several policies ("3.1_64BIT ", " 3.1").
def tags(section, every_word):
    out, inside = [], False
    for i, line in enumerate(man):
        if line.startswith(".SH "):
            inside = line[4:].strip().strip('"') == section
        elif inside and line.startswith(".TP") and i + 1 < len(man):
            tag = re.sub(r"\\f[BIRP]|\\fP|\"", "", man[i + 1])
            tag = re.sub(r"^\.(B|BR|BI|I|IR|IB|RB|RI)\s+", "", tag)
            words = [w for w in re.split(r"[\s,]+", tag) if w]
            out.extend(words if every_word else words[:1])
    return out

options = [re.split(r"[\[:{]", t)[0] for t in tags("MALLOCOPTIONS", False)]
check("aixmalloc(7), MALLOCOPTIONS", options, table["option"])
debug = [re.split(r"[\[:{]", t)[0] for t in tags("MALLOCDEBUG", False)]
check("aixmalloc(7), MALLOCDEBUG", debug, table["debug"])
for p in table["policy"]:
    if built[p] and p not in tags("MALLOCTYPE", True):
        problems.append(f"aixmalloc(7), MALLOCTYPE: no entry for {p}")
text = "\n".join(l for l in man if not l.startswith(".TH "))  # the title is AIXMALLOC
variables = re.findall(r"(?<![A-Za-z_])(?:[A-Z_]*MALLOC[A-Z_]*|PSALLOC|NODISCLAIM)(?![A-Za-z_])",
                       re.sub(r"\\f[BIRP]", " ", text))
check("aixmalloc(7), variables", sorted(set(variables)), table["variable"])
if problems:
    sys.exit("\n".join(problems))
PY

# Every subcommand: --help and help COMMAND print its usage, exit 0.
for c in run check stats compare; do
  capture "$cli" "$c" --help
  expect_rc 0 "$c --help"
  grep -q "^usage: aixmalloc $c " "$work/out" || fail "$c --help: $(head -3 "$work/out")"
  cp "$work/out" "$work/h1"
  capture "$cli" help "$c"
  cmp -s "$work/out" "$work/h1" || fail "help $c differs from $c --help"
done
capture "$cli" help nonsense
expect_rc 2 "help of an unknown command"
capture "$cli" nonsense
expect_rc 2 "an unknown command"
capture "$cli"
expect_rc 2 "no command"
capture "$cli" --version
grep -Eqx 'aixmalloc [0-9]+\.[0-9]+\.[0-9]+' "$work/out" || fail "--version: $(cat "$work/out")"
echo "help and aixmalloc(7) list exactly the table's variables, policies and options"
