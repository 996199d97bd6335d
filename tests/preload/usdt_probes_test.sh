#!/usr/bin/env bash
# The USDT probes of libaixmalloc.so (libmalloc/probes.h): the ELF notes name aixmalloc:malloc,
# calloc, realloc, free and memalign with their arguments and no semaphore (so nothing on the fast
# paths checks whether anyone listens); then, where perf can attach here (root, tracefs mounted,
# uprobes in the kernel), the probes count a program's calls exactly. Otherwise that part is
# skipped (exit 77) with the reason.
source "$(dirname "$0")/common.sh"
prog="$AIXMALLOC_BUILD/tests/usdt_probes"

# 1. The notes: every probe, its argument count, no semaphore.
readelf -n "$AIXMALLOC_LIB" > "$work/notes"
python3 - "$work/notes" <<'PY' || fail "the probes' notes"
import re, sys
text = open(sys.argv[1]).read()
probes = re.findall(r"Provider: (\S+)\n\s+Name: (\S+)\n\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, Semaphore: (0x[0-9a-f]+)\n\s+Arguments: ([^\n]*)", text)
mine = [p for p in probes if p[0] == "aixmalloc"]
want = {"malloc": 2, "free": 1, "calloc": 3, "realloc": 3, "memalign": 3}
names = {p[1] for p in mine}
assert names == set(want), f"probes {sorted(names)}, expected {sorted(want)}"
for provider, name, where, semaphore, args in mine:
    assert int(semaphore, 16) == 0, f"{name} at {where} has a semaphore"
    assert len(args.split()) == want[name], f"{name} at {where}: arguments '{args}'"
print(len(mine), "probe sites")
PY

# 2. Counting through the probes, when this machine lets perf attach.
# (common.sh's exit trap would turn 77 into its own status: a skip cleans up itself.)
skip() {
  echo "SKIPPED: $*"
  trap - EXIT
  perf probe -q -d 'sdt_aixmalloc:*' > /dev/null 2>&1 || true
  rm -rf "$work"
  exit 77
}
command -v perf > /dev/null || skip "no perf (Debian: linux-perf)"
[ "$(id -u)" = 0 ] || skip "attaching uprobes needs root"
[ -e /sys/kernel/tracing/uprobe_events ] || skip "tracefs is not mounted on /sys/kernel/tracing (mount -t tracefs nodev /sys/kernel/tracing)"
export HOME="$work"  # perf's build-id cache
events=(malloc free calloc realloc memalign)
cleanup() { perf probe -q -d 'sdt_aixmalloc:*' > /dev/null 2>&1 || true; }
trap 'cleanup; rm -rf "$work"' EXIT
cleanup
for e in "${events[@]}"; do
  perf probe -q -x "$AIXMALLOC_LIB" -a "sdt_aixmalloc:$e" > "$work/probe.out" 2>&1 ||
    skip "perf cannot add sdt_aixmalloc:$e: $(head -2 "$work/probe.out")"
done
args=()
for e in "${events[@]}"; do args+=(-e "sdt_aixmalloc:$e"); done
perf stat -x, -o "$work/stat" "${args[@]}" env LD_PRELOAD="$AIXMALLOC_LIB" "$prog" ||
  skip "perf stat cannot count the probes: $(cat "$work/stat")"
count() { awk -F, -v e="sdt_aixmalloc:$1" '$3 == e { print $1 }' "$work/stat"; }
[ "$(count malloc)" = 1000 ] || fail "malloc probes: $(count malloc), expected 1000: $(cat "$work/stat")"
[ "$(count calloc)" = 10 ] || fail "calloc probes: $(count calloc), expected 10"
[ "$(count realloc)" = 20 ] || fail "realloc probes: $(count realloc), expected 20"
[ "$(count memalign)" = 30 ] || fail "memalign probes: $(count memalign), expected 30"
[ "$(count free)" = 1041 ] || fail "free probes: $(count free), expected 1041"
echo "usdt probes: ok"
