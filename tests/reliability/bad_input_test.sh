#!/usr/bin/env bash
# Every hostile configuration of bad_input.txt (argument 1) through a real program under LD_PRELOAD:
# python3 must still print 499500 and exit 0; its stderr must hold nothing but "aixmalloc: " lines,
# exactly as many as `aixmalloc check` prints for the same variables (the same parser), and no more
# than one per token of the values. A case followed by "=> " lines must print exactly those lines,
# in that order, both from `aixmalloc check` and under LD_PRELOAD (where a MALLOCTYPE=user: library
# that cannot serve adds its one line). CTest passes AIXMALLOC_LIB and AIXMALLOC_BUILD.
set -uo pipefail
: "${AIXMALLOC_LIB:?set by ctest}"
: "${AIXMALLOC_BUILD:?set by ctest}"
cases=${1:-$(dirname "$0")/bad_input.txt}
python=/usr/bin/python3
export LC_ALL=C
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Decodes the case file into records of NUL-terminated fields: a label, the VAR=VALUE assignments,
# an empty field, the expected lines (if any), an empty field. Python (without the library) does the
# escapes and the generated values.
decode() {
  "$python" - "$cases" <<'EOF'
import codecs, random, re, sys

GEN = re.compile(rb'@\{(\d+)([*?])([^}]*)\}')

def value(raw):
    out, at = b'', 0
    for m in GEN.finditer(raw):
        out += codecs.escape_decode(raw[at:m.start()])[0]
        n = int(m.group(1))
        if m.group(2) == b'*':
            out += m.group(3) * n
        else:
            rng = random.Random(int(m.group(3)))
            out += bytes(rng.randrange(1, 256) for _ in range(n))
        at = m.end()
    return out + codecs.escape_decode(raw[at:])[0]

cases = []
for number, line in enumerate(open(sys.argv[1], 'rb').read().split(b'\n'), 1):
    if not line.strip() or line.startswith(b'#'):
        continue
    if line.startswith(b'=> '):  # an expected line of the case above, literally
        if not cases:
            sys.exit('bad_input.txt:%d: an expected line before any case' % number)
        cases[-1][2].append(line[3:])
        continue
    assignments, notes = [], []
    for part in line.split(b'\t'):
        var, eq, raw = part.partition(b'=')
        if not eq:
            sys.exit('bad_input.txt:%d: %r is not VAR=VALUE' % (number, part))
        v = value(raw)
        if b'\0' in v:  # an environment string ends at its first NUL, as the kernel passes it
            v = v[:v.index(b'\0')]
            notes.append('cut at NUL')
        assignments.append(var + b'=' + v)
    shown = line if len(line) <= 90 else line[:87] + b'...'
    label = ('line %d: %s%s' % (number, shown.decode('latin-1'), ' (' + ', '.join(notes) + ')' if notes else ''))
    cases.append((label, assignments, []))
sink = sys.stdout.buffer
for label, assignments, expected in cases:
    sink.write(label.encode('latin-1', 'replace') + b'\0' + b''.join(a + b'\0' for a in assignments) + b'\0')
    sink.write(b''.join(e + b'\0' for e in expected) + b'\0')
EOF
}

unset_vars=(-u MALLOCTYPE -u MALLOCOPTIONS -u MALLOCBUCKETS -u MALLOCMULTIHEAP -u MALLOCDISCLAIM -u MALLOCDEBUG
  -u AIXMALLOC_STATS -u AIXMALLOC_STATS_JSON -u AIXMALLOC_STATS_SIGNAL -u AIXMALLOC_ZERO_SIZE -u PSALLOC -u NODISCLAIM)
total=0
failed=0
fail_case() {
  echo "FAIL $label: $*" >&2
  failed=$((failed + 1))
}

