#!/usr/bin/env bash
# Every entry point a program may call is exported by libaixmalloc.so (the signal functions too:
# catch_overflow and the live statistics' channel keep what the program sets; dlclose, after which
# the Malloc Log forgets its unwind rules; pthread_join, before which a watson2 thread leaves its
# heap: aixmalloc(7)).
source "$(dirname "$0")/common.sh"
nm -D --defined-only "$AIXMALLOC_LIB" | awk '{print $3}' > "$work/symbols"
missing=0
for sym in malloc free calloc realloc reallocarray memalign posix_memalign aligned_alloc valloc \
  pvalloc malloc_usable_size mallinfo mallinfo2 mallopt malloc_trim malloc_stats malloc_info \
  __libc_malloc __libc_free __libc_calloc __libc_realloc __libc_memalign __libc_valloc \
  __libc_pvalloc __libc_mallopt __libc_mallinfo aixmalloc_check \
  sigaction signal bsd_signal sysv_signal sigset sigignore dlclose pthread_join \
  _Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t _ZnwmSt11align_val_t _ZnamSt11align_val_t \
  _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t \
  _ZdlPv _ZdaPv _ZdlPvm _ZdaPvm _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t \
  _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t \
  _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t; do
  grep -qx "$sym" "$work/symbols" || { echo "missing: $sym"; missing=1; }
done
[ $missing = 0 ] || fail "symbols missing from libaixmalloc.so"
# Nothing of the allocator's internals leaks into the program's namespace.
if grep -q 'aixmalloc[0-9]*rt\|_ZN9aixmalloc' "$work/symbols"; then fail "internal symbols exported"; fi
echo "all $(wc -l < "$work/symbols") exported symbols present"
