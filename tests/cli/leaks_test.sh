#!/usr/bin/env bash
# aixmalloc leaks on hand-written leak reports (the document of aixmalloc(7), "leak report"): the
# table of the top sites, --top and --depth, --folded, --svg, --json; frames named from a module
# file with the recorded build id (a C++ name, file and line) and left as module+offset, with a
# line saying why, when the build id differs or the file is missing; an empty report; a process
# that records nothing ("log": "off"); bad input and bad flags; --pid's checks.
source "$(dirname "$0")/common.sh"
: "${CLI_LEAKS_SYMBOLS:?set by ctest}"
prog=$CLI_LEAKS_SYMBOLS

# Where the report's frames point: 10 bytes into each function (a return address after a call).
build_id=$(readelf -n "$prog" | sed -n 's/^ *Build ID: *//p')
[ -n "$build_id" ] || fail "$prog has no build id"
sym() { nm "$prog" | awk -v s="$1" '$3 == s { print $1 }'; }
site_off=$(printf '0x%x' $((0x$(sym _ZN4demo9leak_siteEi) + 10)))
plain_off=$(printf '0x%x' $((0x$(sym leak_plain) + 10)))
main_off=$(printf '0x%x' $((0x$(sym main) + 10)))
# file:line of each call, as binutils reads the same debug information (at the offset minus 1).
where() { addr2line -e "$prog" "$(printf '0x%x' $(($1 - 1)))" | sed 's|.*/||; s/ .*//'; }
site_line=$(where "$site_off")
plain_line=$(where "$plain_off")
[[ $site_line == leaks_symbols.cpp:* ]] || fail "addr2line: '$site_line'"
libc=$(ldd "$prog" | awk '$1 ~ /^libc\.so/ { print $3 }')

cat > "$work/report.json" <<JSON
{"format": "aixmalloc-leaks", "version": 1, "pid": 4242, "ppid": 1, "program": "$prog",
 "when": "exit", "time_ns": 1733400000000000000, "stack_depth": 4, "extended": false,
 "modules": [
   {"id": 0, "path": "$prog", "base": "0x555500000000", "build_id": "$build_id"},
   {"id": 1, "path": "$libc", "base": "0x7f0000000000", "build_id": "00112233445566778899aabbccddeeff00112233"},
   {"id": 2, "path": "/nonexistent/libgone.so", "base": "0x7f1000000000", "build_id": "abcd"}
 ],
 "sites": [
   {"count": 3, "bytes": 300, "min_size": 100, "max_size": 100, "frames": [
     {"pc": "0x5555$site_off", "module": 0, "offset": "$site_off"},
     {"pc": "0x5555$main_off", "module": 0, "offset": "$main_off"}]},
   {"count": 2, "bytes": 150, "min_size": 50, "max_size": 100, "frames": [
     {"pc": "0x7f0000001234", "module": 1, "offset": "0x1234"},
     {"pc": "0x5555$plain_off", "module": 0, "offset": "$plain_off"},
     {"pc": "0x5555$main_off", "module": 0, "offset": "$main_off"}]},
   {"count": 1, "bytes": 50, "min_size": 50, "max_size": 50, "frames": [
     {"pc": "0x7f1000000100", "module": 2, "offset": "0x100"},
     {"pc": "0x7f2000000000", "function": "named_by_runtime", "module": 2, "offset": "0x200",
      "file": "runtime.c", "line": 7},
     {"pc": "0x1000"}]}
 ],
 "total": {"count": 6, "bytes": 500, "sites": 3}}
JSON

