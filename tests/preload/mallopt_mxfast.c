/* mallopt(M_MXFAST, v) as the first call of a program chooses the policy, as on AIX: 1 selects the
 * 3.1 allocator (a 200-byte request then has the 240 usable bytes of a 256-byte bucket block, where
 * Yorktown gives 208), 0 the
 * default; once anything was allocated it returns 1 and changes nothing. Argument: 0 or 1. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int value = argc > 1 ? atoi(argv[1]) : 1;
  int first = mallopt(1 /* M_MXFAST */, value);
  void* p = malloc(200);
  size_t usable = malloc_usable_size(p);
  int late = mallopt(1, value);
  printf("first=%d usable=%zu late=%d\n", first, usable, late);
  free(p);
  return 0;
}
