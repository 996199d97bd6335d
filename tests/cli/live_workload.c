/* A long-running program for the tests of `aixmalloc stats --pid` (live_test.sh). No stdio, so libc
 * makes no request of its own. Usage: cli_live_workload MODE FIFO. It does what MODE says, opens
 * FIFO, writes "ready 1" on standard output, then reads commands from FIFO, one per line, until end
 * of file, when it frees what it holds (but in mode every) and exits 0.
 *   hold     300 blocks of 24 bytes, 200 of 100, 50 of 700, 4 of 2000, held (with the default
 *            buckets: bucket 0: 300, bucket 1: 200, bucket 10: 50, the 2000-byte blocks in the
 *            default allocator). Command "more": 100 more blocks of 24 bytes, then "ready N".
 *   busy     4 threads allocate and free blocks of 16 to 4111 bytes without pause until the end.
 *   ignore   hold, with SIGUSR2 set to SIG_IGN after aixmalloc started.
 *   own      hold, with a handler of its own for SIGUSR2 set with sigaction(), and raised once;
 *            exits 3 at the end unless that handler ran exactly once (nobody else sent SIGUSR2).
 *   handler  hold, with a handler of its own for SIGUSR2 set with the system call itself, which
 *            aixmalloc cannot see (replacing aixmalloc's); exits 3 at the end if it never ran.
 *   scrub    hold, after overwriting AIXMALLOC_STATS_SIGNAL's name in its environment block, as
 *            programs that set their process title do: /proc/PID/environ no longer shows it.
 *   every    touches every section of the statistics, then is idle (for figures_test.sh): 4
 *            threads each allocate blocks of pool, thread-cache, bucket (with a bucket sizing
 *            factor of 4096) and heap sizes, free another thread's blocks, allocate again (taking
 *            back the pool blocks freed to them) and exit, holding some; the main thread asks
 *            for 3 MiB while RLIMIT_DATA lets no heap grow (failed requests), frees a 5 MiB block
 *            and asks for another (a reused large range). At the end it frees nothing, so the
 *            figures at exit are those it had while idle. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

static void* held[4096];
static int n_held;
static int ready_count;
static volatile sig_atomic_t handled;
static volatile int stop;

static void say_ready(void) {
  char line[32] = "ready ";
  int n = ++ready_count, len = 6;
  char digits[12];
  int d = 0;
  do digits[d++] = (char)('0' + n % 10);
  while ((n /= 10) > 0);
  while (d > 0) line[len++] = digits[--d];
  line[len++] = '\n';
  if (write(STDOUT_FILENO, line, (size_t)len) != len) _exit(4);
}

static void hold(int count, size_t size) {
  for (int i = 0; i < count && n_held < 4096; ++i) {
    char* p = malloc(size);
    if (!p) _exit(5);
    p[0] = 1;
    held[n_held++] = p;
  }
}

static void* churn(void* arg) {
  void* slots[64] = {0};
  unsigned seed = (unsigned)(size_t)arg * 2654435761u + 1;
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    seed = seed * 1103515245u + 12345u;
    unsigned slot = (seed >> 8) % 64;
    free(slots[slot]);
    char* p = malloc(16 + (seed >> 16) % 4096);
    if (p) p[0] = 1;
    slots[slot] = p;
  }
  for (int i = 0; i < 64; ++i) free(slots[i]);
  return arg;
}

/* Mode "every": a block of each kind per thread, held, then freed by the next thread. */
enum { kThreads = 4, kKinds = 4, kPerKind = 48 };
static const size_t kKindSize[kKinds] = {100, 1000, 5000, 20000}; /* pool, cache, bucket, heap */
static void* every_blocks[kThreads][kKinds * kPerKind];
static pthread_barrier_t every_barrier;

static void* every_thread(void* arg) {
  int me = (int)(size_t)arg;
  for (int i = 0; i < kKinds * kPerKind; ++i) {
    char* p = malloc(kKindSize[i / kPerKind] + (size_t)(i % 3) * 8);
    if (!p) _exit(5);
    p[0] = 1;
    every_blocks[me][i] = p;
  }
  pthread_barrier_wait(&every_barrier);
  for (int i = 0; i < kKinds * kPerKind; ++i) free(every_blocks[(me + 1) % kThreads][i]);
  pthread_barrier_wait(&every_barrier);
  for (int i = 0; i < kKinds * kPerKind; ++i) {
    every_blocks[me][i] = malloc(kKindSize[i / kPerKind]);
    if (!every_blocks[me][i]) _exit(5);
  }
  for (int i = 0; i < kKinds * kPerKind; i += 2) free(every_blocks[me][i]);
  return arg;
}

