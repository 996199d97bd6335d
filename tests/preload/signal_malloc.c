/* A signal handler that allocates, in a single-threaded program: a timer every 50 microseconds
 * lands in the main loop's malloc and free; the handler allocates and frees a block itself. When it
 * interrupted the allocator inside one of its locks, that lock is held by this very thread: the
 * allocator must stop the program with its report (abort) rather than wait for itself for ever or
 * change a heap the interrupted call left half changed. Exit status 3: no signal landed inside a
 * lock in SECONDS seconds (argv[1], default 30), which proves nothing.
 * Usage: signal_malloc [SECONDS] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static unsigned (*g_locks_held)(void);
static volatile sig_atomic_t g_landed;  /* signals that found this thread inside a lock */
static void* volatile g_block;          /* the handler's block escapes: the compiler keeps the calls */

static void on_timer(int sig) {
  (void)sig;
  if (g_locks_held() != 0) g_landed = g_landed + 1;
  g_block = malloc(48);  /* not async-signal-safe: what the test is about */
  free(g_block);
}

int main(int argc, char** argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 30;
  g_locks_held = (unsigned (*)(void))dlsym(RTLD_DEFAULT, "aixmalloc_thread_locks_held");
  if (g_locks_held == NULL) {
    fprintf(stderr, "signal_malloc: run it with libaixmalloc.so preloaded\n");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_timer;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 50}, {0, 50}};
  setitimer(ITIMER_REAL, &it, NULL);

  enum { kSlots = 256 };
  void* held[kSlots] = {0};
  unsigned x = 12345;
  time_t end = time(NULL) + seconds;
  while (time(NULL) < end) {
    for (int i = 0; i < 100000; ++i) {
      x = x * 1103515245u + 12345u;
      unsigned slot = (x >> 8) % kSlots;
      free(held[slot]);
      held[slot] = malloc(16 + (x >> 20) % 2000);
    }
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  for (int i = 0; i < kSlots; ++i) free(held[i]);
  printf("landed inside a lock: %d times, and the program went on\n", (int)g_landed);
  return g_landed ? 1 : 3;
}