# 1. The table: the header, one row per site (blocks, bytes, share, sizes), the frames under it.
capture "$cli" leaks "$work/report.json"
expect_rc 0 "leaks of the report"
has_line "$work/out" "Leaks of process 4242 ($prog), at exit: 6 blocks, 500 bytes (500 B) in 3 sites"
grep -qE '^ +1 +3 +300 +60\.0%  100$' "$work/out" || fail "site 1's row:"$'\n'"$(cat "$work/out")"
grep -qE '^ +2 +2 +150 +30\.0%  50-100$' "$work/out" || fail "site 2's row:"$'\n'"$(cat "$work/out")"
grep -qE '^ +3 +1 +50 +10\.0%  50$' "$work/out" || fail "site 3's row:"$'\n'"$(cat "$work/out")"
# Named from the file with the recorded build id: the demangled C++ name, file and line.
has_line "$work/out" "       demo::leak_site(int)  $site_line"
has_line "$work/out" "       leak_plain  $plain_line"
grep -qE '^       main  leaks_symbols\.cpp:[0-9]+$' "$work/out" || fail "main is not named"
# Not named: libc with another build id, a module that is not here; a name the runtime gave stays.
has_line "$work/out" "       ${libc##*/}+0x1234"
has_line "$work/out" "       libgone.so+0x100"
has_line "$work/out" "       named_by_runtime  runtime.c:7"
has_line "$work/out" "       0x1000"
has "$work/err" "$libc on this machine has build id "
has "$work/err" "the report recorded 00112233445566778899aabbccddeeff00112233: not the same file, so its frames stay module+offset"
has "$work/err" "module /nonexistent/libgone.so cannot be read here"
[ "$(wc -l < "$work/err")" = 2 ] || fail "expected two lines on stderr:"$'\n'"$(cat "$work/err")"
! grep -q "$prog on this machine" "$work/err" || fail "the matching module was refused"

# 2. --top and --depth.
capture "$cli" leaks --top 1 --depth 1 "$work/report.json"
expect_rc 0 "leaks --top 1 --depth 1"
grep -qE '^ +1 +3 +300 ' "$work/out" || fail "--top 1 lost site 1"
! grep -qE '^ +2 +2 +150 ' "$work/out" || fail "--top 1 shows site 2"
has_line "$work/out" "2 more sites: 3 blocks, 200 bytes (40.0%); --top 3 shows them all"
has_line "$work/out" "       ... 1 more frames"
! grep -q '       main  ' "$work/out" || fail "--depth 1 shows main"

# 3. --folded: outermost first, the bytes last, one line per site, in the report's order.
capture "$cli" leaks --folded "$work/report.json"
expect_rc 0 "leaks --folded"
cat > "$work/folded.expected" <<TXT
main;demo::leak_site(int) 300
main;leak_plain;${libc##*/}+0x1234 150
0x1000;named_by_runtime;libgone.so+0x100 50
TXT
diff "$work/folded.expected" "$work/out" || fail "folded stacks differ"
capture "$cli" leaks --folded --depth 2 "$work/report.json"
has_line "$work/out" "leak_plain;${libc##*/}+0x1234 150"

# 4. --svg: a well-formed flame graph, one box per frame with its bytes and share on hover.
capture "$cli" leaks --svg "$work/leaks.svg" "$work/report.json"
expect_rc 0 "leaks --svg"
"$python" - "$work/leaks.svg" <<'PY' || fail "the flame graph"
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
titles = [t.text for t in root.findall(".//s:g[@class='frames']//s:title", ns)]
want = ["all (500 bytes, 100.0%)", "main (450 bytes, 90.0%)", "demo::leak_site(int) (300 bytes, 60.0%)",
        "leak_plain (150 bytes, 30.0%)", "0x1000 (50 bytes, 10.0%)", "libgone.so+0x100 (50 bytes, 10.0%)"]
missing = [w for w in want if w not in titles]
assert not missing, f"missing {missing} in {titles}"
assert len(titles) == 8, titles
widths = {t.text: float(g.find("s:rect", ns).get("width")) for g in root.findall(".//s:g[@class='frames']/s:g", ns) for t in [g.find("s:title", ns)]}
assert abs(widths["main (450 bytes, 90.0%)"] / widths["all (500 bytes, 100.0%)"] - 0.9) < 0.01, widths
PY

# 5. --json: the same document, every frame that could be named now named.
capture "$cli" leaks --json "$work/report.json"
expect_rc 0 "leaks --json"
"$python" - "$work/out" "$site_line" <<'PY' || fail "leaks --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "aixmalloc-leaks" and d["version"] == 1 and d["pid"] == 4242, d
assert [s["bytes"] for s in d["sites"]] == [300, 150, 50]
f = d["sites"][0]["frames"][0]
assert f["function"] == "demo::leak_site(int)" and f["file"].endswith("leaks_symbols.cpp"), f
assert "leaks_symbols.cpp:%d" % f["line"] == sys.argv[2], (f, sys.argv[2])
assert "function" not in d["sites"][1]["frames"][0], d["sites"][1]  # libc of another build
assert d["sites"][2]["frames"][1]["function"] == "named_by_runtime"
assert d["total"] == {"count": 6, "bytes": 500, "sites": 3}, d["total"]
assert len(d["modules"]) == 3
PY
# Read back, it gives the same table; only the modules of frames still unnamed are looked at.
cp "$work/out" "$work/again.json"
capture "$cli" leaks "$work/again.json"
expect_rc 0 "leaks of its own --json"
has_line "$work/out" "       demo::leak_site(int)  $site_line"
[ "$(wc -l < "$work/err")" = 2 ] || fail "stderr reading its own --json:"$'\n'"$(cat "$work/err")"
"$python" - "$work/again.json" > "$work/named.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sites"] = d["sites"][:1]
print(json.dumps(d))
PY
capture "$cli" leaks "$work/named.json"
expect_rc 0 "leaks of a report whose frames are all named"
[ ! -s "$work/err" ] || fail "modules looked at though every frame is named: $(cat "$work/err")"

