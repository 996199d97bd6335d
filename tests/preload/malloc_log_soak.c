/* The Malloc Log under stress (malloc_log_soak_test.sh): allocating threads while another thread
 * dlopens and dlcloses a library, another forks, and another keeps sending signals, for SOAK_SECONDS
 * (30 by default). At the end every allocating thread holds a known number of blocks of its own size,
 * and get_malloc_log must count exactly those: no record lost or left behind. */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libmalloc/aixmalloc.h"

/* From the preloaded library, found at run time. */
#pragma weak get_malloc_log
#pragma weak get_malloc_log_live
#pragma weak reset_malloc_log

enum { kAllocators = 3, kSlots = 512 };
static atomic_int stop;
static atomic_long signals_seen;

static void on_signal(int sig) {
  (void)sig;
  atomic_fetch_add(&signals_seen, 1);
}

__attribute__((noinline)) static void* site(size_t size) { return malloc(size); }

static void* allocator(void* arg) {
  size_t size = 3000 + (size_t)(uintptr_t)arg;  /* this thread's own size */
  void* slots[kSlots] = {0};
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!atomic_load(&stop)) {
    unsigned i = (unsigned)rand_r(&seed) % kSlots;
    if (slots[i]) {
      free(slots[i]);
      slots[i] = NULL;
    } else {
      slots[i] = site(size);
    }
    free(malloc((size_t)rand_r(&seed) % 600));  /* other sizes, freed at once */
  }
  long live = 0;
  for (unsigned i = 0; i < kSlots; ++i) live += slots[i] != NULL;  /* kept: counted at the end */
  return (void*)live;
}

static void* loader(void* arg) {
  (void)arg;
  const char* libs[] = {"libz.so.1", "libresolv.so.2"};
  for (unsigned n = 0; !atomic_load(&stop); ++n) {
    void* h = dlopen(libs[n % 2], RTLD_NOW | RTLD_LOCAL);
    if (h) dlclose(h);
  }
  return NULL;
}

static void* forker(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; i < 100; ++i) free(site(100 + (size_t)i));
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "malloc_log_soak: a child failed (status %d)\n", status);
      exit(1);
    }
    usleep(20000);
  }
  return NULL;
}

static void* signaller(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    kill(getpid(), SIGUSR2);
    usleep(200);
  }
  return NULL;
}

int main(void) {
  const char* s = getenv("SOAK_SECONDS");
  int seconds = s ? atoi(s) : 30;
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR2, &sa, NULL);
  pthread_t a[kAllocators], l, f, g;
  for (int i = 0; i < kAllocators; ++i) pthread_create(&a[i], NULL, allocator, (void*)(uintptr_t)(i + 1));
  pthread_create(&l, NULL, loader, NULL);
  pthread_create(&f, NULL, forker, NULL);
  pthread_create(&g, NULL, signaller, NULL);
  /* sleep() returns early on each signal: wait for the deadline itself. */
  time_t deadline = time(NULL) + seconds;
  while (time(NULL) < deadline) sleep(1);
  atomic_store(&stop, 1);
  long expected[kAllocators];
  for (int i = 0; i < kAllocators; ++i) {
    void* r;
    pthread_join(a[i], &r);
    expected[i] = (long)r;
  }
  pthread_join(l, NULL);
  pthread_join(f, NULL);
  pthread_join(g, NULL);
  static struct malloc_log buf[1 << 16];
  size_t got = get_malloc_log(NULL, buf, sizeof buf) / sizeof buf[0];
  int bad = 0;
  for (int i = 0; i < kAllocators; ++i) {
    long counted = 0;
    for (size_t k = 0; k < got; ++k)
      if (buf[k].size == 3000 + (size_t)(i + 1)) counted += (long)buf[k].cnt;
    printf("thread %d: %ld live, %ld in the log\n", i + 1, expected[i], counted);
    bad |= counted != expected[i];
  }
  printf("signals: %ld\n", atomic_load(&signals_seen));
  return bad;
}
