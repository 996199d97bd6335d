/* A program with a known allocation profile for the bucket statistics test (no stdio, so that libc
 * allocates nothing of its own): the main thread makes 1000 requests of 10 bytes, 500 of 100,
 * 7 of 1024 and 3 of 5000 bytes; then two threads, both alive at once, make 40 requests of
 * 200 bytes and 2 of 3000 bytes each. With multiheap:2 they work in different heaps: a new thread
 * starts from the heap the fewest live threads start from, and each waits after its first request
 * until the other has made its own. */
#include <pthread.h>
#include <stdlib.h>

static pthread_barrier_t both_started;

static void* worker(void* arg) {
  void* p[42];
  p[0] = malloc(200);
  pthread_barrier_wait(&both_started);
  for (int i = 1; i < 40; ++i) p[i] = malloc(200);
  p[40] = malloc(3000);
  p[41] = malloc(3000);
  for (int i = 0; i < 42; ++i) free(p[i]);
  return arg;
}

int main(void) {
  static void* p[1510];
  int n = 0;
  for (int i = 0; i < 1000; ++i) p[n++] = malloc(10);
  for (int i = 0; i < 500; ++i) p[n++] = malloc(100);
  for (int i = 0; i < 7; ++i) p[n++] = malloc(1024);
  for (int i = 0; i < 3; ++i) p[n++] = malloc(5000);
  for (int i = 0; i < n; ++i) free(p[i]);
  pthread_t th[2];
  pthread_barrier_init(&both_started, 0, 2);
  for (int t = 0; t < 2; ++t) pthread_create(&th[t], 0, worker, 0);
  for (int t = 0; t < 2; ++t) pthread_join(th[t], 0);
  return 0;
}
