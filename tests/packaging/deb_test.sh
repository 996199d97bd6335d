#!/usr/bin/env bash
# The Debian package (cpack -G DEB from the build directory): its files and dependencies; then, as
# root on a machine that does not have it yet (CI), `apt-get install ./aixmalloc_*.deb`, a program
# run under the installed library and command, and `apt-get purge`, which takes every file away.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && cpack -G DEB --config "$AIXMALLOC_BUILD/CPackConfig.cmake" -B "$work/out") > "$work/cpack.log" 2>&1 ||
  fail "cpack: $(tail -20 "$work/cpack.log")"
deb=$(ls "$work"/out/aixmalloc_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb: $(tail -5 "$work/cpack.log")"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' > "$work/files"
for f in /usr/lib/libaixmalloc.so.1 /usr/lib/libaixmalloc.so /usr/lib/libaixmalloc.a /usr/include/aixmalloc.h \
         /usr/bin/aixmalloc /usr/share/man/man1/aixmalloc.1 /usr/share/man/man3/aixmalloc.3 \
         /usr/share/man/man7/aixmalloc.7 /usr/share/man/man3/mallinfo_heap.3 /usr/share/man/man7/MALLOCOPTIONS.7 \
         /usr/lib/cmake/aixmalloc/aixmallocConfig.cmake /usr/lib/pkgconfig/aixmalloc.pc; do
  grep -qx -- "$f" "$work/files" || grep -q -- "^$f -> " "$work/files" || fail "$f is not in the package"
done
grep -q "^/usr/.*test" "$work/files" && fail "test programs in the package: $(grep test "$work/files" | head -3)"
depends=$(dpkg-deb -f "$deb" Depends)
[[ "$depends" == *libc6* ]] || fail "Depends: '$depends' (no libc6)"
echo "package $(basename "$deb"): $(wc -l < "$work/files") entries, Depends: $depends"

if [ "$(id -u)" != 0 ] || dpkg-query -W aixmalloc > /dev/null 2>&1; then
  echo "install step not run: needs root and a machine without aixmalloc installed (CI has both)"
  exit 0
fi
cleanup() { DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq aixmalloc > /dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" > "$work/apt.log" 2>&1 ||
  fail "apt-get install: $(tail -5 "$work/apt.log")"
[ "$(aixmalloc run --type watson --options pool,multiheap -- /bin/echo installed)" = installed ] || fail "aixmalloc run"
out=$(LD_PRELOAD=libaixmalloc.so.1 AIXMALLOC_STATS="$work/report.txt" MALLOCTYPE=watson /bin/echo hello)
[ "$out" = hello ] || fail "/bin/echo under the installed library printed '$out'"
grep -qi "watson" "$work/report.txt" || fail "the installed library wrote no report: $(head -3 "$work/report.txt" 2>&1)"
man -w 3 mallinfo_heap > /dev/null || fail "man 3 mallinfo_heap"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq aixmalloc > "$work/apt.log" 2>&1 || fail "apt-get purge"
[ ! -e /usr/lib/libaixmalloc.so.1 ] && ! command -v aixmalloc > /dev/null || fail "files left after apt-get purge"
echo "installed with apt-get, ran /bin/echo under it, purged"
