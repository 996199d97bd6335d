/* fork() from a signal handler that interrupted malloc, realloc or free, in a single-threaded
 * program (THREADS=0) or with worker threads allocating beside it. A one-shot timer, re-armed by
 * its own handler with a random delay of 20..220 microseconds, keeps landing in the main loop's
 * allocations; the handler forks, the child allocates in every layer (pool sizes, thread-cache
 * sizes, heap sizes, a large block), frees, grows and frees some of the blocks the main loop held
 * at the fork (checking their contents), and _exit()s with 0 when all of that worked; the parent's
 * handler waits for it. Without threads, the main loop also forks now and then itself, so that
 * some signals land inside fork(), between its prepare and parent handlers, and fork again there
 * (not with threads: glibc's fork() then holds the lock of its list of handlers throughout, and a
 * second fork() on the same thread waits for it forever, whatever the allocator); past the target
 * it goes on forking until a signal has landed inside one of those forks. With aixmalloc
 * preloaded, the handler also counts how often it
 * interrupted the allocator while that held one of its locks (aixmalloc_thread_locks_held()), the
 * case that used to hang. Every STATS_EVERY-th signal (when set) the handler also raises
 * STATS_SIGNAL, the live-statistics signal, so that path runs inside allocations as well.
 * Arguments: forks [threads]. Prints "forks=N failures=F inside_locks=K inside_fork=J" (N is the
 * signals' forks, at least the target). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_forks, g_failures, g_inside, g_stop, g_in_fork, g_inside_fork;
static volatile sig_atomic_t g_main_forks;
static int g_target, g_want_inside_fork;
static unsigned (*g_locks_held)(void);
static timer_t g_timer;
static unsigned g_seed = 12345;
static int g_stats_signal, g_stats_every;

/* The main loop's blocks. A slot is emptied before its block is freed or reallocated and filled
 * only once the new block carries its pattern (first and last byte = the slot's number), so at any
 * instant the signal arrives every block in the table is whole and owned by the table. */
enum { kSlots = 256 };
/* Without threads, the main loop goes on forking after the target until a signal has landed inside
 * one of its forks, but not beyond this many forks of its own. */
enum { kMaxMainForks = 3000 };
static void* volatile g_held[kSlots];
static volatile size_t g_size[kSlots];

static unsigned next_random(unsigned* x) {
  *x = *x * 1103515245u + 12345u;
  return *x >> 8;
}

static void arm_in(long ns) {
  struct itimerspec when;
  memset(&when, 0, sizeof when);
  when.it_value.tv_nsec = ns;
  timer_settime(g_timer, 0, &when, NULL);  /* async-signal-safe */
}
static void arm(void) { arm_in(20000 + (long)(next_random(&g_seed) % 200000)); }

/* The child: a block from each layer, grown and shrunk, then freed; 0 when all were had. */
static int child_allocates(void) {
  static const size_t sizes[] = {24, 200, 512, 1000, 3000, 5000, 70000, 300000, 5u << 20};
  void* blocks[sizeof sizes / sizeof sizes[0]];
  int bad = 0;
  for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    blocks[i] = malloc(sizes[i]);
    if (blocks[i] == NULL) ++bad;
    else memset(blocks[i], 0x5a, sizes[i] < 4096 ? sizes[i] : 4096);
  }
  for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    void* q = realloc(blocks[i], sizes[i] * 2 + 8);
    if (q == NULL) ++bad;
    else blocks[i] = q;
  }
  void* z = calloc(100, 40);
  if (z == NULL || ((char*)z)[3999] != 0) ++bad;
  free(z);
  for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) free(blocks[i]);
  /* Blocks from before the fork, of whatever layer and whatever heap (one the interrupted call
   * held included): every eighth is grown and checked, the others freed. */
  for (unsigned s = 0; s < kSlots; ++s) {
    unsigned char* p = g_held[s];
    if (p == NULL) continue;
    size_t size = g_size[s];
    if (p[0] != (unsigned char)s || p[size - 1] != (unsigned char)s) ++bad;
    if (s % 8 == 0) {
      unsigned char* q = realloc(p, size + 1000);
      if (q == NULL || q[0] != (unsigned char)s || q[size - 1] != (unsigned char)s) ++bad;
      p = q;
    }
    free(p);
  }
  return bad;
}