# 6. An empty report, a process that records nothing, not a report at all.
cat > "$work/empty.json" <<'JSON'
{"format": "aixmalloc-leaks", "version": 1, "pid": 7, "ppid": 1, "program": "/bin/true", "when": "request",
 "time_ns": 1, "stack_depth": 4, "extended": false, "modules": [], "sites": [],
 "total": {"count": 0, "bytes": 0, "sites": 0}}
JSON
capture "$cli" leaks "$work/empty.json"
expect_rc 0 "leaks of an empty report"
has_line "$work/out" "Leaks of process 7 (/bin/true), on request: 0 blocks, 0 bytes (0 B) in 0 sites"
has_line "$work/out" "No live allocations: nothing leaked."
[ ! -s "$work/err" ] || fail "stderr for an empty report: $(cat "$work/err")"
capture "$cli" leaks --folded "$work/empty.json"
expect_rc 0 "leaks --folded of an empty report"
[ ! -s "$work/out" ] || fail "folded stacks of an empty report: $(cat "$work/out")"
sed 's/"sites": \[\]/"sites": [], "log": "off"/' "$work/empty.json" > "$work/off.json"
capture "$cli" leaks "$work/off.json"
expect_rc 1 "leaks of a process that records nothing"
has "$work/err" "process 7 (/bin/true) records no allocations: start it with MALLOCDEBUG=report_allocations"
[ "$(wc -l < "$work/err")" = 1 ] || fail "more than one line: $(cat "$work/err")"
echo '{"format": "aixmalloc-stats"}' > "$work/stats.json"
capture "$cli" leaks "$work/stats.json"
expect_rc 1 "leaks of a statistics document"
has "$work/err" "not a leak report"
sed 's/"version": 1/"version": 2/' "$work/empty.json" > "$work/v2.json"
capture "$cli" leaks "$work/v2.json"
expect_rc 1 "leaks of version 2"
has "$work/err" "leak report version 2, this aixmalloc reads version 1"
head -c 100 "$work/report.json" > "$work/cut.json"
capture "$cli" leaks "$work/cut.json"
expect_rc 1 "leaks of a truncated report"
capture "$cli" leaks "$work/none.json"
expect_rc 1 "leaks of a missing file"
has "$work/err" "cannot read $work/none.json"

# 7. Bad arguments.
for args in "" "--top 0 $work/report.json" "--depth x $work/report.json" "--json --folded $work/report.json" \
            "--pid 0" "--pid 1 $work/report.json" "--timeout 1 $work/report.json" "--bogus $work/report.json"; do
  # shellcheck disable=SC2086
  capture "$cli" leaks $args
  expect_rc 2 "leaks $args"
done

# 8. --pid makes the checks of stats --pid: a process not on aixmalloc is not signalled (a signal
# it does not catch would end it), and says what to do.
sleep 30 &
sleeper=$!
capture "$cli" leaks --pid "$sleeper"
kill "$sleeper"
expect_rc 2 "leaks --pid of a process without the channel"
has "$work/err" "aixmalloc leaks: process $sleeper does not run on aixmalloc (no libaixmalloc in /proc/$sleeper/maps)"
echo "leaks: ok"
