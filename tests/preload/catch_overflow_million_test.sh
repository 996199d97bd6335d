#!/usr/bin/env bash
# A million live guarded blocks in one process at the default vm.max_map_count (65530). Guard pages
# installed with madvise(MADV_GUARD_INSTALL) (Linux 6.13) live in the page tables, so the guard arena
# stays one mapping, where mprotect'ed guards (Electric Fence, DUMA) cost one or two mappings a
# block and stop near 32,000. live_blocks allocates 1,000,000 blocks of 24 bytes, writes and checks
# each, and asks that each end at a page boundary (--expect-guarded); the process must hold them all
# with a few dozen mappings. About 30 s on a two-core VM (a page fault per block).
# Skipped (status 77) on a kernel without MADV_GUARD_INSTALL, where the mprotect fallback has the
# same limit as the other tools.
source "$(dirname "$0")/common.sh"
source "$here/catch_overflow_common.sh"
blocks=${AIXMALLOC_MILLION_BLOCKS:-1000000}
if [ "$("$live_blocks" --kernel-guards)" != "madv_guard_install=yes" ]; then
  echo "SKIPPED: this kernel ($(uname -r)) has no madvise(MADV_GUARD_INSTALL) (Linux 6.13+): guard pages" \
    "are mprotect()ed, one mapping each, and vm.max_map_count bounds the live guarded blocks"
  exit 77
fi
catch_overflow_on
echo "vm.max_map_count = $(cat /proc/sys/vm/max_map_count)"
preloaded "$live_blocks" --size 24 --cap "$blocks" --seconds 240 --expect-guarded > "$work/out" ||
  fail "live_blocks: $(cat "$work/out")"
cat "$work/out"
no_diagnostics
grep -q "^result: live_blocks size=24 blocks=$blocks stop=cap\$" "$work/out" ||
  fail "not $blocks live guarded blocks: $(head -1 "$work/out")"
maps=$(sed -n 's/.* maps=\([0-9]*\).*/\1/p' "$work/out")
[ -n "$maps" ] && [ "$maps" -lt 1000 ] || fail "the process used $maps mappings for $blocks blocks"
echo "$blocks live guarded blocks with $maps mappings ($(elapsed))"
