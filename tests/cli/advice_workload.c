/* Jobs with one known allocation profile each, for the advice of `aixmalloc compare`. No stdio,
 * so libc makes almost no request of its own.
 * Each request is freed 64 requests later.
 *   small64: one thread; 200,000 requests of 64 bytes.
 *   fixed700: one thread; 100,000 requests of 700 bytes and 20,000 of 16 (a few fixed sizes above
 *     512 bytes make most of the requests).
 *   threads: four threads at once, each 200,000 requests of 16 to 2,000 bytes freed soon after,
 *     so that they meet on a heap's lock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { kKept = 64 };

static int churn(size_t (*size_of)(unsigned), unsigned requests) {
  void* kept[kKept] = {0};
  for (unsigned i = 0; i < requests; ++i) {
    void* p = malloc(size_of(i));
    if (p == 0) return 1;
    *(volatile char*)p = (char)i;
    unsigned slot = (i * 7u) % kKept;
    free(kept[slot]);
    kept[slot] = p;
  }
  for (unsigned i = 0; i < kKept; ++i) free(kept[i]);
  return 0;
}

static size_t size64(unsigned i) { return (void)i, 64; }
static size_t size700(unsigned i) { return i % 6 == 5 ? 16 : 700; }
static size_t mixed(unsigned i) { return 16 + (i * 2654435761u) % 1985; }

static void* worker(void* arg) {
  (void)arg;
  return (void*)(long)churn(mixed, 200000);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (strcmp(argv[1], "small64") == 0) return churn(size64, 200000);
  if (strcmp(argv[1], "fixed700") == 0) return churn(size700, 120000);
  if (strcmp(argv[1], "threads") != 0) return 2;
  pthread_t t[4];
  for (int i = 0; i < 4; ++i)
    if (pthread_create(&t[i], 0, worker, 0) != 0) return 1;
  int failed = 0;
  for (int i = 0; i < 4; ++i) {
    void* r;
    if (pthread_join(t[i], &r) != 0 || r != 0) failed = 1;
  }
  return failed;
}
