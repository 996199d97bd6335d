/* A known number of each malloc-family call, for usdt_probes_test.sh to count through the USDT
 * probes: 1000 malloc and free, 10 calloc, 20 realloc, 30 memalign-family calls (and their frees).
 * No stdio, so nothing else allocates. */
#include <malloc.h>
#include <stdlib.h>

int main(void) {
  for (int i = 0; i < 1000; ++i) {
    void* volatile p = malloc((size_t)(24 + i % 1000));
    free(p);
  }
  for (int i = 0; i < 10; ++i) free(calloc(4, (size_t)(8 + i)));
  void* r = NULL;
  for (int i = 0; i < 20; ++i) r = realloc(r, (size_t)(100 * (i + 1)));
  free(r);
  for (int i = 0; i < 10; ++i) {
    free(memalign(64, 100));
    void* q = NULL;
    if (posix_memalign(&q, 128, 40) == 0) free(q);
    free(aligned_alloc(256, 512));
  }
  return 0;
}
