/* A known sequence of malloc-family calls for MALLOCDEBUG=trace (malloc_trace_test.sh).
 *   sequence: between two marker blocks (malloc(777001) freed, malloc(777002) freed), one call of
 *             each kind and a few of each size; then prints the calls as the program made them, one
 *             line each, "op args... = result", for the script to hold the trace against.
 *   threads N: N threads, each 5000 malloc/realloc/free of varied sizes; prints nothing.
 * Nothing is printed before the end marker, so stdio's buffer is not among the calls. */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { kMaxCalls = 256 };
static char ledger[kMaxCalls][96];
static int calls;

#define NOTE(...) snprintf(ledger[calls++], sizeof(ledger[0]), __VA_ARGS__)

static void sequence(void) {
  free(malloc(777001));
  void* blocks[16];
  for (int i = 0; i < 8; ++i) {
    size_t size = (size_t)(i * 40 + 1);
    blocks[i] = malloc(size);
    NOTE("malloc(%zu) = %p", size, blocks[i]);
  }
  void* c = calloc(10, 24);
  NOTE("calloc(10, 24) = %p", c);
  void* g = malloc(5u << 20);  /* a large block: a range of its own */
  NOTE("malloc(%zu) = %p", (size_t)(5u << 20), g);
  void* old = blocks[0];
  blocks[0] = realloc(blocks[0], 3000); /* moves */
  NOTE("realloc(%p, 3000) = %p", old, blocks[0]);
  old = blocks[0];
  blocks[0] = realloc(blocks[0], 2000); /* may stay */
  NOTE("realloc(%p, 2000) = %p", old, blocks[0]);
  void* volatile null_pointer = NULL;
  void* r = realloc(null_pointer, 64);
  NOTE("realloc(0x0, 64) = %p", r);
  void* z = realloc(r, 0);
  NOTE("realloc(%p, 0) = %p", r, z);
  void* m = memalign(256, 100);
  NOTE("memalign(256, 100) = %p", m);
  void* pm = NULL;
  posix_memalign(&pm, 64, 48);
  NOTE("memalign(64, 48) = %p", pm);
  void* aa = aligned_alloc(128, 256);
  NOTE("memalign(128, 256) = %p", aa);
  void* huge = malloc(SIZE_MAX / 2);
  NOTE("malloc(%zu) = %p", SIZE_MAX / 2, huge);
  free(null_pointer);
  NOTE("free(0x0)");
  for (int i = 0; i < 8; ++i) {
    free(blocks[i]);
    NOTE("free(%p)", blocks[i]);
  }
  void* frees[] = {c, g, m, pm, aa};
  for (int i = 0; i < 5; ++i) {
    free(frees[i]);
    NOTE("free(%p)", frees[i]);
  }
  free(malloc(777002));
  for (int i = 0; i < calls; ++i) puts(ledger[i]);
}

static void* worker(void* arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  void* live[64] = {0};
  for (int i = 0; i < 5000; ++i) {
    seed = seed * 1103515245u + 12345u;
    unsigned k = (seed >> 8) % 64;
    size_t size = 1 + (seed >> 16) % 3000;
    if (!live[k])
      live[k] = malloc(size);
    else if (seed & 1)
      live[k] = realloc(live[k], size);
    else {
      free(live[k]);
      live[k] = NULL;
    }
  }
  for (int k = 0; k < 64; ++k) free(live[k]);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "sequence") == 0) {
    sequence();
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "threads") == 0) {
    int n = atoi(argv[2]);
    pthread_t t[64];
    for (int i = 0; i < n && i < 64; ++i) pthread_create(&t[i], NULL, worker, (void*)(uintptr_t)(i + 1));
    for (int i = 0; i < n && i < 64; ++i) pthread_join(t[i], NULL);
    return 0;
  }
  fprintf(stderr, "usage: malloc_trace sequence | threads N\n");
  return 2;
}
