/* A program that allocates 256 MiB in blocks of 64 KiB to 1 MiB, touches every page, frees them all
 * and then makes no further call into the allocator: it prints its resident size at the start, at
 * the peak and right after the last free, read from /proc/self/statm with plain system calls.
 * With "thread", the work runs in a second thread (so that multiheap spreads it over its heaps).
 * Usage: disclaim_rss [thread] -> "start=KiB peak=KiB after=KiB" */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kMaxBlocks = 4096 };
static void *blocks[kMaxBlocks];
static long start_kib, peak_kib, after_kib;

static long resident_kib(void) {
  char buf[128];
  int fd = open("/proc/self/statm", O_RDONLY);
  ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  if (fd >= 0) close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  long size = 0, resident = 0;
  const char *p = buf;
  size = strtol(p, (char **)&p, 10);
  resident = strtol(p, NULL, 10);
  (void)size;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void *work(void *arg) {
  (void)arg;
  unsigned seed = 5;
  size_t total = 0;
  int n = 0;
  start_kib = resident_kib();
  while (total < (256u << 20) && n < kMaxBlocks) {
    seed = seed * 1103515245u + 12345u;
    size_t size = (64u << 10) + (seed >> 8) % (960u << 10);
    char *p = malloc(size);
    if (p == NULL) abort();
    memset(p, 1, size);
    blocks[n++] = p;
    total += size;
  }
  peak_kib = resident_kib();
  for (int i = 0; i < n; ++i) free(blocks[i]);
  after_kib = resident_kib();  /* nothing but system calls since the last free */
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "thread") == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, work, NULL) != 0) return 2;
    pthread_join(t, NULL);
  } else {
    work(NULL);
  }
  printf("start=%ld peak=%ld after=%ld\n", start_kib, peak_kib, after_kib);
  return 0;
}
