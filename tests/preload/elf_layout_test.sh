#!/usr/bin/env bash
# libaixmalloc.so's file as the tools that read it expect: every LOAD segment has contents in the
# file and at most a page's alignment. A segment with none (a .bss of its own, which an object
# aligned beyond a page gives) is one valgrind cannot place: it then shows no symbol of the library
# in its reports ("ELF section outside all mapped regions"). With valgrind installed, its own
# reading of the library is checked too.
source "$(dirname "$0")/common.sh"
lib=$(readlink -f "$AIXMALLOC_LIB")
readelf -lW "$lib" | awk '$1 == "LOAD" {print $5, $NF}' > "$work/loads"
[ -s "$work/loads" ] || fail "no LOAD segment in readelf -lW $lib"
while read -r filesz align; do
  [ $((filesz)) -gt 0 ] || fail "a LOAD segment without contents in the file: $(readelf -lW "$lib" | grep LOAD)"
  [ $((align)) -le 4096 ] || fail "a LOAD segment aligned to $align: $(readelf -lW "$lib" | grep LOAD)"
done < "$work/loads"
if command -v valgrind > /dev/null; then
  LD_PRELOAD="$lib" valgrind -v --tool=none /bin/true > /dev/null 2> "$work/valgrind" ||
    fail "valgrind --tool=none /bin/true failed: $(tail -5 "$work/valgrind")"
  grep -q "Reading syms from $lib" "$work/valgrind" || fail "valgrind did not read the library: $(head -20 "$work/valgrind")"
  if grep -q "outside all mapped regions" "$work/valgrind"; then
    fail "valgrind cannot place the library's sections: $(grep -B1 'outside all mapped' "$work/valgrind")"
  fi
fi
echo "$(wc -l < "$work/loads") LOAD segments, each with contents and page alignment"
