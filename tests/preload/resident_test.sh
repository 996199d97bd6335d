#!/usr/bin/env bash
# The library's fixed cost in resident memory (aixmalloc(7), "Resident memory"): after a program
# has started, allocated and freed blocks of every size, what it has resident of the library's
# file is at most TEXT_KIB (128) of its code and FILE_KIB (192) in all. Its code is laid out so
# that what every process runs lies together (libmalloc/hot_text.ld); a failure here means that a
# change spread it again: run tools/hot-text and rebuild.
source "$(dirname "$0")/common.sh"
out=$(preloaded "$AIXMALLOC_BUILD/tests/resident" "$(readlink -f "$AIXMALLOC_LIB")")
no_diagnostics
text=$(sed -n 's/.*text_kb=\([0-9]*\).*/\1/p' <<< "$out")
file=$(sed -n 's/.*file_kb=\([0-9]*\).*/\1/p' <<< "$out")
[ -n "$text" ] && [ -n "$file" ] && [ "$file" -gt 0 ] || fail "no figures: $out"
echo "resident of libaixmalloc.so: ${text} KiB of its code, ${file} KiB in all"
text_bound=${TEXT_KIB:-128} file_bound=${FILE_KIB:-192}
[ "$text" -le "$text_bound" ] || fail "${text} KiB of the library's code resident, over ${text_bound} KiB: run tools/hot-text"
[ "$file" -le "$file_bound" ] || fail "${file} KiB of the library's file resident, over ${file_bound} KiB"
