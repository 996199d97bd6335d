/* A program with a known allocation profile for the aixmalloc CLI tests. No stdio, so libc makes
 * no request of its own. The main thread asks for 300 blocks of 24 bytes, 200 of 100, 50 of 700,
 * 4 of 2000 and 2 of 5 MiB (which get address ranges of their own); then one worker thread asks
 * for 40 blocks of 200 bytes. pthread_create adds one request of its own (the thread's TLS block,
 * about 300 bytes, its size set by the libc). With the default buckets (16 of 64-byte steps) that
 * is: bucket 0: 300, bucket 1: 200, bucket 3: 40, bucket 10: 50, default allocator: 6. */
#include <pthread.h>
#include <stdlib.h>

static void* worker(void* arg) {
  void* p[40];
  for (int i = 0; i < 40; ++i) p[i] = malloc(200);
  for (int i = 0; i < 40; ++i) free(p[i]);
  return arg;
}

int main(void) {
  static void* p[600];
  int n = 0;
  for (int i = 0; i < 300; ++i) p[n++] = malloc(24);
  for (int i = 0; i < 200; ++i) p[n++] = malloc(100);
  for (int i = 0; i < 50; ++i) p[n++] = malloc(700);
  for (int i = 0; i < 4; ++i) p[n++] = malloc(2000);
  for (int i = 0; i < 2; ++i) p[n++] = malloc(5 << 20);
  for (int i = 0; i < n; ++i) free(p[i]);
  pthread_t t;
  if (pthread_create(&t, 0, worker, 0) != 0 || pthread_join(t, 0) != 0) return 1;
  return 0;
}
