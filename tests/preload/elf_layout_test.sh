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
# The system calls are made directly (libmalloc/base/os.cpp): each libc wrapper the library named
# would be a symbol the loader looks up in every process as it starts.
names='mmap|munmap|mremap|mprotect|madvise|mincore|open|openat|read|write|close|fcntl|dup3'
names+='|ftruncate|memfd_create|flock|access|stat|fstatat|readlink|rename|unlink|getpid|getppid'
names+='|syscall|sched_yield|getrlimit|raise|sysconf'
wrappers=$(nm -D --undefined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' |
  { grep -xE "$names" || true; } | tr '\n' ' ')
[ -z "$wrappers" ] || fail "the library imports system call wrappers: $wrappers"
# No variable is built by a constructor as the library loads: each is constant-initialised, so that
# one the process never uses leaves its page untouched (a constructor that wrote the zeros of a
# debugging-only variable cost every process a page fault).
ctors=$(nm "$lib" 2> /dev/null | awk '$NF ~ /^_GLOBAL__sub_I_/ {print $NF}' | tr '\n' ' ')
[ -z "$ctors" ] || fail "the library runs constructors of its variables at load: $ctors"
# What start-up writes of the library's own data, .data, the fork locks and .bss, on one page
# (aixmalloc(7), "Resident memory"); the tables and the variables only debugging uses lie after.
first=; last=
while read -r name addr size; do
  [ "$name" = .data ] && first=$((16#$addr))
  [ "$name" = .bss ] && last=$((16#$addr + 16#$size - 1))
done < <(readelf -SW "$lib" | sed 's/^ *\[ *[0-9]*\] *//' | awk '{print $1, $3, $5}')
[ -n "$first" ] && [ -n "$last" ] && span=$((last / 4096 - first / 4096 + 1))
[ -n "$span" ] || fail "no .data or .bss in readelf -SW $lib"
[ "$span" -le 1 ] ||
  fail ".data to the end of .bss spans $span pages: $(readelf -SW "$lib" | grep -E 'data|bss')"
# The address map's first words (its first leaf) on the page of .data, right after .bss: a process
# whose blocks lie in one 4 GiB region then never touches the map's table.
sections=$(readelf -SW "$lib" | grep -E 'data|bss')
map=$(readelf -SW "$lib" | sed 's/^ *\[ *[0-9]*\] *//' |
  awk '$1 == ".bss.aixmalloc_map" {print $3}')
[ -n "$map" ] || fail "no .bss.aixmalloc_map section: $sections"
[ $(((16#$map + 16) / 4096)) -eq $((first / 4096)) ] ||
  fail "the address map's first words are not on the page of .data: $sections"
# The text segment starts at a multiple of 64 KiB (tools/hot-text), so that the functions a short
# process runs fill whole windows of the kernel's fault-around, which are 64 KiB of virtual
# addresses. That holds only while the library is mapped at such a multiple: the kernel places a
# file mapping of 2 MiB or more at a 2 MiB boundary, and one below at any page. A library that
# spanned 1.6 MiB (a smaller table in .bss) cost the shell workload 1,000 page faults more (2 %)
# than one of 2.04 MiB. A table made smaller must leave the span at 2 MiB or more (pad
# .bss.aixmalloc_large).
text=$(readelf -lW "$lib" | awk '$1 == "LOAD" && $8 == "E" {print $3}')
[ -n "$text" ] || fail "no executable LOAD segment: $(readelf -lW "$lib" | grep LOAD)"
[ $((text % 65536)) -eq 0 ] || fail "the text segment starts at $text, not at a multiple of 64 KiB"
end=$(readelf -lW "$lib" | awk '$1 == "LOAD" {print $3, $6}' |
  while read -r vaddr memsz; do echo $((vaddr + memsz)); done | sort -n | tail -1)
[ "$end" -ge $((2 << 20)) ] ||
  fail "the library spans $end bytes, less than 2 MiB: the kernel would not align it (see above)"
echo "$(wc -l < "$work/loads") LOAD segments, each with contents and page alignment;" \
  "no system call wrapper imported; no variable constructor;" \
  ".data to the end of .bss on $span page(s), with the address map's first words;" \
  "text at $text, span $end bytes"
