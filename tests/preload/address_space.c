/* Address space before main, and a limit lowered after start-up.
 *
 * 1. The first thing main does is read VmSize from /proc/self/status: everything mapped so far,
 *    the allocator's reservations included (PROT_NONE ranges count), printed as vmsize_kb=N.
 * 2. Then it lowers RLIMIT_AS to LIMIT_MIB (default 1024) and starts 8 threads that each allocate
 *    and free blocks of every layer (pool sizes, thread-cache sizes, heap sizes, two large blocks),
 *    holding a few MiB at a time, and check the contents. Every request and every thread creation
 *    must succeed: the allocator may not have spent the address space up front.
 * Prints "vmsize_kb=N" and "threads=8 created=C failures=F". */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static long vmsize_kb(void) {
  char line[256];
  long kb = -1;
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmSize:", 7) == 0) kb = strtol(line + 7, NULL, 10);
  fclose(f);
  return kb;
}

static size_t size_for(unsigned r) {
  switch (r % 8) {
    case 0: case 1: case 2: return r % 512 + 1;      /* pool */
    case 3: case 4: return 513 + r % 3500;           /* thread cache */
    default: return 4096 + r % (200 << 10);          /* heaps */
  }
}

static void* worker(void* arg) {
  unsigned x = (unsigned)(size_t)arg * 2654435761u + 1;
  long bad = 0;
  enum { kSlots = 64 };
  unsigned char* held[kSlots] = {0};
  size_t sizes[kSlots] = {0};
  for (int round = 0; round < 3000; ++round) {
    x = x * 1103515245u + 12345u;
    unsigned r = x >> 8, s = r % kSlots;
    if (held[s] && (held[s][0] != (unsigned char)s || held[s][sizes[s] - 1] != (unsigned char)s)) ++bad;
    free(held[s]);
    sizes[s] = size_for(r);
    held[s] = malloc(sizes[s]);
    if (held[s] == NULL) {
      ++bad;
      continue;
    }
    held[s][0] = held[s][sizes[s] - 1] = (unsigned char)s;
  }
  for (int i = 0; i < 2; ++i) {  /* blocks with ranges of their own */
    size_t size = ((size_t)4 << 20) + (size_t)i * 3000000;
    char* big = malloc(size);
    if (big == NULL) ++bad;
    else memset(big, 1, size);
    free(big);
  }
  for (int i = 0; i < kSlots; ++i) free(held[i]);
  return (void*)bad;
}

int main(void) {
  long kb = vmsize_kb();
  printf("vmsize_kb=%ld\n", kb);
  long limit_mib = getenv("LIMIT_MIB") ? atol(getenv("LIMIT_MIB")) : 1024;
  struct rlimit rl;
  getrlimit(RLIMIT_AS, &rl);
  rl.rlim_cur = (rlim_t)limit_mib << 20;
  if (setrlimit(RLIMIT_AS, &rl) != 0) {
    perror("setrlimit");
    return 2;
  }
  pthread_t tids[8];
  int created = 0;
  long failures = 0;
  for (int i = 0; i < 8; ++i) {
    if (pthread_create(&tids[i], NULL, worker, (void*)(size_t)(i + 1)) == 0) ++created;
    else ++failures;
  }
  for (int i = 0; i < 8; ++i) {
    void* bad = NULL;
    if (i < created) pthread_join(tids[i], &bad);
    failures += (long)bad;
  }
  printf("threads=8 created=%d failures=%ld\n", created, failures);
  return failures ? 1 : 0;
}
