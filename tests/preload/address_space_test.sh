#!/usr/bin/env bash
# Address space reserved up front, and a limit lowered after start-up (address_space.c).
#  1. VmSize at the start of main, with the library preloaded, exceeds that of the same program on
#     glibc by at most BEFORE_MAIN_MIB (16 MiB, the figure aixmalloc(7) states), and is under
#     256 MiB in all.
#  2. With RLIMIT_AS lowered to 1 GiB after start-up, 8 threads are created and each allocates and
#     frees blocks of every layer: every thread starts and every request succeeds.
source "$(dirname "$0")/common.sh"
bound_kib=$(( ${BEFORE_MAIN_MIB:-16} * 1024 ))
env -u LD_PRELOAD "$AIXMALLOC_BUILD/tests/address_space" > "$work/glibc" || fail "glibc run: $(cat "$work/glibc")"
preloaded "$AIXMALLOC_BUILD/tests/address_space" > "$work/out" || true
no_diagnostics
plain=$(sed -n 's/^vmsize_kb=//p' "$work/glibc")
ours=$(sed -n 's/^vmsize_kb=//p' "$work/out")
[ -n "$plain" ] && [ -n "$ours" ] || fail "no VmSize: $(cat "$work/glibc" "$work/out")"
echo "VmSize at the start of main: ${ours} kB with aixmalloc, ${plain} kB with glibc ($(( ours - plain )) kB more)"
[ "$ours" -le $(( 256 * 1024 )) ] || fail "VmSize ${ours} kB before main: over 256 MiB"
[ $(( ours - plain )) -le "$bound_kib" ] || fail "aixmalloc mapped $(( ours - plain )) kB before main, over ${bound_kib} kB"
grep -qx "threads=8 created=8 failures=0" "$work/out" || fail "under RLIMIT_AS=1 GiB: $(tail -1 "$work/out")"
tail -1 "$work/out"
