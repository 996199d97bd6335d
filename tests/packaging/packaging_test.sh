#!/usr/bin/env bash
# What a user of an installed aixmalloc relies on (`cmake --install` into a fresh prefix): the
# SONAME libaixmalloc.so.1 and its links; find_package(aixmalloc) with the shared and the static
# target; pkg-config; a man page link for every function of <aixmalloc.h> and every variable.
set -euo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
cmake --install "$AIXMALLOC_BUILD" --prefix "$prefix" > "$work/install.log" 2>&1 || fail "$(cat "$work/install.log")"
lib=$(dirname "$(find "$prefix" -name libaixmalloc.so.1 | head -1)")
[ -n "$lib" ] && [ -d "$lib" ] || fail "no libaixmalloc.so.1 under $prefix"
soname=$(readelf -d "$lib/libaixmalloc.so.1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libaixmalloc.so.1 ] || fail "SONAME is '$soname'"
[ "$(readlink "$lib/libaixmalloc.so")" = libaixmalloc.so.1 ] || fail "libaixmalloc.so does not link to .so.1"
[ -f "$lib/libaixmalloc.a" ] || fail "no libaixmalloc.a"
[ -f "$prefix/include/aixmalloc.h" ] || fail "no header"
[ -x "$prefix/bin/aixmalloc" ] || fail "no aixmalloc command"
expected="aixmalloc heaps=1 netalloc_nonzero=1 check=0"

# find_package, from a project of its own.
mkdir "$work/consumer"
cp "$src/consumer.c" "$work/consumer/"
cp "$src/CMakeLists.txt.in" "$work/consumer/CMakeLists.txt"
cmake -S "$work/consumer" -B "$work/consumer/build" -DCMAKE_PREFIX_PATH="$prefix" > "$work/c.log" 2>&1 &&
  cmake --build "$work/consumer/build" >> "$work/c.log" 2>&1 || fail "find_package: $(tail -20 "$work/c.log")"
out=$(LD_LIBRARY_PATH="$lib" "$work/consumer/build/consumer_shared") || fail "consumer_shared failed"
[ "$out" = "$expected" ] || fail "consumer_shared printed '$out'"
# ldd's output is read whole first: with pipefail, `ldd | grep -q` fails whenever grep stops
# reading before ldd has written everything (ldd dies of SIGPIPE).
deps=$(ldd "$work/consumer/build/consumer_shared") || fail "ldd consumer_shared failed"
grep -q "libaixmalloc.so.1 => $lib/" <<< "$deps" || fail "consumer_shared does not load the installed libaixmalloc.so.1"
out=$("$work/consumer/build/consumer_static") || fail "consumer_static failed"
[ "$out" = "$expected" ] || fail "consumer_static printed '$out'"
deps=$(ldd "$work/consumer/build/consumer_static") || fail "ldd consumer_static failed"
grep -q libaixmalloc <<< "$deps" && fail "consumer_static loads the shared library"

# pkg-config.
export PKG_CONFIG_PATH="$lib/pkgconfig"
flags=$(pkg-config --cflags --libs aixmalloc) || fail "pkg-config knows no aixmalloc"
cc -o "$work/pc" "$src/consumer.c" $flags || fail "cc with '$flags'"
out=$(LD_LIBRARY_PATH="$lib" "$work/pc") || fail "the pkg-config build failed"
[ "$out" = "$expected" ] || fail "the pkg-config build printed '$out'"

# Man pages: every function of the header and every variable of the option table has a link.
names=$(grep -oE '^[A-Za-z_][A-Za-z_0-9 ]*[ *]+[a-z_][a-z_0-9]*\(' "$src/../../libmalloc/aixmalloc.h" |
  sed -E 's/.*[ *]([a-z_][a-z_0-9]*)\($/\1/')
[ -n "$names" ] || fail "no function found in aixmalloc.h"
for n in $names; do
  MANPATH="$prefix/share/man" man -w 3 "$n" > /dev/null 2>&1 || fail "man 3 $n finds nothing"
  page=$(MANPATH="$prefix/share/man" man 3 "$n" 2>/dev/null) || fail "man 3 $n failed"  # whole, as ldd's
  grep -q "aixmalloc" <<< "$page" || fail "man 3 $n does not open aixmalloc(3)"
done
for v in $(grep -oE 'AIXMALLOC_VARIABLE\(k[A-Za-z0-9]+, "[A-Z_0-9]+"' "$src/../../libmalloc/base/options.def" | cut -d'"' -f2); do
  page=$(MANPATH="$prefix/share/man" man 7 "$v" 2>/dev/null) || fail "man 7 $v failed"
  grep -q "MALLOCTYPE" <<< "$page" || fail "man 7 $v does not open aixmalloc(7)"
done
echo "installed: SONAME $soname, find_package (shared and static), pkg-config '$flags', man links: $(echo $names | wc -w) functions"
