/* A program with a known allocation profile for the bucket statistics test (no stdio, so that libc
 * allocates nothing of its own): the main thread makes 1000 requests of 10 bytes, 500 of 100,
 * 7 of 1024 and 3 of 5000 bytes; then two threads, one after the other, make 40 requests of
 * 200 bytes and 2 of 3000 bytes each. With multiheap:2 the first thread works in heap 0 and the
 * second in heap 1. */
#include <pthread.h>
#include <stdlib.h>

static void* worker(void* arg) {
  void* p[42];
  for (int i = 0; i < 40; ++i) p[i] = malloc(200);
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
  for (int t = 0; t < 2; ++t) {
    pthread_t th;
    pthread_create(&th, 0, worker, 0);
    pthread_join(th, 0);
  }
  return 0;
}