static void on_timer(int sig) {
  (void)sig;
  int saved = errno;
  if (g_stop) {
    errno = saved;
    return;
  }
  if (g_locks_held && g_locks_held() > 0) ++g_inside;
  if (g_in_fork) ++g_inside_fork;
  if (g_stats_signal && g_stats_every && g_forks % g_stats_every == 0) raise(g_stats_signal);
  pid_t pid = fork();
  if (pid == 0) _exit(child_allocates() == 0 ? 0 : 1);
  if (pid < 0) {
    ++g_failures;
  } else {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++g_failures;
  }
  /* Past the target, only the main loop's own forks arm the timer: a loaded machine can keep the
   * loop from ever reaching them while every signal lands in its allocations. */
  if (++g_forks < g_target) arm();
  else if (!g_want_inside_fork || g_inside_fork > 0 || g_main_forks >= kMaxMainForks) g_stop = 1;
  errno = saved;
}

/* Blocks of every layer, most of them in the heaps (a pool or a thread cache takes no lock). */
static size_t pick_size(unsigned* x) {
  unsigned r = next_random(x);
  switch (r % 16) {
    case 0: return r % 512 + 1;           /* pool */
    case 1: return r % 4000 + 1;          /* thread cache */
    case 2: return (4u << 20) + r % 4096; /* a range of its own */
    default: return 4096 + r % 120000;    /* the heaps, under their locks */
  }
}

static void* worker(void* arg) {
  unsigned x = (unsigned)(size_t)arg;
  void* held[64] = {0};
  while (!g_stop) {
    unsigned slot = next_random(&x) % 64;
    free(held[slot]);
    held[slot] = malloc(pick_size(&x) % 200000);
  }
  for (int i = 0; i < 64; ++i) free(held[i]);
  return NULL;
}

int main(int argc, char** argv) {
  g_target = argc > 1 ? atoi(argv[1]) : 300;
  int threads = argc > 2 ? atoi(argv[2]) : 0;
  g_want_inside_fork = threads == 0;
  if (getenv("STATS_SIGNAL")) g_stats_signal = atoi(getenv("STATS_SIGNAL"));
  if (getenv("STATS_EVERY")) g_stats_every = atoi(getenv("STATS_EVERY"));
  g_locks_held = (unsigned (*)(void))dlsym(RTLD_DEFAULT, "aixmalloc_thread_locks_held");

  pthread_t tids[8];
  if (threads > 8) threads = 8;
  for (int i = 0; i < threads; ++i) pthread_create(&tids[i], NULL, worker, (void*)(size_t)(i + 7));

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_timer;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_THREAD_ID;  /* always the main thread, the one in the loop below */
  ev.sigev_signo = SIGALRM;
  ev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &ev, &g_timer) != 0) {
    perror("timer_create");
    return 2;
  }
  arm();

  unsigned x = 777;
  for (unsigned round = 1; !g_stop; ++round) {
    if (threads == 0 && round % 16 == 0) {
      g_in_fork = 1;
      arm_in(1000 + (long)(next_random(&x) % 40000));  /* soon: inside fork(), with luck */
      pid_t pid = fork();
      if (pid == 0) _exit(child_allocates() == 0 ? 0 : 1);
      g_in_fork = 0;
      int status = 0;
      while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) ++g_failures;
      if (++g_main_forks >= kMaxMainForks && g_forks >= g_target) g_stop = 1;
    }
    unsigned slot = next_random(&x) % kSlots;
    unsigned op = next_random(&x) % 4;
    unsigned char* p = g_held[slot];
    g_held[slot] = NULL;
    size_t size = pick_size(&x);
    unsigned char* q;
    if (op == 0 && p) {
      q = realloc(p, size);
      if (q == NULL) {
        free(p);
        continue;
      }
    } else {
      free(p);
      q = malloc(size);
      if (q == NULL) continue;
    }
    q[0] = q[size - 1] = (unsigned char)slot;
    g_size[slot] = size;
    g_held[slot] = q;
  }
  for (int i = 0; i < kSlots; ++i) free(g_held[i]);
  for (int i = 0; i < threads; ++i) pthread_join(tids[i], NULL);
  printf("forks=%d failures=%d inside_locks=%d inside_fork=%d", (int)g_forks, (int)g_failures,
         (int)g_inside, (int)g_inside_fork);
  if (g_stats_signal) {  /* the live statistics' document: written at least once, not left behind */
    char path[2][64];
    snprintf(path[0], sizeof path[0], "/dev/shm/aixmalloc-stats.%d.json", (int)getpid());
    snprintf(path[1], sizeof path[1], "/tmp/aixmalloc-stats.%d.json", (int)getpid());
    int found = unlink(path[0]) == 0;
    found |= unlink(path[1]) == 0;
    printf(" stats_document=%s", found ? "yes" : "no");
  }
  printf("\n");
  return g_failures ? 1 : 0;
}