/* MALLOCDEBUG=catch_overflow,sample:64 (figures_test.sh) guards one request in about 64, drawn at
 * random, whichever it is; a block it guarded ends where a page ends (the guard page follows), a
 * large block never does (its header comes first). The large-block figures count the main
 * thread's two 5 MiB requests only when the guard took neither, so a guarded one is given back
 * and asked for again (the next countdown is drawn anew). */
static void* unguarded_malloc(size_t size) {
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int tries = 0;; ++tries) {
    void* p = malloc(size);
    if (!p || ((uintptr_t)p + size) % page != 0 || tries == 100) return p;
    free(p);
  }
}

static void every(void) {
  pthread_t threads[kThreads];
  pthread_barrier_init(&every_barrier, 0, kThreads);
  for (long i = 0; i < kThreads; ++i)
    if (pthread_create(&threads[i], 0, every_thread, (void*)i) != 0) _exit(6);
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], 0);
  /* A request no heap can serve: none may grow while RLIMIT_DATA forbids new writable pages. */
  struct rlimit data, low;
  getrlimit(RLIMIT_DATA, &data);
  low = data;
  low.rlim_cur = 4096;
  setrlimit(RLIMIT_DATA, &low);
  void* refused = malloc(3 << 20);
  setrlimit(RLIMIT_DATA, &data);
  if (refused) _exit(9);
  static void* volatile gone; /* volatile: the compiler may not drop the pair */
  gone = unguarded_malloc(5 << 20);
  free(gone);
  char* big = unguarded_malloc(5 << 20);
  if (!big) _exit(5);
  big[0] = 1;
  held[n_held++] = big;
  hold(20, 100);
}

static void on_usr2(int sig) {
  (void)sig;
  handled = handled + 1;
}

/* rt_sigaction(2) as the kernel takes it, past libc and any library that wraps sigaction(): the
 * action libc installed for aixmalloc (its restorer kept), with this program's handler. */
struct kernel_action {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  unsigned long mask;
};
static int replace_handler_directly(int sig) {
  struct kernel_action act;
  if (syscall(SYS_rt_sigaction, sig, NULL, &act, sizeof act.mask) != 0) return -1;
  act.handler = on_usr2;
  act.flags &= ~(unsigned long)SA_SIGINFO;
  return (int)syscall(SYS_rt_sigaction, sig, &act, NULL, sizeof act.mask);
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const char* mode = argv[1];
  pthread_t threads[4];
  int busy = strcmp(mode, "busy") == 0;
  int keep = strcmp(mode, "every") == 0;
  if (busy) {
    for (long i = 0; i < 4; ++i)
      if (pthread_create(&threads[i], 0, churn, (void*)i) != 0) return 6;
  } else if (keep) {
    every();
  } else {
    hold(300, 24);
    hold(200, 100);
    hold(50, 700);
    hold(4, 2000);
  }
  if (strcmp(mode, "ignore") == 0) signal(SIGUSR2, SIG_IGN);
  if (strcmp(mode, "own") == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR2, &sa, 0);
    raise(SIGUSR2);
  }
  if (strcmp(mode, "handler") == 0 && replace_handler_directly(SIGUSR2) != 0) return 9;
  if (strcmp(mode, "scrub") == 0)
    for (char** e = environ; *e; ++e)
      if (strncmp(*e, "AIXMALLOC_STATS_SIGNAL=", 23) == 0) (*e)[0] = 'X';
  int fd = open(argv[2], O_RDONLY);
  if (fd < 0) return 7;
  say_ready();
  char line[64];
  size_t len = 0;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue; /* a signal of the tests */
    if (n < 0) return 8;
    if (n == 0) break;
    if (c != '\n') {
      if (len < sizeof(line) - 1) line[len++] = c;
      continue;
    }
    line[len] = '\0';
    len = 0;
    if (strcmp(line, "more") == 0) hold(100, 24);
    say_ready();
  }
  if (busy) {
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; ++i) pthread_join(threads[i], 0);
  }
  if (keep) return 0;
  for (int i = 0; i < n_held; ++i) free(held[i]);
  if (strcmp(mode, "handler") == 0 && !handled) return 3;
  if (strcmp(mode, "own") == 0 && handled != 1) return 3;
  return 0;
}
