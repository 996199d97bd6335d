/* live_blocks - how many small blocks can a process hold at once?
 *
 * Pattern modelled: a program that keeps building up small objects (a parse tree, a cache, a
 * graph) and never frees them. Under a debug allocator that gives every block a page of its own and
 * an inaccessible guard page, each live block may cost the kernel one or two memory mappings; Linux
 * allows vm.max_map_count of them (65530 by default), so such tools stop near 32,000 live blocks,
 * whatever the memory. This program counts how far an allocator gets.
 *
 * A child process allocates blocks of --size bytes, writes each whole with a pattern derived from
 * its number, and keeps them all live until malloc returns NULL, the process dies (a debug allocator
 * that runs out of mappings usually aborts), --cap blocks are live, or --seconds have passed. The
 * count lives in memory shared with the parent, so it survives the child's death. Then the child
 * checks every block's pattern and, with --free, frees them all. The parent reports:
 *
 *   result: live_blocks size=24 blocks=1000000 stop=cap
 *   info: seconds=12.3 blocks_per_s=81234 free_seconds=0.000 rss_kib=4200000 maps=40
 *
 * (rss_kib: the peak RSS of the process that held the blocks.)
 *
 * stop is one of cap, null (malloc returned NULL), time (--seconds ran out), killed:SIGNAME (the
 * child died by a signal), exit:N (the child exited with status N before it was done: many debug
 * allocators print a message and exit), corrupt (a block's pattern changed; the exit status is 2),
 * unguarded (see --expect-guarded; the exit status is 2).
 *
 * Usage: bench_live_blocks [--size N (24)] [--cap N (2000000, quick 200000)] [--seconds S (60,
 *        quick 20)] [--free] [--expect-guarded] [--no-fork] [--quick]
 *        bench_live_blocks --check-guarded | --kernel-guards
 *
 * --expect-guarded: the check also asks that every block end exactly at a page boundary (the end of
 * its usable size, from malloc_usable_size), as catch_overflow places each block before its guard
 * page; stop=unguarded (exit status 2) names the first that does not. The info line also gives the
 * child's count of memory mappings (/proc/self/maps) at its peak, so a test can see that the blocks
 * did not cost a mapping each (counted every 4096 blocks too, so a child that died leaves the count
 * it had a little before; -1: never counted).
 * --no-fork: the blocks are allocated in the process itself (for a tool that does not follow a
 * fork, such as heaptrack); a death then loses the count.
 * --check-guarded prints "guarded=yes" when 16 blocks in a row all end at a page boundary, and
 * "guarded=no" otherwise: a script can tell whether a guard-page allocator is active.
 * --kernel-guards prints "madv_guard_install=yes" when the kernel has madvise(MADV_GUARD_INSTALL)
 * (Linux 6.13), "no" otherwise.
 *
 * Exit status: 0 when the count was taken (whatever stopped it), 2 on corruption, 64 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char kUsage[] =
    "usage: bench_live_blocks [--size N (24)] [--cap N (2000000, quick 200000)] [--seconds S (60, quick 20)]\n"
    "                         [--free] [--expect-guarded] [--no-fork] [--quick]\n"
    "       bench_live_blocks --check-guarded | --kernel-guards\n";

enum Stop { kRunning, kCap, kNull, kTime, kCorrupt, kUnguarded };

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

struct Shared {
  volatile uint64_t count;       /* blocks live so far */
  volatile int stop;             /* enum Stop, set by the child when it stops by itself */
  volatile double alloc_seconds; /* the time the child took to reach count */
  volatile double free_seconds;  /* with --free */
  volatile long maps;            /* lines of /proc/self/maps: every 4096 blocks and at the end */
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned char pattern(uint64_t i, size_t k) { return (unsigned char)((i * 0x9E3779B97F4A7C15ull >> 56) + k); }

static void fill(unsigned char* p, uint64_t i, size_t size) {
  for (size_t k = 0; k < size; ++k) p[k] = pattern(i, k);
}

static int intact(const unsigned char* p, uint64_t i, size_t size) {
  for (size_t k = 0; k < size; ++k)
    if (p[k] != pattern(i, k)) return 0;
  return 1;
}

static long count_maps(void) {
  FILE* f = fopen("/proc/self/maps", "r");
  if (f == NULL) return -1;
  long n = 0;
  int c;
  while ((c = getc(f)) != EOF)
    if (c == '\n') ++n;
  fclose(f);
  return n;
}