run_case() {
  local label=$1
  shift
  total=$((total + 1))
  # The tokens the values hold: each may earn one diagnostic line, no more. In MALLOCDEBUG each
  # name of a functionset is a token of its own (each one that cannot be kept has its line).
  local tokens=0 a val commas colons
  for a in "$@"; do
    val=${a#*=}
    commas=${val//[^,]/}
    tokens=$((tokens + ${#commas} + 1))
    if [[ "$a" == MALLOCDEBUG=* ]]; then
      colons=${val//[^:]/}
      tokens=$((tokens + ${#colons}))
    fi
  done
  env "${unset_vars[@]}" "$AIXMALLOC_BUILD/aixmalloc" check "$@" > /dev/null 2> "$work/check.err"
  local check_rc=$?
  local expected
  expected=$(grep -ac '^aixmalloc: ' "$work/check.err")
  if [ "$check_rc" -gt 1 ] || { [ "$check_rc" = 1 ] && [ "$expected" = 0 ]; } || { [ "$check_rc" = 0 ] && [ "$expected" != 0 ]; }; then
    fail_case "aixmalloc check exited $check_rc with $expected lines: $(head -c 400 "$work/check.err")"
    return
  fi
  if [ "${#expected_lines[@]}" -gt 0 ]; then
    printf '%s\n' "${expected_lines[@]}" > "$work/expected"
    if ! cmp -s "$work/expected" "$work/check.err"; then
      fail_case "aixmalloc check's lines (>) are not the expected ones (<):
$(diff "$work/expected" "$work/check.err" | head -c 1500)"
      return
    fi
  fi

  rm -rf "$work/cwd" && mkdir "$work/cwd"
  (cd "$work/cwd" && env "${unset_vars[@]}" "$@" LD_PRELOAD="$AIXMALLOC_LIB" \
    "$python" -c 'print(sum(range(1000)))' > "$work/out" 2> "$work/err")
  local rc=$?
  local lines loader_lines
  # MALLOCTYPE=user:NAME: whether NAME loads and serves is known only when the program loads it,
  # so its line (at most one) is the program's alone; `aixmalloc check` names only the value.
  loader_lines=$(grep -ac "^aixmalloc: MALLOCTYPE: replacement '" "$work/err")
  lines=$(($(grep -ac '^aixmalloc: ' "$work/err") - loader_lines))
  if [ "$loader_lines" -gt 0 ] && { [ "$loader_lines" -gt 1 ] || ! printf '%s\n' "$@" | grep -aqi '^MALLOCTYPE= *user:'; }; then
    fail_case "$loader_lines lines about a replacement library: $(head -c 600 "$work/err")"
  elif [ "$rc" != 0 ]; then
    fail_case "python3 exited $rc; stderr: $(head -c 400 "$work/err")"
  elif [ "$(cat "$work/out")" != 499500 ]; then
    fail_case "python3 printed '$(head -c 200 "$work/out")', not 499500"
  elif grep -aqv '^aixmalloc: ' "$work/err"; then
    fail_case "stderr holds more than aixmalloc: lines: $(grep -av '^aixmalloc: ' "$work/err" | head -c 400)"
  elif [ "$lines" != "$expected" ]; then
    fail_case "$lines diagnostic lines under LD_PRELOAD, $expected from aixmalloc check:
$(head -c 1500 "$work/err")"
  elif [ "$lines" -gt "$tokens" ]; then
    fail_case "$lines diagnostic lines for $tokens tokens:
$(head -c 1500 "$work/err")"
  elif [ "${#expected_lines[@]}" -gt 0 ] && ! grep -av "^aixmalloc: MALLOCTYPE: replacement '" "$work/err" |
      cmp -s "$work/expected" -; then
    fail_case "the lines under LD_PRELOAD (>) are not the expected ones (<):
$(diff "$work/expected" "$work/err" | head -c 1500)"
  fi
}

while IFS= read -r -d '' label; do
  assignments=()
  while IFS= read -r -d '' a && [ -n "$a" ]; do assignments+=("$a"); done
  expected_lines=()
  while IFS= read -r -d '' a && [ -n "$a" ]; do expected_lines+=("$a"); done
  run_case "$label" "${assignments[@]}"
done < <(decode)

[ "$total" -ge 200 ] || { echo "FAIL: only $total cases were read from $cases" >&2; exit 1; }
echo "bad input: $((total - failed)) of $total cases passed"
[ "$failed" = 0 ]
