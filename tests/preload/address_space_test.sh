#!/usr/bin/env bash
# Address space reserved up front, and a limit lowered after start-up (address_space.c).
#  1. VmSize at the start of main, with the library preloaded, exceeds that of the same program on
#     glibc by at most BEFORE_MAIN_MIB (16 MiB, the figure aixmalloc(7) states), and is under
#     256 MiB in all.
#  2. With RLIMIT_AS lowered to 1 GiB after start-up, 8 threads are created and each allocates and
#     frees blocks of every layer: every thread starts and every request succeeds.
#  3. The first range the allocator reserves lies in the room above the kernel's mmap area
#     (libmalloc/base/zones.cpp): a mapping between the dynamic loader's and the stack, within
#     1 GiB of the loader's, where the kernel puts none by itself (with a stack limit).
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
# 3. sort reads its own mappings after its start-up has allocated. Without a stack limit the
# kernel lays mappings out bottom-up and every zone is a far one: nothing to check then.
if [ "$(ulimit -s)" = unlimited ]; then echo "stack unlimited: the zones are all far ones"; exit 0; fi
preloaded sort /proc/self/maps > "$work/maps"
no_diagnostics
loader_end=0 first=0 stack_start=0
while read -r range _ _ _ _ path; do
  lo=$(( 0x${range%-*} )) hi=$(( 0x${range#*-} ))
  case "$path" in
    */ld-linux*) loader_end=$hi; continue ;;
    "[stack]") stack_start=$lo; continue ;;
  esac
  if [ "$loader_end" -gt 0 ] && [ "$lo" -ge "$loader_end" ] && { [ "$first" = 0 ] || [ "$lo" -lt "$first" ]; }; then first=$lo; fi
done < "$work/maps"
[ "$loader_end" -gt 0 ] && [ "$stack_start" -gt 0 ] || fail "no loader or stack in: $(cat "$work/maps")"
[ "$first" -gt 0 ] && [ "$first" -lt "$stack_start" ] || fail "nothing of the allocator's above the loader: $(cat "$work/maps")"
[ $(( first - loader_end )) -lt $(( 1 << 30 )) ] || fail "the first zone starts $(( (first - loader_end) >> 20 )) MiB above the loader"
echo "first zone: $(( (first - loader_end) >> 20 )) MiB above the dynamic loader's mapping"
