/* The Malloc Log's counts of small blocks (malloc_log_side_test.sh), which under the pool and
 * watson2 live in side arrays rather than the address table: many blocks from one site, frees from
 * another thread, realloc within a block, reset_malloc_log by a block's address, and blocks left
 * live at exit for the statistics' figures. The same counts hold under every configuration.
 * Built with -O1 -fno-inline: each function is a frame, a site, of its own. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmalloc/aixmalloc.h"

#pragma weak get_malloc_log
#pragma weak reset_malloc_log

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) {                                                            \
      fprintf(stderr, "malloc_log_side: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

enum { kBlocks = 100000, kKept = 200000 };
static void* blocks[kBlocks];
static void* kept[kKept];

/* Live blocks of `size` bytes (every size with 0) in every heap (addr NULL) or addr's. No count
 * is ever "negative" (a huge unsigned one): a block forgotten twice would make it so. */
static size_t live_count(void* addr, size_t size) {
  static struct malloc_log buf[8192];
  size_t got = get_malloc_log(addr, buf, sizeof buf), n = 0;
  for (size_t i = 0; i < got / sizeof buf[0]; ++i) {
    CHECK(buf[i].cnt < ((size_t)1 << 40));
    if (size == 0 || buf[i].size == size) n += buf[i].cnt;
  }
  return n;
}

__attribute__((noinline)) void* site_a(size_t n) { return malloc(n); }
__attribute__((noinline)) void* site_kept(size_t n) { return malloc(n); }
__attribute__((noinline)) void* site_realloc(void* p, size_t n) { return realloc(p, n); }
__attribute__((noinline)) void* site_sizes(size_t n) { return malloc(n); }

/* The records of `size` bytes whose innermost caller is `caller`'s call site (a return address
 * within the function's first 64 bytes). */
static size_t records_from(void* caller, size_t size, size_t* count) {
  static struct malloc_log buf[8192];
  size_t got = get_malloc_log(NULL, buf, sizeof buf), n = 0;
  *count = 0;
  for (size_t i = 0; i < got / sizeof buf[0]; ++i) {
    uintptr_t at = buf[i].callers[0], from = (uintptr_t)caller;
    if (buf[i].size == size && at > from && at < from + 64) ++n, *count += buf[i].cnt;
  }
  return n;
}

static void* free_odd(void* arg) {
  (void)arg;
  for (int i = 1; i < kBlocks; i += 2) free(blocks[i]);
  return NULL;
}

int main(void) {
  CHECK(get_malloc_log != NULL && reset_malloc_log != NULL);
  size_t before = live_count(NULL, 40);
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = site_a(40);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], 0x5a, 40);
  }
  CHECK(live_count(NULL, 40) == before + kBlocks);
  CHECK(live_count(blocks[0], 40) == before + kBlocks); /* heap 0 holds them, as every heap */

  /* Another thread frees half of them: its frees find their records. */
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_odd, NULL) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(live_count(NULL, 40) == before + kBlocks / 2);

  /* realloc within the block's class (or moved): the block is counted once, at its new size. */
  size_t at44 = live_count(NULL, 44);
  blocks[0] = site_realloc(blocks[0], 44);
  CHECK(blocks[0] != NULL);
  CHECK(live_count(NULL, 40) == before + kBlocks / 2 - 1);
  CHECK(live_count(NULL, 44) == at44 + 1);

  /* A realloc that fails leaves the block logged as it was. */
  errno = 0;
  CHECK(site_realloc(blocks[0], (size_t)1 << 62) == NULL && errno == ENOMEM);
  CHECK(live_count(NULL, 44) == at44 + 1);

  /* The rest, freed by this thread. */
  for (int i = 2; i < kBlocks; i += 2) free(blocks[i]);
  free(blocks[0]);
  CHECK(live_count(NULL, 40) == before);
  CHECK(live_count(NULL, 44) == at44);

  /* reset_malloc_log by a small block's address (heap 0): every count of its heap goes to 0, and
   * blocks live then are not counted again when freed. */
  for (int i = 0; i < 1000; ++i) blocks[i] = site_a(40);
  reset_malloc_log(blocks[0]);
  CHECK(live_count(NULL, 0) == 0);
  for (int i = 0; i < 1000; ++i) free(blocks[i]);
  CHECK(live_count(NULL, 0) == 0);
  void* again = site_a(40);
  CHECK(live_count(NULL, 40) == 1);
  free(again);
  CHECK(live_count(NULL, 40) == 0);

  /* One site, 200 sizes (the pool's and watson2's blocks note their stack once and their size,
   * and the records of each size are made when the log is read): a record per size, with its
   * exact count, every one naming the site. */
  static void* sized[200][3];
  for (int k = 0; k < 200; ++k)
    for (int j = 0; j < 3; ++j) CHECK((sized[k][j] = site_sizes(16 + (size_t)k * 2)) != NULL);
  for (int k = 0; k < 200; ++k) {
    size_t count = 0;
    CHECK(records_from((void*)site_sizes, 16 + (size_t)k * 2, &count) == 1 && count == 3);
  }
  for (int k = 0; k < 200; ++k) free(sized[k][1]);
  for (int k = 0; k < 200; ++k) {
    size_t count = 0;
    CHECK(records_from((void*)site_sizes, 16 + (size_t)k * 2, &count) == 1 && count == 2);
    free(sized[k][0]), free(sized[k][2]);
  }
  CHECK(live_count(NULL, 0) == 0);

  /* Blocks left live at exit: the statistics count them (malloc_log_side_test.sh). */
  for (int i = 0; i < kKept; ++i) {
    kept[i] = site_kept(16 + (size_t)(i % 3) * 8);
    CHECK(kept[i] != NULL);
  }
  CHECK(live_count(NULL, 0) == kKept);
  printf("done\n");
  return 0;
}
