/* The errno table of the aligned allocators: memalign, posix_memalign and aligned_alloc with every
 * power-of-two alignment from 1 to 2^63, and a few alignments that are not powers of two, each with
 * sizes no allocator can satisfy. One line per call: the function, the alignment, the size, and
 * what came back (NULL or not, the return value of posix_memalign, errno afterwards, errno having
 * been set to 0 before the call). memalign_errno_test.sh runs it without the library (glibc's
 * table) and with it, and the two must be the same. */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char* name(int e) {
  switch (e) {
    case 0: return "0";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    default: return "other";
  }
}

static void row(const char* fn, size_t align, size_t size) {
  void* p = NULL;
  int ret = 0;
  errno = 0;
  if (fn[0] == 'm') {
    p = memalign(align, size);
  } else if (fn[0] == 'p') {
    ret = posix_memalign(&p, align, size);
    if (ret != 0) p = NULL;
  } else {
    p = aligned_alloc(align, size);
  }
  int e = errno;
  printf("%-14s align=%#zx size=%#zx -> %s", fn, align, size, p ? "block" : "NULL");
  if (fn[0] == 'p') printf(" returns %s", name(ret));
  printf(" errno %s\n", name(e));
  free(p);
}

int main(void) {
  static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)1 << 63, (size_t)PTRDIFF_MAX,
                                 (size_t)1 << 62, (size_t)1 << 48};
  static const size_t odd[] = {0, 3, 24, ((size_t)1 << 62) + 1, ((size_t)1 << 63) + 1, SIZE_MAX};
  static const char* fns[] = {"memalign", "posix_memalign", "aligned_alloc"};
  for (int f = 0; f < 3; ++f) {
    for (int k = 0; k < 64; ++k)
      for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) row(fns[f], (size_t)1 << k, sizes[s]);
    /* aligned_alloc is left out here: glibc 2.36 rounds such an alignment up, as memalign does;
     * aixmalloc rejects it with EINVAL, as C11 and glibc 2.38 do (aixmalloc(7)). */
    if (f < 2)
      for (size_t a = 0; a < sizeof odd / sizeof odd[0]; ++a) row(fns[f], odd[a], SIZE_MAX - 4096);
  }
  return 0;
}
