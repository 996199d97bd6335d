#!/usr/bin/env bash
# Memory given back at free: a program frees 256 MiB and makes no further call; with
# MALLOCOPTIONS=disclaim or PSALLOC=early its resident size is back within 24 MiB of where it
# started, at once; without them (or with NODISCLAIM=true) the heap keeps its pages, as AIX's heap,
# which only ever grows its break, does. EXPECT (set by CTest) says which: "shrinks" or "keeps".
# With multiheap the work runs in a second thread, so that the heaps are in use.
source "$(dirname "$0")/common.sh"
: "${EXPECT:?shrinks or keeps}"
arg=
case "${MALLOCOPTIONS:-}" in *multiheap*) arg=thread ;; esac
out=$(preloaded "$AIXMALLOC_BUILD/tests/disclaim_rss" $arg)
no_diagnostics
read -r start peak after < <(sed 's/[a-z]*=//g' <<< "$out")
[ $((peak - start)) -gt $((200 * 1024)) ] || fail "the program did not grow by 200 MiB: $out"
if [ "$EXPECT" = shrinks ]; then
  [ $((after - start)) -lt $((24 * 1024)) ] || fail "resident size not back within 24 MiB of the start: $out (KiB)"
else
  [ $((after - start)) -gt $((200 * 1024)) ] || fail "the heap gave its pages back: $out (KiB)"
fi
echo "disclaim ($EXPECT): $out (KiB)"