/* Allocates and checks; returns the exit status (the child's, or the process's with --no-fork). */
static int child(struct Shared* sh, size_t size, uint64_t cap, double seconds, int do_free, int expect_guarded) {
  /* The table of pointers is the program's own mapping, not the allocator's. */
  unsigned char** table = mmap(NULL, cap * sizeof *table, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (table == MAP_FAILED) {
    perror("live_blocks: mmap of the pointer table");
    return 3;
  }
  double t0 = now(), deadline = t0 + seconds;
  uint64_t n = 0;
  int stop = kCap;
  while (n < cap) {
    unsigned char* p = malloc(size);
    if (p == NULL) {
      stop = kNull;
      break;
    }
    fill(p, n, size);
    table[n++] = p;
    sh->count = n;
    if ((n & 4095) == 0) sh->maps = count_maps();  /* a tool that kills the process leaves its last count */
    if ((n & 1023) == 0 && now() > deadline) {
      stop = kTime;
      break;
    }
  }
  sh->alloc_seconds = now() - t0;
  sh->maps = count_maps();
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (uint64_t i = 0; i < n; ++i) {
    if (!intact(table[i], i, size)) {
      fprintf(stderr, "FAIL: live_blocks: block %llu of %llu changed\n", (unsigned long long)i,
              (unsigned long long)n);
      sh->stop = kCorrupt;
      return 2;
    }
    if (expect_guarded && ((uintptr_t)table[i] + malloc_usable_size(table[i])) % page != 0) {
      fprintf(stderr, "FAIL: live_blocks: block %llu of %llu (%p, usable size %zu) does not end at a page boundary\n",
              (unsigned long long)i, (unsigned long long)n, (void*)table[i], malloc_usable_size(table[i]));
      sh->stop = kUnguarded;
      return 2;
    }
  }
  if (do_free) {
    double f0 = now();
    for (uint64_t i = 0; i < n; ++i) free(table[i]);
    sh->free_seconds = now() - f0;
  }
  sh->stop = stop;
  return 0;
}

static int check_guarded(size_t size) {
  long page = sysconf(_SC_PAGESIZE);
  int guarded = 1;
  for (int i = 0; i < 16; ++i) {
    unsigned char* p = malloc(size);
    if (p == NULL) return 3;
    uintptr_t end = (uintptr_t)p + malloc_usable_size(p);
    if (end % (uintptr_t)page != 0) guarded = 0;
  }
  printf("guarded=%s\n", guarded ? "yes" : "no");
  return 0;
}

static int kernel_guards(void) {
  long page = sysconf(_SC_PAGESIZE);
  void* p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 3;
  int ok = madvise(p, (size_t)page, MADV_GUARD_INSTALL) == 0;
  printf("madv_guard_install=%s\n", ok ? "yes" : "no");
  munmap(p, (size_t)page);
  return 0;
}

int main(int argc, char** argv) {
  size_t size = 24;
  int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "1") == 0;
  long long cap = -1;
  double seconds = -1;
  int do_free = 0, probe = 0, kguards = 0, expect_guarded = 0, no_fork = 0;
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) quick = 1;
    else if (strcmp(a, "--free") == 0) do_free = 1;
    else if (strcmp(a, "--check-guarded") == 0) probe = 1;
    else if (strcmp(a, "--kernel-guards") == 0) kguards = 1;
    else if (strcmp(a, "--expect-guarded") == 0) expect_guarded = 1;
    else if (strcmp(a, "--no-fork") == 0) no_fork = 1;
    else if (strcmp(a, "--size") == 0 && v) size = (size_t)strtoull(argv[++i], NULL, 10);
    else if (strcmp(a, "--cap") == 0 && v) cap = strtoll(argv[++i], NULL, 10);
    else if (strcmp(a, "--seconds") == 0 && v) seconds = strtod(argv[++i], NULL);
    else if (strcmp(a, "--help") == 0) {
      fputs(kUsage, stdout);
      return 0;
    } else {
      fputs(kUsage, stderr);
      return 64;
    }
  }
  if (size == 0 || size > (1u << 20)) {
    fprintf(stderr, "live_blocks: --size must be 1..1048576\n");
    return 64;
  }
  if (probe) return check_guarded(size);
  if (kguards) return kernel_guards();
  if (cap < 0) cap = quick ? 200000 : 2000000;
  if (seconds < 0) seconds = quick ? 20 : 60;
  if (cap < 1 || seconds <= 0) {
    fputs(kUsage, stderr);
    return 64;
  }
  struct Shared* sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (sh == MAP_FAILED) {
    perror("live_blocks: mmap");
    return 3;
  }
  sh->maps = -1;
  fflush(stdout);
  double t0 = now();
  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  if (no_fork) {
    status = child(sh, size, (uint64_t)cap, seconds, do_free, expect_guarded) << 8;
    getrusage(RUSAGE_SELF, &ru);
    goto report;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("live_blocks: fork");
    return 3;
  }
  if (pid == 0) _exit(child(sh, size, (uint64_t)cap, seconds, do_free, expect_guarded));

  /* The child checks the time itself every 1024 blocks; a child stuck inside the allocator is
   * killed after the limit and a grace period (for the check and the frees). */
  double kill_at = t0 + seconds + 60;
  for (;;) {
    pid_t w = wait4(pid, &status, WNOHANG, &ru);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      perror("live_blocks: wait4");
      return 3;
    }
    if (now() > kill_at) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      break;
    }
    usleep(20000);
  }
report:;
  double elapsed = now() - t0;
  char stop[64];
  if (WIFSIGNALED(status)) {
    const char* name = sigabbrev_np(WTERMSIG(status));
    snprintf(stop, sizeof stop, "killed:SIG%s", name ? name : "?");
  } else if (sh->stop == kCorrupt || sh->stop == kUnguarded) {
    snprintf(stop, sizeof stop, "%s", sh->stop == kCorrupt ? "corrupt" : "unguarded");
  } else if (WEXITSTATUS(status) != 0 || sh->stop == kRunning) {
    snprintf(stop, sizeof stop, "exit:%d", WEXITSTATUS(status));
  } else {
    snprintf(stop, sizeof stop, "%s", sh->stop == kCap ? "cap" : sh->stop == kNull ? "null" : "time");
  }
  uint64_t n = sh->count;
  double alloc_s = sh->alloc_seconds > 0 ? sh->alloc_seconds : elapsed;
  printf("result: live_blocks size=%zu blocks=%llu stop=%s\n", size, (unsigned long long)n, stop);
  printf("info: seconds=%.3f blocks_per_s=%.0f free_seconds=%.3f rss_kib=%ld maps=%ld\n", alloc_s,
         alloc_s > 0 ? (double)n / alloc_s : 0.0, sh->free_seconds, ru.ru_maxrss, sh->maps);
  return sh->stop == kCorrupt || sh->stop == kUnguarded ? 2 : 0;
}
