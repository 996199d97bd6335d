/* Zero sizes and AIX's vector allocators through the preloaded library: prints what each call
 * returns, "null" or "ptr", and checks what holds either way (alignment, zeroing, the __linux_
 * forms). Compiled with -fno-builtin so that every call reaches the library as written. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Defined by aixmalloc only: weak, so that the program also links and runs without it. */
extern void *__linux_malloc(size_t) __attribute__((weak));
extern void *__linux_calloc(size_t, size_t) __attribute__((weak));
extern void *__linux_realloc(void *, size_t) __attribute__((weak));
extern void *__linux_valloc(size_t) __attribute__((weak));
extern void *vec_malloc(size_t) __attribute__((weak));
extern void *vec_calloc(size_t, size_t) __attribute__((weak));

static int failures;
static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "zero_size: %s\n", what);
    ++failures;
  }
}
static const char *show(void *p) { return p ? "ptr" : "null"; }

int main(void) {
  if (!__linux_malloc || !__linux_calloc || !__linux_realloc || !__linux_valloc || !vec_malloc || !vec_calloc) {
    fprintf(stderr, "zero_size: the library's __linux_ and vec_ functions are not there\n");
    return 2;
  }
  void *m = malloc(0), *c1 = calloc(0, 8), *c2 = calloc(8, 0), *r = realloc(NULL, 0), *v = valloc(0);
  void *vm = vec_malloc(0), *vc = vec_calloc(0, 4);
  printf("malloc=%s calloc0n=%s callocn0=%s realloc=%s valloc=%s vec_malloc=%s vec_calloc=%s\n", show(m),
         show(c1), show(c2), show(r), show(v), show(vm), show(vc));
  free(m), free(c1), free(c2), free(r), free(v), free(vm), free(vc);

  /* The __linux_ forms: a pointer whatever AIXMALLOC_ZERO_SIZE says. */
  void *lm = __linux_malloc(0), *lc = __linux_calloc(0, 3), *lr = __linux_realloc(NULL, 0), *lv = __linux_valloc(0);
  check(lm && lc && lr && lv, "a __linux_ form returned NULL for a zero size");
  check(lv && ((uintptr_t)lv % (uintptr_t)sysconf(_SC_PAGESIZE)) == 0, "__linux_valloc is not page-aligned");
  check(__linux_realloc(lm, 0) == NULL, "__linux_realloc(p, 0) did not free and return NULL");
  free(lc), free(lr), free(lv);

  /* vec_malloc and vec_calloc: 16-byte aligned, vec_calloc zeroed. */
  for (size_t n = 1; n < 3000; n += 37) {
    unsigned char *a = vec_malloc(n), *b = vec_calloc(n, 3);
    check(a && b && (uintptr_t)a % 16 == 0 && (uintptr_t)b % 16 == 0, "a vec_ block is not 16-byte aligned");
    for (size_t i = 0; b && i < n * 3; ++i) check(b[i] == 0, "vec_calloc's block is not zeroed");
    if (a) memset(a, 0xff, n);
    free(a), free(b);
  }
  /* Nonzero sizes are untouched by the zero-size setting. */
  void *one = malloc(1), *cz = calloc(1, 1);
  check(one && cz, "malloc(1) or calloc(1, 1) returned NULL");
  free(one), free(cz);
  return failures ? 1 : 0;
}
